"""What a network is and how it trains, as typed data read from an estimator's parameters.

The estimators store their parameters untouched (scikit-learn's rule); this
module is the one place that says which of them shape the network
(:class:`ArchitectureSpec`) and which drive its training
(:class:`TrainingSpec`). The network builder, the training loop, the
ensemble's stacking budget, model loading and the assessment's config check
all read these, never the estimator object.
"""

from dataclasses import dataclass, fields

from torch import nn

from ._modules import AttentionMILNet, CNNFeaturizer


def _resolve_featurizer(featurizer, instance_shape):
    """The featurizer that ``featurizer`` (an estimator's parameter) means for instances of ``instance_shape``."""
    if isinstance(featurizer, nn.Module):
        return featurizer
    if featurizer == "auto":
        if len(instance_shape) == 1:
            return "mlp"
        featurizer = "cnn"
    if featurizer == "cnn" and len(instance_shape) not in (2, 3):
        raise ValueError(
            f"The CNN featurizer needs image instances of shape (H, W) or (C, H, W); the bags have "
            f"instances of shape {instance_shape}. Use featurizer='mlp' (it flattens each instance) "
            f"or pass a torch module."
        )
    return featurizer


def _from_params(cls, params, **given):
    """An instance of dataclass ``cls`` from the fields it names in ``params``, plus ``given``."""
    names = [f.name for f in fields(cls) if f.name not in given]
    missing = [name for name in names if name not in params]
    if missing:
        raise TypeError(f"{cls.__name__}.from_params needs the estimator parameter(s) {', '.join(missing)}.")
    return cls(**{name: params[name] for name in names}, **given)


@dataclass(frozen=True)
class ArchitectureSpec:
    """The layers of an :class:`AttentionMILNet`, as an estimator's parameters and its data decide them.

    Built by :meth:`from_params` from the parameters of an
    :class:`~setlearn.AttentionMILClassifier` (``get_params()``), the shape of
    the instances and the number of classes. Building it runs the checks
    that only the data can decide (a CNN needs image instances), with the
    estimator's error message, without building a network.

    Parameters
    ----------
    instance_shape : tuple of int
        Shape of one instance: ``(n_features,)`` or an image ``(H, W)`` / ``(C, H, W)``.
    n_classes : int
        Number of outputs of the classifier.
    hidden_size : int
        Width of the featurizer's output and of the classifier's hidden layers.
    attention_size : int
        Width of the attention layer.
    featurizer_depth : int
        Layers (MLP) or convolution blocks (CNN) of the featurizer.
    classifier_depth : int
        Linear layers of the classifier.
    attention : {"tanh", "gated", "mean"}
        The attention of the pooling.
    pooling : {"attention", "additive", "max"}
        How instances become bag logits (see :class:`AttentionMILNet`).
    featurizer : {"auto", "mlp", "cnn"} or torch.nn.Module
        As the estimator's parameter; ``"auto"`` is resolved from
        ``instance_shape`` (``"mlp"`` for vectors, ``"cnn"`` for images), so
        the stored value is ``"mlp"``, ``"cnn"`` or the module.

    Raises
    ------
    ValueError
        If the featurizer cannot read instances of ``instance_shape``.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.nn import ArchitectureSpec
    >>> spec = ArchitectureSpec.from_params(AttentionMILClassifier().get_params(), (28, 28), n_classes=2)
    >>> spec.featurizer, spec.widest_instance_activation
    ('cnn', 6272)
    >>> spec.build(seeds=[0]).featurizer.__class__.__name__
    'CNNFeaturizer'
    """

    instance_shape: tuple
    n_classes: int
    hidden_size: int
    attention_size: int
    featurizer_depth: int
    classifier_depth: int
    attention: str
    pooling: str
    featurizer: object

    def __post_init__(self):
        shape = tuple(int(d) for d in self.instance_shape)
        object.__setattr__(self, "instance_shape", shape)
        object.__setattr__(self, "featurizer", _resolve_featurizer(self.featurizer, shape))

    @classmethod
    def from_params(cls, params, instance_shape, n_classes):
        """The architecture of an estimator with parameters ``params`` on instances of ``instance_shape``.

        Parameters
        ----------
        params : mapping
            The estimator's parameters (``estimator.get_params()``); those
            that do not shape the network (``lr``, ``max_epochs``, ...) are
            ignored. The values are taken as they are: validate them with the
            estimator first (``estimator._validate_params()``).
        instance_shape : tuple of int
            Shape of one instance.
        n_classes : int
            Number of classes.

        Returns
        -------
        spec : ArchitectureSpec
            The network's architecture.
        """
        return _from_params(cls, params, instance_shape=instance_shape, n_classes=n_classes)

    @property
    def widest_instance_activation(self):
        """Values per instance of the widest activation one member computes for it.

        The CNN's first feature map (its channels x H x W), otherwise
        ``hidden_size`` (also for a module featurizer, whose layers are not
        known). The ensemble's stacking budget reads it to size a training step.

        Returns
        -------
        width : int
            Values per instance and member.
        """
        if self.featurizer == "cnn":
            height, width = self.instance_shape[-2:]
            return CNNFeaturizer.first_channels * height * width
        return self.hidden_size

    def build(self, seeds):
        """The untrained network of this architecture, one stacked member per seed.

        Parameters
        ----------
        seeds : sequence of int
            One initialisation seed per member.

        Returns
        -------
        module : AttentionMILNet
            The network with ``len(seeds)`` members.
        """
        return AttentionMILNet(
            self.instance_shape,
            self.n_classes,
            hidden_size=self.hidden_size,
            attention_size=self.attention_size,
            featurizer_depth=self.featurizer_depth,
            classifier_depth=self.classifier_depth,
            attention=self.attention,
            featurizer=self.featurizer,
            pooling=self.pooling,
            n_members=len(seeds),
            seeds=seeds,
        )


@dataclass(frozen=True)
class TrainingSpec:
    """How a network trains, as an estimator's parameters say.

    Built by :meth:`from_params` from the parameters of an
    :class:`~setlearn.AttentionMILClassifier`; its fields are those parameters
    (see the classifier for their meaning).

    Parameters
    ----------
    max_epochs : int
        Training epochs.
    batch_size : int
        Bags per training step.
    lr : float
        Adam learning rate.
    weight_decay : float
        Adam weight decay.
    early_stopping : bool
        Hold out bags and stop when their loss stops improving.
    validation_fraction : float
        Share of bags held out with early stopping.
    n_iter_no_change : int
        Patience of early stopping, in epochs.
    tol : float
        Minimal improvement that resets the patience.
    device : str or torch.device
        Where to train.
    n_threads : int or None
        Number of torch's intra-op threads while training.
    verbose : int
        0 silent, 1 skorch's table, 2 also a progress bar.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.nn import TrainingSpec
    >>> TrainingSpec.from_params(AttentionMILClassifier(max_epochs=5).get_params()).max_epochs
    5
    """

    max_epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    early_stopping: bool
    validation_fraction: float
    n_iter_no_change: int
    tol: float
    device: object
    n_threads: object
    verbose: int

    @classmethod
    def from_params(cls, params):
        """The training settings of an estimator with parameters ``params``.

        Parameters
        ----------
        params : mapping
            The estimator's parameters (``estimator.get_params()``); those
            that do not drive training are ignored.

        Returns
        -------
        spec : TrainingSpec
            The training settings.
        """
        return _from_params(cls, params)
