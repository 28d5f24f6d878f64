"""Fixed, disjoint train / validation / test pools of a labelled image set.

Shared by the image modalities (``"digits"``, ``"mnist"``) so that they split
the same way and map digits to populations the same way.
"""

import numpy as np


POOLS = ("train", "valid", "test", "all")
# Within each digit, in file order, the image at position p goes to the pool
# _PATTERN[p % 5]: a stratified 60 / 20 / 20 split that needs no random
# generator, so it never changes between versions, machines or seeds.
_PATTERN = ("train", "train", "train", "valid", "test")
# A data set with its own test set (full MNIST) keeps that test set as "test" and
# carves "valid" out of its training set the same way: within each digit, in file
# order, every sixth image (position p % 6 == 5), about 10,000 of MNIST's 60,000.
_VALID_FROM_TRAIN = ("train",) * 5 + ("valid",)


def _pool_mask(digits, pool, pattern=_PATTERN):
    """Boolean mask of the images of ``pool``, given every image's digit in file order.

    ``pattern`` assigns position ``p`` of a digit to ``pattern[p % len(pattern)]``.
    """
    if pool not in POOLS:
        raise ValueError(
            f"pool must be one of {POOLS}, got {pool!r}. Train on 'train', select models on 'valid' "
            f"and score them on 'test': the three never share an image."
        )
    if pool == "all":
        return np.ones(len(digits), dtype=bool)
    rank = np.empty(len(digits), dtype=np.int64)
    for digit in np.unique(digits):
        where = np.flatnonzero(digits == digit)
        rank[where] = np.arange(len(where))
    return np.asarray(pattern)[rank % len(pattern)] == pool


def _digit_populations(digits, population_digits):
    """Population of every image: the two ``population_digits`` are 1 and 2, every other digit 0."""
    pair = tuple(population_digits) if np.iterable(population_digits) else ()
    if (len(pair) != 2 or len(set(pair)) != 2
            or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and 0 <= d <= 9 for d in pair)):
        raise ValueError(
            f"population_digits must be two different digits 0-9 (those of populations 1 and 2), "
            f"got {population_digits!r}."
        )
    populations = np.zeros(len(digits), dtype=np.int64)
    for population, digit in enumerate(pair, start=1):
        populations[digits == digit] = population
    return populations


def _select_pool(images, digits, pool, population_digits):
    """``(images, populations)`` of one pool: the body every image-pool loader shares."""
    keep = _pool_mask(digits, pool)
    return images[keep], _digit_populations(digits, population_digits)[keep]


def _select_split_pool(sets, pool, population_digits):
    """``(images, populations)`` of one pool of a data set with its own train and test sets.

    ``sets`` has ``train_images``, ``train_digits``, ``test_images`` and
    ``test_digits`` (an :class:`~setlearn.datasets._mnist_files.MnistSets`):
    "train" and "valid" split its training set by ``_VALID_FROM_TRAIN``,
    "test" is its test set, "all" both.
    """
    # All False for "test" (the pattern holds no test position), all True for "all".
    from_train = _pool_mask(sets.train_digits, pool, _VALID_FROM_TRAIN)
    from_test = np.full(len(sets.test_digits), pool in ("test", "all"))
    images = np.concatenate([sets.train_images[from_train], sets.test_images[from_test]])
    digits = np.concatenate([sets.train_digits[from_train], sets.test_digits[from_test]])
    return images, _digit_populations(digits, population_digits)
