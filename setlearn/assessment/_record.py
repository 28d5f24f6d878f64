"""A run folder, read: the typed, read-only view the report and :class:`AssessmentResult` are made of."""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shlex
import sys
from pathlib import Path

from setlearn.utils._versions import REPORT_PACKAGES, package_versions

from ._audit import _AUDIT_COLUMNS, AUDIT_KEY, AUDIT_TYPES
from ._config import ConfigError, StudyConfig
from ._explainers import _ensemble_columns, _model_columns as _explainer_model_columns, _scores_path
from ._store import (ENSEMBLE_KEY, ENSEMBLE_TYPES, MODEL_KEY, MODEL_TYPES, _ENSEMBLE_COLUMNS, _attention_path,
                     _load_attention, _read_rows)
from ._tables import top_configurations
from ._tasks import _config_id, _Data, _dataset, _model_columns, _population_columns


def _row_files(config):
    """``{name: (file, columns, key, cell types)}`` of the row files of a run of ``config``."""
    # The explainers' columns: iauc_roc_<method> in [0, 1], explain_s_<method> seconds >= 0.
    def kind(column):
        return "nonnegative" if column.startswith("explain_s_") else "fraction"

    model_types = {**MODEL_TYPES, **{c: kind(c) for c in _explainer_model_columns(config.explainers)},
                   **{c: "fraction_or_empty" for c in _population_columns(config.problems)}}
    ensemble_columns = _ensemble_columns(config.explainers)
    return {
        "models": ("models.csv", _model_columns(config), MODEL_KEY, model_types),
        "ensembles": ("ensembles.csv", _ENSEMBLE_COLUMNS + ensemble_columns, ENSEMBLE_KEY,
                      {**ENSEMBLE_TYPES, **{c: kind(c) for c in ensemble_columns}}),
        "audit": ("audit.csv", _AUDIT_COLUMNS, AUDIT_KEY, AUDIT_TYPES),
    }


def _row_checks(config, out, stored_models):
    """``{name: check_row}`` for the row files of a run of ``config`` in ``out``.

    A row of the right types can still be damaged: a key outside the study (a problem,
    configuration or repeat the config does not have), grid values that disagree with
    its ``config_id``, an ensemble of another size than its members or of models that
    were never stored, a retrained model whose attention file is missing or damaged.
    Each check returns why the row is damaged, or None; ``--drop-bad-rows`` drops such
    rows, and the run computes them again. ``stored_models`` is the set of model keys
    (the models' store is opened first).
    """
    from sklearn.model_selection import ParameterGrid

    grids = {modality: {_config_id(params): params for params in ParameterGrid(config.grid[modality])}
             for modality in config.modalities}
    repeats = {"search": config.search_seeds, "retrain": config.n_retrain}

    def task(row):
        if row["problem"] not in config.problems:
            return f"problem {row['problem']!r} is not one of the study's problems ({', '.join(config.problems)})"
        if row["modality"] not in config.modalities:
            return (f"modality {row['modality']!r} is not one of the study's modalities "
                    f"({', '.join(config.modalities)})")
        return None

    def configuration(modality, config_id):
        if config_id not in grids[modality]:
            return f"config_id {config_id!r} is not a configuration of the {modality} grid"
        return None

    def member(modality, config_id, repeat):
        problem = configuration(modality, config_id)
        if problem:
            return problem
        if repeat >= config.n_retrain:
            return f"repeat {repeat} is outside the study's {config.n_retrain} retrains"
        return None

    def model(row):
        problem = task(row)
        if problem:
            return problem
        modality, config_id, stage, repeat = row["modality"], row["config_id"], row["stage"], int(row["repeat"])
        problem = configuration(modality, config_id)
        if problem:
            return problem
        for name, value in grids[modality][config_id].items():
            if row[name] != str(value):
                return f"{name} {row[name]!r} disagrees with config_id {config_id!r} ({name} {value!r})"
        if repeat >= repeats[stage]:
            return f"repeat {repeat} is outside the study's {repeats[stage]} {stage} repeats"
        if stage == "retrain":
            # A retrained model's row promises its test scores (the ensembles and the report read them).
            key = (row["problem"], modality, stage, config_id, repeat)
            for method in config.explainers:
                path = _scores_path(_attention_path(out, key), method)
                try:
                    scores = _load_attention(path)
                except ConfigError:
                    return f"its scores file {path.name} is missing or damaged"
                if len(scores) != config.n_test_bags:
                    return f"its scores file {path.name} holds {len(scores)} bags, not {config.n_test_bags}"
        return None

    def ensemble(row):
        problem = task(row)
        if problem:
            return problem
        size, kind, config_id = int(row["size"]), row["kind"], row["config_id"]
        if not 2 <= size <= config.max_ensemble_size:
            return f"size {size} is outside the study's 2..{config.max_ensemble_size}"
        if int(row["draw"]) >= config.n_ensembles:
            return f"draw {row['draw']} is outside the study's {config.n_ensembles} draws"
        if (kind == "several") != (config_id == "several"):
            return f"config_id {config_id!r} does not go with kind {kind!r}"
        members = row["members"].split(";")
        if len(members) != size:
            return f"lists {len(members)} members for size {size}"
        for name in members:
            match = re.fullmatch(r"(.+)/r([0-9]+)", name)
            if match is None:
                return f"member {name!r} is not <config_id>/r<repeat>"
            member_id, repeat = match.group(1), int(match.group(2))
            problem = member(row["modality"], member_id, repeat)
            if problem is None and kind == "one" and member_id != config_id:
                problem = f"member {name!r} is not of configuration {config_id!r}"
            if problem is None and (row["problem"], row["modality"], "retrain", member_id, repeat) not in stored_models:
                problem = f"member {name!r} is no stored model"
            if problem:
                return problem
        return None

    return {"models": model, "ensembles": ensemble, "audit": task}


def _command():
    """This process's command line, as a user would type it again."""
    argv = list(sys.argv)
    if argv and os.path.basename(argv[0]) in ("setlearn", "__main__.py"):
        argv[0] = "setlearn"
    elif argv:
        argv.insert(0, "python")
    return shlex.join(argv)


class StudyRecord:
    """A run folder of :func:`assess`, read: its configuration and every stored result.

    Read-only, and lazy: each part is read from disk the first time it is asked for,
    then kept. The rows are read back from the files (the one source of truth) and
    sorted by their key, as parallel runs store them in completion order.

    Parameters
    ----------
    out : path-like
        The run folder.
    config : StudyConfig
        The run's configuration (see :meth:`open` to read it from ``config.json``).
    command : str, default=None
        The command line of the run; this process's when None.

    Attributes
    ----------
    out : pathlib.Path
    config : StudyConfig
    command : str

    Examples
    --------
    >>> from setlearn.assessment import StudyRecord
    >>> record = StudyRecord.open("results/smoke")  # doctest: +SKIP
    >>> record.models.groupby("stage").size()  # doctest: +SKIP
    >>> record.attention(("mil", "gaussian", "retrain", "h4-a2-f1-c1", 0))[0]  # doctest: +SKIP
    """

    def __init__(self, out, config, *, command=None):
        self.out = Path(out)
        self.config = config
        self.command = _command() if command is None else command
        self._attention = {}
        self._test_bags = {}

    @classmethod
    def open(cls, out):
        """The record of a run folder, its configuration read from its ``config.json``.

        Parameters
        ----------
        out : path-like
            A folder written by :func:`assess`.

        Returns
        -------
        record : StudyRecord
            The folder's record. Its configuration has no preset (the report names the closest one).
        """
        path = Path(out) / "config.json"
        try:
            mapping = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} cannot be read ({exc}); is {out} a folder of setlearn assess?") from None
        return cls(out, StudyConfig.from_mapping(None, mapping))

    def _rows(self, name):
        file, columns, key, types = _row_files(self.config)[name]
        path = self.out / file
        if not path.exists():
            return None
        text = path.read_bytes()
        # A run appending to the file may be in the middle of a row: read whole lines only.
        frame = _read_rows(io.BytesIO(text[: text.rfind(b"\n") + 1]), columns, types)
        return frame if name == "audit" else frame.sort_values(key, ignore_index=True)

    @functools.cached_property
    def models(self):
        """``models.csv``: one row per trained model, sorted by its key."""
        return self._rows("models")

    @functools.cached_property
    def ensembles(self):
        """``ensembles.csv``: one row per ensemble, sorted by its key (None before the ensembles)."""
        return self._rows("ensembles")

    @functools.cached_property
    def audit(self):
        """``audit.csv``: the ground-truth audit, in the order it was stored (None without one)."""
        return self._rows("audit")

    @functools.cached_property
    def top(self):
        """The top-k configurations of every task, from the search rows (:func:`top_configurations`)."""
        return top_configurations(self.models, self.config.top_k)

    def attention(self, key, method="attention"):
        """A retrained model's stored test scores of ``method``, one array per test bag.

        Parameters
        ----------
        key : tuple
            The model's key ``(problem, modality, stage, config_id, repeat)``.
        method : str, default="attention"
            One of the configured explainers.

        Returns
        -------
        scores : list of numpy.ndarray
            One array of instance scores per test bag.
        """
        if (key, method) not in self._attention:
            self._attention[key, method] = _load_attention(_scores_path(_attention_path(self.out, key), method))
        return self._attention[key, method]

    def test_bags(self, problem, modality):
        """The test split of one task, rebuilt from the config's seeds.

        Parameters
        ----------
        problem, modality : str
            The task.

        Returns
        -------
        bags : list of numpy.ndarray
            The test bags.
        labels : numpy.ndarray
            Their labels.
        importance : list of numpy.ndarray
            Every instance's true importance, per bag.
        """
        if (problem, modality) not in self._test_bags:
            self._test_bags[problem, modality] = _dataset(problem, modality, "test", _Data.of(self.config))
        return self._test_bags[problem, modality]

    @functools.cached_property
    def versions(self):
        """``{package: version}`` of the packages reading the run (the report names them)."""
        return {name: version or "not installed" for name, version in package_versions(REPORT_PACKAGES).items()}

    @functools.cached_property
    def written_by(self):
        """``versions.json``: every set of versions that wrote rows into the folder ([] without it)."""
        path = self.out / "versions.json"
        return json.loads(path.read_text()) if path.exists() else []


StudyRecord.__module__ = "setlearn.assessment"
