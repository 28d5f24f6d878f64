"""setlearn assess with several explainers: config, rows, stored scores, ensembles, table, report."""

import numpy as np
import pandas as pd
import pytest

import setlearn
from setlearn.assessment import ConfigError, StudyConfig, load_config, table_explainers
from setlearn.assessment._explainers import _ensemble_columns, _model_columns as _explainer_columns, _report_section, _scores_path
from setlearn.assessment._tables import _markdown
from setlearn.assessment._store import _attention_path, _load_attention
from setlearn.utils._testing import TINY_ASSESS_CONFIG as TINY
from setlearn.ensemble import combine_scores
from setlearn.metrics import importance_auroc_score

METHODS = ["attention", "keep_one", "drop_one"]


@pytest.mark.parametrize("override, message", [
    ({"explainers": ["attention", "shap"]}, "Unknown explainer"),
    ({"explainers": ["drop_one"]}, "must include 'attention'"),
    ({"explainers": ["attention", "contribution"]}, "needs pooling='additive'"),
])
def test_bad_explainers_are_rejected(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config("smoke", override)


def test_explainers_key_is_optional_and_contribution_needs_additive_pooling():
    config = load_config("smoke")
    assert config["explainers"] == ["attention"]  # the default, filled in
    del config["explainers"]
    # Configs written before the key keep working (attention only) ...
    old = StudyConfig.from_mapping(None, config)
    assert old.explainers == ("attention",)
    # ... and write the same columns as before it existed.
    assert _explainer_columns(old.explainers) == [] and _ensemble_columns(old.explainers) == []
    assert _explainer_columns(["attention", "keep_one"]) == [
        "iauc_roc_keep_one", "explain_s_attention", "explain_s_keep_one"]
    ok = load_config("smoke", {"explainers": ["attention", "contribution"],
                               "estimator_params": {"pooling": "additive"}})
    assert ok["explainers"] == ["attention", "contribution"]
    assert load_config("quick")["explainers"][:3] == ["attention", "gradient_input", "drop_one"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return setlearn.assess("smoke", config={**TINY, "explainers": METHODS},
                           out=tmp_path_factory.mktemp("explainers"), verbose=False)


def test_every_explainer_is_scored_for_every_model_and_ensemble(run):
    models, ensembles = run.models, run.ensembles
    for method in METHODS[1:]:
        assert models[f"iauc_roc_{method}"].between(0, 1).all()
        assert ensembles[f"iauc_roc_{method}"].between(0, 1).all()
    assert (models[[f"explain_s_{m}" for m in METHODS]] > 0).all().all()
    # An ensemble's drop-one score is its members' stored drop-one scores, averaged.
    row = ensembles.iloc[0]
    paths = [_attention_path(run.out, (row.problem, row.modality, "retrain", cid, int(r[1:])))
             for cid, r in (m.split("/") for m in row.members.split(";"))]
    members = [_load_attention(_scores_path(p, "drop_one")) for p in paths]
    _, y_test, imp_test = run.record.test_bags(row.problem, row.modality)
    expected = importance_auroc_score(imp_test, combine_scores(members), y=y_test)
    assert row.iauc_roc_drop_one == pytest.approx(expected, abs=1e-6)


def test_table_and_report_by_explainer(run):
    table = run.tables["explainers"]
    assert list(table["explainer"]) == METHODS
    retrained = run.models[run.models["stage"] == "retrain"]
    assert table.set_index("explainer").loc["keep_one", "iauc_roc"] == pytest.approx(
        retrained["iauc_roc_keep_one"].mean())
    assert table.set_index("explainer").loc["attention", "cost_vs_attention"] == 1
    pd.testing.assert_frame_equal(pd.read_csv(run.out / "tables/explainers.csv"), table, check_dtype=False)
    report = (run.out / "report.md").read_text()
    assert "## Is attention interpretation, compared to what?" in report and "keep_one" in report


def test_table_explainers_exact():
    models = pd.DataFrame({
        "problem": "and", "modality": "gaussian", "stage": ["retrain"] * 3 + ["search"],
        "valid_accuracy": [1.0, 0.95, 0.5, 1.0], "iauc_roc": [0.6, 0.7, 0.1, 0.0],
        "iauc_roc_keep_one": [0.9, 0.99, 0.2, 0.0],
        "explain_s_attention": [0.1, 0.1, 0.1, 9.0], "explain_s_keep_one": [0.2, 0.2, 0.2, 9.0],
    })
    ensembles = pd.DataFrame({"problem": "and", "modality": "gaussian", "kind": ["one", "several", "one"],
                              "size": [3, 3, 2], "iauc_roc": [0.5, 0.8, 0.0], "iauc_roc_keep_one": [0.9, 0.95, 0.0]})
    table = table_explainers(models, ensembles, ["attention", "keep_one"]).set_index("explainer")
    assert table.loc["attention", "pct_silent_failures"] == 100 * 1 / 2  # 0.6 is bad, 0.7 is not
    assert table.loc["keep_one", "pct_silent_failures"] == 0
    assert table.loc["attention", "ensemble_iauc_roc"] == pytest.approx(0.65)
    assert table.loc["attention", "pct_bad_ensembles"] == 50
    assert table.loc["keep_one", "cost_vs_attention"] == pytest.approx(2)
    assert table.loc["keep_one", "iauc_roc"] == pytest.approx((0.9 + 0.99 + 0.2) / 3)
    empty = table_explainers(models, ensembles.iloc[:0], ["attention"])
    assert np.isnan(empty.loc[0, "ensemble_iauc_roc"])
    # Rows without an explainer's column (hand-made, or written before it was configured).
    assert list(table_explainers(models, ensembles, ["attention", "drop_one"])["explainer"]) == ["attention"]


def test_table_explainers_counts_distinct_ensembles():
    # Five draws of one member set are one ensemble (as in table_ensembles), not five.
    models = pd.DataFrame({"problem": "and", "modality": "gaussian", "stage": "retrain", "valid_accuracy": 1.0,
                           "iauc_roc": [0.9, 0.9], "iauc_roc_keep_one": [0.9, 0.9],
                           "explain_s_attention": 0.1, "explain_s_keep_one": 0.2})
    ensembles = pd.DataFrame({"problem": "and", "modality": "gaussian", "kind": "one", "size": 2,
                              "members": ["a/r0;a/r1"] * 5 + ["a/r1;a/r2"],
                              "iauc_roc": [0.5] * 5 + [0.9], "iauc_roc_keep_one": [0.6] * 5 + [1.0]})
    table = table_explainers(models, ensembles, ["attention", "keep_one"]).set_index("explainer")
    assert table["n_ensembles"].tolist() == [2, 2] and table["n_ensemble_draws"].tolist() == [6, 6]
    assert table.loc["attention", "ensemble_iauc_roc"] == pytest.approx(0.7)  # not (5 * 0.5 + 0.9) / 6
    assert table.loc["attention", "pct_bad_ensembles"] == 50
    assert table.loc["keep_one", "ensemble_iauc_roc"] == pytest.approx(0.8)
    only_repeats = table_explainers(models, ensembles.iloc[:5], ["attention"])
    assert only_repeats.loc[0, "n_ensembles"] == 1 and only_repeats.loc[0, "n_ensemble_draws"] == 5
    text = _report_section(table.reset_index(), _markdown, bad_iauc=0.65)
    assert "gaussian AND 2 distinct of 6 draws" in text
    distinct = ensembles.assign(members=[f"a/r{i};a/r{i + 1}" for i in range(6)])
    text = _report_section(table_explainers(models, distinct, ["attention", "keep_one"]), _markdown, bad_iauc=0.65)
    assert "distinct of" not in text
