"""Training bags through skorch: the dataset, the batch iterator and the net."""

from contextlib import contextmanager

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, ProgressBar
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import nn

from ..bags import PaddedBags, size_bucketed_batches
from ..base import DivergenceError


class BagDataset(torch.utils.data.Dataset):
    """A subset of stored bags with their encoded labels, as skorch sees the data.

    Parameters
    ----------
    data : PaddedBags
        All bags.
    y : ndarray of int64 or None
        Encoded labels of all bags (None at prediction time).
    indices : ndarray of int, default=None
        The bags of this subset; all bags when None.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.bags import PaddedBags
    >>> from setlearn.nn import BagDataset
    >>> bags = [np.zeros((2, 4), np.float32), np.ones((5, 4), np.float32)]
    >>> dataset = BagDataset(PaddedBags(bags), y=np.array([0, 1]))
    >>> # The bags repeat two distinct instances: x holds them once, the mask the slots.
    >>> [(tuple(batch["x"].shape), tuple(batch["mask"].shape)) for batch, y in dataset.batches(2)]
    [((2, 4), (2, 5))]
    """

    def __init__(self, data, y=None, indices=None):
        self.data = data
        self.y = y
        self.indices = np.arange(len(data)) if indices is None else np.asarray(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        x, mask, index = self.data.batch(self.indices[i : i + 1])
        padded = x[0] if index is None else x[index[0]]
        return {"x": padded, "mask": mask[0]}, (None if self.y is None else self.y[self.indices[i]])

    def subset(self, indices):
        """The bags ``indices`` (positions within this subset).

        Parameters
        ----------
        indices : array-like of int
            Positions within this subset.

        Returns
        -------
        subset : BagDataset
            A dataset over the same padded bags.
        """
        return BagDataset(self.data, self.y, self.indices[indices])

    def batches(self, batch_size, *, shuffle=False, random_state=None):
        """Batches of bags of similar size, as skorch consumes them.

        The inputs are those of :meth:`AttentionMILNet.forward
        <setlearn.nn.AttentionMILNet.forward>` (see :meth:`PaddedBags.batch
        <setlearn.bags.PaddedBags.batch>`); batches hold at most
        ``batch_size`` bags and at most twice as many padded slots as
        instances.

        Parameters
        ----------
        batch_size : int
            Bags per batch.
        shuffle : bool, default=False
            Shuffle the bags within and the order of the size buckets.
        random_state : numpy.random.Generator, int or None, default=None
            The shuffling randomness.

        Yields
        ------
        batch : tuple
            ``({"x": x, "mask": mask, "full": full[, "index": index]}, y)``;
            ``full`` (a bool) says whether the bags fill every slot; ``y`` is
            None at prediction time.
        """
        for _, batch in self.positioned_batches(batch_size, shuffle=shuffle, random_state=random_state):
            yield batch

    def positioned_batches(self, batch_size, *, shuffle=False, random_state=None):
        """Like :meth:`batches`, with each batch's positions in this subset first.

        Parameters
        ----------
        batch_size : int
            Bags per batch.
        shuffle : bool, default=False
            Shuffle the bags within and the order of the size buckets.
        random_state : numpy.random.Generator, int or None, default=None
            The shuffling randomness.

        Yields
        ------
        positions : ndarray of int
            Positions of the batch's bags in this subset.
        batch : tuple
            As in :meth:`batches`.
        """
        sizes = self.data.sizes[self.indices]
        for positions in size_bucketed_batches(sizes, batch_size, shuffle=shuffle, random_state=random_state):
            bags = self.indices[positions]
            x, mask, index = self.data.batch(bags)
            # Whether the bags fill every slot, read from the sizes (a Python bool, which
            # BagNet.infer hands to the network as is), so the network need not look at the mask.
            batch_sizes = sizes[positions]
            inputs = {"x": x, "mask": mask, "full": bool(batch_sizes.min() == batch_sizes.max())}
            if index is not None:
                inputs["index"] = index
            y = None if self.y is None else torch.from_numpy(self.y[bags])
            yield positions, _Batch(inputs, y, len(bags))

    def n_batches(self, batch_size):
        """Number of batches of one pass (it does not depend on the shuffling).

        Parameters
        ----------
        batch_size : int
            Most bags per batch.

        Returns
        -------
        n_batches : int
            Batches of one pass over the dataset's bags.
        """
        return len(size_bucketed_batches(self.data.sizes[self.indices], batch_size))


class _Batch:
    """One batch, unpacked by skorch as ``inputs, y``.

    Not a tuple: skorch counts a tuple batch's bags as the common length of
    every input, and the instances ``x`` of a batch are not one per bag.
    """

    def __init__(self, inputs, y, n_bags):
        self.inputs, self.y, self.n_bags = inputs, y, n_bags

    def __iter__(self):
        return iter((self.inputs, self.y))

    def __len__(self):
        return self.n_bags


class _BatchIterator:
    """What skorch iterates over in one epoch: pre-padded batches of a BagDataset."""

    def __init__(self, dataset, batch_size, shuffle, random_state):
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.random_state = shuffle, random_state

    def __iter__(self):
        return self.dataset.batches(self.batch_size, shuffle=self.shuffle, random_state=self.random_state)

    def __len__(self):
        return self.dataset.n_batches(self.batch_size)


class BagNet(NeuralNet):
    """The skorch net that trains :class:`~setlearn.nn.AttentionMILNet` on :class:`BagDataset`.

    Differences from :class:`skorch.NeuralNet`: batches come ready from the
    dataset (no per-bag collation; see :meth:`BagDataset.batches`), the module returns ``(logits,
    attention)`` with a member axis, and the loss is the sum over members of
    each member's mean cross-entropy, so every member gets exactly the
    gradient it would get alone.

    Parameters
    ----------
    *args : list
        Positional arguments of :class:`skorch.NeuralNet` (the module).
    shuffle_random_state : int or None, default=None
        Seeds the order of the training batches.
    **kwargs : dict
        Keyword arguments of :class:`skorch.NeuralNet`.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier, make_bags
    >>> from setlearn.nn import BagNet
    >>> X, y, _ = make_bags("mil", n_bags=20, bag_size=5, random_state=0)
    >>> clf = AttentionMILClassifier(max_epochs=1, random_state=0).fit(X, y)
    >>> isinstance(clf.net_, BagNet), len(clf.net_.history)
    (True, 1)
    """

    def __init__(self, *args, shuffle_random_state=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.shuffle_random_state = shuffle_random_state

    def get_iterator(self, dataset, training=False):
        if training and not hasattr(self, "_shuffle_rng"):
            self._shuffle_rng = np.random.default_rng(self.shuffle_random_state)
        rng = self._shuffle_rng if training else None
        return _BatchIterator(dataset, self.batch_size, shuffle=training, random_state=rng)

    def infer(self, x, **fit_params):
        # A batch's "full" flag is a Python bool: it goes to the module as is, not
        # through to_tensor (a tensor flag would be read back with a host sync).
        if isinstance(x, dict) and "full" in x:
            tensors = to_tensor({k: v for k, v in x.items() if k != "full"}, device=self.device)
            return self.module_(**self._merge_x_and_fit_params(tensors, fit_params), full=x["full"])
        return super().infer(x, **fit_params)

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
        """Logits and attention of every bag, in the order of ``dataset``.

        Parameters
        ----------
        dataset : BagDataset
            The bags.
        batch_size : int, default=None
            Bags per forward pass; ``None`` uses the net's ``batch_size``.

        Returns
        -------
        logits : ndarray of shape (E, n_bags, n_classes)
            Class logits of every member for every bag.
        attention : list of ndarray
            Per bag, the members' attention of shape ``(E, n_instances)``,
            padding stripped.
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


def member_seed(random_state):
    """The initialisation seed an estimator with ``random_state`` gives its (one-member) network.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        The estimator's ``random_state``.

    Returns
    -------
    seed : int
        A seed for :func:`fit_net`.
    """
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def fit_net(architecture, training, bags, y_encoded, *, seeds):
    """Train one BagNet of ``architecture`` with ``len(seeds)`` stacked members.

    The batch order and the validation split follow the first seed, so a
    one-member fit with seed ``s`` equals the classifier fitted with
    ``random_state=s``.

    Parameters
    ----------
    architecture : ArchitectureSpec
        The network (its ``instance_shape`` is that of ``bags``).
    training : TrainingSpec
        The training settings.
    bags : list of ndarray
        Validated training bags.
    y_encoded : ndarray of int64
        Encoded bag labels.
    seeds : sequence of int
        One seed per member (see :func:`member_seed`).

    Returns
    -------
    net : BagNet
        The trained net.
    """
    rng = np.random.RandomState(seeds[0])
    init_seeds = [int(np.random.RandomState(s).randint(np.iinfo(np.int32).max)) for s in seeds]
    shuffle_seed, split_seed = rng.randint(np.iinfo(np.int32).max, size=2)
    module = architecture.build(seeds=init_seeds)
    # Each distinct instance is featurized once per step, unless the featurizer
    # depends on the batch in training (BatchNorm, dropout): then every slot is.
    dataset = BagDataset(PaddedBags(bags, distinct="auto" if module.per_instance else False), y_encoded)
    callbacks = []
    train_split = None
    if training.early_stopping:
        train_split = _StratifiedSplit(training.validation_fraction, int(split_seed))
        callbacks.append(
            EarlyStopping(
                monitor="valid_loss", patience=training.n_iter_no_change, threshold=training.tol,
                threshold_mode="abs", load_best=True, sink=print if training.verbose else _discard,
            )
        )
    callbacks.append(_StopOnDivergence(training.lr))
    if training.verbose >= 2:
        callbacks.append(ProgressBar())
    quiet = {} if training.verbose else {"callbacks__print_log": None}  # skorch formats its table even when silent
    net = make_net(
        training, module, train_split=train_split, callbacks=callbacks, shuffle_random_state=int(shuffle_seed), **quiet
    )
    with torch_threads(training.n_threads):
        net.fit(dataset, y=None)
    return net


@contextmanager
def torch_threads(n_threads):
    """Run a block with torch's intra-op thread count set to ``n_threads``, then restore it.

    ``None`` leaves torch's setting as it is (by default one thread per core).

    Examples
    --------
    >>> import torch
    >>> from setlearn.nn._net import torch_threads
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def make_net(training, module, **kwargs):
    """A :class:`BagNet` around ``module`` with the settings of ``training`` (a :class:`TrainingSpec`)."""
    return BagNet(
        module,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=training.lr,
        optimizer__weight_decay=training.weight_decay,
        # The fused kernel updates all parameters in one call, on CPU too.
        optimizer__fused=True,
        max_epochs=training.max_epochs,
        batch_size=training.batch_size,
        device=training.device,
        verbose=training.verbose,
        **kwargs,
    )


class _StopOnDivergence(Callback):
    """Stop training with a clear error once the training loss is no longer finite.

    A diverged model has NaN weights: without this it would train on to the last
    epoch and fail later, in ``predict_proba`` or a scorer, with "Input contains NaN".
    """

    def __init__(self, lr):
        self.lr = lr

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "train_loss"]
        if not np.isfinite(loss):
            raise DivergenceError(
                f"Training diverged: the training loss is {loss} after epoch {len(net.history)}. "
                f"Lower the learning rate (lr={self.lr:g}) or check the bags for extreme values."
            )


def _discard(*args, **kwargs):
    """Where a silent estimator's early-stopping messages go; a module-level function (not a
    lambda) so that a fitted net, which keeps its callbacks, pickles."""


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
