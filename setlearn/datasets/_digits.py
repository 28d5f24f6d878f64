"""scikit-learn's bundled 8x8 digits as an instance pool."""

from functools import lru_cache

import numpy as np

from ._pools import _select_pool


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

    A smaller stand-in for MNIST (see :func:`load_mnist_pool` for the real
    thing): 1797 images, bundled with scikit-learn, so always available.

    Parameters
    ----------
    pool : {"train", "valid", "test", "all"}, default="all"
        Which images. The split is fixed and stratified: within each digit,
        in ``load_digits`` order, the image at position ``p`` goes to
        ``"valid"`` when ``p % 5 == 3``, to ``"test"`` when ``p % 5 == 4``,
        and to ``"train"`` otherwise (1085 / 357 / 355 images). No two pools
        share an image.
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
    ((355, 8, 8), 36)
    """
    images, digits = _digits()
    return _select_pool(images, digits, pool, population_digits)
