"""scikit-learn's bundled 8x8 digits as an instance pool."""

from functools import lru_cache

import numpy as np


# Digit -> population, as the study did with MNIST (3 -> 1, 9 -> 2).
_DIGIT_POPULATIONS = (3, 9)
# Every 4th image of each digit, in load_digits order, goes to the test pool:
# a stratified split that needs no random generator, so it never changes.
_TEST_EVERY = 4
_POOLS = ("train", "test", "all")


@lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)
    images.setflags(write=False)
    target = data.target.astype(np.int64)
    target.setflags(write=False)
    return images, target


def load_digits_pool(pool="all", *, population_digits=(3, 9)):
    """Load scikit-learn's bundled 8x8 digits as a labelled instance pool.

    Parameters
    ----------
    pool : {"train", "test", "all"}, default="all"
        Which images. The split is fixed and stratified: within each digit,
        in ``load_digits`` order, every 4th image (positions 3, 7, 11, ...)
        is in ``"test"`` (445 images), the others in ``"train"`` (1352).
        The two never share an image.
    population_digits : (int, int), default=(3, 9)
        Digits of populations 1 and 2; every other digit is population 0.

    Returns
    -------
    images : ndarray of float32 of shape (n_images, 8, 8)
        Pixel intensities scaled to [0, 1].
    populations : ndarray of int of shape (n_images,)
        The population of every image: 1 and 2 for ``population_digits``, else 0.

    Examples
    --------
    >>> from setlearn.datasets import load_digits_pool
    >>> images, populations = load_digits_pool("test")
    >>> images.shape, int((populations == 1).sum())
    ((445, 8, 8), 45)
    """
    if pool not in _POOLS:
        raise ValueError(f"pool must be one of {_POOLS}, got {pool!r}.")
    images, digits = _digits()
    rank = np.empty(len(digits), dtype=np.int64)
    for d in np.unique(digits):
        where = np.flatnonzero(digits == d)
        rank[where] = np.arange(len(where))
    is_test = rank % _TEST_EVERY == _TEST_EVERY - 1
    keep = {"train": ~is_test, "test": is_test, "all": np.ones_like(is_test)}[pool]
    populations = np.zeros(len(digits), dtype=np.int64)
    for pop, digit in enumerate(population_digits, start=1):
        populations[digits == digit] = pop
    return images[keep], populations[keep]
