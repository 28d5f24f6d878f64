"""Padded, size-bucketed storage of bags for batched training."""

from numbers import Integral

import numpy as np
from ._validation import bag_sizes


def size_bucketed_batches(sizes, batch_size, *, shuffle=False, random_state=None):
    """Split bag indices into batches of bags of similar size.

    Bags are sorted by size (ties broken at random when shuffling) and cut into
    consecutive batches, so padding inside a batch stays small; with
    ``shuffle=True`` the order of the batches is random too.

    Parameters
    ----------
    sizes : array-like of int
        Number of instances of every bag.
    batch_size : int
        Bags per batch (the last batch may be smaller).
    shuffle : bool, default=False
        Randomise which equally sized bags share a batch, and the batch order.
    random_state : numpy.random.Generator, int or None
        Randomness used when ``shuffle=True``.

    Returns
    -------
    batches : list of ndarray of int
        Bag indices, one array per batch; together a permutation of all bags.

    Examples
    --------
    >>> from setlearn.bags import size_bucketed_batches
    >>> size_bucketed_batches([5, 1, 4, 2], batch_size=2)
    [array([1, 3]), array([2, 0])]
    """
    if not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    sizes = np.asarray(sizes)
    if shuffle:
        rng = np.random.default_rng(random_state)
        order = rng.permutation(len(sizes))
        order = order[np.argsort(sizes[order], kind="stable")]
    else:
        order = np.argsort(sizes, kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


class PaddedBags:
    """Bags stored for fast padded, masked batches.

    When padding every bag to the longest one costs at most twice the memory
    of the instances themselves (always true for bags of equal size), the bags
    are stored padded in one tensor and a batch is a plain row selection, as
    in a hand-written training loop. Otherwise they are stored flat and a batch
    is one gather. Either way, building a batch is a single tensor operation,
    which keeps the per-step overhead of training small.

    Parameters
    ----------
    bags : list of ndarray
        Validated bags (see :func:`check_bags`).

    Attributes
    ----------
    sizes : ndarray of int64
        Number of instances of every bag.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.bags import PaddedBags
    >>> data = PaddedBags([np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)])
    >>> x, mask = data.batch(np.array([0, 1]))
    >>> tuple(x.shape), mask.sum(axis=1).tolist()
    ((2, 4, 3), [2, 4])
    """

    def __init__(self, bags):
        # torch is imported here, not at module level, so that validation,
        # datasets and metrics work without loading it.
        import torch

        self.sizes = bag_sizes(bags)
        width = int(self.sizes.max())
        positions = np.arange(width)
        if width * len(bags) <= 2 * self.sizes.sum():
            self.padded = torch.from_numpy(np.stack([_pad_to(b, width) for b in bags]))
            self.mask = torch.from_numpy(positions[None, :] < self.sizes[:, None])
        else:
            self.padded = None
            self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
            self.instances = torch.from_numpy(np.concatenate(bags, axis=0))

    def __len__(self):
        return len(self.sizes)

    def batch(self, indices):
        """Padded instances and mask of the bags ``indices``.

        Parameters
        ----------
        indices : array-like of int
            Positions of the bags of the batch.

        Returns
        -------
        x : torch.Tensor of shape (n_bags, max_size, \\*instance_shape)
            Padding positions hold finite filler values (zeros or a repeat of
            the bag's last instance); they are masked out, and finite values
            keep every product with a zero weight at 0.
        mask : torch.BoolTensor of shape (n_bags, max_size)
            True for real instances.
        """
        import torch

        sizes = self.sizes[indices]
        width = int(sizes.max())
        if self.padded is not None:
            rows = torch.from_numpy(np.asarray(indices))
            x = torch.index_select(self.padded[:, :width], 0, rows)
            return x, torch.index_select(self.mask[:, :width], 0, rows)
        positions = np.arange(width)
        mask = positions[None, :] < sizes[:, None]
        flat = self.offsets[indices][:, None] + np.minimum(positions[None, :], sizes[:, None] - 1)
        return self.instances[torch.from_numpy(flat)], torch.from_numpy(mask)


def _pad_to(bag, width):
    if len(bag) == width:
        return bag
    padded = np.zeros((width, *bag.shape[1:]), dtype=bag.dtype)
    padded[: len(bag)] = bag
    return padded
