"""setlearn.assess: config validation, tables from hand-made rows, end to end, resume."""

import json

import numpy as np
import pandas as pd
import pytest

import setlearn
from setlearn import assessment
from setlearn.assessment import _runner, _store
from setlearn.assessment import (
    ConfigError,
    bad_fraction_by_ensemble_size,
    load_config,
    table_accuracy_vs_iauc,
    table_ensembles,
    table_silent_failures,
    table_top_configurations,
    top_configurations,
)

# Smaller than the smoke preset: 2 search + 4 retrained models, a second or two.
TINY = {
    "problems": ["mil"],
    "n_train_bags": 30,
    "n_valid_bags": 20,
    "n_test_bags": 20,
    "bag_size": 10,
    "grid": {"gaussian": {"hidden_size": [4], "attention_size": [2, 4], "featurizer_depth": [1],
                          "classifier_depth": [1]}},
    "estimator_params": {"max_epochs": 3},
    "search_seeds": 1,
    "top_k": 2,
    "n_retrain": 2,
    "max_ensemble_size": 2,
    "n_ensembles": 2,
}
N_TINY_MODELS = 2 + 2 * 2
N_TINY_ENSEMBLES = 2 * 2  # one size x 2 draws x 2 kinds


def _without_timing(frame):
    return frame.drop(columns="fit_time_s").sort_values(_store.MODEL_KEY).reset_index(drop=True)


# --------------------------------------------------------------------------- config


def test_presets_load_and_validate():
    assert assessment.preset_names() == ["paper", "quick", "smoke", "study"]
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
        ({"top_k": "2"}, "top_k must be an integer, got '2'"),
        ({"top_k": True}, "top_k must be an integer"),
        ({"search_seeds": 0}, "search_seeds must be at least 1"),
        ({"bad_iauc": 1.5}, "bad_iauc must be a number between 0 and 1"),
        ({"problems": ["mill"]}, "Unknown problem (in problems) 'mill'. Did you mean 'mil'?"),
        ({"problems": []}, "problems must be a non-empty list"),
        ({"modalities": ["gausian"]}, "Did you mean 'gaussian'?"),
        ({"grid": {"gaussian": {}}}, "grid.gaussian is empty"),
        ({"grid": {"gaussian": {"hidden_size": []}}}, "grid.gaussian.hidden_size must be a non-empty list"),
        ({"grid": {"gaussian": {"hiden_size": [2]}}}, "Did you mean 'hidden_size'?"),
        ({"grid": {"mnist": {"hidden_size": [2]}}}, "Unknown modality (in grid) 'mnist'"),
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
    assert table.iloc[0].tolist() == ["gaussian", "mil", 5.0, 3, 50.0, 0.0]


def test_ensemble_tables_without_ensembles():
    # max_ensemble_size 1: ensembles.csv holds its header only.
    models = _handmade_retrain_rows()
    no_ensembles = pd.DataFrame(columns=_store._ENSEMBLE_COLUMNS)
    curve = bad_fraction_by_ensemble_size(models, no_ensembles)
    assert curve[["kind", "size", "pct_bad"]].values.tolist() == [["one", 1, 5.0], ["several", 1, 5.0]]
    table = table_ensembles(models, no_ensembles)
    assert table.columns.tolist() == ["modality", "problem", "pct_bad_single", "ensemble_size",
                                      "pct_bad_one_configuration", "pct_bad_several_configurations"]
    assert table.iloc[0, :3].tolist() == ["gaussian", "mil", 5.0]
    assert table.iloc[0, 3:].isna().all()


def test_table_silent_failures_exact():
    table = table_silent_failures(_handmade_retrain_rows()).set_index("problem")
    # accuracy >= 0.9: a has 6 runs (iAUC >= 0.9 for all), b all 10 (0.6 and 0.8 fail).
    assert table.loc["mil", "n_accurate"] == 16
    assert table.loc["mil", "pct_good_iauc"] == pytest.approx(100 * 14 / 16)
    assert table.loc["mil", "min_iauc_roc"] == pytest.approx(0.6)
    assert table.loc["all", "n_accurate"] == 16


def test_tables_from_a_handmade_csv(tmp_path):
    path = tmp_path / "models.csv"
    _handmade_retrain_rows().to_csv(path, index=False)
    assert table_top_configurations(pd.read_csv(path)).n_bad_configurations[0] == 1


# --------------------------------------------------------------------------- storage


def test_row_store_drops_a_partial_last_line(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,x\n2,y\n3,")
    store = _store._RowStore(path, ["a", "b"], ["a"])
    assert store.keys == {(1,), (2,)}
    store.append({"a": 3, "b": "z"})
    store.close()
    assert path.read_text() == "a,b\n1,x\n2,y\n3,z\n"
    with pytest.raises(ConfigError, match="has the columns"):
        _store._RowStore(path, ["a", "c"], ["a"])


def test_ensemble_draws_are_reproducible_and_distinct():
    config = load_config("smoke", {"n_retrain": 5, "max_ensemble_size": 4, "n_ensembles": 6})
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
def test_smoke_preset_end_to_end(tmp_path):
    result = setlearn.assess("smoke", out=tmp_path / "smoke", verbose=False)
    config = load_config("smoke")
    assert result.complete
    n_search = 2 * config["search_seeds"]
    n_retrain = config["top_k"] * config["n_retrain"]
    assert len(result.models) == n_search + n_retrain == result.n_new_models
    assert (result.models["stage"] == "retrain").sum() == n_retrain
    assert len(result.ensembles) == (config["max_ensemble_size"] - 1) * config["n_ensembles"] * 2
    for column in ["valid_accuracy", "test_accuracy", "test_bag_auc", "iauc_roc", "iauc_pr"]:
        assert result.models[column].between(0, 1).all(), column
    assert set(result.tables) == {"top_configurations", "accuracy_vs_iauc", "ensembles", "silent_failures",
                                  "bad_by_ensemble_size", "audit"}
    out = tmp_path / "smoke"
    for name in ["models.csv", "ensembles.csv", "config.json", "report.md", "tables/top_configurations.md",
                 "tables/ensembles.csv", "figures/iauc_by_configuration.png", "figures/accuracy_vs_iauc.png",
                 "figures/bad_vs_ensemble_size.png"]:
        assert (out / name).is_file(), name
    assert len(list((out / "attention").glob("*.npz"))) == n_retrain
    report = (out / "report.md").read_text()
    assert "0.84 (2/5)" in report and "figures/bad_vs_ensemble_size.png" in report
    # The tables on disk are the tables of the rows on disk.
    pd.testing.assert_frame_equal(pd.read_csv(out / "tables/top_configurations.csv"),
                                  table_top_configurations(pd.read_csv(out / "models.csv")))
    # Rerunning a finished study trains nothing.
    again = setlearn.assess("smoke", out=out, verbose=False)
    assert again.n_new_models == 0
    pd.testing.assert_frame_equal(again.models, result.models)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return setlearn.assess("smoke", config=TINY, out=tmp_path_factory.mktemp("full"), verbose=False)


def _interrupt_after(monkeypatch, n):
    real = _runner._fit_and_score
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        if calls["n"] == n:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(_runner, "_fit_and_score", flaky)


@pytest.mark.parametrize("stop_after", [1, 3])  # during the search, during the retraining
def test_resume_after_interruption(tmp_path, monkeypatch, uninterrupted, stop_after):
    out = tmp_path / "run"
    _interrupt_after(monkeypatch, stop_after)
    with pytest.raises(KeyboardInterrupt):
        setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert len(pd.read_csv(out / "models.csv")) == stop_after
    monkeypatch.undo()
    result = setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert result.complete and result.n_new_models == N_TINY_MODELS - stop_after
    assert not result.models.duplicated(_store.MODEL_KEY).any()
    assert len(result.ensembles) == N_TINY_ENSEMBLES
    # Same keys, and (training being seeded) the same numbers as a run never stopped.
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(uninterrupted.models))
    pd.testing.assert_frame_equal(result.ensembles, uninterrupted.ensembles)


def _interrupt_training_at(monkeypatch, n):
    """Ctrl-C inside skorch's training loop: the n-th optimisation step of the run raises."""
    from setlearn.estimators import BagNet

    real = BagNet.get_loss
    calls = {"n": 0}

    def get_loss(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BagNet, "get_loss", get_loss)


# TINY fits 3 epochs of one batch per model: step 8 is the 2nd epoch of the 3rd model (a retrain).
_STEP_IN_THIRD_MODEL = 8


def test_ctrl_c_inside_fit_stores_only_finished_models(tmp_path, monkeypatch, uninterrupted):
    # skorch swallows KeyboardInterrupt in fit; if it reached assess as a normal return, the
    # half-trained model would be scored and stored as finished, and never retrained.
    out = tmp_path / "run"
    _interrupt_training_at(monkeypatch, _STEP_IN_THIRD_MODEL)
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
    assert not first.complete and len(first.models) == 3 and first.report is None
    # A kill during a write leaves half a line behind.
    with (out / "models.csv").open("a") as fh:
        fh.write("mil,gaussian,retrain,h4-a2")
    second = setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False)
    assert len(second.models) == 4
    result = setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    assert result.complete and result.n_new_models == N_TINY_MODELS - 4
    pd.testing.assert_frame_equal(_without_timing(result.models), _without_timing(uninterrupted.models))
    # The same for the ensembles.
    lines = (out / "ensembles.csv").read_text().splitlines()
    (out / "ensembles.csv").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:10])
    again = setlearn.assess("smoke", config=TINY, out=out, verbose=False)
    pd.testing.assert_frame_equal(again.ensembles, uninterrupted.ensembles)


def test_the_audit_is_reported_per_task_and_resumes(tmp_path, uninterrupted):
    import shutil

    audit = pd.read_csv(uninterrupted.out / "audit.csv")
    assert list(audit["check"]) == ["population shares", "uniform attention"]
    assert (audit["problem"] == "mil").all() and audit["auroc"].between(0, 1).all()
    # The uniform-attention model has the task's best configuration.
    assert audit.loc[1, "config_id"] == uninterrupted.top.iloc[0]["config_id"]
    report = uninterrupted.report.read_text()
    assert "## Can the label be predicted without the important instances?" in report
    assert "(inherent in MIL)" in report
    assert "population shares / uniform attention" in uninterrupted.summary()
    assert set(uninterrupted.tables["audit"].columns) >= {"mean_iauc_roc", "shares_auroc", "uniform_auroc"}
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
    ({"max_models": -1}, "max_models must be at least 0"),
    ({"max_models": "3"}, "max_models must be an integer"),
    ({"max_models": 1.5}, "max_models must be an integer"),
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


def test_audit_table_follows_the_config_order():
    from setlearn.assessment._audit import audit_report_section, table_audit

    models = pd.DataFrame({"problem": ["and", "mil"], "modality": ["gaussian"] * 2, "stage": ["retrain"] * 2,
                           "iauc_roc": [0.4, 0.9], "test_bag_auc": [0.95, 1.0]})
    audit = pd.DataFrame([
        {"problem": p, "modality": "gaussian", "check": c, "auroc": a, "auroc_low": a - 0.02, "auroc_high": a}
        for p, shares in (("and", 0.5), ("mil", 1.0))
        for c, a in (("population shares", shares), ("uniform attention", 0.96))])
    table = table_audit(models, audit, order=[("gaussian", "mil"), ("gaussian", "and")])
    assert list(table["problem"]) == ["mil", "and"]
    assert table.loc[1, "shares_auroc"] == 0.5 and table.loc[1, "uniform_auroc"] == 0.96
    text = audit_report_section(models, audit, order=[("gaussian", "mil"), ("gaussian", "and")])
    assert text.index("| gaussian | MIL |") < text.index("| gaussian | AND |")
    # AND: no share signal, but uniform attention is as good as attention.
    assert "attention is not needed" in text.split("| gaussian | AND |")[1]
