"""Training bags through skorch: the dataset, the batch iterator and the net."""


import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import nn

from ..bags import PaddedBags, size_bucketed_batches
from ._modules import AttentionMILNet


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
    """skorch net for :class:`~setlearn.nn.AttentionMILNet` on :class:`BagDataset`.

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


def build_module(estimator, instance_shape, n_classes, *, seeds):
    """The untrained :class:`AttentionMILNet` of ``estimator``'s configuration, one member per seed."""
    return AttentionMILNet(
        instance_shape,
        n_classes,
        hidden_size=estimator.hidden_size,
        attention_size=estimator.attention_size,
        featurizer_depth=estimator.featurizer_depth,
        classifier_depth=estimator.classifier_depth,
        attention=estimator.attention,
        featurizer=_resolve_featurizer(estimator.featurizer, instance_shape),
        n_members=len(seeds),
        seeds=seeds,
    )


def fit_net(estimator, bags, y_encoded, n_classes, *, seeds):
    """Train one BagNet with ``len(seeds)`` stacked members of ``estimator``'s configuration.

    The batch order and the validation split follow the first seed, so a
    one-member fit with seed ``s`` equals the classifier fitted with
    ``random_state=s``.
    """
    rng = np.random.RandomState(seeds[0])
    init_seeds = [int(np.random.RandomState(s).randint(np.iinfo(np.int32).max)) for s in seeds]
    shuffle_seed, split_seed = rng.randint(np.iinfo(np.int32).max, size=2)
    module = build_module(estimator, bags[0].shape[1:], n_classes, seeds=init_seeds)
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


def _discard(*args, **kwargs):
    """Where a silent estimator's early-stopping messages go; a module-level function (not a
    lambda) so that a fitted net, which keeps its callbacks, pickles."""


def _sink(estimator):
    return print if estimator.verbose else _discard


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
