"""Padded, size-bucketed storage of bags for batched training."""

from numbers import Integral, Real

import numpy as np
from ._validation import bag_sizes

# Bags are stored as indices into a table of distinct instances when the
# distinct instances are at most this share of all instances: below it, the
# featurizer's work per step shrinks by at least half. Above it (Gaussian bags,
# where every instance is distinct) the table would only add a gather.
_DISTINCT_MAX_FRACTION = 0.5
# Padded slots of a batch may be at most this multiple of its real instances.
_PADDING_RATIO = 2.0
# Elements hashed at once while looking for repeated instances (bounds the
# temporary uint64 copy of a large bag to 2 MiB).
_HASH_CHUNK = 2**18


def size_bucketed_batches(sizes, batch_size, *, shuffle=False, random_state=None, padding_ratio=None):
    """Split bag indices into batches of bags of similar size.

    Bags are sorted by size (ties broken at random when shuffling) and cut into
    consecutive batches of at most ``batch_size`` bags; a batch is also cut
    early when padding its bags to the largest one would need more than
    ``padding_ratio`` times its real instances, so one very large bag never
    pads a whole batch of small ones to its size. With ``shuffle=True`` the
    order of the batches is random too.

    Parameters
    ----------
    sizes : array-like of int
        Number of instances of every bag.
    batch_size : int
        Most bags per batch.
    shuffle : bool, default=False
        Randomise which equally sized bags share a batch, and the batch order.
    random_state : numpy.random.Generator, int or None
        Randomness used when ``shuffle=True``.
    padding_ratio : float, default=None
        Most padded slots (bags x largest bag) per real instance of a batch
        (None: 2); a single bag always forms a batch.

    Returns
    -------
    batches : list of ndarray of int
        Bag indices, one array per batch; together a permutation of all bags.

    Examples
    --------
    >>> from setlearn.bags import size_bucketed_batches
    >>> size_bucketed_batches([5, 1, 4, 2], batch_size=2)
    [array([1, 3]), array([2, 0])]
    >>> size_bucketed_batches([1, 1, 1, 50], batch_size=4)  # the large bag goes alone
    [array([0, 1, 2]), array([3])]
    """
    if not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if padding_ratio is None:
        padding_ratio = _PADDING_RATIO
    if not isinstance(padding_ratio, Real) or not padding_ratio >= 1:
        raise ValueError(f"padding_ratio must be a number >= 1, got {padding_ratio!r}.")
    sizes = np.asarray(sizes)
    if shuffle:
        rng = np.random.default_rng(random_state)
        order = rng.permutation(len(sizes))
        order = order[np.argsort(sizes[order], kind="stable")]
    else:
        order = np.argsort(sizes, kind="stable")
    batches = [order[start:stop] for start, stop in _batch_bounds(sizes[order], batch_size, padding_ratio)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def _batch_bounds(sorted_sizes, batch_size, padding_ratio):
    """(start, stop) of every batch over ascending sizes, greedily as large as the limits allow."""
    bounds, start, real = [], 0, 0
    for i, size in enumerate(sorted_sizes.tolist()):
        count = i - start + 1
        # Sizes ascend, so the bag being added is the batch's widest.
        if count > 1 and (count > batch_size or count * size > padding_ratio * (real + size)):
            bounds.append((start, i))
            start, real = i, 0
        real += size
    if len(sorted_sizes):
        bounds.append((start, len(sorted_sizes)))
    return bounds


def max_padded_elements(sizes, batch_size):
    """Largest number of padded instance slots (bags x widest bag) of one batch.

    The memory a training step needs scales with it; the ensemble uses it to
    decide how many members to stack.

    Parameters
    ----------
    sizes : array-like of int
        Number of instances of every bag.
    batch_size : int
        Most bags per batch.

    Returns
    -------
    n_slots : int
        Bags times the widest bag, for the largest batch.

    Examples
    --------
    >>> from setlearn.bags import max_padded_elements
    >>> max_padded_elements([10] * 99 + [50_000], batch_size=100)
    50000
    """
    sizes = np.asarray(sizes)
    return max(len(b) * int(sizes[b].max()) for b in size_bucketed_batches(sizes, batch_size))


def distinct_instances(bags, *, max_fraction=_DISTINCT_MAX_FRACTION):
    """The distinct instances of ``bags`` and, for every instance, its row in that table.

    Rows are compared by their bytes: each row is hashed (a random linear hash
    modulo 2**64, computed bag by bag so no copy of all instances is ever
    made), rows with equal hashes share a table row, and every bag is then
    compared with the rows it was given, so a hash collision can never merge
    two different instances.

    Parameters
    ----------
    bags : list of ndarray of float32
        Validated bags (see :func:`check_bags`).
    max_fraction : float, default=0.5
        Give up, returning ``(None, None)``, when the distinct instances are
        more than this share of all instances (the table would save little).

    Returns
    -------
    codes : ndarray of int64 of shape (n_instances,) or None
        Row of the table of every instance, bag after bag.
    table : ndarray of shape (n_distinct, *instance_shape) or None
        The distinct instances, in the order of their hashes.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.bags import distinct_instances
    >>> pool = np.eye(3, dtype=np.float32)
    >>> codes, table = distinct_instances([pool[[0, 1, 0]], pool[[1, 1]], pool[[2, 0]]])
    >>> len(table), bool((table[codes] == pool[[0, 1, 0, 1, 1, 2, 0]]).all())
    (3, True)
    """
    sizes = bag_sizes(bags)
    n_columns = int(np.prod(bags[0].shape[1:]))
    # Fixed odd multipliers: the same rows get the same codes in every call.
    multipliers = np.random.default_rng(0).integers(0, 2**63, size=n_columns, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    hashes = np.concatenate([_row_hashes(bag, multipliers) for bag in bags])
    unique_hashes, first, codes = np.unique(hashes, return_index=True, return_inverse=True)
    if len(unique_hashes) > max_fraction * len(hashes):
        return None, None
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    owner = np.searchsorted(starts, first, side="right") - 1
    table = np.empty((len(first), *bags[0].shape[1:]), dtype=bags[0].dtype)
    for bag_index in np.unique(owner):
        rows = np.flatnonzero(owner == bag_index)
        table[rows] = bags[bag_index][first[rows] - starts[bag_index]]
    for bag, start, size in zip(bags, starts, sizes):
        if not np.array_equal(table[codes[start : start + size]].view(np.uint32), bag.view(np.uint32)):
            return None, None  # a hash collision: keep every instance rather than merge two
    return codes.astype(np.int64), table


def _row_hashes(bag, multipliers):
    rows = bag.reshape(len(bag), -1).view(np.uint32)
    hashes = np.empty(len(rows), dtype=np.uint64)
    step = max(1, _HASH_CHUNK // rows.shape[1])
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step].astype(np.uint64)
        chunk *= multipliers  # wraps modulo 2**64, as intended
        hashes[start : start + step] = chunk.sum(axis=1)
    return hashes


class PaddedBags:
    """Bags stored for fast masked batches, each distinct instance once where they repeat.

    Three storages, chosen from the data:

    * **distinct instances** (bags drawn from a finite pool: images, cells):
      the distinct instances are stored once in a table and every bag as row
      numbers into it (see :func:`distinct_instances`). A batch holds each
      distinct instance of its bags once, plus an ``index`` that places them
      in the bags' slots, so the featurizer runs once per distinct instance
      and memory follows the distinct instances, not the slots.
    * **padded**: when padding every bag to the longest one costs at most
      twice the memory of the instances themselves (always true for bags of
      equal size), the bags are stored padded in one tensor and a batch is a
      plain row selection, as in a hand-written training loop.
    * **flat**: otherwise all instances are stored end to end, and a batch
      holds the real instances of its bags with an ``index``.

    Parameters
    ----------
    bags : list of ndarray
        Validated bags (see :func:`check_bags`).
    distinct : {"auto", True, False}, default="auto"
        Whether to store a table of distinct instances: ``"auto"`` when the
        distinct instances are at most half of all instances, ``True``
        always, ``False`` never.

    Attributes
    ----------
    sizes : ndarray of int64
        Number of instances of every bag.
    n_distinct : int or None
        Number of distinct instances, when stored as a table.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.bags import PaddedBags
    >>> data = PaddedBags([np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)])
    >>> x, mask, index = data.batch(np.array([0, 1]))
    >>> data.n_distinct, tuple(x.shape), mask.sum(axis=1).tolist(), tuple(index.shape)
    (1, (1, 3), [2, 4], (2, 4))
    """

    def __init__(self, bags, *, distinct="auto"):
        # torch is imported here, not at module level, so that validation,
        # datasets and metrics work without loading it.
        import torch

        if distinct not in ("auto", True, False):
            raise ValueError(f"distinct must be 'auto', True or False, got {distinct!r}.")
        self.sizes = bag_sizes(bags)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        self.padded = self.codes = None
        self.n_distinct = None
        codes, table = None, None
        if distinct is not False:
            codes, table = distinct_instances(bags, max_fraction=1.0 if distinct is True else _DISTINCT_MAX_FRACTION)
        width = int(self.sizes.max())
        if table is not None and (distinct is True or len(table) < len(codes)):
            self.codes = codes
            self.instances = torch.from_numpy(table)
            self.n_distinct = len(table)
        elif width * len(bags) <= 2 * self.sizes.sum():
            self.padded = torch.from_numpy(np.stack([_pad_to(b, width) for b in bags]))
            self.mask = torch.from_numpy(np.arange(width)[None, :] < self.sizes[:, None])
        else:
            self.instances = torch.from_numpy(np.concatenate(bags, axis=0))

    def __len__(self):
        return len(self.sizes)

    def batch(self, indices):
        """Instances, mask and slot index of the bags ``indices``.

        Parameters
        ----------
        indices : array-like of int
            Positions of the bags of the batch.

        Returns
        -------
        x : torch.Tensor
            Padded storage: the padded bags, shape ``(n_bags, max_size,
            *instance_shape)``; padding positions hold zeros, which are
            masked out. Otherwise the batch's instances, shape
            ``(n_instances, *instance_shape)``: its real instances (flat
            storage), or its distinct instances, each once (table storage).
        mask : torch.BoolTensor of shape (n_bags, max_size)
            True for real instances.
        index : torch.LongTensor of shape (n_bags, max_size) or None
            Row of ``x`` that fills every slot (padding slots point at some
            real instance; the mask excludes them). None for padded storage,
            where ``x`` already holds the slots.
        """
        import torch

        indices = np.asarray(indices)
        sizes = self.sizes[indices]
        width = int(sizes.max())
        if self.padded is not None:
            rows = torch.from_numpy(indices)
            return torch.index_select(self.padded[:, :width], 0, rows), torch.index_select(self.mask[:, :width], 0, rows), None
        positions = np.arange(width)
        mask = positions[None, :] < sizes[:, None]
        # The rows of all real instances of the batch, bag after bag.
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        real = np.repeat(self.offsets[indices] - starts, sizes) + np.arange(sizes.sum())
        slots = starts[:, None] + np.minimum(positions[None, :], sizes[:, None] - 1)
        if self.codes is None:
            rows, index = real, slots
        else:
            rows, inverse = np.unique(self.codes[real], return_inverse=True)
            index = inverse.reshape(-1)[slots]
        x = torch.index_select(self.instances, 0, torch.from_numpy(rows))
        return x, torch.from_numpy(mask), torch.from_numpy(index)


def _pad_to(bag, width):
    if len(bag) == width:
        return bag
    padded = np.zeros((width, *bag.shape[1:]), dtype=bag.dtype)
    padded[: len(bag)] = bag
    return padded
