"""Side experiments (config key ``sweep``): one sub-run per value, and the table over them."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t

import setlearn
from setlearn.assessment import ConfigError, StudyConfig, StudyRecord, Sweep, SweepResult, load_config, table_sweep
from setlearn.assessment._sweep import _point_folder

# side-s7 at a size that trains in seconds: two witness rates, 4 models each (1 search + 3 retrains).
TINY_SWEEP = {"n_train_bags": 30, "n_valid_bags": 20, "n_test_bags": 20, "bag_size": 10,
              "estimator_params": {"max_epochs": 3}, "sweep": {"values": [0.1, 0.5]}}
N_PER_VALUE = 4


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "s7"
    return setlearn.assess("side-s7", config=TINY_SWEEP, out=out, n_jobs=1, verbose=False)


def _without_times(frame):
    return frame.drop(columns="fit_time_s").sort_values(["stage", "repeat"]).reset_index(drop=True)


# --------------------------------------------------------------------------- the config


def test_a_sweep_is_typed_and_round_trips():
    config = StudyConfig.from_mapping("side-s7", {"sweep": {"values": [0.01, 0.5]}})
    assert config.sweep == Sweep("witness_rate", (0.01, 0.5), varies_data=True)
    assert config.to_dict()["sweep"] == {"parameter": "witness_rate", "values": [0.01, 0.5]}
    assert StudyConfig.from_mapping(None, config.to_dict()) == config
    # Without a sweep the key is left out: config.json is what it was before the key existed.
    assert "sweep" not in load_config("smoke")
    assert StudyConfig.from_mapping("smoke", {"sweep": None}).sweep is None
    model_sweep = StudyConfig.from_mapping("side-s8").sweep
    assert (model_sweep.parameter, model_sweep.varies_data) == ("attention_size", False)


def test_the_sweep_points_set_the_value_where_it_belongs():
    data = StudyConfig.from_mapping("side-s7", {"sweep": {"values": [0.05, 0.2]}})
    points = data.sweep_points()
    assert [v for v, _ in points] == [0.05, 0.2]
    assert [p.data_params for _, p in points] == [{"witness_rate": 0.05}, {"witness_rate": 0.2}]
    assert all(p.sweep is None and p.preset == "side-s7" for _, p in points)
    assert points[0][1].description.startswith("witness_rate = 0.05: one sub-run")
    # Everything else is the sweep's configuration.
    assert points[0][1].grid == data.grid and points[0][1].estimator_params == data.estimator_params
    model = StudyConfig.from_mapping("side-s8", {"sweep": {"values": [2, 50]}}).sweep_points()
    assert [p.estimator_params["attention_size"] for _, p in model] == [2, 50]
    assert StudyConfig.from_mapping("smoke").sweep_points() == []


@pytest.mark.parametrize("sweep, message", [
    ({"parameter": "witnes_rate", "values": [0.1]}, "Unknown sweep parameter .* Did you mean 'witness_rate'"),
    ({"parameter": "atention_size", "values": [1]}, "Did you mean 'attention_size'"),
    ({"parameter": "witness_rate", "values": []}, "sweep.values must be a non-empty list"),
    ({"parameter": "witness_rate", "values": 0.1}, "sweep.values must be a non-empty list"),
    ({"parameter": "witness_rate", "values": [0.1, 0.1]}, "lists a value twice"),
    ({"parameter": "witness_rate", "values": [0.1, [0.2]]}, "must hold plain values"),
    ({"parameter": "witness_rate", "values": [0.1, 1.5]}, r"sweep value witness_rate=1\.5: .*witness_rate must be"),
    ({"parameter": "witness_rate", "values": [0.1], "value": 1}, "Unknown key .* 'value'"),
    ({"parameter": "seed", "values": [1]}, "Unknown sweep parameter .*'seed'"),
    ({"parameter": "n_bags", "values": [10]}, "set by the study itself"),
    ({"parameter": "hidden_size", "values": [4]}, r"both swept \(sweep\) and searched \(grid.gaussian\)"),
    ({"parameter": "lr", "values": [0.01]}, r"both swept \(sweep\) and fixed \(estimator_params\)"),
    ({"parameter": "witness_rate", "values": ["a b", "a_b"]}, "the same folder name"),
    ("witness_rate", "sweep must be a mapping"),
])
def test_a_bad_sweep_is_refused_with_what_to_fix(sweep, message):
    with pytest.raises(ConfigError, match=message):
        StudyConfig.from_mapping("side-s7", {**TINY_SWEEP, "sweep": sweep})


@pytest.mark.parametrize("values, message", [
    ([2, True], "must hold integers"),
    ([0], "sweep value attention_size=0: .*not a valid AttentionMILClassifier"),
])
def test_a_bad_estimator_sweep_is_refused(values, message):
    with pytest.raises(ConfigError, match=message):
        StudyConfig.from_mapping("side-s8", {**TINY_SWEEP, "sweep": {"values": values}})


def test_a_sweep_needs_a_parameter_and_values():
    # On a preset without a sweep (side-s7's would fill in what is left out: keys merge one level deep).
    for partial in ({"parameter": "witness_rate"}, {"values": [0.1]}):
        with pytest.raises(ConfigError, match="needs both 'parameter'"):
            StudyConfig.from_mapping("smoke", {"sweep": partial})


def test_the_command_line_says_a_bad_sweep_in_one_line(tmp_path, capsys):
    from setlearn.cli import main

    config = tmp_path / "bad.json"
    config.write_text(json.dumps({**TINY_SWEEP, "sweep": {"values": [0.1, 2.0]}}))
    out = tmp_path / "never"
    assert main(["assess", "--preset", "side-s7", "--config", str(config), "--out", str(out), "-q"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("setlearn assess: error: sweep value witness_rate=2.0:") and error.count("\n") == 1
    assert not out.exists()  # refused before anything is written


def test_a_swept_data_parameter_must_not_also_be_fixed():
    with pytest.raises(ConfigError, match=r"both swept \(sweep\) and fixed \(data_params\)"):
        StudyConfig.from_mapping("side-s7", {"data_params": {"witness_rate": 0.1}})


# --------------------------------------------------------------------------- the run


def test_a_sweep_runs_one_complete_assessment_per_value(tiny_sweep):
    assert isinstance(tiny_sweep, SweepResult) and tiny_sweep.complete
    assert list(tiny_sweep.runs) == [0.1, 0.5]
    for value, run in tiny_sweep.runs.items():
        folder = _point_folder(tiny_sweep.out, tiny_sweep.config.sweep, value)
        assert run.out == folder and folder.name == f"witness_rate={value}"
        assert run.complete and run.report.exists() and (folder / "audit.csv").exists()
        assert json.loads((folder / "config.json").read_text())["data_params"] == {"witness_rate": value}
        # A sub-run folder is a run folder like any other.
        assert StudyRecord.open(folder).models.equals(run.models)
    parent = json.loads((tiny_sweep.out / "config.json").read_text())
    assert parent["sweep"] == {"parameter": "witness_rate", "values": [0.1, 0.5]}
    assert not (tiny_sweep.out / "attention").exists()  # the models are in the sub-runs
    assert tiny_sweep.n_new_models == 2 * N_PER_VALUE == len(tiny_sweep.models)
    for name in ("tables/sweep_witness_rate.csv", "tables/sweep_witness_rate.md", "figures/sweep_witness_rate.png",
                 "report.md", "report.html"):
        assert (tiny_sweep.out / name).exists(), name


def test_the_sweep_table_is_what_the_sub_runs_stored(tiny_sweep):
    table = pd.read_csv(tiny_sweep.out / "tables" / "sweep_witness_rate.csv")
    assert list(table["witness_rate"]) == [0.1, 0.5]
    for value in (0.1, 0.5):
        # Read independently of the code under test: the sub-run's models.csv, every model counted
        # (one configuration: the search seed is a model like the retrains).
        stored = pd.read_csv(tiny_sweep.out / "sweep" / f"witness_rate={value}" / "models.csv")
        row = table[table["witness_rate"] == value].iloc[0]
        assert row["n_models"] == len(stored) == N_PER_VALUE
        for metric in ("iauc_roc", "iauc_pr", "test_accuracy"):
            values = stored[metric].to_numpy()
            mean, sd = values.mean(), values.std(ddof=1)
            half = t.ppf(0.975, len(values) - 1) * sd / np.sqrt(len(values))
            assert row[f"{metric}_mean"] == pytest.approx(mean)
            assert row[f"{metric}_sd"] == pytest.approx(sd)
            assert row[f"{metric}_low"] == pytest.approx(max(0.0, mean - half))
            assert row[f"{metric}_high"] == pytest.approx(min(1.0, mean + half))
    assert table[["study_iauc_roc", "study_iauc_pr"]].isna().all().all()  # the study gives 1 % only


def test_the_sweep_report_names_the_studys_figure_and_each_sub_run(tiny_sweep):
    text = tiny_sweep.report.read_text()
    assert "the study's Fig. S.7" in text and "read off the figure" in text
    assert "(sweep/witness_rate=0.1/report.md)" in text and "(sweep/witness_rate=0.5/report.md)" in text
    assert "figures/sweep_witness_rate.png" in text
    summary = tiny_sweep.summary()
    assert "witness_rate = 0.1: 4 models" in summary and "witness_rate = 0.5: 4 models" in summary


def test_a_sweep_cut_in_the_middle_resumes_to_the_same_rows(tiny_sweep, tmp_path):
    out = tmp_path / "cut"
    # 6 models: the first sub-run whole, then the second's search model and one of its retrains.
    first = setlearn.assess("side-s7", config=TINY_SWEEP, out=out, n_jobs=1, max_models=6, verbose=False)
    assert not first.complete and first.n_new_models == 6 and first.report is None and first.table is None
    assert list(first.runs) == [0.1, 0.5] and first.runs[0.1].complete and not first.runs[0.5].complete
    assert not (out / "report.md").exists()
    rest = setlearn.assess("side-s7", config=TINY_SWEEP, out=out, n_jobs=1, verbose=False)
    assert rest.complete and rest.n_new_models == 2 * N_PER_VALUE - 6
    for value in (0.1, 0.5):
        resumed = pd.read_csv(out / "sweep" / f"witness_rate={value}" / "models.csv")
        whole = pd.read_csv(tiny_sweep.out / "sweep" / f"witness_rate={value}" / "models.csv")
        pd.testing.assert_frame_equal(_without_times(resumed), _without_times(whole))
    cols = [c for c in rest.table.columns if c != "witness_rate"]
    pd.testing.assert_frame_equal(rest.table[cols], tiny_sweep.table[cols])
    again = setlearn.assess("side-s7", config=TINY_SWEEP, out=out, n_jobs=1, verbose=False)
    assert again.complete and again.n_new_models == 0


def test_a_sweep_folder_refuses_another_sweep(tiny_sweep):
    other = {**TINY_SWEEP, "sweep": {"values": [0.1, 0.4]}}
    with pytest.raises(ConfigError, match="different configuration .*sweep"):
        setlearn.assess("side-s7", config=other, out=tiny_sweep.out, n_jobs=1, verbose=False)


def test_an_estimator_parameter_sweep(tmp_path):
    config = {**TINY_SWEEP, "sweep": {"values": [1, 3]}}
    result = setlearn.assess("side-s8", config=config, out=tmp_path / "s8", n_jobs=1, verbose=False)
    assert result.complete and list(result.table["attention_size"]) == [1, 3]
    assert list(result.table["n_models"]) == [N_PER_VALUE, N_PER_VALUE]
    assert "the study's Fig. S.8" in result.report.read_text()
    assert (tmp_path / "s8" / "tables" / "sweep_attention_size.csv").exists()


def test_table_sweep_counts_per_task_and_value_in_order():
    rows = pd.DataFrame({"modality": "gaussian", "problem": ["mil", "mil", "mil", "and"],
                         "witness_rate": [0.5, 0.01, 0.01, 0.01], "iauc_roc": [0.9, 0.8, 0.6, 0.7],
                         "iauc_pr": [0.9, 0.3, 0.1, 0.2], "test_accuracy": [1.0, 0.9, 0.7, 0.8]})
    table = table_sweep(rows, "witness_rate")
    assert table[["problem", "witness_rate", "n_models"]].values.tolist() == [
        ["mil", 0.5, 1], ["mil", 0.01, 2], ["and", 0.01, 1]]
    single = table.iloc[0]
    assert single["iauc_roc_mean"] == 0.9 and np.isnan(single["iauc_roc_sd"]) and np.isnan(single["iauc_roc_low"])
    # The study's point (Gaussian MIL at 1 %), and nothing for a task it did not report.
    assert table.iloc[1][["study_iauc_roc", "study_iauc_pr"]].tolist() == [0.8, 0.3]
    assert table.iloc[2][["study_iauc_roc", "study_iauc_pr"]].isna().all()
    # An interval of shares stays within [0, 1].
    assert (table["iauc_roc_low"].dropna() >= 0).all() and (table["iauc_roc_high"].dropna() <= 1).all()
