"""AttentionMILClassifier: an attention-pooling set model behind the scikit-learn API.

Training goes through skorch (:class:`BagNet`), with bags stored once in one
tensor (see :class:`setlearn.bags.PaddedBags`) and fed as padded, masked,
size-bucketed batches, so skorch adds little per step. The same training function fits one model or many stacked members
of one configuration (see :mod:`setlearn.modules`), which is how
:class:`setlearn.AttentionEnsemble` trains its members together.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import nn

from .bags import PaddedBags, check_bag_labels, check_bags, size_bucketed_batches
from .modules import AttentionMILNet

__all__ = ["AttentionMILClassifier", "BagDataset", "BagNet"]

_ROUTING_HINT = (
    "Per-instance ground truth such as 'importance' is for scorers, not for fit. Enable "
    "metadata routing with sklearn.set_config(enable_metadata_routing=True) so that "
    "cross_val_score(..., params={'importance': importance}) or "
    "GridSearchCV(...).fit(X, y, importance=importance) sends it to the scorer."
)


class BagDataset(torch.utils.data.Dataset):
    """A subset of padded bags with their encoded labels, as skorch sees the data.

    Parameters
    ----------
    data : PaddedBags
        All bags.
    y : ndarray of int64 or None
        Encoded labels of all bags (None at prediction time).
    indices : ndarray of int, default=None
        The bags of this subset; all bags when None.
    """

    def __init__(self, data, y=None, indices=None):
        self.data = data
        self.y = y
        self.indices = np.arange(len(data)) if indices is None else np.asarray(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        x, mask = self.data.batch(self.indices[i : i + 1])
        return {"x": x[0], "mask": mask[0]}, (None if self.y is None else self.y[self.indices[i]])

    def subset(self, indices):
        """The bags ``indices`` (positions within this subset)."""
        return BagDataset(self.data, self.y, self.indices[indices])

    def batches(self, batch_size, *, shuffle=False, random_state=None):
        """Yield ``({"x": padded, "mask": mask}, y)`` batches of bags of similar size."""
        for _, batch in self.positioned_batches(batch_size, shuffle=shuffle, random_state=random_state):
            yield batch

    def positioned_batches(self, batch_size, *, shuffle=False, random_state=None):
        """Like :meth:`batches`, with each batch's positions in this subset first."""
        sizes = self.data.sizes[self.indices]
        for positions in size_bucketed_batches(sizes, batch_size, shuffle=shuffle, random_state=random_state):
            bags = self.indices[positions]
            x, mask = self.data.batch(bags)
            y = None if self.y is None else torch.from_numpy(self.y[bags])
            yield positions, ({"x": x, "mask": mask}, y)


class _BatchIterator:
    """What skorch iterates over in one epoch: pre-padded batches of a BagDataset."""

    def __init__(self, dataset, batch_size, shuffle, random_state):
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.random_state = shuffle, random_state

    def __iter__(self):
        return self.dataset.batches(self.batch_size, shuffle=self.shuffle, random_state=self.random_state)

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)


class BagNet(NeuralNet):
    """skorch net for :class:`~setlearn.modules.AttentionMILNet` on :class:`BagDataset`.

    Differences from :class:`skorch.NeuralNet`: batches come pre-padded from
    the dataset (no per-bag collation), the module returns ``(logits,
    attention)`` with a member axis, and the loss is the sum over members of
    each member's mean cross-entropy, so every member gets exactly the
    gradient it would get alone.
    """

    def __init__(self, *args, shuffle_random_state=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.shuffle_random_state = shuffle_random_state

    def get_iterator(self, dataset, training=False):
        if training and not hasattr(self, "_shuffle_rng"):
            self._shuffle_rng = np.random.default_rng(self.shuffle_random_state)
        rng = self._shuffle_rng if training else None
        return _BatchIterator(dataset, self.batch_size, shuffle=training, random_state=rng)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        logits = y_pred[0]
        n_members, n_bags, n_classes = logits.shape
        y_true = to_tensor(y_true, device=self.device)
        if n_members == 1:
            return self.criterion_(logits[0], y_true)
        loss = self.criterion_(logits.reshape(n_members * n_bags, n_classes), y_true.repeat(n_members))
        return loss * n_members

    def _set_training(self, training=True):
        # skorch switches train/eval mode on every batch; walking the module
        # tree each time is a visible share of a small model's step, so only
        # switch when the mode actually changes.
        if self.module_.training != training:
            super()._set_training(training)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            # skorch stops early by raising KeyboardInterrupt from EarlyStopping,
            # and partial_fit swallows every KeyboardInterrupt, a user's Ctrl-C
            # too, returning a half-trained net as if it were finished. Remember
            # a real interrupt so partial_fit can re-raise it.
            self.interrupted_ = not any(
                isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience for _, cb in self.callbacks_
            )
            raise

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        self.interrupted_ = False
        super().partial_fit(X, y, classes=classes, **fit_params)
        if self.interrupted_:
            raise KeyboardInterrupt("training was interrupted; the model is not fitted")
        return self

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # The generator is per-fit state; dropping it keeps refits reproducible
        # and the net picklable without it.
        self.__dict__.pop("_shuffle_rng", None)
        super().on_train_end(net, X=X, y=y, **kwargs)

    def forward_bags(self, dataset, batch_size=None):
        """Logits ``(E, n_bags, C)`` and a list of per-bag attention arrays ``(E, n_i)``.

        Outputs come back in the order of ``dataset``, with padding stripped.
        """
        batch_size = batch_size or self.batch_size
        sizes = dataset.data.sizes[dataset.indices]
        logits, attention = [None] * len(dataset), [None] * len(dataset)
        for positions, batch in dataset.positioned_batches(batch_size):
            Xi, _ = unpack_data(batch)
            batch_logits, batch_attention = self.evaluation_step((Xi, None), training=False)
            batch_logits = batch_logits.detach().cpu().numpy()
            batch_attention = batch_attention.detach().cpu().numpy()
            for j, pos in enumerate(positions):
                logits[pos] = batch_logits[:, j]
                attention[pos] = batch_attention[:, j, : sizes[pos]]
        return np.stack(logits, axis=1), attention


def _resolve_featurizer(featurizer, instance_shape):
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


class AttentionMILClassifier(ClassifierMixin, BaseEstimator):
    """Attention-based multiple-instance classifier for bags of instances.

    A Deep-Sets network: a featurizer maps every instance to a hidden vector,
    attention pooling (Ilse et al., 2018) weighs the instances of a bag, and a
    classifier reads the weighted sum. The attention weights are the model's
    explanation (:meth:`explain`); whether they point at the instances that
    truly matter can be measured with :func:`setlearn.importance_auroc`.

    Parameters
    ----------
    hidden_size : int, default=16
        Width of the featurizer's output and of the classifier's hidden layers.
    attention_size : int, default=8
        Width of the attention layer (``V`` in ``w^T tanh(V h)``).
    featurizer_depth : int, default=1
        Number of layers (MLP) or convolution blocks (CNN) of the featurizer.
    classifier_depth : int, default=1
        Number of linear layers of the classifier (1 = a linear read-out).
    attention : {"tanh", "gated"}, default="tanh"
        The study's tanh attention, or gated attention.
    featurizer : {"auto", "mlp", "cnn"} or torch.nn.Module, default="auto"
        ``"auto"`` uses an MLP for vector instances and a small CNN for images
        (instances of shape ``(H, W)`` or ``(C, H, W)``). A module must map
        ``(M, *instance_shape)`` to ``(M, out_features)``; it is copied and
        re-initialised from ``random_state`` through the ``reset_parameters``
        methods of its submodules (as torch's layers have), so parameters
        without one keep their values and randomness inside ``forward``
        (e.g. dropout) follows torch's global generator.
    max_epochs : int, default=100
        Training epochs (the study used 500).
    batch_size : int, default=100
        Bags per training step (the study's value).
    lr : float, default=0.005
        Adam learning rate (the study's value).
    weight_decay : float, default=1e-4
        Adam weight decay (L2 penalty; the study's value).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the bags (stratified) and stop
        when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, keeping the best weights.
    validation_fraction : float, default=0.1
        Share of bags held out when ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Minimal improvement of the validation loss that resets the patience.
    device : str or torch.device, default="cpu"
        Where to train, e.g. ``"cuda"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the batch order and the validation split.
    verbose : int, default=0
        0 is silent; 1 prints skorch's per-epoch table of losses; 2 adds a
        progress bar over the batches of every epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen during fit.
    instance_shape_ : tuple of int
        Shape of one instance seen during fit.
    n_features_in_ : int
        Number of features per instance (only for vector instances).
    net_ : BagNet
        The fitted skorch net; ``net_.module_`` is the torch module.
    history_ : skorch.History
        Per-epoch training (and validation) losses.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn import AttentionMILClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(10, 4)) for _ in range(40)]
    >>> y = np.array([i % 2 for i in range(40)])
    >>> for bag, label in zip(X, y):
    ...     bag[0] += 3 * label  # positive bags hold one shifted instance
    >>> clf = AttentionMILClassifier(max_epochs=30, random_state=0).fit(X, y)
    >>> clf.predict(X[:2]).tolist()
    [0, 1]
    >>> weights = clf.explain(X[:2])
    >>> round(float(weights[1].sum()), 5), int(weights[1].argmax())
    (1.0, 0)
    """

    _parameter_constraints = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "attention_size": [Interval(Integral, 1, None, closed="left")],
        "featurizer_depth": [Interval(Integral, 1, None, closed="left")],
        "classifier_depth": [Interval(Integral, 1, None, closed="left")],
        "attention": [StrOptions({"tanh", "gated"})],
        "featurizer": [StrOptions({"auto", "mlp", "cnn"}), nn.Module],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_size=16,
        attention_size=8,
        featurizer_depth=1,
        classifier_depth=1,
        *,
        attention="tanh",
        featurizer="auto",
        max_epochs=100,
        batch_size=100,
        lr=0.005,
        weight_decay=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.hidden_size = hidden_size
        self.attention_size = attention_size
        self.featurizer_depth = featurizer_depth
        self.classifier_depth = classifier_depth
        self.attention = attention
        self.featurizer = featurizer
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, **fit_params):
        """Fit the model on bags ``X`` with bag labels ``y``.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags of shape ``(n_instances, *instance_shape)``.
        y : array-like of shape (n_bags,)
            Bag labels: binary or multi-class, of any type (strings too).
        **fit_params : dict
            Not used. Present only to turn metadata meant for a scorer (such
            as ``importance``), which reaches ``fit`` when metadata routing is
            off, into a clear error instead of a silent mistake.

        Returns
        -------
        self : AttentionMILClassifier
        """
        self._check_no_fit_params(fit_params)
        self._validate_params()
        bags, y_encoded, classes = validate_training_bags(X, y)
        net = fit_net(self, bags, y_encoded, len(classes), seeds=[self._member_seed()])
        return self._set_fitted(net, classes, bags[0].shape[1:])

    def predict_proba(self, X):
        """Class probabilities of every bag, shape ``(n_bags, n_classes)``."""
        logits, _ = self._forward(X)
        return _softmax(logits[0])

    def predict(self, X):
        """Predicted class label of every bag."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def explain(self, X):
        """Attention weights of every instance: the model's explanation.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags, with the instance shape seen during fit.

        Returns
        -------
        attention : list of ndarray
            One 1-D array per bag, of that bag's length, non-negative and
            summing to 1.
        """
        _, attention = self._forward(X)
        return [a[0].astype(np.float64) for a in attention]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on bags ``X`` with labels ``y`` (labels must be known from fit)."""
        check_is_fitted(self)
        _check_known_labels(y, self.classes_)
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a collection of bags; a numeric array must be 3-D (n_bags,
        # n_instances, n_features). two_d_array stays True (the default) only
        # because scikit-learn skips every common check otherwise; the checks
        # that need 2-D input are listed as expected failures in the tests.
        tags.input_tags.three_d_array = True
        tags.non_deterministic = torch.device(self.device).type != "cpu"
        tags.classifier_tags.poor_score = True
        return tags

    # -- shared with AttentionEnsemble -------------------------------------

    def _check_no_fit_params(self, fit_params):
        if fit_params:
            names = ", ".join(sorted(fit_params))
            if "importance" in fit_params:
                raise ValueError(f"fit() got unexpected argument(s) {names}. {_ROUTING_HINT}")
            raise ValueError(f"fit() got unexpected argument(s) {names}; it takes only X and y.")

    def _set_fitted(self, net, classes, instance_shape):
        """Record a trained net and what it was trained on (also used by AttentionEnsemble)."""
        self.net_ = net
        self.history_ = net.history
        self.classes_ = classes
        self.instance_shape_ = tuple(instance_shape)
        if len(self.instance_shape_) == 1:
            self.n_features_in_ = self.instance_shape_[0]
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        return self

    def _member_seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _forward(self, X):
        check_is_fitted(self, "net_")
        bags = check_bags(X, instance_shape=self.instance_shape_)
        return self.net_.forward_bags(BagDataset(PaddedBags(bags)))


def validate_training_bags(X, y):
    """Validated bags, encoded labels and classes for training a classifier on bags."""
    bags = check_bags(X)
    y = check_bag_labels(y, len(bags))
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"y holds a single class ({encoder.classes_[0]!r}); a classifier needs bags of at "
            f"least two classes."
        )
    return bags, encoder.transform(y).astype(np.int64), encoder.classes_


def fit_net(estimator, bags, y_encoded, n_classes, *, seeds):
    """Train one BagNet with ``len(seeds)`` stacked members of ``estimator``'s configuration.

    The batch order and the validation split follow the first seed, so a
    one-member fit with seed ``s`` equals the classifier fitted with
    ``random_state=s``.
    """
    rng = np.random.RandomState(seeds[0])
    init_seeds = [int(np.random.RandomState(s).randint(np.iinfo(np.int32).max)) for s in seeds]
    shuffle_seed, split_seed = rng.randint(np.iinfo(np.int32).max, size=2)
    instance_shape = bags[0].shape[1:]
    module = AttentionMILNet(
        instance_shape,
        n_classes,
        hidden_size=estimator.hidden_size,
        attention_size=estimator.attention_size,
        featurizer_depth=estimator.featurizer_depth,
        classifier_depth=estimator.classifier_depth,
        attention=estimator.attention,
        featurizer=_resolve_featurizer(estimator.featurizer, instance_shape),
        n_members=len(seeds),
        seeds=init_seeds,
    )
    dataset = BagDataset(PaddedBags(bags), y_encoded)
    callbacks = []
    train_split = None
    if estimator.early_stopping:
        train_split = _StratifiedSplit(estimator.validation_fraction, int(split_seed))
        callbacks.append(
            EarlyStopping(
                monitor="valid_loss", patience=estimator.n_iter_no_change, threshold=estimator.tol,
                threshold_mode="abs", load_best=True, sink=_sink(estimator),
            )
        )
    if estimator.verbose >= 2:
        callbacks.append(ProgressBar())
    quiet = {} if estimator.verbose else {"callbacks__print_log": None}  # skorch formats its table even when silent
    net = make_net(
        estimator, module, train_split=train_split, callbacks=callbacks, shuffle_random_state=int(shuffle_seed), **quiet
    )
    net.fit(dataset, y=None)
    return net


def make_net(estimator, module, **kwargs):
    """A :class:`BagNet` around ``module`` with ``estimator``'s training settings."""
    return BagNet(
        module,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=estimator.lr,
        optimizer__weight_decay=estimator.weight_decay,
        # The fused kernel updates all parameters in one call, on CPU too.
        optimizer__fused=True,
        max_epochs=estimator.max_epochs,
        batch_size=estimator.batch_size,
        device=estimator.device,
        verbose=estimator.verbose,
        **kwargs,
    )


def _sink(estimator):
    return print if estimator.verbose else (lambda *args, **kwargs: None)


class _StratifiedSplit:
    """skorch ``train_split``: a stratified hold-out of a BagDataset."""

    def __init__(self, fraction, random_state):
        self.fraction, self.random_state = fraction, random_state

    def __call__(self, dataset, y=None, **kwargs):
        labels = dataset.y[dataset.indices]
        n_valid = max(len(np.unique(labels)), int(round(self.fraction * len(labels))))
        if n_valid >= len(labels):
            raise ValueError(
                f"early_stopping needs a validation split, but {len(labels)} bags are too few to hold "
                f"out validation_fraction={self.fraction}. Use more bags or early_stopping=False."
            )
        try:
            train, valid = train_test_split(
                np.arange(len(labels)), test_size=n_valid, stratify=labels, random_state=self.random_state
            )
        except ValueError:
            # A class too rare to stratify: fall back to a plain random hold-out.
            train, valid = train_test_split(np.arange(len(labels)), test_size=n_valid, random_state=self.random_state)
        return dataset.subset(train), dataset.subset(valid)


def _softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _check_known_labels(y, classes):
    y = np.asarray(y)
    unknown = np.setdiff1d(np.unique(y), classes)
    if len(unknown):
        raise ValueError(
            f"y contains labels never seen during fit: {unknown.tolist()}; the estimator knows "
            f"{classes.tolist()}. Score only on bags whose labels were among the training classes."
        )
