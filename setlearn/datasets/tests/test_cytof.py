"""The 'cytof' modality: real gated CyTOF cells shipped in the package, split into disjoint pools."""

import fnmatch
import tomllib
from pathlib import Path

import numpy as np
import pytest

import setlearn
from setlearn.datasets import CYTOF_MAPPINGS, CYTOF_MARKERS, MODALITIES, load_cytof_pool, make_bags
from setlearn.datasets._cytof import _DATA_FILE, _read_cytof

SPLITS = ("train", "valid", "test")


def _rows(cells):
    return {row.tobytes() for row in cells}


def test_shipped_file_is_package_data_and_holds_37_markers():
    package = Path(setlearn.__file__).parent
    relative = _DATA_FILE.relative_to(package).as_posix()  # raises when the file is outside the package
    pyproject = package.parent / "pyproject.toml"
    if pyproject.is_file():  # a checkout: the file must be listed as package data, or a wheel lacks it
        globs = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["setlearn"]
        assert any(fnmatch.fnmatch(relative, g) for g in globs), (relative, globs)
        assert (_DATA_FILE.parent / "PROVENANCE.md").is_file() and (_DATA_FILE.parent / "LICENSE-GPL-3.0.md").is_file()
    cells, gate, gates, markers = _read_cytof()
    assert markers == CYTOF_MARKERS and len(markers) == 37
    assert cells.shape == (80383, 37) and cells.dtype == np.float32
    assert len(gates) == 28 and set(np.unique(gate)) == set(range(28))
    for population_gates in (g for m in CYTOF_MAPPINGS.values() for gs in m.values() for g in gs):
        assert population_gates in gates
    assert np.isfinite(cells).all() and cells.min() >= 0


@pytest.mark.parametrize("mapping", list(CYTOF_MAPPINGS))
def test_pools_are_disjoint_and_split_each_population_60_20_20(mapping):
    pools = {split: load_cytof_pool(split, mapping=mapping) for split in SPLITS}
    everything, all_populations = load_cytof_pool("all", mapping=mapping)
    rows = {split: _rows(cells) for split, (cells, _) in pools.items()}
    assert len(_rows(everything)) == len(everything)  # no cell twice, so disjoint rows mean disjoint cells
    assert not rows["train"] & rows["valid"] and not rows["train"] & rows["test"] and not rows["valid"] & rows["test"]
    assert rows["train"] | rows["valid"] | rows["test"] == _rows(everything)
    for population in range(3):
        total = int((all_populations == population).sum())
        counts = {s: int((pools[s][1] == population).sum()) for s in SPLITS}
        assert sum(counts.values()) == total
        assert abs(counts["valid"] - total / 5) <= len(CYTOF_MAPPINGS[mapping][population])
        assert abs(counts["test"] - total / 5) <= len(CYTOF_MAPPINGS[mapping][population])


def test_default_mapping_is_cd4_against_cd8_effector_and_naive():
    cells, populations = load_cytof_pool("all")
    assert np.bincount(populations).tolist() == [21905, 11933, 4784]
    cd4, cd8 = CYTOF_MARKERS.index("CD4"), CYTOF_MARKERS.index("CD8a")
    # The gates mean what their names say: CD4 high in population 0, CD8 in 1 and 2.
    assert np.median(cells[populations == 0, cd4]) > 2 > np.median(cells[populations == 0, cd8])
    for population in (1, 2):
        assert np.median(cells[populations == population, cd8]) > 2 > np.median(cells[populations == population, cd4])


def test_lineages_and_a_custom_mapping():
    _, populations = load_cytof_pool("all", mapping="lineages")
    assert np.bincount(populations).tolist() == [48168, 11418, 9807]
    cells, populations = load_cytof_pool("test", mapping={0: ["NK"], 1: "pDCs"})
    # NK 6,370 and pDCs 190 cells: a fifth of each is the test pool.
    assert np.bincount(populations).tolist() == [1274, 38] and cells.shape == (1312, 37)


@pytest.mark.parametrize("mapping, match", [
    ("basal", "mapping must be one of 'subsets', 'lineages'"),
    ({0: ["CD4-Naive"], 1: ["Neutrophils"]}, "unknown gates \\['Neutrophils'\\]; the gates are: .*CD8-Eff"),
    ({0: ["CD4-Naive"], 1: ["CD4-Naive"]}, "Gate 'CD4-Naive' is in populations 0 and 1"),
    ({1: ["CD8-Eff"], 2: ["CD8-Naive"]}, "populations 0, 1 \\(and 2\\)"),
    ({0: [], 1: ["CD8-Eff"]}, "mapping\\[0\\] names no gate"),
])
def test_bad_mapping_says_what_to_fix(mapping, match):
    with pytest.raises(ValueError, match=match):
        load_cytof_pool("train", mapping=mapping)


def test_bad_pool_is_rejected():
    with pytest.raises(ValueError, match="pool must be one of"):
        load_cytof_pool("validation")


@pytest.mark.parametrize("modality", ["cytof", "cytof-lineages"])
@pytest.mark.parametrize("problem", ["mil", "and", "xor"])
def test_make_bags_draws_37_marker_cells_with_ground_truth_from_one_pool(problem, modality):
    assert modality in MODALITIES
    mapping = "subsets" if modality == "cytof" else "lineages"
    X, y, importance, populations = make_bags(problem, modality, n_bags=20, bag_size=50, pool="valid",
                                              random_state=0, return_populations=True)
    # bag_size is the mean bag size under the default composition.
    assert len(X) == 20 and all(b.shape[1:] == (37,) and b.dtype == np.float32 for b in X)
    assert y.sum() == 10
    important = (1,) if problem == "mil" else (1, 2)
    for bag, imp, pops in zip(X, importance, populations):
        np.testing.assert_array_equal(imp, np.isin(pops, important))
    pools = {s: load_cytof_pool(s, mapping=mapping) for s in SPLITS}
    drawn = _rows(np.concatenate(X))
    assert drawn <= _rows(pools["valid"][0]) and not drawn & (_rows(pools["train"][0]) | _rows(pools["test"][0]))
    # Every drawn cell carries the population of its gate.
    population_of = {row.tobytes(): p for row, p in zip(*pools["valid"])}
    flat = np.concatenate(X)
    assert [population_of[row.tobytes()] for row in flat] == np.concatenate(populations).tolist()


# ------------------------------------------------------------------ assess on cytof


def test_assess_draws_each_split_from_its_own_cell_pool():
    import json

    from setlearn.assessment._tasks import _Data, _dataset

    data = _Data(n_bags=(10, 10, 10), bag_size=30, data_params=json.dumps({}), seed=0)
    pools = {split: _rows(load_cytof_pool(split)[0]) for split in SPLITS}
    for split in SPLITS:
        drawn = _rows(np.concatenate(_dataset("xor", "cytof", split, data)[0]))
        assert drawn <= pools[split]


def test_study_cytof_preset_is_the_study_scale_on_the_gaussian_grid_family():
    from setlearn.assessment import load_config

    study, paper = load_config("study-cytof"), load_config("paper")
    assert study["modalities"] == ["cytof"] and study["problems"] == ["mil", "and", "xor"]
    assert (study["n_train_bags"], study["n_valid_bags"], study["n_test_bags"], study["bag_size"]) == (1000, 250, 250, 250)
    assert study["estimator_params"] == paper["estimator_params"]  # 500 epochs and the study's optimiser
    # The paper preset runs cytof on the study's Gaussian/CyTOF grid; the study preset draws from it.
    assert "cytof" in paper["modalities"] and paper["grid"]["cytof"] == paper["grid"]["gaussian"]
    for name, values in study["grid"]["cytof"].items():
        assert set(values) <= set(paper["grid"]["cytof"][name])


@pytest.mark.slow
def test_assess_runs_end_to_end_on_cytof(tmp_path):
    config = {
        "n_train_bags": 20, "n_valid_bags": 10, "n_test_bags": 10, "bag_size": 20,
        "grid": {"cytof": {"hidden_size": [2], "attention_size": [1, 4], "featurizer_depth": [1],
                           "classifier_depth": [2]}},
        "estimator_params": {"max_epochs": 2}, "search_seeds": 1, "top_k": 1, "n_retrain": 2,
        "max_ensemble_size": 2, "n_ensembles": 2,
    }
    result = setlearn.assess("study-cytof", config=config, out=tmp_path / "run", verbose=False)
    assert set(result.models["modality"]) == {"cytof"} and set(result.models["problem"]) == {"mil", "and", "xor"}
    assert len(result.models) == 3 * (2 + 2) and result.models["iauc_roc"].between(0, 1).all()
