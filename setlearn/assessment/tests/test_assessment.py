"""setlearn.assess: config validation, tables from hand-made rows, end to end, resume."""

import contextlib
import csv
import json

import numpy as np
import pandas as pd
import pytest

import setlearn
from setlearn import assessment
from setlearn.assessment import _cluster, _runner, _store
from setlearn.assessment import (
    ConfigError,
    bad_fraction_by_ensemble_size,
    load_config,
    table_accuracy_vs_iauc,
    table_ensembles,
    table_search_by_grid_value,
    table_silent_failures,
    table_top_configurations,
    top_configurations,
)

from setlearn.utils._testing import N_TINY_ENSEMBLES, N_TINY_MODELS
from setlearn.utils._testing import TINY_ASSESS_CONFIG as TINY


def _without_timing(frame):
    return frame.drop(columns="fit_time_s").sort_values(_store.MODEL_KEY).reset_index(drop=True)


# --------------------------------------------------------------------------- config


def test_presets_load_and_validate():
    assert assessment.preset_names() == ["paper", "quick", "side-s7", "side-s8", "smoke", "study", "study-cytof", "study-mnist"]
    paper = load_config("paper")
    assert (paper["n_train_bags"], paper["bag_size"], paper["search_seeds"], paper["top_k"]) == (1000, 250, 5, 5)
    assert (paper["n_retrain"], paper["max_ensemble_size"], paper["n_ensembles"]) == (100, 20, 30)
    assert paper["estimator_params"]["max_epochs"] == 500
    from sklearn.model_selection import ParameterGrid

    assert len(ParameterGrid(paper["grid"]["gaussian"])) == 270
    assert len(ParameterGrid(paper["grid"]["digits"])) == 96


def test_overrides_merge_one_level_deep():
    grid = {"hidden_size": [2], "attention_size": [1, 2]}
    config = load_config("smoke", {"estimator_params": {"lr": 0.01}, "grid": {"gaussian": grid}})
    assert config["estimator_params"]["lr"] == 0.01
    assert config["estimator_params"]["max_epochs"] == load_config("smoke")["estimator_params"]["max_epochs"]
    assert config["grid"]["gaussian"] == grid
    assert config["grid"]["digits"] == load_config("smoke")["grid"]["digits"]


@pytest.mark.parametrize(
    "override, message",
    [
        ({"n_retrian": 3}, "Unknown config key 'n_retrian'. Did you mean 'n_retrain'?"),
        ({"top_k": "2"}, "top_k must be an int in the range [1, inf), got '2'"),
        ({"top_k": True}, "top_k must be an int in the range [1, inf), got True"),
        ({"search_seeds": 0}, "search_seeds must be an int in the range [1, inf), got 0"),
        ({"bad_iauc": 1.5}, "bad_iauc must be a float in the range [0.0, 1.0], got 1.5"),
        ({"problems": ["mill"]}, "Unknown problem (in problems) 'mill'. Did you mean 'mil'?"),
        ({"problems": []}, "problems must be a non-empty list"),
        ({"modalities": ["gausian"]}, "Did you mean 'gaussian'?"),
        ({"grid": {"gaussian": {}}}, "grid.gaussian is empty"),
        ({"grid": {"gaussian": {"hidden_size": []}}}, "grid.gaussian.hidden_size must be a non-empty list"),
        ({"grid": {"gaussian": {"hiden_size": [2]}}}, "Did you mean 'hidden_size'?"),
        ({"grid": {"minst": {"hidden_size": [2]}}}, "Unknown modality (in grid) 'minst'. Did you mean 'mnist'?"),
        ({"top_k": 3}, "top_k=3 is larger than the 2 configurations of grid.gaussian"),
        ({"max_ensemble_size": 4}, "max_ensemble_size=4 exceeds n_retrain=3"),
        ({"estimator_params": {"random_state": 1}}, "set by the study itself"),
        ({"estimator_params": {"max_epoch": 1}}, "Did you mean 'max_epochs'?"),
        ({"grid": {"gaussian": {"hidden_size": [4], "attention_size": [2, 4], "lr": [0.1]}},
          "estimator_params": {"lr": 0.01}}, "lr is both searched"),
        ({"data_params": {"witnes_rate": 0.1}}, "Did you mean 'witness_rate'?"),
        ({"data_params": {"n_bags": 3}}, "data_params.n_bags is set by the study"),
    ],
)
def test_bad_configs_are_rejected_clearly(override, message):
    with pytest.raises(ConfigError) as info:
        load_config("smoke", override)
    assert message in str(info.value)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="Unknown preset 'quik'. Did you mean 'quick'?"):
        load_config("quik")


def test_config_files(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"n_retrain": 4}))
    (tmp_path / "b.toml").write_text('n_retrain = 5\n[estimator_params]\nlr = 0.01\n')
    (tmp_path / "broken.json").write_text("{n_retrain: 4")
    (tmp_path / "c.yaml").write_text("n_retrain: 4")
    assert load_config("smoke", tmp_path / "a.json")["n_retrain"] == 4
    toml = load_config("smoke", str(tmp_path / "b.toml"))
    assert (toml["n_retrain"], toml["estimator_params"]["lr"]) == (5, 0.01)
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config("smoke", tmp_path / "broken.json")
    with pytest.raises(ConfigError, match="must end in .json or .toml"):
        load_config("smoke", tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("smoke", tmp_path / "missing.json")


# --------------------------------------------------------------------------- tables


def _rows(**columns):
    return pd.DataFrame({"problem": "mil", "modality": "gaussian", **columns})


def test_top_configurations_ranks_by_validation_with_deterministic_ties():
    rows = _rows(
        stage=["search"] * 6 + ["retrain"],
        config_id=["a", "a", "b", "b", "c", "c", "c"],
        valid_accuracy=[1.0, 0.9, 0.9, 0.9, 1.0, 0.9, 0.0],
        valid_log_loss=[0.2, 0.2, 0.1, 0.1, 0.2, 0.2, 9.0],
    )
    top = top_configurations(rows, 3)
    # a and c tie on both criteria: the config id decides; retrain rows are ignored.
    assert top["config_id"].tolist() == ["a", "c", "b"]
    assert top["rank"].tolist() == [1, 2, 3]


def _handmade_retrain_rows():
    """Two configurations of 10 runs; 'b' has 1 run below 0.65, so 10 % -> bad."""
    return _rows(
        stage="retrain",
        config_id=["a"] * 10 + ["b"] * 10,
        repeat=list(range(10)) * 2,
        valid_accuracy=[0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99] + [1.0] * 3 + [0.9] * 7,
        iauc_roc=[0.7, 0.75, 0.8, 0.85, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95] + [0.6, 0.95, 0.8] + [0.9] * 7,
        iauc_pr=0.5,
        test_accuracy=[1.0] * 10 + [0.5] * 10,
        test_bag_auc=1.0,
    )


def test_table_top_configurations_exact():
    table = table_top_configurations(_handmade_retrain_rows())
    row = table.iloc[0]
    assert (row.modality, row.problem, row.n_configurations, row.n_bad_configurations) == ("gaussian", "mil", 2, 1)
    assert row.n_models == 20
    assert row.mean_iauc_roc == pytest.approx((8.65 + 8.65) / 20)
    assert row.mean_test_accuracy == pytest.approx(0.75)
    # The boundary: exactly 0.65 is not "< 0.65", and 1 of 11 runs is under 10 %.
    assert table_top_configurations(_handmade_retrain_rows(), bad_run_fraction=0.11).n_bad_configurations[0] == 0


def test_table_accuracy_vs_iauc_exact():
    table = table_accuracy_vs_iauc(_handmade_retrain_rows()).set_index("config_id")
    # a: iAUC increases with accuracy -> rho 1; top decile = the single most accurate run.
    assert table.loc["a", "spearman_rho"] == pytest.approx(1.0)
    assert (table.loc["a", "n_top_decile"], table.loc["a", "delta_iauc_roc"]) == (1, 0.0)
    # b: three runs tie at the top accuracy, all of them form the top decile.
    assert table.loc["b", "n_top_decile"] == 3
    assert table.loc["b", "delta_iauc_roc"] == pytest.approx(0.95 - 0.6)
    from scipy.stats import spearmanr

    b = _handmade_retrain_rows().query("config_id == 'b'")
    assert table.loc["b", "spearman_rho"] == pytest.approx(spearmanr(b.valid_accuracy, b.iauc_roc).statistic)
    constant = _rows(stage="retrain", config_id="c", valid_accuracy=1.0, iauc_roc=[0.5, 0.9])
    assert np.isnan(table_accuracy_vs_iauc(constant)["spearman_rho"][0])


def test_table_2_per_task_as_the_study_reports_it():
    from setlearn.assessment import table_accuracy_vs_iauc_by_task

    rows = _handmade_retrain_rows()
    per_config = table_accuracy_vs_iauc(rows).set_index("config_id")
    row = table_accuracy_vs_iauc_by_task(rows).iloc[0]
    rho = per_config["spearman_rho"]
    assert (row.n_configurations, row.n_defined_rho) == (2, 2)
    assert row.rho_mean == pytest.approx(rho.mean()) and row.rho_sd == pytest.approx(rho.std(ddof=1))
    # b's top decile (three runs tied at 1.0) spreads by 0.35, a's (one run) by 0.
    assert (row.delta_iauc_highest_config, row.delta_iauc_lowest_config) == ("b", "a")
    assert row.delta_iauc_highest == pytest.approx(0.35) and row.delta_iauc_lowest == 0.0
    assert row.max_top_decile == 3


def test_bad_models_are_classified_per_task():
    from setlearn.assessment import classify_bad_models, table_bad_models

    rows = _rows(stage="retrain", problem="and", config_id="a", repeat=range(6),
                 valid_accuracy=[1.0, 1.0, 1.0, 0.5, 1.0, 1.0],
                 iauc_roc=[0.45, 0.1, 0.5, 0.4, 0.95, 0.65],
                 iauc_roc_pop1=[0.9, 0.1, 0.52, 0.4, 0.95, 0.6],
                 iauc_roc_pop2=[0.02, 0.1, 0.48, 0.4, 0.95, 0.7])
    kinds = classify_bad_models(rows).set_index("repeat")["failure"].to_dict()
    # 0.65 is bad (<= bad_iauc); 0.95 is not.
    assert kinds == {0: "one-population", 1: "inverted", 2: "diffuse", 3: "untrained", 5: "one-population"}
    table = table_bad_models(rows).iloc[0]
    assert (table.n_models, table.n_bad, table["one-population"], table.inverted, table.diffuse,
            table.untrained, table.unclassified) == (6, 5, 2, 1, 1, 1, 0)
    # A models.csv without per-population iAUC: bad models are counted, not classified.
    old = rows.drop(columns=["iauc_roc_pop1", "iauc_roc_pop2"])
    assert table_bad_models(old).iloc[0].unclassified == 5


def test_table_1_has_the_mean_iauc_of_every_deciding_population():
    rows = _rows(stage="retrain", problem="and", config_id=["a", "a", "b"], iauc_roc=[0.5, 0.9, 0.7],
                 iauc_pr=0.5, test_accuracy=1.0, test_bag_auc=1.0, iauc_roc_pop1=[0.9, 0.9, 0.6],
                 iauc_roc_pop2=[0.1, 0.9, np.nan])
    row = table_top_configurations(rows).iloc[0]
    assert row.mean_iauc_roc_pop1 == pytest.approx(0.8) and row.mean_iauc_roc_pop2 == pytest.approx(0.5)


def test_ensemble_tables_exact():
    models = _handmade_retrain_rows()  # 1 of 20 runs <= 0.65 -> 5 %
    ensembles = _rows(
        kind=["one"] * 4 + ["several"] * 4,
        size=[2, 2, 3, 3] * 2,
        iauc_roc=[0.6, 0.9, 0.65, 0.9, 0.9, 0.9, 0.9, 0.9],
    )
    curve = bad_fraction_by_ensemble_size(models, ensembles).set_index(["kind", "size"])["pct_bad"]
    assert curve.to_dict() == {("one", 1): 5.0, ("one", 2): 50.0, ("one", 3): 50.0,
                               ("several", 1): 5.0, ("several", 2): 0.0, ("several", 3): 0.0}
    table = table_ensembles(models, ensembles)
    # No members stored: every draw counts as its own ensemble.
    assert table.iloc[0].tolist() == ["gaussian", "mil", 5.0, 3, 50.0, 2, 2, 0.0, 2, 2, ""]


def test_ensemble_tables_without_ensembles():
    # max_ensemble_size 1: ensembles.csv holds its header only.
    models = _handmade_retrain_rows()
    no_ensembles = pd.DataFrame(columns=_store._ENSEMBLE_COLUMNS)
    curve = bad_fraction_by_ensemble_size(models, no_ensembles)
    assert curve[["kind", "size", "pct_bad"]].values.tolist() == [["one", 1, 5.0], ["several", 1, 5.0]]
    table = table_ensembles(models, no_ensembles)
    assert table.columns.tolist() == ["modality", "problem", "pct_bad_single", "ensemble_size",
                                      "pct_bad_one_configuration", "n_one_configuration",
                                      "n_draws_one_configuration", "pct_bad_several_configurations",
                                      "n_several_configurations", "n_draws_several_configurations", "note"]
    assert table.iloc[0, :3].tolist() == ["gaussian", "mil", 5.0]
    assert table.iloc[0, 3:-1].isna().all() and table.iloc[0, -1] == ""


def test_table_silent_failures_exact():
    table = table_silent_failures(_handmade_retrain_rows()).set_index("problem")
    # accuracy >= 0.9: a has 6 runs (iAUC >= 0.9 for all), b all 10 (0.6 and 0.8 fail).
    assert table.loc["mil", "n_accurate"] == 16
    assert table.loc["mil", "pct_good_iauc"] == pytest.approx(100 * 14 / 16)
    assert table.loc["mil", "min_iauc_roc"] == pytest.approx(0.6)
    assert table.loc["all", "n_accurate"] == 16


def test_table_search_by_grid_value_counts_every_search_model_once_per_parameter():
    rows = pd.DataFrame({
        "problem": "mil", "modality": "gaussian",
        "stage": ["search"] * 5 + ["retrain"],
        "hidden_size": [2, 2, 2, 8, 8, 2], "attention_size": [1, 4, 4, 1, 4, 4],
        "valid_accuracy": [0.5, 0.95, 1.0, 0.92, 1.0, 1.0], "iauc_roc": [0.5, 0.3, 0.9, 0.6, 0.99, 0.1]})
    table = table_search_by_grid_value(rows, ["hidden_size", "attention_size"]).set_index(["parameter", "value"])
    # The retrain row (iAUC 0.1) is not a search model.
    assert table.loc[("hidden_size", 2), ["n_models", "n_accurate", "n_silent"]].tolist() == [3, 2, 1]
    assert table.loc[("hidden_size", 8), ["n_models", "n_accurate", "n_silent"]].tolist() == [2, 2, 1]
    assert table.loc[("attention_size", 1), ["n_models", "n_accurate", "n_silent"]].tolist() == [2, 1, 1]
    assert table.loc[("attention_size", 4), ["n_models", "n_accurate", "n_silent"]].tolist() == [3, 3, 1]
    assert table.loc[("hidden_size", 2), "lowest_accurate_iauc_roc"] == pytest.approx(0.3)
    assert table.loc[("hidden_size", 2), "mean_iauc_roc"] == pytest.approx((0.5 + 0.3 + 0.9) / 3)
    stricter = table_search_by_grid_value(rows, ["hidden_size"], bad_iauc=0.55).set_index("value")
    assert stricter["n_silent"].tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"no column for the grid parameters \['depth'\]"):
        table_search_by_grid_value(rows, ["hidden_size", "depth"])


def test_table_arguments_are_checked_with_what_to_fix():
    rows = _rows(stage=["search"], config_id=["a"], valid_accuracy=[1.0], valid_log_loss=[0.1])
    with pytest.raises(ValueError, match=r"'top_k' parameter of top_configurations must be an int in the range \[1, inf\)"):
        top_configurations(rows, 0)
    with pytest.raises(ValueError, match=r"'models' parameter of table_accuracy_vs_iauc must be an instance of 'pandas"):
        table_accuracy_vs_iauc("models.csv")
    with pytest.raises(ValueError, match=r"'bad_iauc' parameter of table_top_configurations must be a float in the range"):
        table_top_configurations(rows, bad_iauc=65)


def test_tables_from_a_handmade_csv(tmp_path):
    path = tmp_path / "models.csv"
    _handmade_retrain_rows().to_csv(path, index=False)
    assert table_top_configurations(pd.read_csv(path)).n_bad_configurations[0] == 1


# --------------------------------------------------------------------------- storage


def test_row_store_drops_a_partial_last_line(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,x\n2,y\n3,")
    store = _store._RowStore(path, ["a", "b"], ["a"], {"a": "int"})
    assert store.keys == {(1,), (2,)}
    store.append({"a": 3, "b": "z"})
    store.close()
    assert path.read_text() == "a,b\n1,x\n2,y\n3,z\n"
    with pytest.raises(ConfigError, match="has the columns"):
        _store._RowStore(path, ["a", "c"], ["a"])


def test_row_store_accepts_grid_cells_a_modality_lacks(tmp_path):
    # Grids of two modalities may differ: the other modality's parameter is an empty cell.
    path = tmp_path / "rows.csv"
    path.write_text("a,lr,x\n1,,0.5\n2,0.1,0.5\n")
    store = _store._RowStore(path, ["a", "lr", "x"], ["a"], {"a": "int", "x": "float"})
    assert store.keys == {(1,), (2,)}
    assert store.frame()["lr"].isna().tolist() == [True, False]


def test_ensemble_draws_are_reproducible_and_distinct():
    config = assessment.StudyConfig.from_mapping("smoke", {"n_retrain": 5, "max_ensemble_size": 4, "n_ensembles": 6})
    top = {("mil", "gaussian"): ["x", "y"]}
    retrained = {("mil", "gaussian"): {"x": list(range(5)), "y": list(range(5))}}
    draws = _runner._ensemble_draws(config, top, retrained)
    assert draws == _runner._ensemble_draws(config, top, retrained)
    assert len(draws) == 3 * 6 * 2
    for (_, _, kind, size, draw), config_id, members in draws:
        assert len(set(members)) == size
        if kind == "one":
            assert config_id == ["x", "y"][draw % 2] and {c for c, _ in members} == {config_id}


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_smoke_preset_end_to_end(smoke_run):
    result, out = smoke_run
    config = load_config("smoke")
    assert result.complete
    n_search = 2 * config["search_seeds"]
    n_retrain = config["top_k"] * config["n_retrain"]
    assert len(result.models) == n_search + n_retrain == result.n_new_models
    assert (result.models["stage"] == "retrain").sum() == n_retrain
    # Where the call's time went: every stage ran, and together they are within the call.
    assert set(result.stage_s) == {"search", "retrain", "ensembles", "audit", "report"}
    assert all(s > 0 for s in result.stage_s.values())
    assert sum(result.stage_s.values()) <= result.elapsed_s
    assert len(result.ensembles) == (config["max_ensemble_size"] - 1) * config["n_ensembles"] * 2
    for column in ["valid_accuracy", "test_accuracy", "test_bag_auc", "iauc_roc", "iauc_pr"]:
        assert result.models[column].between(0, 1).all(), column
    assert set(result.tables) == {"top_configurations", "accuracy_vs_iauc", "accuracy_vs_iauc_by_task",
                                  "bad_models", "bad_model_kinds", "ensembles", "silent_failures",
                                  "search_by_grid_value", "bad_by_ensemble_size", "audit", "explainers"}
    for name in ["models.csv", "ensembles.csv", "config.json", "report.md", "tables/top_configurations.md",
                 "tables/ensembles.csv", "tables/accuracy_vs_iauc_by_task.md", "tables/bad_models.md",
                 "figures/iauc_by_configuration.png", "figures/accuracy_vs_iauc.png",
                 "figures/accuracy_vs_iauc_all.png", "figures/gaussian_mil_attention_pca.png",
                 "figures/bad_vs_ensemble_size.png", "figures/search_accuracy_vs_iauc.png",
                 "tables/search_by_grid_value.csv"]:
        assert (out / name).is_file(), name
    assert len(list((out / "attention").glob("*.npz"))) == n_retrain
    report = (out / "report.md").read_text()
    assert "0.84 (2/5)" in report and "figures/bad_vs_ensemble_size.png" in report
    # The ground-truth audit is a section of the report, so the HTML version has it too.
    audit_heading = "Can the label be predicted without the important instances?"
    assert audit_heading in report and audit_heading in (out / "report.html").read_text()
    # The tables on disk are the tables of the rows on disk.
    pd.testing.assert_frame_equal(pd.read_csv(out / "tables/top_configurations.csv"),
                                  table_top_configurations(pd.read_csv(out / "models.csv")))
    # Rerunning a finished study trains nothing.
    again = setlearn.assess("smoke", out=out, verbose=False)
    assert again.n_new_models == 0
    pd.testing.assert_frame_equal(again.models, result.models)


def _interrupt_after(monkeypatch, n):
    """Interrupt the run after ``n`` stacks (joblib tasks) trained."""
    real = _runner._fit_and_score_stack
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        if calls["n"] == n:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(_runner, "_fit_and_score_stack", flaky)


# TINY's search is 2 stacks of one model, its retraining 2 stacks of 2 (n_retrain=2).
@pytest.mark.parametrize("stop_after, n_rows", [(1, 1), (3, 4)])  # during the search, during the retraining
def test_resume_after_interruption(tmp_path, monkeypatch, uninterrupted, stop_after, n_rows):
    out = tmp_path / "run"
    _interrupt_after(monkeypatch, stop_after)
    with pytest.raises(KeyboardInterrupt):  # in this process: worker processes would not see the patch
        setlearn.assess("smoke", config=TINY, out=out, n_jobs=1, verbose=False)
    assert len(pd.read_csv(out / "models.csv")) == n_rows
    # The folder says how far the interrupted run got, as a run stopped by max_models does.
    progress = (out / "report.md").read_text()
    assert progress.startswith("# setlearn assess report (run in progress)")
    n_search = int((pd.read_csv(out / "models.csv")["stage"] == "search").sum())
    assert f"{n_search} of 2 search models" in progress
    monkeypatch.undo()
    result = setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert result.complete and result.n_new_models == N_TINY_MODELS - n_rows
    assert not result.models.duplicated(_store.MODEL_KEY).any()
    assert len(result.ensembles) == N_TINY_ENSEMBLES
    # Same keys, and (training being seeded) the same numbers as a run never stopped.
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(uninterrupted.models))
    pd.testing.assert_frame_equal(result.ensembles, uninterrupted.ensembles)


# Stacks of 3 over 5 retrains: chunks (0, 1, 2) and (3, 4); batches of 8 bags, so the batch order matters.
STACKED = {**TINY, "n_retrain": 5, "stack_size": 3, "estimator_params": {"max_epochs": 3, "batch_size": 8}}


def _assert_same_rows(result, reference):
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(reference.models),
                                  check_exact=False, atol=1e-6, rtol=0)


def test_stacks_are_fixed_chunks_of_consecutive_repeats():
    from setlearn.assessment._tasks import _Data, _model_tasks, _stacks

    config = assessment.StudyConfig.from_mapping("smoke", STACKED)
    top = {("mil", "gaussian"): ["h4-a2-f1-c1"]}
    stacks = _stacks(config, _model_tasks(config, "retrain", top), _Data.of(config))
    assert [[t.repeat for t in stack] for stack in stacks] == [[0, 1, 2], [3, 4]]
    alone = assessment.StudyConfig.from_mapping("smoke", {**STACKED, "stack_size": 1})
    assert [len(s) for s in _stacks(alone, _model_tasks(alone, "retrain", top), _Data.of(alone))] == [1] * 5


def test_stacking_budget_caps_the_stacks(monkeypatch):
    from setlearn.assessment._tasks import _Data, _model_tasks, _stacks
    from setlearn.ensemble import _ensemble

    # 30 bags of exactly 10 (a fixed-size composition) in batches of 8: 80 padded slots x
    # hidden 4 = 320 values a member.
    monkeypatch.setattr(_ensemble, "_STACK_BUDGET", 2 * 320)
    config = assessment.StudyConfig.from_mapping("smoke", {**STACKED, "data_params": {"composition": "balanced"}})
    stacks = _stacks(config, _model_tasks(config, "retrain", {("mil", "gaussian"): ["h4-a2-f1-c1"]}),
                     _Data.of(config))
    assert [[t.repeat for t in stack] for stack in stacks] == [[0, 1], [2, 3], [4]]


@pytest.fixture(scope="module")
def stacked_run(tmp_path_factory):
    return setlearn.assess("smoke", config=STACKED, out=tmp_path_factory.mktemp("stacked"), verbose=False)


def test_a_stack_cut_short_or_partly_lost_retrains_to_the_same_rows(tmp_path, stacked_run):
    out = tmp_path / "run"
    # 2 search models and one retrain: the first stack of 3 writes one row of three.
    first = setlearn.assess("smoke", config=STACKED, out=out, max_models=3, verbose=False)
    assert len(first.models) == 3
    second = setlearn.assess("smoke", config=STACKED, out=out, max_models=3, n_jobs=2, verbose=False)
    assert len(second.models) == 6
    result = setlearn.assess("smoke", config=STACKED, out=out, n_jobs=2, verbose=False)
    assert result.complete
    _assert_same_rows(result, stacked_run)
    # A row lost from the middle of a stack: the stack trains again and writes only that row.
    models = pd.read_csv(out / "models.csv", dtype={"config_id": str})
    lost = (models["stage"] == "retrain") & (models["repeat"] == 1)
    assert lost.sum() == 2
    models[~lost].to_csv(out / "models.csv", index=False)
    # The ensembles that name the lost models are damaged rows now; dropped, they are scored again.
    with pytest.warns(assessment.AssessmentWarning, match="damaged row"):
        again = setlearn.assess("smoke", config=STACKED, out=out, drop_bad_rows=True, verbose=False)
    assert again.n_new_models == 2
    _assert_same_rows(again, stacked_run)
    pd.testing.assert_frame_equal(again.ensembles, stacked_run.ensembles, check_exact=False, atol=1e-6, rtol=0)


def test_the_first_member_of_a_stack_equals_its_model_trained_alone(tmp_path, stacked_run):
    alone = setlearn.assess("smoke", config={**STACKED, "stack_size": 1}, out=tmp_path / "alone", verbose=False)
    stacked, single = (_without_timing(r.models).set_index(_store.MODEL_KEY) for r in (stacked_run, alone))
    firsts = [k for k in stacked.index if k[2] == "search" or k[4] in (0, 3)]
    pd.testing.assert_frame_equal(stacked.loc[firsts], single.loc[firsts], check_exact=False, atol=1e-6, rtol=0)
    # The others share their stack's batch order, so they are other models than alone.
    others = [k for k in stacked.index if k not in firsts]
    assert not np.allclose(stacked.loc[others, "valid_log_loss"], single.loc[others, "valid_log_loss"])


# TINY fits 3 epochs of one batch per model: step 8 is the 2nd epoch of the 3rd model (a retrain).
_STEP_IN_THIRD_MODEL = 8


def test_ctrl_c_inside_fit_stores_only_finished_models(tmp_path, monkeypatch, uninterrupted, interrupt_training_at):
    # skorch swallows KeyboardInterrupt in fit; if it reached assess as a normal return, the
    # half-trained model would be scored and stored as finished, and never retrained.
    out = tmp_path / "run"
    interrupt_training_at(_STEP_IN_THIRD_MODEL)
    with pytest.raises(KeyboardInterrupt):
        setlearn.assess("smoke", config=TINY, out=out, n_jobs=1, verbose=False)
    stored = pd.read_csv(out / "models.csv", dtype={"config_id": str})
    assert len(stored) == 2 < N_TINY_MODELS
    assert set(stored["stage"]) == {"search"}  # none for the interrupted (retrain) model
    assert len(pd.read_csv(out / "ensembles.csv")) == 0
    monkeypatch.undo()
    result = setlearn.assess("smoke", config=TINY, out=out, n_jobs=1, verbose=False)
    assert result.complete and result.n_new_models == N_TINY_MODELS - 2
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(uninterrupted.models))
    pd.testing.assert_frame_equal(result.ensembles, uninterrupted.ensembles)


def test_resume_after_a_kill_mid_write_and_in_steps(tmp_path, uninterrupted):
    out = tmp_path / "run"
    first = setlearn.assess("smoke", config=TINY, out=out, max_models=3, verbose=False)
    assert not first.complete and len(first.models) == 3
    # Stopped by max_models in the retraining: the later stages did not run.
    assert list(first.stage_s) == ["search", "retrain"]
    # The folder says how far it got (a long run is committed in sittings).
    n_search = int((first.models["stage"] == "search").sum())
    progress = first.report.read_text()
    assert progress.startswith("# setlearn assess report (run in progress)")
    assert f"{n_search} of {n_search} search models, {3 - n_search} of " in progress
    # ... and what its retrained models show so far, per task and configuration.
    retrained = first.models[first.models["stage"] == "retrain"]
    assert "## The retraining so far" in progress
    for config_id, g in retrained.groupby("config_id"):
        bad = int((g["iauc_roc"] <= first.config.bad_iauc).sum())
        assert f"| {config_id} | {len(g)} | {int((g['valid_accuracy'] >= 0.9).sum())} |" in progress
        assert f"| {bad} (" in progress
    assert "Stopped before the end" in first.summary() and str(first.report) in first.summary()
    # A kill during a write leaves half a line behind.
    with (out / "models.csv").open("a") as fh:
        fh.write("mil,gaussian,retrain,h4-a2")
    second = setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False)
    assert len(second.models) == 4
    result = setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert result.complete and result.n_new_models == N_TINY_MODELS - 4
    assert "run in progress" not in result.report.read_text()
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(uninterrupted.models))
    # The same for the ensembles.
    lines = (out / "ensembles.csv").read_text().splitlines()
    (out / "ensembles.csv").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:10])
    again = setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    pd.testing.assert_frame_equal(again.ensembles, uninterrupted.ensembles)


def test_the_audit_is_reported_per_task_and_resumes(tmp_path, uninterrupted):
    import shutil

    audit = pd.read_csv(uninterrupted.out / "audit.csv")
    # MIL: one strict subset without population 1 (population 0), then what uniform attention sees.
    assert list(audit["check"]) == ["population 0", "whole-bag shares", "bag size", "attention needed"]
    assert (audit["problem"] == "mil").all() and audit["auroc"].between(0, 1).all()
    assert audit.loc[0, "bound"] == 0.5 and audit["bound"][1:].isna().all()
    assert audit["leak"].dtype == bool
    # The attention-needed model has the task's best configuration.
    assert audit.loc[3, "config_id"] == uninterrupted.top.iloc[0]["config_id"]
    report = uninterrupted.report.read_text()
    assert "## Can the label be predicted without the important instances?" in report
    # The leak verdict is the report's first line after its title.
    assert report.splitlines()[2].startswith("**Ground-truth")
    assert "| gaussian | MIL | population 0 | count of 0 |" in report
    assert "Ground-truth audit: " in uninterrupted.summary()
    table = uninterrupted.tables["audit"]
    assert list(table["kind"]) == ["subset", "whole bag", "whole bag", "attention needed"]
    # A run stopped before its audit finished computes only the missing rows, seeded as before.
    out = tmp_path / "run"
    shutil.copytree(uninterrupted.out, out)
    (out / "audit.csv").write_text("\n".join((out / "audit.csv").read_text().splitlines()[:2]) + "\n")
    again = setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert again.n_new_models == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "audit.csv"), audit)


def test_max_ensemble_size_1_runs_end_to_end_without_ensembles(tmp_path):
    # n_retrain 1 forces max_ensemble_size 1 ("no ensembles"); it used to crash after training.
    result = setlearn.assess("smoke", config={**TINY, "n_retrain": 1, "max_ensemble_size": 1},
                             out=tmp_path / "run", verbose=False)
    assert result.complete and len(result.models) == 2 + 2 and len(result.ensembles) == 0
    table = result.tables["ensembles"]
    assert table["pct_bad_single"].notna().all() and table["ensemble_size"].isna().all()
    assert set(result.tables["bad_by_ensemble_size"]["size"]) == {1}
    assert "bad_vs_ensemble_size" not in result.figures
    assert all(path.exists() for path in result.figures.values())
    report = result.report.read_text()
    assert "no ensembles" in report and "nan" not in report
    summary = result.summary()
    assert "(no ensembles)" in summary and "nan" not in summary


def test_digits_figures_leave_no_pyplot_figure_open(tmp_path):
    import matplotlib.pyplot as plt

    # pyplot keeps every figure it creates until closed: a long session would pile them up.
    config = {**TINY, "modalities": ["digits"], "grid": {"digits": TINY["grid"]["gaussian"]}}
    before = plt.get_fignums()
    result = setlearn.assess("smoke", config=config, out=tmp_path / "run", verbose=False)
    assert result.figures["digits_mil_bag"].exists()
    assert plt.get_fignums() == before


def test_progress_counts_only_finished_models_as_done(tmp_path, monkeypatch):
    bars = []
    real = _runner._progress

    def progress(total, done, desc, quiet):
        bars.append((desc, total, done))
        return real(total, done, desc, quiet)

    monkeypatch.setattr(_runner, "_progress", progress)
    out = tmp_path / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False)
    setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False)
    # The search has 2 models: the budget of 1 leaves the second for later, it is not done.
    assert bars == [("search", 2, 0), ("search", 2, 1)]


@pytest.mark.parametrize("arguments, message", [
    ({"max_models": -1}, r"max_models must be an int in the range \[0, inf\), got -1"),
    ({"max_models": "3"}, r"max_models must be an int in the range \[0, inf\), got '3'"),
    ({"max_models": 1.5}, r"max_models must be an int in the range \[0, inf\), got 1.5"),
    ({"n_jobs": 0}, "n_jobs must not be 0"),
    ({"n_jobs": "2"}, "n_jobs must be an integer"),
    ({"scheduler": 8786}, "scheduler must be a Dask scheduler address"),
])
def test_bad_run_arguments_leave_no_folder_behind(tmp_path, arguments, message):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=message):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False, **arguments)
    assert not out.exists()


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    out = tmp_path / "results"
    out.write_text("mine")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert out.read_text() == "mine"


def test_a_different_config_in_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=0, verbose=False)
    with pytest.raises(ConfigError, match=r"different configuration \(n_retrain: 2 there, 3 now\)"):
        setlearn.assess("smoke", config={**TINY, "n_retrain": 3}, out=out, verbose=False)


@pytest.mark.slow
def test_parallel_and_dask_give_the_same_rows(tmp_path, uninterrupted):
    distributed = pytest.importorskip("distributed")
    local = setlearn.assess("smoke", config=TINY, out=tmp_path / "local", n_jobs=2, verbose=False)
    pd.testing.assert_frame_equal(_without_timing(local.models), _without_timing(uninterrupted.models))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = setlearn.assess("smoke", config=TINY, out=tmp_path / "dask", scheduler=cluster.scheduler_address,
                                 verbose=False)
    pd.testing.assert_frame_equal(_without_timing(remote.models), _without_timing(uninterrupted.models))


# --------------------------------------------------------------------------- reliability (issue 10)


def _copy_of(result, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(result.out, out)
    return out


def test_a_second_run_on_a_held_folder_is_refused_and_names_the_holder(tmp_path):
    import os

    out = tmp_path / "run"
    with _store._folder_lock(out):
        with pytest.raises(ConfigError, match=rf"in use by another setlearn assess \(process {os.getpid()} on "):
            setlearn.assess("smoke", config=TINY, out=out, verbose=False)
        assert not (out / "models.csv").exists()
    # Released: the folder is usable again.
    assert setlearn.assess("smoke", config=TINY, out=out, max_models=0, verbose=False).n_new_models == 0


def _set_cell(lines, row, column, value):
    """Put ``value`` in ``column`` of CSV line ``row`` (``lines[0]`` is the header)."""
    header = lines[0].split(",")
    cells = next(csv.reader([lines[row]]))
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)


_LINE_OF_FIRST_RETRAIN = 4  # header, 2 search rows, then the retrained models


@pytest.mark.parametrize("damage, message, n_retrained", [
    (lambda lines: lines.__setitem__(1, lines[1].replace(",0,", ",x,", 1)), "repeat 'x' is not an integer", 1),
    (lambda lines: lines.__setitem__(-1, lines[-1][:30]), "fields, expected", 1),
    (lambda lines: _set_cell(lines, -1, "fit_time_s", "nan"), "fit_time_s is 'nan'", 1),
    (lambda lines: lines.append("\0" * 40), "NUL", 0),
    (lambda lines: lines.append(lines[2]), "repeats the row of line 3", 0),
    (lambda lines: lines.__setitem__(2, lines[2] + ",extra"), "fields, expected", 1),
    (lambda lines: _set_cell(lines, -1, "iauc_roc", "7"), "iauc_roc '7' is outside \\[0, 1\\]", 1),
    (lambda lines: _set_cell(lines, 1, "valid_accuracy", "-3"), "valid_accuracy '-3' is outside \\[0, 1\\]", 1),
    (lambda lines: _set_cell(lines, -1, "fit_time_s", "-1.5"), "fit_time_s '-1.5' is outside \\[0, inf\\]", 1),
    (lambda lines: _set_cell(lines, -1, "repeat", "-2"), "repeat '-2' is not an integer >= 0", 1),
    # Rows of the right types that the study cannot have (issue #22): keys outside it, grid
    # values that disagree with their configuration.
    (lambda lines: _set_cell(lines, 1, "problem", "xor"), "problem 'xor' is not one of the study's problems \\(mil\\)", 1),
    (lambda lines: _set_cell(lines, -1, "repeat", "99"), "repeat 99 is outside the study's 2 retrain repeats", 1),
    (lambda lines: _set_cell(lines, 1, "config_id", "h9-a2-f1-c1"), "config_id 'h9-a2-f1-c1' is not a configuration", 1),
    (lambda lines: _set_cell(lines, 1, "hidden_size", "8"), "hidden_size '8' disagrees with config_id 'h4-a", 1),
])
def test_damaged_rows_stop_the_run_by_file_and_line_until_dropped(tmp_path, uninterrupted, damage, message,
                                                                  n_retrained):
    out = _copy_of(uninterrupted, tmp_path)
    lines = (out / "models.csv").read_text().splitlines()
    damage(lines)
    (out / "models.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=rf"models.csv has 1 damaged row\(s\): line \d+: .*{message}.*drop-bad-rows"):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    with pytest.warns(assessment.AssessmentWarning, match="Dropped 1 damaged row"):
        result = setlearn.assess("smoke", config=TINY, out=out, drop_bad_rows=True, verbose=False)
    assert result.n_new_models == n_retrained
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(uninterrupted.models))
    pd.testing.assert_frame_equal(result.tables["top_configurations"], uninterrupted.tables["top_configurations"])


def test_damaged_ensemble_rows_are_found_too(tmp_path, uninterrupted):
    out = _copy_of(uninterrupted, tmp_path)
    with (out / "ensembles.csv").open("a") as fh:
        fh.write("mil,gaussian,one,2,0,h4-a2,h4-a2/r0;h4-a2/r1,,0.5\n")
    with pytest.raises(ConfigError, match=r"ensembles.csv has 1 damaged row\(s\): line 6: iauc_roc is empty\."):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)


def test_an_interrupted_repair_loses_no_row(tmp_path, monkeypatch):
    import os

    path = tmp_path / "rows.csv"
    complete = "a,b\n" + "".join(f"{i},x\n" for i in range(100))
    path.write_text(complete + "100,")  # a kill mid-append left half a line

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    # A kill at any point of the repair: while writing, or before the data reaches the disk.
    monkeypatch.setattr(type(path), "write_bytes", killed)
    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        _store._RowStore(path, ["a", "b"], ["a"], {"a": "int"})
    assert path.read_text().startswith(complete)
    monkeypatch.undo()
    assert len(_store._RowStore(path, ["a", "b"], ["a"], {"a": "int"}).keys) == 100
    assert path.read_text() == complete


@pytest.mark.parametrize("override, message", [
    ({"grid": {"gaussian": {**TINY["grid"]["gaussian"], "hidden_size": [0, 4]}}},
     "grid.gaussian point .*hidden_size': 0.*must be an int in the range \\[1, inf\\)"),
    ({"data_params": {"witness_rate": 2}}, "cannot make gaussian 'mil' bags: witness_rate must be a number"),
    ({"data_params": {"probabilities": [0.5, 0.6]}}, "probabilities must sum to 1"),
    ({"estimator_params": {"max_epochs": 3, "featurizer": "cnn"}}, "The CNN featurizer needs image instances"),
    ({"estimator_params": {"max_epochs": 3, "attention": "relu"}}, "attention' parameter"),
    ({"estimator_params": {"max_epochs": 3, "batch_size": 0}}, "batch_size' parameter"),
    ({"estimator_params": {"max_epochs": 3, "device": "banana"}}, "device='banana' is not a torch device"),
    ({"estimator_params": {"max_epochs": 3, "lr": 1e300}}, "lr=1e\\+300 is far above what Adam trains"),
    ({"n_train_bags": 10**8}, "need about .* GiB, more than this machine's"),
    ({"bag_size": 10**9}, "need about .* GiB, more than this machine's"),
])
def test_values_only_training_would_reject_are_refused_before_the_folder_exists(tmp_path, override, message):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=message):
        setlearn.assess("smoke", config={**TINY, **override}, out=out, verbose=False)
    assert not out.exists()


@pytest.mark.parametrize("modality", ["gaussian", "digits", "cytof"])
def test_the_memory_estimate_covers_what_the_makers_take(modality):
    """The refusal's bytes per value are at least the makers' measured peak (tracemalloc)."""
    import math
    import tracemalloc

    from setlearn.assessment import _config
    from setlearn.datasets import make_bags

    extra = {"pool": "train"} if modality == "digits" else {}
    per_value = _config._PEAK_BYTES_PER_VALUE.get(modality, _config._PEAK_BYTES_PER_VALUE_POOLED)
    measured = {}
    for problem in ["mil", "and", "xor"]:
        make_bags(problem, modality, n_bags=2, bag_size=4, random_state=0, **extra)  # a pool is loaded once
        tracemalloc.start()
        try:
            X = make_bags(problem, modality, n_bags=200, bag_size=250, random_state=0, **extra)[0]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        measured[problem] = peak / (200 * 250 * math.prod(X[0].shape[1:]))
    assert max(measured.values()) <= per_value, measured
    # Not so loose that it refuses data that would fit.
    assert max(measured.values()) > per_value / 2.5, measured


def test_report_only_keys_may_change_on_resume(tmp_path):
    out = tmp_path / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False)
    changed = {**TINY, "description": "mine", "bad_iauc": 0.5, "bad_run_fraction": 0.2}
    result = setlearn.assess("smoke", config=changed, out=out, max_models=0, verbose=False)
    assert len(result.models) == 1
    assert json.loads((out / "config.json").read_text())["bad_iauc"] == 0.5


def test_versions_are_recorded_and_a_mix_is_warned(tmp_path, recwarn):
    import warnings

    out = tmp_path / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False)
    recorded = json.loads((out / "versions.json").read_text())
    assert recorded == [_store._versions()] and {"setlearn", "torch", "scikit-learn", "numpy"} <= set(recorded[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: silent
        setlearn.assess("smoke", config=TINY, out=out, max_models=0, verbose=False)
    (out / "versions.json").write_text(json.dumps([{**recorded[0], "torch": "1.0"}]))
    with pytest.warns(assessment.AssessmentWarning, match="other versions .*torch 1.0.*mix versions"):
        setlearn.assess("smoke", config=TINY, out=out, max_models=0, verbose=False)
    assert len(json.loads((out / "versions.json").read_text())) == 2


def test_a_folder_without_versions_file_still_resumes_with_a_warning(tmp_path, uninterrupted):
    # Folders written before versions.json existed (a long run may be in progress) must resume.
    out = tmp_path / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=3, verbose=False)
    (out / "versions.json").unlink()
    with pytest.warns(assessment.AssessmentWarning, match="no versions.json"):
        result = setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert result.complete and result.n_new_models == N_TINY_MODELS - 3
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(uninterrupted.models))
    assert json.loads((out / "versions.json").read_text())[0] == {"unrecorded": True}


@pytest.mark.parametrize("damage, message", [
    (lambda out: (out / "config.json").write_text('{"problems": ["mil"'), "config.json is damaged"),
    (lambda out: (out / "config.json").write_text("[]"), "config.json is damaged"),
    (lambda out: (out / "versions.json").write_text("{"), "versions.json is damaged"),
])
def test_damaged_folder_files_are_named(tmp_path, damage, message):
    out = tmp_path / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=0, verbose=False)
    damage(out)
    with pytest.raises(ConfigError, match=message):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)


@pytest.mark.parametrize("damage", [
    lambda path: path.write_bytes(b"PK\x03\x04 not a zip"),
    lambda path: path.write_bytes(path.read_bytes()[:40]),  # truncated
    lambda path: path.unlink(),
])
def test_a_damaged_or_missing_attention_file_is_named_and_repaired(tmp_path, uninterrupted, damage):
    out = _copy_of(uninterrupted, tmp_path)
    victim = sorted((out / "attention").glob("*.npz"))[0]
    damage(victim)
    with pytest.raises(ConfigError, match=rf"models.csv has 1 damaged row\(s\): line \d+: its scores file "
                                          rf"{victim.name} is missing or damaged.*drop-bad-rows"):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    # The model's row goes, so do the ensembles that name it; all are computed again, the same.
    with pytest.warns(assessment.AssessmentWarning, match="Dropped 1 damaged row"):
        result = setlearn.assess("smoke", config=TINY, out=out, drop_bad_rows=True, verbose=False)
    assert result.n_new_models == 1
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(uninterrupted.models))
    pd.testing.assert_frame_equal(result.ensembles, uninterrupted.ensembles)


@pytest.mark.parametrize("damage, message", [
    (lambda row: row.replace(",one,2,", ",one,99,", 1), "size 99 is outside the study's 2..2"),
    (lambda row: row.replace("/r1", "/r7", 1), "repeat 7 is outside the study's 2 retrains"),
    (lambda row: row.replace(";", ";x;", 1), "lists 3 members for size 2"),
])
def test_ensemble_rows_the_study_cannot_have_are_damaged(tmp_path, uninterrupted, damage, message):
    out = _copy_of(uninterrupted, tmp_path)
    lines = (out / "ensembles.csv").read_text().splitlines()
    lines[1] = damage(lines[1])
    (out / "ensembles.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=rf"ensembles.csv has 1 damaged row\(s\): line 2: {message}"):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    result = setlearn.assess("smoke", config=TINY, out=out, drop_bad_rows=True, verbose=False)
    pd.testing.assert_frame_equal(result.ensembles, uninterrupted.ensembles)


def test_ensembles_of_a_model_that_is_not_stored_are_damaged(tmp_path, uninterrupted):
    out = _copy_of(uninterrupted, tmp_path)
    lines = (out / "models.csv").read_text().splitlines()
    (out / "models.csv").write_text("\n".join(lines[:-1]) + "\n")  # the last retrained model's row is lost
    with pytest.raises(ConfigError, match=r"ensembles.csv has \d+ damaged row\(s\): line \d+: member .* is no "
                                          r"stored model"):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    result = setlearn.assess("smoke", config=TINY, out=out, drop_bad_rows=True, verbose=False)
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(uninterrupted.models))
    pd.testing.assert_frame_equal(result.ensembles, uninterrupted.ensembles)


def test_rows_saved_by_an_editor_with_a_bom_and_crlf_resume(tmp_path, uninterrupted):
    out = _copy_of(uninterrupted, tmp_path)
    plain = (out / "models.csv").read_bytes()
    (out / "models.csv").write_bytes(b"\xef\xbb\xbf" + plain.replace(b"\n", b"\r\n"))
    result = setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert result.n_new_models == 0
    assert (out / "models.csv").read_bytes() == plain


@pytest.mark.parametrize("content, reason", [
    ({"attention": np.full(6, 0.25, np.float32), "sizes": np.array([4, 4])}, "add up to 8 .* 6 values"),
    ({"attention": np.array([0.5, np.nan, 0.5, 0.5], np.float32), "sizes": np.array([2, 2])}, "1 values are NaN"),
    ({"attention": np.ones((2, 2), np.float32), "sizes": np.array([2])}, "expected two 1-D arrays"),
])
def test_attention_files_with_impossible_values_are_named(tmp_path, content, reason):
    path = tmp_path / "gaussian-mil-h4-a2-r000.npz"
    np.savez(path, **content)
    with pytest.raises(ConfigError, match=f"{path.name} is damaged \\(ValueError: .*{reason}"):
        _store._load_attention(path)


@pytest.mark.parametrize("content", ["[1, 2]", '"text"'])
def test_a_config_file_whose_top_level_is_not_a_table(tmp_path, content):
    (tmp_path / "list.json").write_text(content)
    with pytest.raises(ConfigError, match="must hold a JSON object / TOML table"):
        load_config("smoke", tmp_path / "list.json")
    with pytest.raises(ConfigError, match="config must be a mapping"):
        load_config("smoke", [("n_retrain", 3)])


def test_an_unwritable_output_folder_is_a_config_error(tmp_path):
    import os

    if os.geteuid() == 0:
        out = "/sys/setlearn-assess-test"  # sysfs refuses new files even to root
    else:
        (tmp_path / "ro").mkdir(mode=0o555)
        out = tmp_path / "ro" / "run"
    with pytest.raises(ConfigError, match="Cannot write to the output folder"):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)


@pytest.mark.parametrize("out", ["", "  "])
def test_an_empty_output_path_is_refused(tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="out is empty"):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_an_unreachable_scheduler_fails_fast_before_any_folder(tmp_path):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as sock:  # a free loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "run"
    # Fast by the connection timeout the message names (a bound, not a wall-clock measurement).
    with pytest.raises(ConfigError, match=rf"Cannot reach the Dask scheduler at 'tcp://127.0.0.1:{port}' within \d+ s"):
        setlearn.assess("smoke", config=TINY, out=out, scheduler=f"tcp://127.0.0.1:{port}", verbose=False)
    assert not out.exists()


def test_a_server_that_is_no_dask_scheduler_is_named_before_any_folder(tmp_path):
    # A web server answers distributed's handshake with bytes it reads as an exabyte frame length.
    pytest.importorskip("distributed")
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def answer():
        with server:
            connection, _ = server.accept()
            with connection:
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello" * 10)
                connection.recv(1024)

    threading.Thread(target=answer, daemon=True).start()
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=rf"'tcp://127.0.0.1:{port}' answers, but not as a Dask scheduler"):
        setlearn.assess("smoke", config=TINY, out=out, scheduler=f"tcp://127.0.0.1:{port}", verbose=False)
    assert not out.exists()


def test_workers_with_other_versions_are_named():
    mine = {"setlearn": "0.1", "torch": "2.13.0", "scikit-learn": "1.9.1", "numpy": "2.4.6", "skorch": "1.4.0"}
    versions = {"client": {"packages": mine},
                "workers": {"tcp://127.0.0.1:1": {"packages": mine},
                            "tcp://127.0.0.1:2": {"packages": {**mine, "torch": "2.12.0", "setlearn": None}}}}
    assert _cluster._version_mismatches(versions) == [
        "tcp://127.0.0.1:2 has setlearn (not installed), this machine 0.1",
        "tcp://127.0.0.1:2 has torch 2.12.0, this machine 2.13.0",
    ]


def test_a_problem_registered_in_setlearn_datasets_works_in_assess(tmp_path, monkeypatch):
    """One registry: the problems assess accepts are those of setlearn.datasets.PROBLEMS."""
    import dataclasses

    from setlearn.datasets import PROBLEMS

    with pytest.raises(ConfigError, match="Unknown problem"):
        load_config("smoke", {"problems": ["mil_again"]})
    monkeypatch.setitem(PROBLEMS, "mil_again", dataclasses.replace(PROBLEMS["mil"], name="mil_again"))
    # n_jobs=1: a problem registered at run time is not in worker processes (docs/assessment.md).
    result = setlearn.assess("smoke", config={**TINY, "problems": ["mil_again"]}, out=tmp_path / "run",
                             n_jobs=1, verbose=False)
    assert result.complete and set(result.models["problem"]) == {"mil_again"}
    assert len(result.models) == N_TINY_MODELS
def test_audit_table_follows_the_config_order_and_reads_old_audits():
    from setlearn.assessment._audit import audit_headline, audit_report_section, table_audit

    models = pd.DataFrame({"problem": ["and", "mil"], "modality": ["gaussian"] * 2, "stage": ["retrain"] * 2,
                           "iauc_roc": [0.4, 0.9], "test_bag_auc": [0.95, 1.0]})
    # An audit.csv from before issue #21: two checks under their old names, no bound or leak.
    audit = pd.DataFrame([
        {"problem": p, "modality": "gaussian", "check": c, "auroc": a, "auroc_low": a - 0.02, "auroc_high": a}
        for p, shares in (("and", 0.5), ("mil", 1.0))
        for c, a in (("population shares", shares), ("uniform attention", 0.96))])
    order = [("gaussian", "mil"), ("gaussian", "and")]
    table = table_audit(models, audit, order=order)
    assert list(table["problem"]) == ["mil", "mil", "and", "and"]
    assert list(table["check"][:2]) == ["whole-bag shares", "attention needed"] and not table["leak"].any()
    text = audit_report_section(models, audit, order=order)
    assert text.index("| gaussian | MIL |") < text.index("| gaussian | AND |")
    # AND: uniform attention is as good as attention.
    assert "attention is not needed" in text.split("| gaussian | AND |")[1]
    assert "predates the subset checks" in audit_headline(table)


def test_a_leak_is_named_first():
    from setlearn.assessment._audit import audit_headline, audit_report_section, table_audit

    models = pd.DataFrame({"problem": "and", "modality": "gaussian", "stage": "retrain", "iauc_roc": [0.45],
                           "test_bag_auc": [1.0]})
    rows = [("population 0", 0.55, 0.5, -0.02, False), ("population 1", 0.97, 0.62, 0.3, True),
            ("populations 0+2", 0.6, 0.62, -0.05, False)]
    audit = pd.DataFrame([{"problem": "and", "modality": "gaussian", "check": c, "auroc": a, "auroc_low": a - 0.02,
                           "auroc_high": a + 0.01, "bound": b, "excess_low": e, "excess_high": e + 0.05,
                           "leak": leak} for c, a, b, e, leak in rows]
                         + [{"problem": "and", "modality": "gaussian", "check": "attention needed", "auroc": 0.7,
                             "auroc_low": 0.6, "auroc_high": 0.8, "leak": False}])
    table = table_audit(models, audit)
    headline = audit_headline(table)
    assert headline.startswith("**Ground-truth leak** in gaussian AND: population 1 (AUROC 0.97 against a bound "
                               "of 0.62")
    assert "population 0 (" not in headline and "0+2" not in headline
    text = audit_report_section(models, audit)
    assert "| gaussian | AND | population 1 |" in text and "**LEAK**" in text
    assert "leak (population 1)" in text


@pytest.mark.parametrize("fails", [False, True])
def test_the_folder_lock_leaves_no_files_behind(tmp_path, fails):
    out = tmp_path / "run"
    with contextlib.suppress(RuntimeError):
        with _store._folder_lock(out):
            assert (out / _store._LOCK_NAME).exists()
            if fails:
                raise RuntimeError("the run failed")
    assert sorted(p.name for p in out.iterdir()) == []


def test_a_model_whose_training_diverges_ends_the_run_with_one_clear_error(tmp_path, monkeypatch):
    from setlearn.nn import _net

    def diverged(self, net, **kwargs):
        raise _net.DivergenceError("Training diverged: the training loss is nan after epoch 1.")

    monkeypatch.setattr(_net._StopOnDivergence, "on_epoch_end", diverged)
    with pytest.raises(ConfigError, match=r"A model stopped training\. Training diverged: .* Every finished "
                                          r"model is saved in .*another --out"):
        # n_jobs=1: the patch lives in this process only.
        setlearn.assess("smoke", config=TINY, out=tmp_path / "run", n_jobs=1, verbose=False)


def test_a_run_stopped_in_its_search_reports_its_progress(tmp_path):
    result = setlearn.assess("smoke", config=TINY, out=tmp_path / "run", max_models=1, verbose=False)
    text = result.report.read_text()
    assert not result.complete and (tmp_path / "run" / "report.html").exists()
    assert "1 of 2 search models, retraining not started" in text
    # One seed per configuration: the model trained completes its configuration, which is ranked.
    assert "1 of 2 configurations complete" in text and "| 1 | h" in text
    # Every search model so far, by grid value: one model under each parameter.
    assert "### The search so far by grid value" in text and "| hidden size | 4 | 1 |" in text
    # The task's count of silent failures is stated once, in its task line, not again by grid value.
    grid_part = text.split("### The search so far by grid value")[1]
    assert "accurate search models are silent failures" not in grid_part
    assert "no silent failure so far." in grid_part or "the silent failures' grid values:" in grid_part


def test_a_resume_on_other_bags_is_refused(tmp_path, monkeypatch):
    """A changed data default (here make_bags' composition) would mix two data sets in one folder."""
    import inspect

    from setlearn.assessment import _tasks
    from setlearn.datasets import make_bags

    out = tmp_path / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False)
    recorded = json.loads((out / "data.json").read_text())
    assert {task["make_bags"]["composition"] for task in recorded.values()} == {"independent"}
    maker = inspect.unwrap(make_bags)
    monkeypatch.setitem(maker.__kwdefaults__, "composition", "balanced")
    _tasks._dataset_with_populations.cache_clear()
    with pytest.raises(ConfigError, match=r"other bags than this version of setlearn makes for mil/gaussian \(mil/gaussian: "
                                          r"composition 'independent' there, 'balanced' now\)"):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert len(pd.read_csv(out / "models.csv")) == 1  # nothing trained on the other bags
    # With the bags back as they were, the run goes on.
    monkeypatch.undo()
    _tasks._dataset_with_populations.cache_clear()
    assert setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False).n_new_models == 1


def test_a_folder_from_before_data_json_resumes_with_a_warning(tmp_path):
    out = tmp_path / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False)
    (out / "data.json").unlink()
    with pytest.warns(assessment.AssessmentWarning, match="no data.json"):
        setlearn.assess("smoke", config=TINY, out=out, max_models=0, verbose=False)
    assert (out / "data.json").exists()


@pytest.mark.parametrize("damage", ["[1]", '{"mil/gaussian": 3}', "{not json"])
def test_a_damaged_data_json_is_refused_by_name(tmp_path, damage):
    out = tmp_path / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=0, verbose=False)
    (out / "data.json").write_text(damage)
    with pytest.raises(ConfigError, match=r"data.json is damaged .*; delete it"):
        setlearn.assess("smoke", config=TINY, out=out, max_models=0, verbose=False)
