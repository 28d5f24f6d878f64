"""The assessment report: sentences follow the numbers, figures match the tables, provenance, HTML.

Built from synthetic rows (no training), so every test takes a fraction of a second
and every number in the report is known in advance.
"""

import base64
import io
import re
import shutil
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from setlearn.assessment import AssessmentResult, StudyConfig, StudyRecord, _report, _runner, load_config
from setlearn.assessment import table_ensembles, table_silent_failures
from setlearn.assessment._store import _attention_path, _save_attention
from setlearn.assessment._tables import write_tables

CONFIGS = {"h4-a2-f1-c1": 2, "h4-a4-f1-c1": 4}  # config id -> attention size (smoke's Gaussian grid)
N_RETRAIN = 10
OVERRIDES = {"n_retrain": N_RETRAIN, "max_ensemble_size": 3, "n_ensembles": 10}


def _models(retrain_iauc, valid_accuracy=1.0, modality="gaussian", problem="mil", n_retrain=N_RETRAIN):
    """Search rows (2 seeds) and retrain rows; ``retrain_iauc``: config id -> n_retrain iAUC-ROC values."""
    rows = []
    for stage, repeats in [("search", 2), ("retrain", n_retrain)]:
        for config_id, attention_size in CONFIGS.items():
            for repeat in range(repeats):
                iauc = retrain_iauc[config_id][repeat] if stage == "retrain" else 0.9
                accuracy = valid_accuracy[config_id][repeat] if isinstance(valid_accuracy, dict) else valid_accuracy
                rows.append({
                    "problem": problem, "modality": modality, "stage": stage, "config_id": config_id,
                    "hidden_size": 4, "attention_size": attention_size, "featurizer_depth": 1, "classifier_depth": 1,
                    "repeat": repeat, "seed": repeat, "valid_accuracy": accuracy, "valid_log_loss": 0.1,
                    "test_accuracy": 0.95, "test_bag_auc": 0.97, "iauc_roc": iauc, "iauc_pr": iauc,
                    "fit_time_s": 1.5,
                })
    return pd.DataFrame(rows)


def _ensembles(iauc_by_kind_and_size, modality="gaussian", problem="mil", members=None):
    """10 draws per (kind, size): ``iauc_by_kind_and_size[kind, size]`` -> 10 iAUC-ROC values.

    ``members(kind, size, draw)``: the draw's member set (default: a distinct one per draw).
    """
    def distinct(kind, size, draw):
        config = "h4-a2-f1-c1" if kind == "one" else "h4-a4-f1-c1"
        return ";".join(["h4-a2-f1-c1/r0"] + [f"{config}/r{(draw + i) % N_RETRAIN}" for i in range(1, size)])

    rows = []
    for (kind, size), values in iauc_by_kind_and_size.items():
        for draw, iauc in enumerate(values):
            rows.append({"problem": problem, "modality": modality, "kind": kind, "size": size, "draw": draw,
                         "config_id": "h4-a2-f1-c1" if kind == "one" else "several",
                         "members": (members or distinct)(kind, size, draw), "iauc_roc": iauc, "iauc_pr": iauc})
    return pd.DataFrame(rows)


def _result(tmp_path, models, ensembles, *, preset="smoke", overrides=OVERRIDES):
    """A finished run of these rows in ``tmp_path``, rendered as assess renders one (12 s long)."""
    models.to_csv(tmp_path / "models.csv", index=False)
    ensembles.to_csv(tmp_path / "ensembles.csv", index=False)
    record = StudyRecord(tmp_path, StudyConfig.from_mapping(preset, overrides))
    _store_attention(record)
    tables = write_tables(record)
    figures, captions = _report._write_figures(record, tables)
    report = _report._write_report(_page(record, tables, figures, captions))
    return AssessmentResult.from_record(record, complete=True, n_new_models=len(models), elapsed_s=12.0,
                                        stage_s={}, tables=tables, figures=figures, captions=captions,
                                        report=report)


def _store_attention(record, attention=None):
    """Store the test attention of every retrained model that has none yet, as a run would.

    ``attention(row, bags, importance)``: one array per test bag (default: attention on the
    important instances only for a model of iAUC-ROC >= 0.9, uniform for the others).
    """
    def default(row, bags, importance):
        if row["iauc_roc"] >= 0.9:
            return [i / i.sum() if i.sum() else np.full(len(i), 1 / len(i)) for i in map(np.asarray, importance)]
        return [np.full(len(bag), 1 / len(bag)) for bag in bags]

    for _, row in _report._retrained(record.models).iterrows():
        key = (row["problem"], row["modality"], "retrain", row["config_id"], int(row["repeat"]))
        path = _attention_path(record.out, key)
        if not path.exists():
            bags, _, importance = record.test_bags(row["problem"], row["modality"])
            path.parent.mkdir(exist_ok=True)
            _save_attention(path, (attention or default)(row, bags, importance))


def _page(record, tables, figures=None, captions=None):
    return _report._Page(record, tables, figures or {}, captions or {}, n_new_models=len(record.models),
                         elapsed_s=12.0)


# Single models: 2 of 20 bad (10 %); "good" ensembles have none left, "bad" ensembles half.
SINGLE = {"h4-a2-f1-c1": [0.5] + [0.95] * 9, "h4-a4-f1-c1": [0.6] + [0.92] * 9}
CLEAN = {(kind, size): [0.95] * 10 for kind in ["one", "several"] for size in [2, 3]}
WORSE = {(kind, size): [0.5] * 5 + [0.9] * 5 for kind in ["one", "several"] for size in [2, 3]}


@pytest.fixture(scope="module")
def worse(tmp_path_factory):
    # Shared by the read-only tests: drawing and saving the figures is most of a test's time.
    return _result(tmp_path_factory.mktemp("worse"), _models(SINGLE), _ensembles(WORSE))


@pytest.fixture
def clean(tmp_path):
    return _result(tmp_path, _models(SINGLE), _ensembles(CLEAN))


# --------------------------------------------------------------------------- sentences follow the numbers


def test_ensembles_that_make_things_worse_are_never_said_to_remove_bad_explanations(worse):
    text = worse.report.read_text()
    assert "ensembles remove" not in text and "removed" not in text
    assert "Ensembles made things worse in gaussian MIL" in text
    assert "10% of 20 single models explain badly" in text
    assert "from one configuration raised it to 50%" in text


def test_ensembles_that_remove_every_bad_explanation_are_said_to(clean):
    text = clean.report.read_text()
    assert "the largest ensembles removed every bad explanation" in text
    assert "made things worse" not in text
    assert "from one configuration removed every one" in text
    assert "members from several did as well in 1 of 1 task." in text


def test_ensemble_sentences_quote_table_3_and_its_intervals(worse):
    from setlearn.plotting import wilson_interval

    row = table_ensembles(worse.models, worse.ensembles).iloc[0]
    text = worse.report.read_text()
    assert f"{row.pct_bad_single:.0f}% of 20 single models" in text
    low, high = wilson_interval(2, 20)
    assert f"(95% CI {100 * low:.0f}–{100 * high:.0f}%)" in text
    low, high = wilson_interval(5, 10)
    assert (f"raised it to {row.pct_bad_one_configuration:.0f}% (95% CI {100 * low:.0f}–{100 * high:.0f}%, "
            f"10 distinct ensembles") in text


def test_repeated_draws_are_one_ensemble_and_the_report_says_so(tmp_path):
    # Size 3 of "one configuration": 10 draws of only 2 member sets (one bad, one good).
    def members(kind, size, draw):
        return f"h4-a2-f1-c1/r0;h4-a2-f1-c1/r1;h4-a2-f1-c1/r{2 + draw % 2}" if (kind, size) == ("one", 3) else (
            ";".join(f"h4-a4-f1-c1/r{(draw + i) % N_RETRAIN}" for i in range(size)))

    iauc = {**CLEAN, ("one", 3): [0.5, 0.9] * 5}
    result = _result(tmp_path, _models(SINGLE), _ensembles(iauc, members=members))
    curve = result.tables["bad_by_ensemble_size"].set_index(["kind", "size"])
    assert (curve.loc[("one", 3), "n"], curve.loc[("one", 3), "n_draws"]) == (2, 10)
    assert curve.loc[("one", 3), "pct_bad"] == 50.0 and curve.loc[("several", 3), "n"] == 10
    row = result.tables["ensembles"].iloc[0]
    assert (row.n_one_configuration, row.n_draws_one_configuration) == (2, 10)
    assert "one configuration: 2 distinct of 10 draws" in row.note
    text = result.report.read_text()
    # The interval is over the 2 distinct ensembles, not the 10 draws.
    from setlearn.plotting import wilson_interval

    low, high = wilson_interval(1, 2)
    assert f"(95% CI {100 * low:.0f}–{100 * high:.0f}%, only 2 distinct ensembles in 10 draws" in text
    assert "gaussian MIL, one configuration: size 3 (2 of 10)" in text


def test_several_configurations_of_one_configuration_is_not_a_separate_result(tmp_path):
    models = _models(SINGLE)
    models = models[(models["stage"] == "search") | (models["config_id"] == "h4-a2-f1-c1")]
    result = _result(tmp_path, models, _ensembles(CLEAN), overrides={**OVERRIDES, "top_k": 1})
    assert "several" not in set(result.tables["bad_by_ensemble_size"]["kind"])
    row = result.tables["ensembles"].iloc[0]
    assert pd.isna(row.pct_bad_several_configurations) and "not a separate result" in row.note
    text = result.report.read_text()
    assert "from several configurations: not a separate result" in text
    assert "is not reported apart" in text
    assert "members from several did" not in text


def test_bad_models_are_classified_in_the_report(tmp_path):
    models = _models(SINGLE)
    # The two bad retrained models: one inverted (population 1 below population 0), one untrained.
    retrain = models["stage"] == "retrain"
    models["iauc_roc_pop1"] = models["iauc_roc"].where(retrain)
    models.loc[retrain & (models["iauc_roc"] == 0.5), "iauc_roc_pop1"] = 0.2
    models.loc[retrain & (models["iauc_roc"] == 0.6), "valid_accuracy"] = 0.5
    result = _result(tmp_path, models, _ensembles(CLEAN))
    row = result.tables["bad_models"].iloc[0]
    assert (row.n_bad, row.inverted, row.untrained, row.diffuse) == (2, 1, 1, 0)
    text = result.report.read_text()
    assert "## Why do bad explanations fail?" in text
    assert "Of 2 bad explanations among 20 retrained models: 1 untrained and 1 inverted." in text
    assert "| gaussian | MIL | 20 | 2 | 1 | 0 | 1 | 0 |" in text


def test_table_2_per_task_in_the_report(worse):
    text = worse.report.read_text()
    row = worse.tables["accuracy_vs_iauc_by_task"].iloc[0]
    # Every retrained model equally accurate: rho undefined in both configurations.
    assert row.n_defined_rho == 0
    assert "| gaussian | MIL | – (0 of 2 configs) | 0.04 ± 0.07 |" in text
    assert "largest top tenth" in text and f"| {row.max_top_decile} of {N_RETRAIN} |" in text


def test_no_bad_single_model_means_nothing_to_remove(tmp_path):
    models = _models({cid: [0.95] * N_RETRAIN for cid in CONFIGS})
    text = _result(tmp_path, models, _ensembles(CLEAN)).report.read_text()
    assert "No single model explained badly" in text and "removed" not in text


def test_silent_failure_sentence_counts_the_retrained_models(tmp_path):
    accuracy = {cid: [1.0] * 5 + [0.7] * 5 for cid in CONFIGS}
    result = _result(tmp_path, _models(SINGLE, valid_accuracy=accuracy), _ensembles(CLEAN))
    silent = table_silent_failures(result.models).set_index("modality").loc["all"]
    # The accurate runs are repeats 0-4, holding both 0.5 and 0.6: 8 of 10 good.
    assert (silent.n_accurate, silent.pct_good_iauc) == (10, 80.0)
    text = result.report.read_text()
    assert "Of 10 retrained models with validation accuracy >= 0.9, 80% reach iAUC-ROC >= 0.9" in text
    assert "2 do not — silent failures — and the lowest iAUC-ROC among them is 0.50" in text


def test_accuracy_sentence_follows_rho(tmp_path):
    # iAUC rises with accuracy in every configuration: rho = 1, no "would not reliably" claim.
    accuracy = {cid: list(np.linspace(0.8, 1.0, N_RETRAIN)) for cid in CONFIGS}
    iauc = {cid: list(np.linspace(0.5, 0.95, N_RETRAIN)) for cid in CONFIGS}
    text = _result(tmp_path, _models(iauc, valid_accuracy=accuracy), _ensembles(CLEAN)).report.read_text()
    assert "ranged from 1.00 to 1.00" in text and "every one is at least 0.5" in text
    assert "would not reliably" not in text


# --------------------------------------------------------------------------- figures match the tables


def test_accuracy_figure_shows_the_retrained_models_of_the_silent_failure_table(tmp_path):
    accuracy = {cid: [1.0] * 5 + [0.7] * 5 for cid in CONFIGS}
    result = _result(tmp_path, _models(SINGLE, valid_accuracy=accuracy), _ensembles(CLEAN))
    fig, caption = _report._figures(result.record, result.tables)["accuracy_vs_iauc"]
    ax = fig.axes[0]
    cells = [(t.get_position(), int(t.get_text())) for t in ax.texts]
    assert sum(n for _, n in cells) == N_RETRAIN * len(CONFIGS)  # retrained only, not the 4 search models
    silent = table_silent_failures(result.models).set_index("modality").loc["all"]
    accurate = sum(n for (x, _), n in cells if x >= 0.9)
    good = sum(n for (x, y), n in cells if x >= 0.9 and y >= 0.9)
    assert accurate == silent.n_accurate and 100 * good / accurate == silent.pct_good_iauc
    assert "retrained models" in caption and "search models are left out" in caption


def test_the_pca_figure_shows_a_good_and_a_bad_model_of_a_gaussian_task(worse):
    fig, caption = _report._figures(worse.record, worse.tables)["gaussian_mil_attention_pca"]
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split(":")[0] for ax in panels] == ["instance label", "good", "bad"]
    # good: iAUC-ROC 0.95 (attention on the important instances only); bad: the worst, 0.5 (uniform).
    assert "iAUC-ROC 0.95" in panels[1].get_title() and "iAUC-ROC 0.50" in panels[2].get_title()
    bad_colours = np.concatenate([c.get_array() for c in panels[2].collections])
    assert np.allclose(bad_colours, 1.0)  # uniform: attention x bag size = 1 everywhere
    good_unimportant = panels[1].collections[0].get_array()
    assert np.allclose(good_unimportant, 0.0)
    assert caption.startswith("The study's Fig. 3 for gaussian MIL") and "a bad one: iAUC-ROC <= 0.65" in caption
    report = worse.report.read_text()
    for title in ["(the study's Fig. 2)", "(the study's Fig. 3)", "(the study's Fig. 4)", "(the study's Fig. S.19)",
                  "(the study's Fig. S.22)"]:
        assert title in report
    assert report.index("(the study's Fig. 2)") < report.index("(the study's Fig. 3)") < report.index(
        "(the study's Fig. 4)") < report.index("(the study's Fig. S.19)")


def test_ensemble_figure_plots_the_ensemble_table(worse):
    fig, caption = _report._figures(worse.record, worse.tables)["bad_vs_ensemble_size"]
    curve = worse.tables["bad_by_ensemble_size"]
    lines = {c.get_label(): c.lines[0] for c in fig.axes[0].containers}
    for kind, label in [("one", "one configuration"), ("several", "several configurations")]:
        expected = curve[curve["kind"] == kind].sort_values("size")["pct_bad"].tolist()
        assert lines[label].get_ydata().tolist() == expected
    assert "10 random ensembles per size and kind" in caption and "95% Wilson" in caption


def test_configuration_figure_shows_every_retrained_model_under_its_label(worse):
    fig, _ = _report._figures(worse.record, worse.tables)["iauc_by_configuration"]
    ax = fig.axes[0]
    retrained = worse.models[worse.models["stage"] == "retrain"]
    for dots, (config_id, group) in zip(ax.collections, sorted(retrained.groupby("config_id"))):
        assert sorted(dots.get_offsets()[:, 1]) == sorted(group["iauc_roc"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hid 4 att 2\nfeat 1 clf 1", "hid 4 att 4\nfeat 1 clf 1"]


def test_every_figure_has_a_caption_in_the_report(worse):
    text = worse.report.read_text()
    for number, name in enumerate(worse.figures, start=1):
        assert f"![{name}](figures/{name}.png)" in text
        assert f"*Figure {number}.* {worse.captions[name]}" in text


def test_bags_of_a_good_and_a_silently_failing_model_on_an_image_task(tmp_path):
    accuracy = {cid: [1.0] * N_RETRAIN for cid in CONFIGS}
    models = _models(SINGLE, valid_accuracy=accuracy, modality="digits")
    for row in models[models["stage"] == "retrain"].itertuples():
        key = ("mil", "digits", "retrain", row.config_id, row.repeat)
        (tmp_path / "attention").mkdir(exist_ok=True)
        _save_attention(_attention_path(tmp_path, key), [np.full(10, 0.1)] * 20)
    ensembles = _ensembles(CLEAN, modality="digits")
    # The stored attention above has 10 weights per bag: bags of exactly 10 (a fixed-size composition).
    overrides = {**OVERRIDES, "modalities": ["digits"], "n_train_bags": 20, "n_valid_bags": 20, "n_test_bags": 20,
                 "bag_size": 10, "data_params": {"composition": "balanced"}}
    result = _result(tmp_path, models, ensembles, overrides=overrides)
    assert {"digits_mil_bag", "digits_mil_bag_silent_failure"} <= set(result.figures)
    # The silent failure is the accurate model with the worst explanation: h4-a2-f1-c1, repeat 0, iAUC 0.5.
    silent_caption = result.captions["digits_mil_bag_silent_failure"]
    assert "model h4-a2-f1-c1 seed r0" in silent_caption and "0.50 over all positive test bags" in silent_caption
    assert "0.95 over all positive test bags" in result.captions["digits_mil_bag"]
    # Both show the same bag: the one where the silent failure's attention is worst.
    bag = re.search(r"Test bag (\d+) ", silent_caption).group(1)
    assert f"Test bag {bag} " in result.captions["digits_mil_bag"]
    assert "where the silent failure's attention is worst" in silent_caption


def test_pick_bag_models_without_a_silent_failure():
    models = _models(SINGLE, valid_accuracy=0.8)
    good, silent = _report._pick_bag_models(models[models["stage"] == "retrain"], 0.65)
    assert silent is None and good["iauc_roc"] == 0.95


def test_pick_bag_models_never_shows_one_model_twice():
    retrained = _models(SINGLE, n_retrain=1)
    retrained = retrained[retrained["stage"] == "retrain"].iloc[:1]  # one accurate model, iAUC 0.5
    good, silent = _report._pick_bag_models(retrained, 0.65)
    assert good is None and silent["iauc_roc"] == 0.5
    two = _models(SINGLE, n_retrain=2)
    good, silent = _report._pick_bag_models(two[two["stage"] == "retrain"], 0.65)
    assert (silent["config_id"], silent["repeat"]) == ("h4-a2-f1-c1", 0) and good["iauc_roc"] == 0.95


# --------------------------------------------------------------------------- provenance and configuration


def test_report_cites_the_study_and_records_provenance(worse):
    from importlib import metadata

    text = worse.report.read_text()
    assert "Haab, N. Deutschmann, M. Rodríguez Martínez" in text and "arXiv:2207.13018 (2022)" in text
    assert "All Things Attention" in text
    for package in ["setlearn", "torch", "scikit-learn", "numpy"]:
        assert f"{package} {metadata.version(package)}" in text
    assert "**Command:** `" in text and "CPUs" in text and "device `cpu`" in text
    assert "12 s for this call" in text and "Training time summed\n  over all models: 36 s" in text
    assert "preset `smoke`" in text


def test_a_custom_configuration_does_not_inherit_its_preset_description(tmp_path):
    overrides = {**OVERRIDES, "top_k": 2, "grid": {"gaussian": {"hidden_size": [4], "attention_size": [2, 4],
                                                    "featurizer_depth": [1], "classifier_depth": [1]}}}
    result = _result(tmp_path, _models(SINGLE), _ensembles(CLEAN), preset="quick", overrides=overrides)
    text = result.report.read_text()
    assert load_config("quick")["description"] not in text
    assert "A custom configuration based on preset `quick`" in text
    assert "`n_retrain`: 20 -> 10" in text and "`max_ensemble_size`: 8 -> 3" in text


def test_a_preset_run_shows_the_preset_description(tmp_path):
    models = _models({cid: v[:3] for cid, v in SINGLE.items()}, n_retrain=3)
    ensembles = _ensembles({(k, s): v[:3] for (k, s), v in CLEAN.items()})
    text = _result(tmp_path, models, ensembles, overrides=None).report.read_text()
    assert f"Preset `smoke`: {load_config('smoke')['description']}" in text
    assert "overrides:\n  none" in text


def test_configuration_ids_are_decoded(worse):
    text = worse.report.read_text()
    assert "| `h4-a2-f1-c1` | 4 | 2 | 1 | 1 | hid 4 att 2 / feat 1 clf 1 | gaussian MIL #" in text
    assert "hidden size | attention size | featurizer depth | classifier depth" in text


def test_the_search_by_grid_value_counts_the_search_models_in_the_report(tmp_path):
    models = _models(SINGLE)
    search = models["stage"] == "search"
    # One accurate search model of attention size 4 explains badly: a silent failure of the search.
    bad = models.index[search & (models["config_id"] == "h4-a4-f1-c1")][0]
    models.loc[bad, "iauc_roc"] = 0.2
    result = _result(tmp_path, models, _ensembles(CLEAN))
    table = result.tables["search_by_grid_value"].set_index(["parameter", "value"])
    assert table.loc[("attention_size", 4), ["n_models", "n_accurate", "n_silent"]].tolist() == [2, 2, 1]
    assert table.loc[("hidden_size", 4), ["n_models", "n_silent"]].tolist() == [4, 1]
    text = result.report.read_text()
    assert "## The search by grid value" in text
    assert "1 of 4 accurate search models are silent failures" in text
    assert "attention size 4 (1)" in text and "attention size 2 (" not in text
    assert (tmp_path / "tables" / "search_by_grid_value.csv").exists()


def test_report_sections_are_a_list(worse, monkeypatch):
    # Adding a section is one line: the report is the sections' Markdown, in order.
    monkeypatch.setattr(_report, "_SECTIONS", [*_report._SECTIONS, lambda result: "## Audit\n\nok"])
    page = _page(worse.record, worse.tables, worse.figures, worse.captions)
    assert _report._report_markdown(page).rstrip().endswith("## Audit\n\nok")


# --------------------------------------------------------------------------- HTML


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.tables = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        self.tables += tag == "table"


def test_html_report_is_self_contained(worse, tmp_path):
    from PIL import Image

    # Moved away from its figures/ folder, it must still show every figure.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    html = shutil.copy(worse.out / "report.html", elsewhere / "report.html")
    parser = _Images()
    parser.feed(open(html, encoding="utf-8").read())
    assert len(parser.sources) == len(worse.figures) and parser.tables >= 3
    for src, path in zip(parser.sources, worse.figures.values()):
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png == path.read_bytes()
        with Image.open(io.BytesIO(png)) as image:
            image.verify()


# --------------------------------------------------------------------------- progress


def test_progress_off_a_terminal_is_plain_lines(monkeypatch):
    stream = io.StringIO()  # not a terminal
    monkeypatch.setattr(_runner.sys, "stderr", stream)
    monkeypatch.setattr(_runner, "_PROGRESS_INTERVAL_S", 0.0)
    with _runner._progress(5, 1, "retrain", quiet=False) as bar:
        for _ in range(3):
            bar.update()
    output = stream.getvalue()
    assert "\r" not in output
    lines = output.splitlines()
    assert lines[0].startswith("setlearn assess: retrain: 1/5 models done, 4 left")
    assert re.search(r"retrain: 4/5 models done, 1 left, \d+s elapsed, ETA \d+s", output)


def test_progress_lines_wait_for_the_interval(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(_runner.sys, "stderr", stream)
    with _runner._progress(100, 0, "search", quiet=False) as bar:
        for _ in range(50):
            bar.update()
    # A line at the start and one at the end, none in between (the interval is 30 s).
    assert len(stream.getvalue().splitlines()) == 2


def test_quiet_progress_prints_nothing(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(_runner.sys, "stderr", stream)
    with _runner._progress(3, 0, "search", quiet=True) as bar:
        bar.update()
    assert stream.getvalue() == ""
