"""A run folder, read: the typed, read-only view the report and :class:`AssessmentResult` are made of."""

from __future__ import annotations

import functools
import json
import os
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
from ._tasks import _Data, _dataset, _model_columns, _population_columns

# The packages whose versions the report names.


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
        frame = _read_rows(path, columns, types)
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
