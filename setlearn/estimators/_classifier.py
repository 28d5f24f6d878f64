"""AttentionMILClassifier: an attention-pooling set model behind the scikit-learn API."""

from numbers import Integral, Real

import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..bags import PaddedBags
from ..base import BaseBagClassifier, _softmax, validate_training_bags
from ..nn._device import check_device
from ..nn._explain import check_method, check_options, check_target, explain_bags
from ..nn._architecture import ArchitectureSpec, TrainingSpec
from ..nn._modules import POOLINGS
from ..nn._net import BagDataset, fit_net, member_seed, torch_threads


class AttentionMILClassifier(BaseBagClassifier):
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
    classifier_depth : int, default=2
        Number of linear layers of the classifier: 2 (the default) has one
        hidden layer, 1 is a linear read-out of the pooled features (the
        study's smallest head). A linear read-out learns labels that follow
        a weighted share of one kind of instance (MIL) but not AND or XOR of
        two populations: measured on 300 bags of 100 Gaussian instances
        (default composition, 3 seeds), depth 1 reaches 0.82 test accuracy on
        AND and 0.73 on XOR, depth 2 1.00 on both, and both solve MIL
        (``benchmarks/classifier_depth_study.py``, docs/estimators.md).
    attention : {"tanh", "gated", "mean"}, default="tanh"
        The study's tanh attention, gated attention, or ``"mean"``: uniform
        weights (mean pooling, no attention parameters), the baseline that
        tells whether a task needs attention at all.
    pooling : {"attention", "additive", "max"}, default="attention"
        How the instances of a bag become its prediction. ``"attention"``:
        the classifier reads the attention-weighted mean of the instance
        features (the study's model). ``"additive"`` (Javed et al., 2022):
        the classifier scores every instance and the bag logits are the
        attention-weighted sum of those scores, so ``explain(X,
        method="contribution")`` is exact. ``"max"`` (mi-Net): a bag shows a
        class as strongly as its strongest instance, relative to the first
        class, which respects the standard MIL assumption (see
        docs/explainers.md for which pooling passes which algorithmic test).
    featurizer : {"auto", "mlp", "cnn"} or torch.nn.Module, default="auto"
        ``"auto"`` uses an MLP for vector instances and a small CNN for images
        (instances of shape ``(H, W)`` or ``(C, H, W)``). A module must map
        ``(M, *instance_shape)`` to ``(M, out_features)``; it is copied,
        put in training mode, and re-initialised from ``random_state``
        through the ``reset_parameters`` methods of its submodules (as
        torch's layers have). A trainable parameter of a submodule without
        one is refused with a ``ValueError`` (it would start alike in every
        member); freeze it or add the method. Only real instances reach it,
        never padding. Each distinct instance of a training step is
        featurized once, unless the module holds BatchNorm or dropout layers:
        then every real instance is (randomness inside ``forward`` follows
        torch's global generator).
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
    n_threads : int or None, default=1
        Number of torch's intra-op threads during ``fit``, ``predict`` and ``explain``
        (set around each call and restored after). One thread is the safe
        default: these networks are small, and on a machine where another
        process holds a core, torch's default of one thread per core made a
        fit up to 10x slower (benchmarks/README.md). Run several models in
        parallel instead (``AttentionEnsemble(n_jobs=...)``, ``setlearn assess
        --n-jobs``). ``None`` keeps torch's own setting (all cores), which
        can speed up a large CNN on an otherwise idle machine.
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
        "attention": [StrOptions({"tanh", "gated", "mean"})],
        "pooling": [StrOptions(set(POOLINGS))],
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
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_size=16,
        attention_size=8,
        featurizer_depth=1,
        classifier_depth=2,
        *,
        attention="tanh",
        pooling="attention",
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
        n_threads=1,
        random_state=None,
        verbose=0,
    ):
        self.hidden_size = hidden_size
        self.attention_size = attention_size
        self.featurizer_depth = featurizer_depth
        self.classifier_depth = classifier_depth
        self.attention = attention
        self.pooling = pooling
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
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def _validate_params(self):
        super()._validate_params()
        # A device this machine lacks would fail only once training moves a tensor.
        check_device(self.device)

    @_fit_context(prefer_skip_nested_validation=True)
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
            The fitted classifier.
        """
        self._check_no_fit_params(fit_params)
        bags, y_encoded, classes = validate_training_bags(X, y)
        architecture = self._architecture(bags[0].shape[1:], len(classes))
        net = fit_net(architecture, self._training(), bags, y_encoded, seeds=[member_seed(self.random_state)])
        return self._set_fitted(net, classes, bags[0].shape[1:])

    def predict_proba(self, X):
        """Class probabilities of every bag.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags, with the instance shape seen during fit.

        Returns
        -------
        proba : ndarray of shape (n_bags, n_classes)
            Probability of every class (columns in the order of ``classes_``).
        """
        logits, _ = self._forward(X)
        return _softmax(logits[0])

    def explain(self, X, method="attention", target=None, *, n_samples=None, alpha=None, beta=None, random_state=0):
        """Importance of every instance of every bag, by ``method``.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags, with the instance shape seen during fit.
        method : str, default="attention"
            ``"attention"``: the attention weights (non-negative, summing to
            1). ``"attention_norm"``: attention x the norm of the instance's
            features (Kobayashi et al., 2020), renormalised to sum to 1.
            ``"gradient_input"``: gradient x input of the target logit, summed
            over each instance's features. ``"integrated_gradients"``:
            captum's Integrated Gradients of the target logit (all-zero
            instances as baseline, 50 midpoint steps), summed over
            features. ``"drop_one"``: the target probability of the bag minus
            that of the bag without the instance. ``"keep_one"``: the target
            probability of the instance alone. ``"contribution"`` (only with
            ``pooling="additive"``): the instance's exact share of the target
            logit; a bag's contributions sum to its logit. ``"lrp"``: xMIL-LRP
            (Hense et al., 2024), the target logit's relevance propagated
            with the epsilon rule, attention held constant, summed over
            features. ``"milli"``: MILLI (Early et al., 2022), the
            instance's coefficient in a weighted linear surrogate of the
            target probability over ``n_samples`` sampled sub-bags.
        target : int, array-like of int or None, default=None
            The class to explain, as an index into ``classes_`` (captum's
            convention): one for all bags or one per bag. ``None`` explains
            each bag's predicted class. Attention-based methods ignore it.
        n_samples : int, default=None
            ``method="milli"`` only: sub-bags sampled per bag (200 when None);
            the cost grows linearly with it.
        alpha, beta : float, default=None
            ``method="milli"`` only: its inclusion curve over the instances'
            ranks (0.05 and 0.01 when None; see
            :class:`setlearn.nn._explain.MilliSampling`). ``alpha`` in
            ``[0, 0.5)`` is the keep probability of the instance that looks
            most important alone; ``beta >= 0`` the curve's decay.
        random_state : int or None, default=0
            ``method="milli"``: seeds the sampling (bag ``i`` of ``X`` draws from
            ``(random_state, i)``, so repeated calls agree); None draws fresh
            randomness. Other methods are deterministic and ignore it.

        Returns
        -------
        scores : list of ndarray
            One 1-D array per bag, of that bag's length. Larger means more
            support for the target class; signed methods return negative
            scores for instances that speak against it (docs/explainers.md).

        Examples
        --------
        >>> import numpy as np
        >>> from setlearn import AttentionMILClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = [rng.normal(size=(6, 3)) for _ in range(20)]
        >>> y = np.arange(20) % 2
        >>> clf = AttentionMILClassifier(max_epochs=2, random_state=0).fit(X, y)
        >>> [s.shape for s in clf.explain(X[:2], method="drop_one")]
        [(6,), (6,)]
        """
        milli = check_options(method, n_samples, alpha, beta)
        return [s[0] for s in self._explain_members(X, method, target, milli, random_state)]

    def _explain_members(self, X, method, target, milli, random_state=0):
        """Per-bag scores ``(n_members, n_i)`` of the net (one member for a classifier)."""
        check_is_fitted(self, "net_")
        check_method(method, self.pooling)
        bags = self._checked_bags(X)
        target = check_target(target, len(bags), len(self.classes_))
        with torch_threads(self.n_threads):
            return explain_bags(
                self.net_, BagDataset(PaddedBags(bags)), method, target, milli=milli, random_state=random_state
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = torch.device(self.device).type != "cpu"
        return tags

    # -- shared with AttentionEnsemble -------------------------------------

    def _set_fitted(self, net, classes, instance_shape):
        """Record a trained net and what it was trained on (also used by AttentionEnsemble)."""
        return self._record_fit(classes, instance_shape, net_=net, history_=net.history)

    def _architecture(self, instance_shape, n_classes):
        """The network these parameters give on instances of ``instance_shape`` (an :class:`ArchitectureSpec`)."""
        return ArchitectureSpec.from_params(self.get_params(deep=False), instance_shape, n_classes)

    def _training(self):
        """How these parameters train the network (a :class:`TrainingSpec`)."""
        return TrainingSpec.from_params(self.get_params(deep=False))

    def _forward(self, X):
        check_is_fitted(self, "net_")
        bags = self._checked_bags(X)
        with torch_threads(self.n_threads):
            return self.net_.forward_bags(BagDataset(PaddedBags(bags)))

