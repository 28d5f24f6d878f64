"""The study end to end: does attention point at the important instances?

:func:`assess` reproduces the protocol of Haab et al. (2022, "Is Attention
Interpretation? A Quantitative Assessment On Sets") on synthetic bags whose
important instances are known by construction:

1. **search** -- every configuration of a grid is trained with a few seeds and
   ranked by mean validation accuracy;
2. **retrain** -- the top-k configurations are retrained with many seeds, and
   every model is measured on a held-out test set: bag accuracy, bag AUC,
   iAUC-ROC and iAUC-PR (attention weights scored against the true
   instance importance, positive bags only);
3. **ensembles** -- the stored test-set attention of the retrained models is
   averaged over random ensembles of 2..N members, drawn from one
   configuration or from several;
4. the study's **tables**, **figures** and a Markdown **report** that sets the
   published numbers beside ours are recomputed from the stored rows.

Everything lands in one folder. Only the main process writes to it; each
finished model is appended to ``models.csv`` and flushed to disk at once, so an
interrupted run (Ctrl-C, kill, a lost cluster) continues where it stopped when
the same command is run again.

Examples
--------
>>> import setlearn
>>> result = setlearn.assess("smoke", out="results/smoke", verbose=False)  # doctest: +SKIP
>>> result.tables["top_configurations"]  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import inspect
import json
import math
import os
import sys
import time
import tomllib
import warnings
import zlib
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "assess",
    "AssessmentResult",
    "ConfigError",
    "load_config",
    "preset_names",
    "top_configurations",
    "table_top_configurations",
    "table_accuracy_vs_iauc",
    "table_ensembles",
    "table_silent_failures",
    "bad_fraction_by_ensemble_size",
    "PAPER_TABLE1",
    "PAPER_TABLE3",
]

PROBLEMS = ("mil", "and", "xor", "threshold")
MODALITIES = ("gaussian", "digits")
_SPLITS = ("train", "valid", "test")
# Parameters the study itself sets on every model; a config must not override them.
_RESERVED_ESTIMATOR_PARAMS = ("random_state", "verbose")
# make_bags arguments the study sets from the config and the split.
_RESERVED_DATA_PARAMS = ("problem", "modality", "n_bags", "bag_size", "random_state", "pool", "return_populations")
# Short names keep configuration ids readable in tables and figures.
_ABBREVIATIONS = {"hidden_size": "h", "attention_size": "a", "featurizer_depth": "f", "classifier_depth": "c"}

# Published numbers (paper-protocol.md). The paper's image data is MNIST; setlearn's
# "digits" modality plays that role and is compared against it.
PAPER_TABLE1 = {
    ("gaussian", "mil"): (0.84, 2), ("gaussian", "and"): (0.70, 5), ("gaussian", "xor"): (0.86, 4),
    ("digits", "mil"): (0.91, 0), ("digits", "and"): (0.69, 5), ("digits", "xor"): (0.91, 1),
}
"""Table 1 of the study: ``(modality, problem) -> (mean test iAUC-ROC, bad configurations out of 5)``."""

PAPER_TABLE3 = {
    ("gaussian", "mil"): (18.0, 0.0, 0.0), ("gaussian", "and"): (40.0, 7.3, 0.0),
    ("gaussian", "xor"): (17.3, 0.0, 0.0), ("digits", "mil"): (0.02, 0.0, 0.0),
    ("digits", "and"): (21.0, 0.0, 0.0), ("digits", "xor"): (4.0, 0.0, 0.0),
}
"""Table 3 of the study: ``(modality, problem) -> % bad explanations (single model,
20 members from one configuration, 20 members from several)``."""

_PAPER_DATA_NAMES = {"gaussian": "Gaussian", "digits": "MNIST"}

MODEL_KEY = ["problem", "modality", "stage", "config_id", "repeat"]
_MODEL_METRICS = [
    "seed", "valid_accuracy", "valid_log_loss", "test_accuracy", "test_bag_auc",
    "iauc_roc", "iauc_pr", "fit_time_s",
]
ENSEMBLE_KEY = ["problem", "modality", "kind", "size", "draw"]
_ENSEMBLE_COLUMNS = ENSEMBLE_KEY + ["config_id", "members", "iauc_roc", "iauc_pr"]
_ENSEMBLE_KINDS = ("one", "several")


class ConfigError(ValueError):
    """An assessment configuration, or an output folder, that cannot be used."""


# --------------------------------------------------------------------------- config


def preset_names():
    """Names of the bundled presets.

    Examples
    --------
    >>> from setlearn.assessment import preset_names
    >>> preset_names()
    ['paper', 'quick', 'smoke']
    """
    return sorted(p.stem for p in _PRESET_DIR.glob("*.json"))


_PRESET_DIR = Path(__file__).parent / "presets"


def _did_you_mean(name, choices):
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _unknown(what, name, choices):
    return ConfigError(
        f"Unknown {what} {name!r}.{_did_you_mean(name, choices)} "
        f"Valid: {', '.join(map(str, sorted(choices)))}."
    )


def _check_int(where, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ConfigError(f"{where} must be at least {minimum}, got {value}.")


def _check_fraction(where, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{where} must be a number between 0 and 1, got {value!r}.")


def _check_names(where, value, choices, what):
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list, got {value!r}.")
    for name in value:
        if name not in choices:
            raise _unknown(f"{what} (in {where})", name, choices)
    if len(set(value)) != len(value):
        raise ConfigError(f"{where} lists a value twice: {value!r}.")


def _check_mapping(where, value):
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping (a JSON object / TOML table), got {value!r}.")


_FIELDS = {
    "description": lambda w, v: isinstance(v, str) or _raise(ConfigError(f"{w} must be a string.")),
    "problems": lambda w, v: _check_names(w, v, PROBLEMS, "problem"),
    "modalities": lambda w, v: _check_names(w, v, MODALITIES, "modality"),
    "n_train_bags": lambda w, v: _check_int(w, v, 2),
    "n_valid_bags": lambda w, v: _check_int(w, v, 2),
    "n_test_bags": lambda w, v: _check_int(w, v, 2),
    "bag_size": lambda w, v: _check_int(w, v, 2),
    "data_params": _check_mapping,
    "grid": _check_mapping,
    "estimator_params": _check_mapping,
    "search_seeds": lambda w, v: _check_int(w, v, 1),
    "top_k": lambda w, v: _check_int(w, v, 1),
    "n_retrain": lambda w, v: _check_int(w, v, 1),
    "max_ensemble_size": lambda w, v: _check_int(w, v, 1),
    "n_ensembles": lambda w, v: _check_int(w, v, 1),
    "bad_iauc": _check_fraction,
    "bad_run_fraction": _check_fraction,
    "seed": lambda w, v: _check_int(w, v, 0),
}


def _raise(exc):
    raise exc


def _estimator_param_names():
    from setlearn.estimators import AttentionMILClassifier

    return set(inspect.signature(AttentionMILClassifier).parameters)


def _data_param_names():
    from setlearn.datasets import make_bags

    return set(inspect.signature(make_bags).parameters)


def _read_config_file(path):
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} does not exist.")
    try:
        if path.suffix == ".toml":
            with path.open("rb") as fh:
                return tomllib.load(fh)
        if path.suffix == ".json":
            return json.loads(path.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Config file {str(path)!r} is not valid {path.suffix[1:].upper()}: {exc}") from None
    raise ConfigError(f"Config file {str(path)!r} must end in .json or .toml.")


def _validate(config):
    """Check a complete configuration; raise ConfigError with a fix-it message."""
    for key, value in config.items():
        if key not in _FIELDS:
            raise _unknown("config key", key, _FIELDS)
        _FIELDS[key](key, value)
    missing = sorted(set(_FIELDS) - set(config) - {"description"})
    if missing:
        raise ConfigError(f"The config lacks {', '.join(missing)}.")

    from sklearn.model_selection import ParameterGrid

    estimator_params = _estimator_param_names()
    tunable = estimator_params - set(_RESERVED_ESTIMATOR_PARAMS)
    for name in config["estimator_params"]:
        if name in _RESERVED_ESTIMATOR_PARAMS:
            raise ConfigError(f"estimator_params.{name} is set by the study itself (one per model); remove it.")
        if name not in tunable:
            raise _unknown("estimator parameter (in estimator_params)", name, tunable)
    for modality, grid in config["grid"].items():
        if modality not in MODALITIES:
            raise _unknown("modality (in grid)", modality, MODALITIES)
        _check_mapping(f"grid.{modality}", grid)
        if not grid:
            raise ConfigError(f"grid.{modality} is empty; give at least one parameter with a list of values.")
        for name, values in grid.items():
            where = f"grid.{modality}.{name}"
            if name not in tunable:
                raise _unknown(f"estimator parameter (in grid.{modality})", name, tunable)
            if name in config["estimator_params"]:
                raise ConfigError(f"{name} is both searched ({where}) and fixed (estimator_params); keep one.")
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where} must be a non-empty list of values, got {values!r}.")
            if any(isinstance(v, (list, dict)) or v is None for v in values):
                raise ConfigError(f"{where} must hold plain values (numbers, strings, booleans), got {values!r}.")
            if len(set(values)) != len(values):
                raise ConfigError(f"{where} lists a value twice: {values!r}.")
    for modality in config["modalities"]:
        if modality not in config["grid"]:
            raise ConfigError(f"modalities includes {modality!r} but grid has no {modality!r} entry.")
        n_configs = len(ParameterGrid(config["grid"][modality]))
        if config["top_k"] > n_configs:
            raise ConfigError(
                f"top_k={config['top_k']} is larger than the {n_configs} configurations of "
                f"grid.{modality}; lower top_k or widen the grid."
            )
    if config["max_ensemble_size"] > config["n_retrain"]:
        raise ConfigError(
            f"max_ensemble_size={config['max_ensemble_size']} exceeds n_retrain={config['n_retrain']}: "
            f"an ensemble from one configuration draws distinct retrained models of that configuration."
        )
    data_params = _data_param_names()
    for name in config["data_params"]:
        if name in _RESERVED_DATA_PARAMS:
            raise ConfigError(f"data_params.{name} is set by the study from the config; remove it.")
        if name not in data_params:
            raise _unknown("make_bags parameter (in data_params)", name, data_params - set(_RESERVED_DATA_PARAMS))
    return config


def load_config(preset="quick", config=None):
    """The validated configuration of an assessment.

    Parameters
    ----------
    preset : str, default="quick"
        A bundled preset (see :func:`preset_names`); the base of the configuration.
    config : dict, str or path-like, default=None
        Overrides: a mapping, or a ``.json`` / ``.toml`` file holding one.
        Top-level keys replace the preset's; mapping-valued keys (``grid``,
        ``estimator_params``, ``data_params``) are merged one level deep, so
        ``{"grid": {"gaussian": {...}}}`` replaces the Gaussian grid only.

    Returns
    -------
    config : dict

    Raises
    ------
    ConfigError
        For an unknown preset or key (with a did-you-mean), a wrong type, an
        empty grid, ``top_k`` larger than a grid, an unknown problem or modality.

    Examples
    --------
    >>> from setlearn.assessment import load_config
    >>> load_config("smoke", {"n_retrain": 4})["n_retrain"]
    4
    >>> load_config("smoke", {"n_retrian": 4})
    Traceback (most recent call last):
    ...
    setlearn.assessment.ConfigError: Unknown config key 'n_retrian'. Did you mean 'n_retrain'? ...
    """
    names = preset_names()
    if preset not in names:
        raise _unknown("preset", preset, names)
    base = json.loads((_PRESET_DIR / f"{preset}.json").read_text())
    overrides = {} if config is None else config
    if not isinstance(overrides, dict):
        overrides = _read_config_file(overrides)
    merged = dict(base)
    for key, value in overrides.items():
        if key not in _FIELDS:
            raise _unknown("config key", key, _FIELDS)
        if isinstance(base.get(key), dict) and isinstance(value, dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return _validate(merged)


# --------------------------------------------------------------------------- tasks


def _derive_seed(base, *parts):
    """A reproducible 32-bit seed for one named thing (a split, a model, an ensemble).

    crc32 rather than hash(): it must agree across processes and machines.
    """
    tag = zlib.crc32("/".join(map(str, parts)).encode())
    return int(np.random.SeedSequence([base, tag]).generate_state(1)[0])


def _param_order(name):
    return (list(_ABBREVIATIONS).index(name) if name in _ABBREVIATIONS else len(_ABBREVIATIONS), name)


def _config_id(params):
    return "-".join(f"{_ABBREVIATIONS.get(k, k)}{params[k]}" for k in sorted(params, key=_param_order))


def _grid_columns(config):
    names = {n for m in config["modalities"] for n in config["grid"][m]}
    return sorted(names, key=_param_order)


def _model_columns(config):
    return MODEL_KEY[:4] + _grid_columns(config) + MODEL_KEY[4:] + _MODEL_METRICS


@dataclasses.dataclass(frozen=True)
class _Data:
    """What a worker needs to rebuild the data sets (hashable, for the cache)."""

    n_bags: tuple
    bag_size: int
    data_params: str
    seed: int


@dataclasses.dataclass(frozen=True)
class _ModelTask:
    problem: str
    modality: str
    stage: str
    config_id: str
    params: tuple
    repeat: int
    seed: int

    @property
    def key(self):
        return (self.problem, self.modality, self.stage, self.config_id, self.repeat)


@functools.lru_cache(maxsize=12)
def _dataset(problem, modality, split, data):
    """One split of one task; cached so a worker builds it once, not once per model."""
    from setlearn.datasets import make_bags

    kwargs = json.loads(data.data_params)
    if modality == "digits":
        # Test bags come from images no training bag contains.
        kwargs["pool"] = "test" if split == "test" else "train"
    X, y, importance = make_bags(
        problem, modality, n_bags=data.n_bags[_SPLITS.index(split)], bag_size=data.bag_size,
        random_state=_derive_seed(data.seed, "data", problem, modality, split), **kwargs,
    )
    return X, np.asarray(y), importance


def _fit_and_score(task, data, estimator_params, keep_attention):
    """Train one model and measure it. Runs in a worker; returns (row, attention or None)."""
    import torch
    from sklearn.metrics import log_loss, roc_auc_score

    from setlearn.estimators import AttentionMILClassifier
    from setlearn.metrics import importance_auroc_score, importance_average_precision_score

    X_train, y_train, _ = _dataset(task.problem, task.modality, "train", data)
    X_valid, y_valid, _ = _dataset(task.problem, task.modality, "valid", data)
    X_test, y_test, imp_test = _dataset(task.problem, task.modality, "test", data)
    model = AttentionMILClassifier(**estimator_params, **dict(task.params), random_state=task.seed, verbose=0)
    # One thread per model: these networks are tiny, and on a busy machine torch's
    # intra-op threads spin against each other (measured 8x slower with 2 threads on
    # 2 shared cores). Parallelism comes from training several models at once (n_jobs).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
        valid_proba = model.predict_proba(X_valid)
        test_proba = model.predict_proba(X_test)
        attention = model.explain(X_test)
    finally:
        torch.set_num_threads(threads)
    positive = list(model.classes_).index(1)
    row = {
        "problem": task.problem, "modality": task.modality, "stage": task.stage,
        "config_id": task.config_id, **dict(task.params), "repeat": task.repeat, "seed": task.seed,
        "valid_accuracy": float(np.mean(model.classes_[valid_proba.argmax(1)] == y_valid)),
        "valid_log_loss": float(log_loss(y_valid, valid_proba, labels=model.classes_)),
        "test_accuracy": float(np.mean(model.classes_[test_proba.argmax(1)] == y_test)),
        "test_bag_auc": float(roc_auc_score(y_test, test_proba[:, positive])),
        "iauc_roc": float(importance_auroc_score(imp_test, attention, y=y_test)),
        "iauc_pr": float(importance_average_precision_score(imp_test, attention, y=y_test)),
        "fit_time_s": round(fit_time, 3),
    }
    return row, (attention if keep_attention else None)


def _model_tasks(config, stage, top=None):
    """The models of one stage; ``top`` maps (problem, modality) to its top-k config ids."""
    from sklearn.model_selection import ParameterGrid

    repeats = config["search_seeds"] if stage == "search" else config["n_retrain"]
    tasks = []
    for modality in config["modalities"]:
        for problem in config["problems"]:
            for params in ParameterGrid(config["grid"][modality]):
                config_id = _config_id(params)
                if top is not None and config_id not in top[problem, modality]:
                    continue
                items = tuple(sorted(params.items(), key=lambda kv: _param_order(kv[0])))
                for repeat in range(repeats):
                    seed = _derive_seed(config["seed"], "model", problem, modality, stage, config_id, repeat)
                    tasks.append(_ModelTask(problem, modality, stage, config_id, items, repeat, seed))
    return tasks


# --------------------------------------------------------------------------- storage


class _RowStore:
    """An append-only CSV of result rows, safe against being killed at any moment.

    Each row is flushed and fsync'ed as soon as it is written, so a finished model
    is never lost; a half-written last line (a kill during a write) is cut off when
    the store is opened again, and rows already present are never written twice.
    """

    def __init__(self, path, columns, key):
        self.path = Path(path)
        self.columns = list(columns)
        self.key = list(key)
        self._repair()
        self.keys = {tuple(k) for k in self.frame()[self.key].itertuples(index=False)}
        self._fh = self.path.open("a", newline="")
        self._writer = csv.DictWriter(self._fh, fieldnames=self.columns, lineterminator="\n")

    def _repair(self):
        original = self.path.read_bytes() if self.path.exists() else b""
        # A kill in the middle of a write leaves a line without its newline: drop it.
        data = original[: original.rfind(b"\n") + 1]
        header = (",".join(self.columns) + "\n").encode()
        if not data:
            data = header
        elif not data.startswith(header):
            found = data.split(b"\n", 1)[0].decode()
            raise ConfigError(
                f"{self.path} has the columns {found!r}, expected {header.decode().strip()!r}; "
                f"it was written by another setlearn version. Use another output folder."
            )
        if data != original:
            self.path.write_bytes(data)

    def frame(self):
        """All stored rows, read back from disk (the one source of truth)."""
        return pd.read_csv(self.path, dtype={"config_id": str, "members": str})

    def append(self, row):
        self._writer.writerow(row)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.keys.add(tuple(row[k] for k in self.key))

    def close(self):
        self._fh.close()


def _save_attention(path, attention):
    """Store one model's test attention atomically (a kill leaves no half file)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        np.savez(fh, attention=np.concatenate(attention).astype(np.float32),
                 sizes=np.array([len(a) for a in attention]))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _load_attention(path):
    with np.load(path) as npz:
        return np.split(npz["attention"], np.cumsum(npz["sizes"])[:-1])


def _attention_path(out, key):
    problem, modality, _, config_id, repeat = key
    return Path(out) / "attention" / f"{modality}-{problem}-{config_id}-r{repeat:03d}.npz"


def _check_run_arguments(out, n_jobs, scheduler, max_models):
    """Raise ConfigError for a run argument :func:`assess` cannot use, before it touches the disk."""
    if not isinstance(out, (str, os.PathLike)):
        raise ConfigError(f"out must be a path, got {out!r} ({type(out).__name__}).")
    if Path(out).exists() and not Path(out).is_dir():
        raise ConfigError(f"out={str(out)!r} is a file, not a folder; choose another output folder.")
    if n_jobs is not None:
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int):
            raise ConfigError(f"n_jobs must be an integer, got {n_jobs!r} ({type(n_jobs).__name__}).")
        if n_jobs == 0:
            raise ConfigError("n_jobs must not be 0: give a number of parallel models, or -1 for all cores.")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
        raise ConfigError(f"scheduler must be a Dask scheduler address such as 'tcp://host:8786', got {scheduler!r}.")
    if max_models is not None:
        _check_int("max_models", max_models, 0)


def _prepare_folder(out, config):
    """Create the output folder, or check that it holds a run of the same config."""
    out = Path(out)
    stored = out / "config.json"
    if stored.exists():
        previous = json.loads(stored.read_text())
        if previous != config:
            changed = sorted(k for k in set(previous) | set(config) if previous.get(k) != config.get(k))
            details = "; ".join(f"{k}: {previous.get(k)!r} there, {config.get(k)!r} now" for k in changed)
            raise ConfigError(
                f"{out} holds results of a different configuration ({details}). Rerun with the "
                f"same preset/config to resume, choose another --out, or delete {out} to start over."
            )
    else:
        (out / "attention").mkdir(parents=True, exist_ok=True)
        tmp = stored.with_name("config.json.tmp")
        tmp.write_text(json.dumps(config, indent=2) + "\n")
        os.replace(tmp, stored)
    (out / "attention").mkdir(exist_ok=True)
    return out


# --------------------------------------------------------------------------- tables


def top_configurations(models, top_k):
    """The ``top_k`` configurations of every task, ranked on the search rows.

    Configurations are ranked by mean validation accuracy over their seeds; ties
    (common at 100 % accuracy) are broken by mean validation log-loss, then by
    configuration id. Test data is never used. Being a function of the stored
    rows, it gives the same answer when a run is resumed.

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``.
    top_k : int

    Returns
    -------
    top : pandas.DataFrame
        Columns problem, modality, rank (1 = best), config_id, valid_accuracy,
        valid_log_loss (means over seeds).

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import top_configurations
    >>> rows = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "search",
    ...     "config_id": ["a", "a", "b", "b"], "valid_accuracy": [1.0, 0.9, 1.0, 0.9],
    ...     "valid_log_loss": [0.1, 0.3, 0.1, 0.2]})
    >>> top_configurations(rows, 1)[["config_id", "rank"]].values.tolist()
    [['b', 1]]
    """
    search = models[models["stage"] == "search"]
    means = (search.groupby(["problem", "modality", "config_id"], as_index=False)
             [["valid_accuracy", "valid_log_loss"]].mean())
    means = means.sort_values(["problem", "modality", "valid_accuracy", "valid_log_loss", "config_id"],
                              ascending=[True, True, False, True, True])
    means["rank"] = means.groupby(["problem", "modality"]).cumcount() + 1
    top = means[means["rank"] <= top_k]
    return top[["problem", "modality", "rank", "config_id", "valid_accuracy", "valid_log_loss"]].reset_index(drop=True)


def _retrained(models):
    return models[models["stage"] == "retrain"]


def table_top_configurations(models, *, bad_iauc=0.65, bad_run_fraction=0.1):
    """Table 1: mean test iAUC over the retrained top configurations, and how many are bad.

    A configuration is *bad* when at least ``bad_run_fraction`` of its retrained
    runs have iAUC-ROC strictly below ``bad_iauc`` (the study's definition).

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``; only ``stage == "retrain"`` rows are used.
    bad_iauc : float, default=0.65
    bad_run_fraction : float, default=0.1

    Returns
    -------
    table : pandas.DataFrame
        One row per (modality, problem): n_configurations, n_bad_configurations,
        n_models, mean_iauc_roc, mean_iauc_pr, mean_test_accuracy, mean_test_bag_auc.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_top_configurations
    >>> rows = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "retrain",
    ...     "config_id": ["a"] * 10 + ["b"] * 10, "iauc_roc": [0.6] + [1.0] * 19,
    ...     "iauc_pr": 1.0, "test_accuracy": 1.0, "test_bag_auc": 1.0})
    >>> print(table_top_configurations(rows)[["n_bad_configurations", "mean_iauc_roc"]].round(2).to_string(index=False))
     n_bad_configurations  mean_iauc_roc
                        1           0.98
    """
    runs = _retrained(models).assign(low=lambda d: d["iauc_roc"] < bad_iauc)
    per_config = runs.groupby(["modality", "problem", "config_id"])["low"].mean()
    # A tiny tolerance so that e.g. 3 of 30 runs counts as 10 % despite float rounding.
    bad = (per_config >= bad_run_fraction - 1e-12).groupby(["modality", "problem"])
    table = runs.groupby(["modality", "problem"]).agg(
        n_models=("iauc_roc", "size"), mean_iauc_roc=("iauc_roc", "mean"), mean_iauc_pr=("iauc_pr", "mean"),
        mean_test_accuracy=("test_accuracy", "mean"), mean_test_bag_auc=("test_bag_auc", "mean"),
    )
    table.insert(0, "n_bad_configurations", bad.sum().astype(int))
    table.insert(0, "n_configurations", bad.size())
    return table.reset_index()


def table_accuracy_vs_iauc(models):
    """Table 2: does validation accuracy tell a good explanation from a bad one?

    Per retrained configuration: Spearman's rho between validation accuracy and
    iAUC-ROC over its repeats, and Delta-iAUC, the spread (max - min) of iAUC-ROC
    among its top decile by validation accuracy (the ``ceil(n / 10)`` most
    accurate runs plus any tied with the last of them, as ties at 100 % accuracy
    are common). rho is NaN when either variable is constant.

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``; only ``stage == "retrain"`` rows are used.

    Returns
    -------
    table : pandas.DataFrame
        One row per (modality, problem, config_id): n_models, spearman_rho,
        n_top_decile, delta_iauc_roc, min_iauc_roc, max_iauc_roc.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_accuracy_vs_iauc
    >>> rows = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "retrain",
    ...     "config_id": "a", "valid_accuracy": [0.5, 0.7, 0.9, 1.0], "iauc_roc": [0.6, 0.7, 0.8, 0.9]})
    >>> table_accuracy_vs_iauc(rows)[["spearman_rho", "delta_iauc_roc"]].values.tolist()
    [[1.0, 0.0]]
    """
    from scipy.stats import ConstantInputWarning, spearmanr

    def summarise(group):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConstantInputWarning)
            rho = spearmanr(group["valid_accuracy"], group["iauc_roc"]).statistic if len(group) > 1 else np.nan
        top = group.nlargest(math.ceil(len(group) / 10), "valid_accuracy", keep="all")["iauc_roc"]
        return pd.Series({
            "n_models": len(group), "spearman_rho": float(rho), "n_top_decile": len(top),
            "delta_iauc_roc": top.max() - top.min(),
            "min_iauc_roc": group["iauc_roc"].min(), "max_iauc_roc": group["iauc_roc"].max(),
        })

    runs = _retrained(models)
    keys = ["modality", "problem", "config_id"]
    table = runs.groupby(keys)[["valid_accuracy", "iauc_roc"]].apply(summarise).reset_index()
    return table.astype({"n_models": int, "n_top_decile": int})


def bad_fraction_by_ensemble_size(models, ensembles, *, bad_iauc=0.65):
    """% of bad explanations (iAUC-ROC <= ``bad_iauc``) against ensemble size.

    Size 1 is the retrained single models, shared by both kinds of ensemble: every
    kind has a size-1 row, even when ``ensembles`` is empty (``max_ensemble_size``
    of 1).

    Parameters
    ----------
    models, ensembles : pandas.DataFrame
        Rows of ``models.csv`` and ``ensembles.csv``.
    bad_iauc : float, default=0.65

    Returns
    -------
    curve : pandas.DataFrame
        Columns modality, problem, kind ("one" or "several" configurations),
        size, n, pct_bad.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import bad_fraction_by_ensemble_size
    >>> models = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "retrain",
    ...     "iauc_roc": [0.5, 0.9]})
    >>> ens = pd.DataFrame({"problem": "mil", "modality": "gaussian", "kind": "one", "size": 2,
    ...     "iauc_roc": [0.9]})
    >>> bad_fraction_by_ensemble_size(models, ens)[["kind", "size", "pct_bad"]].values.tolist()
    [['one', 1, 50.0], ['one', 2, 0.0], ['several', 1, 50.0]]
    """
    singles = _retrained(models)
    # The known kinds, not the observed ones: with no ensembles the curve is the single models.
    parts = [singles.assign(kind=kind, size=1) for kind in _ENSEMBLE_KINDS]
    if len(ensembles):
        parts.append(ensembles)
    both = pd.concat(parts, ignore_index=True).assign(bad=lambda d: d["iauc_roc"] <= bad_iauc)
    curve = both.groupby(["modality", "problem", "kind", "size"]).agg(n=("bad", "size"), pct_bad=("bad", "mean"))
    curve["pct_bad"] *= 100
    return curve.reset_index().astype({"size": int})


def table_ensembles(models, ensembles, *, bad_iauc=0.65):
    """Table 3: % bad explanations of single models vs the largest ensembles.

    Parameters
    ----------
    models, ensembles : pandas.DataFrame
        Rows of ``models.csv`` and ``ensembles.csv``.
    bad_iauc : float, default=0.65
        An explanation is bad when its iAUC-ROC is at most this (the study's rule).

    Returns
    -------
    table : pandas.DataFrame
        One row per (modality, problem): pct_bad_single, ensemble_size,
        pct_bad_one_configuration, pct_bad_several_configurations (the last three
        NaN for a task without ensembles, as with ``max_ensemble_size`` 1).

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_ensembles
    >>> models = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "retrain",
    ...     "iauc_roc": [0.5, 0.9, 0.9, 0.9]})
    >>> ens = pd.DataFrame({"problem": "mil", "modality": "gaussian", "kind": ["one", "several"],
    ...     "size": 2, "iauc_roc": [0.6, 0.9]})
    >>> table_ensembles(models, ens).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'modality': 'gaussian', 'problem': 'mil', 'pct_bad_single': 25.0, 'ensemble_size': 2,
     'pct_bad_one_configuration': 100.0, 'pct_bad_several_configurations': 0.0}
    """
    curve = bad_fraction_by_ensemble_size(models, ensembles, bad_iauc=bad_iauc)
    keys = ["modality", "problem"]
    single = curve[curve["size"] == 1].groupby(keys)["pct_bad"].first().rename("pct_bad_single")
    ensembled = curve[curve["size"] > 1]
    largest = ensembled[ensembled["size"] == ensembled.groupby(keys)["size"].transform("max")]
    wide = largest.pivot_table(index=keys + ["size"], columns="kind", values="pct_bad").reset_index()
    wide = wide.rename(columns={"size": "ensemble_size", "one": "pct_bad_one_configuration",
                                "several": "pct_bad_several_configurations"})
    # pivot_table leaves out a kind it never saw (every kind, with no ensembles at all).
    wide = wide.reindex(columns=keys + ["ensemble_size", "pct_bad_one_configuration",
                                        "pct_bad_several_configurations"])
    table = single.reset_index().merge(wide, on=keys, how="left")
    return table[keys + ["pct_bad_single", "ensemble_size", "pct_bad_one_configuration",
                         "pct_bad_several_configurations"]].rename_axis(columns=None)


def table_silent_failures(models, *, accuracy=0.9, iauc=0.9):
    """How often a model that looks good (validation accuracy) explains badly.

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``; only retrained models are counted.
    accuracy, iauc : float, default=0.9

    Returns
    -------
    table : pandas.DataFrame
        One row per (modality, problem) and an ``all`` row: n_accurate (models
        with validation accuracy >= ``accuracy``), pct_good_iauc (of those, % with
        iAUC-ROC >= ``iauc``), min_iauc_roc among the accurate models.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_silent_failures
    >>> rows = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "retrain",
    ...     "valid_accuracy": [1.0, 0.95, 0.5], "iauc_roc": [0.95, 0.4, 0.9]})
    >>> table_silent_failures(rows).iloc[0].to_dict()
    {'modality': 'gaussian', 'problem': 'mil', 'n_accurate': 2, 'pct_good_iauc': 50.0, 'min_iauc_roc': 0.4}
    """
    runs = _retrained(models)
    runs = pd.concat([runs, runs.assign(modality="all", problem="all")], ignore_index=True)
    accurate = runs["valid_accuracy"] >= accuracy
    runs = runs.assign(accurate=accurate, good=accurate & (runs["iauc_roc"] >= iauc),
                       accurate_iauc=runs["iauc_roc"].where(accurate))
    table = runs.groupby(["modality", "problem"], sort=False).agg(
        n_accurate=("accurate", "sum"), n_good=("good", "sum"), min_iauc_roc=("accurate_iauc", "min"))
    table["pct_good_iauc"] = 100 * table["n_good"] / table["n_accurate"].where(table["n_accurate"] > 0)
    return table.reset_index()[["modality", "problem", "n_accurate", "pct_good_iauc", "min_iauc_roc"]]


# --------------------------------------------------------------------------- running


def _ensemble_draws(config, top, retrained):
    """Every ensemble of the study as (key, config_id, members), drawn reproducibly."""
    draws = []
    for (problem, modality), config_ids in top.items():
        pools = {cid: [(cid, r) for r in sorted(retrained[problem, modality].get(cid, []))] for cid in config_ids}
        several = [m for cid in config_ids for m in pools[cid]]
        for size in range(2, config["max_ensemble_size"] + 1):
            for draw in range(config["n_ensembles"]):
                for kind in _ENSEMBLE_KINDS:
                    rng = np.random.default_rng(_derive_seed(config["seed"], "ensemble", problem, modality,
                                                             kind, size, draw))
                    # One-configuration ensembles cycle through the top configurations, so
                    # each of them is represented equally.
                    config_id = config_ids[draw % len(config_ids)] if kind == "one" else "several"
                    pool = pools[config_id] if kind == "one" else several
                    members = [pool[i] for i in sorted(rng.choice(len(pool), size, replace=False))]
                    draws.append(((problem, modality, kind, size, draw), config_id, members))
    return draws


def _progress(total, done, desc, quiet):
    from tqdm.auto import tqdm

    # disable=None: tqdm shows the bar only when stderr is a terminal.
    return tqdm(total=total, initial=done, desc=desc, unit="model" if desc != "ensembles" else "ensemble",
                disable=True if quiet else None, dynamic_ncols=True, leave=True)


def _run_models(tasks, store, out, data, estimator_params, *, n_jobs, budget, quiet, desc):
    """Train the tasks not yet in ``store``; returns how many were trained now."""
    from joblib import Parallel, delayed

    todo = [t for t in tasks if t.key not in store.keys]
    # Counted before the budget cuts todo short: the tasks left for a later call are not done.
    done = len(tasks) - len(todo)
    if budget is not None:
        todo = todo[:budget]
    if not todo:
        return 0
    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(_fit_and_score)(t, data, estimator_params, t.stage == "retrain") for t in todo
    )
    trained = 0
    with _progress(len(tasks), done, desc, quiet) as bar:
        for row, attention in results:
            if attention is not None:
                # The attention goes first: a row on disk promises its attention file.
                _save_attention(_attention_path(out, tuple(row[k] for k in MODEL_KEY)), attention)
            store.append(row)
            trained += 1
            bar.update()
            bar.set_postfix_str(f"iAUC {row['iauc_roc']:.2f}", refresh=False)
    return trained


def _score_ensemble(draw, member_attentions, data):
    """Combine the members' test attention and score it. Runs in a worker."""
    from setlearn.ensemble import combine_attention
    from setlearn.metrics import importance_auroc_score, importance_average_precision_score

    key, config_id, members = draw
    _, y_test, imp_test = _dataset(key[0], key[1], "test", data)
    attention = combine_attention(member_attentions, rule="mean")
    return {
        **dict(zip(ENSEMBLE_KEY, key)), "config_id": config_id,
        "members": ";".join(f"{cid}/r{r}" for cid, r in members),
        "iauc_roc": float(importance_auroc_score(imp_test, attention, y=y_test)),
        "iauc_pr": float(importance_average_precision_score(imp_test, attention, y=y_test)),
    }


def _run_ensembles(draws, store, out, data, *, n_jobs, quiet):
    """Score the ensembles not yet in ``store`` from the stored attention files."""
    from joblib import Parallel, delayed

    todo = [d for d in draws if d[0] not in store.keys]

    def tasks():
        # A generator, so attention is read from disk only as tasks are dispatched,
        # and only one task's (problem, modality) files are held at a time.
        loaded, current = {}, None
        for draw in todo:
            problem, modality = draw[0][:2]
            if (problem, modality) != current:
                loaded, current = {}, (problem, modality)
            for m in draw[2]:
                if m not in loaded:
                    path = _attention_path(out, (problem, modality, "retrain", *m))
                    if not path.exists():
                        raise ConfigError(f"{path} is missing but models.csv lists its model; "
                                          f"delete that model's row from models.csv to retrain it.")
                    loaded[m] = _load_attention(path)
            yield delayed(_score_ensemble)(draw, [loaded[m] for m in draw[2]], data)

    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks())
    with _progress(len(draws), len(draws) - len(todo), "ensembles", quiet) as bar:
        for row in results:
            store.append(row)
            bar.update()


@dataclasses.dataclass
class AssessmentResult:
    """What :func:`assess` produced.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    config : dict
        The resolved configuration (also in ``out / "config.json"``).
    complete : bool
        False when the run stopped early (``max_models``); rerun to continue.
    models : pandas.DataFrame
        One row per trained model (``models.csv``).
    ensembles : pandas.DataFrame
        One row per ensemble (``ensembles.csv``).
    top : pandas.DataFrame
        The top-k configurations of every task (see :func:`top_configurations`).
    tables : dict of str to pandas.DataFrame
        ``top_configurations`` (Table 1), ``accuracy_vs_iauc`` (Table 2),
        ``ensembles`` (Table 3), ``silent_failures``, ``bad_by_ensemble_size``.
    figures : dict of str to pathlib.Path
    report : pathlib.Path or None
    n_new_models : int
        Models trained by this call (0 when everything was already there).
    elapsed_s : float
    """

    out: Path
    config: dict
    complete: bool
    models: pd.DataFrame
    ensembles: pd.DataFrame = None
    top: pd.DataFrame = None
    tables: dict = dataclasses.field(default_factory=dict)
    figures: dict = dataclasses.field(default_factory=dict)
    report: Path = None
    n_new_models: int = 0
    elapsed_s: float = 0.0

    def summary(self):
        """A few lines for the terminal: where the report is and the headline numbers."""
        lines = [f"setlearn assess: {len(self.models)} models ({self.n_new_models} trained now) "
                 f"in {self.elapsed_s:.0f} s -> {self.out}"]
        if not self.complete:
            lines.append("Stopped before the end; run the same command again to continue.")
            return "\n".join(lines)
        both = self.tables["top_configurations"].merge(self.tables["ensembles"], on=["modality", "problem"])
        for r in both.itertuples(index=False):
            paper = PAPER_TABLE1.get((r.modality, r.problem))
            lines.append(
                f"  {r.modality} {r.problem.upper()}: iAUC-ROC {r.mean_iauc_roc:.2f} "
                f"({r.n_bad_configurations}/{r.n_configurations} bad configs)"
                + (f" [paper {paper[0]:.2f} ({paper[1]}/5)]" if paper else "")
                + f"; bad explanations {r.pct_bad_single:.0f}% single"
                + (" (no ensembles)" if pd.isna(r.ensemble_size) else
                   f" -> {r.pct_bad_one_configuration:.0f}% / {r.pct_bad_several_configurations:.0f}% "
                   f"with {r.ensemble_size:.0f} members (one / several configs)")
            )
        silent = self.tables["silent_failures"].set_index("modality").loc["all"]
        if silent.n_accurate:
            lines.append(f"  Of {silent.n_accurate} models with validation accuracy >= 0.9, "
                         f"{silent.pct_good_iauc:.0f}% have iAUC-ROC >= 0.9 (paper: 64%).")
        else:
            lines.append("  No retrained model reached validation accuracy >= 0.9.")
        lines.append(f"Report: {self.report}")
        return "\n".join(lines)


def assess(preset="quick", *, config=None, out=None, n_jobs=None, scheduler=None, max_models=None,
           verbose=True):
    """Run the attention-interpretability study end to end, resuming if possible.

    Trains the grid search and the retrained top configurations, builds the
    ensembles, and writes rows, tables, figures and a report to ``out``. Running
    it again with the same configuration and folder continues an interrupted
    run: finished models are kept, nothing is trained twice.

    Parameters
    ----------
    preset : {"quick", "smoke", "paper"}, default="quick"
        The bundled configuration to start from (see :func:`load_config`).
    config : dict or path-like, default=None
        Overrides of the preset, as a mapping or a ``.json`` / ``.toml`` file.
    out : path-like, default=None
        Output folder; ``./setlearn-results/<preset>`` (or ``<config file stem>``).
    n_jobs : int, default=None
        Models trained in parallel by joblib: 1 locally, all Dask workers with
        ``scheduler``; -1 uses every core.
    scheduler : str, default=None
        Address of a Dask scheduler (``"tcp://host:8786"``): the models are
        trained on its workers, which need setlearn installed. Results still
        travel back to, and are written by, this process only.
    max_models : int, default=None
        Stop after training this many new models (the rest on the next call).
    verbose : bool, default=True
        Progress bars (on a terminal) and the closing summary.

    Returns
    -------
    result : AssessmentResult

    Examples
    --------
    >>> import setlearn
    >>> result = setlearn.assess("smoke", out="results/smoke", verbose=False)  # doctest: +SKIP
    >>> result.tables["ensembles"]  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    """
    started = time.perf_counter()
    # Every argument is checked before anything is written: a typo must not leave a folder behind.
    resolved = load_config(preset, config)
    if out is None:
        name = Path(config).stem if isinstance(config, (str, os.PathLike)) else preset
        out = Path("setlearn-results") / name
    _check_run_arguments(out, n_jobs, scheduler, max_models)
    out = _prepare_folder(out, resolved)
    data = _Data((resolved["n_train_bags"], resolved["n_valid_bags"], resolved["n_test_bags"]),
                 resolved["bag_size"], json.dumps(resolved["data_params"], sort_keys=True), resolved["seed"])
    quiet = not verbose
    model_store = _RowStore(out / "models.csv", _model_columns(resolved), MODEL_KEY)
    ensemble_store = _RowStore(out / "ensembles.csv", _ENSEMBLE_COLUMNS, ENSEMBLE_KEY)
    budget = max_models
    trained = 0
    with ExitStack() as stack:
        stack.callback(model_store.close)
        stack.callback(ensemble_store.close)
        if scheduler is not None:
            from distributed import Client
            from joblib import parallel_config

            stack.enter_context(Client(scheduler))
            stack.enter_context(parallel_config(backend="dask"))
            n_jobs = -1 if n_jobs is None else n_jobs
        n_jobs = 1 if n_jobs is None else n_jobs
        run = functools.partial(_run_models, store=model_store, out=out, data=data,
                                estimator_params=resolved["estimator_params"], n_jobs=n_jobs, quiet=quiet)

        search = _model_tasks(resolved, "search")
        trained += run(search, budget=budget, desc="search")
        complete = {t.key for t in search} <= model_store.keys
        if complete:
            top = top_configurations(model_store.frame(), resolved["top_k"])
            top_ids = {k: list(g["config_id"]) for k, g in top.groupby(["problem", "modality"])}
            retrain = _model_tasks(resolved, "retrain", top_ids)
            trained += run(retrain, budget=None if budget is None else budget - trained, desc="retrain")
            complete = {t.key for t in retrain} <= model_store.keys
        if complete:
            models = model_store.frame()
            retrained = {}
            for (problem, modality, cid), g in _retrained(models).groupby(["problem", "modality", "config_id"]):
                retrained.setdefault((problem, modality), {})[cid] = list(g["repeat"])
            _run_ensembles(_ensemble_draws(resolved, top_ids, retrained), ensemble_store, out, data,
                           n_jobs=n_jobs, quiet=quiet)

    # Sorted by key: the files are in completion order, which parallel runs shuffle.
    result = AssessmentResult(out=out, config=resolved, complete=complete, n_new_models=trained,
                              models=model_store.frame().sort_values(MODEL_KEY, ignore_index=True))
    if complete:
        result.ensembles = ensemble_store.frame().sort_values(ENSEMBLE_KEY, ignore_index=True)
        result.top = top
        result.tables = _write_tables(result)
        result.figures = _write_figures(result, data)
        result.report = _write_report(result)
    result.elapsed_s = time.perf_counter() - started
    if verbose:
        print(result.summary(), file=sys.stdout)
    return result


# --------------------------------------------------------------------------- outputs


def _markdown(frame, floatfmt="{:.2f}"):
    """A GitHub Markdown table (pandas' to_markdown needs the optional tabulate)."""
    def cell(v):
        if isinstance(v, float):
            return "–" if np.isnan(v) else floatfmt.format(v)
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _write_tables(result):
    cfg, models, ensembles = result.config, result.models, result.ensembles
    tables = {
        "top_configurations": table_top_configurations(models, bad_iauc=cfg["bad_iauc"],
                                                       bad_run_fraction=cfg["bad_run_fraction"]),
        "accuracy_vs_iauc": table_accuracy_vs_iauc(models),
        "ensembles": table_ensembles(models, ensembles, bad_iauc=cfg["bad_iauc"]),
        "silent_failures": table_silent_failures(models),
        "bad_by_ensemble_size": bad_fraction_by_ensemble_size(models, ensembles, bad_iauc=cfg["bad_iauc"]),
    }
    # Rows in the config's order (MIL, AND, XOR as in the paper), not alphabetical.
    rank = {name: i for i, name in enumerate(cfg["modalities"] + cfg["problems"])}
    tables = {name: table.sort_values(["modality", "problem"], key=lambda col: col.map(rank).fillna(len(rank)),
                                      kind="stable", ignore_index=True)
              for name, table in tables.items()}
    folder = result.out / "tables"
    folder.mkdir(exist_ok=True)
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
        (folder / f"{name}.md").write_text(_markdown(table, "{:.3f}") + "\n")
    return tables


def _facet(groups, draw, title, config):
    """One panel per task (in the config's order), on a figure that needs no display (Agg)."""
    from matplotlib.figure import Figure

    order = {(m, p): i for i, (m, p) in enumerate((m, p) for m in config["modalities"] for p in config["problems"])}
    groups = sorted(groups, key=lambda group: order[group[0]])
    ncols = min(3, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    fig = Figure(figsize=(4.6 * ncols, 3.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, ((modality, problem), frame) in zip(axes, groups):
        draw(frame, ax=ax)
        ax.set_title(f"{modality} {problem.upper()}")
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    fig.suptitle(title)
    return fig


def _write_figures(result, data):
    from matplotlib.figure import Figure

    from setlearn import plotting

    cfg = result.config
    folder = result.out / "figures"
    folder.mkdir(exist_ok=True)
    tasks = ["modality", "problem"]
    retrained = _retrained(result.models)
    figures = {
        "iauc_by_configuration": _facet(
            list(retrained.groupby(tasks)),
            functools.partial(plotting.plot_iauc_by_configuration, threshold=cfg["bad_iauc"]),
            "Test iAUC-ROC of the retrained top configurations", cfg),
        "accuracy_vs_iauc": _facet(
            list(result.models.groupby(tasks)), plotting.plot_accuracy_vs_iauc,
            "Validation accuracy vs test iAUC-ROC (all models)", cfg),
    }
    if len(result.ensembles):  # with max_ensemble_size 1 the curve would be a single point
        figures["bad_vs_ensemble_size"] = _facet(
            list(result.tables["bad_by_ensemble_size"].groupby(tasks)), plotting.plot_bad_vs_ensemble_size,
            f"% bad explanations (iAUC-ROC <= {cfg['bad_iauc']}) vs ensemble size", cfg)
    for (modality, problem), frame in retrained.groupby(tasks):
        if modality != "digits":
            continue
        # The model the search would pick: best validation accuracy, first positive test bag.
        best = frame.sort_values(["valid_accuracy", "valid_log_loss", "config_id", "repeat"],
                                 ascending=[False, True, True, True]).iloc[0]
        key = (problem, modality, "retrain", best["config_id"], int(best["repeat"]))
        X, y, importance = _dataset(problem, modality, "test", data)
        bag = int(np.flatnonzero(y == 1)[0])
        fig = plotting.plot_bag_attention(X[bag], _load_attention(_attention_path(result.out, key))[bag],
                                          importance=importance[bag], max_instances=40, fig=Figure())
        fig.suptitle(f"digits {problem.upper()}, test bag {bag}, model {best['config_id']} r{best['repeat']}")
        figures[f"digits_{problem}_bag"] = fig
    paths = {}
    for name, fig in figures.items():
        paths[name] = folder / f"{name}.png"
        fig.savefig(paths[name], dpi=110)
    return paths


def _number(value, spec):
    """A number for the report; "–" for a missing one (no ensembles, no published value)."""
    return "–" if pd.isna(value) else format(value, spec)


def _paper_comparison(table1, table3):
    """Table 1 and Table 3, ours beside the published numbers."""
    rows = []
    nan3 = (np.nan,) * 3
    for r in table1.merge(table3, on=["modality", "problem"], how="left").itertuples(index=False):
        p1 = PAPER_TABLE1.get((r.modality, r.problem))
        p3 = PAPER_TABLE3.get((r.modality, r.problem), nan3)
        rows.append({
            "data": r.modality, "problem": r.problem.upper(),
            "iAUC-ROC, bad configs (ours)": f"{r.mean_iauc_roc:.2f} ({r.n_bad_configurations}/{r.n_configurations})",
            "(paper)": f"{p1[0]:.2f} ({p1[1]}/5)" if p1 else "–",
            "% bad single (ours / paper)": f"{_number(r.pct_bad_single, '.1f')} / {_number(p3[0], 'g')}",
            "ensemble size (ours / paper)": f"{_number(r.ensemble_size, '.0f')} / 20",
            "% bad, one config (ours / paper)":
                f"{_number(r.pct_bad_one_configuration, '.1f')} / {_number(p3[1], 'g')}",
            "% bad, several configs (ours / paper)":
                f"{_number(r.pct_bad_several_configurations, '.1f')} / {_number(p3[2], 'g')}",
        })
    return pd.DataFrame(rows)


def _write_report(result):
    cfg, t = result.config, result.tables
    n_search = int((result.models["stage"] == "search").sum())
    n_retrain = int((result.models["stage"] == "retrain").sum())
    t2 = t["accuracy_vs_iauc"].groupby(["modality", "problem"], sort=False).agg(
        rho_min=("spearman_rho", "min"), rho_max=("spearman_rho", "max"),
        delta_iauc_max=("delta_iauc_roc", "max")).reset_index()
    silent = t["silent_failures"].set_index("modality").loc["all"] if "all" in set(t["silent_failures"]["modality"]) else None
    figs = "\n".join(f"![{name}](figures/{path.name})" for name, path in result.figures.items())
    ensembles = (f"{len(result.ensembles)} ensembles\n(2..{cfg['max_ensemble_size']} members x "
                 f"{cfg['n_ensembles']} draws)" if cfg["max_ensemble_size"] > 1 else
                 "no ensembles\n(max_ensemble_size 1)")
    digits_note = ("\n*Data:* setlearn's `digits` modality stands in for the paper's MNIST "
                   "(3 = population 1, 9 = population 2).\n" if "digits" in cfg["modalities"] else "")
    text = f"""# setlearn assess report

{cfg.get('description', '')}

{n_search} search models ({cfg['search_seeds']} seeds per configuration), {n_retrain} retrained models
(top {cfg['top_k']} configurations x {cfg['n_retrain']} seeds), {ensembles}; {cfg['n_train_bags']} training bags of
{cfg['bag_size']} instances, {cfg['estimator_params'].get('max_epochs', '?')} epochs. Configuration: `config.json`;
one row per model: `models.csv`; one row per ensemble: `ensembles.csv`; tables: `tables/`.

## Ours beside the study

Mean test iAUC-ROC over the top-{cfg['top_k']} configurations (bad configurations: at least
{cfg['bad_run_fraction']:.0%} of runs with iAUC-ROC < {cfg['bad_iauc']}) — the study's Table 1 — and the % of bad
explanations (iAUC-ROC <= {cfg['bad_iauc']}) of single models and of the largest ensembles — its Table 3.
The paper used top 5, 100 retrains and ensembles of 20; smaller presets are noisier.
{digits_note}
{_markdown(_paper_comparison(t['top_configurations'], t['ensembles']))}

## Does accuracy tell you the explanation is good?

Spearman's rho between validation accuracy and iAUC-ROC over one configuration's retrains, and
Delta-iAUC (max - min iAUC-ROC among its top decile by validation accuracy); the paper's rho ranged
from -0.01 to 0.62 ("–": every run equally accurate, rho undefined). Per configuration:
`tables/accuracy_vs_iauc.csv`.

{_markdown(t2)}
"""
    if silent is not None and silent.n_accurate == 0:
        text += "\nNo retrained model reached validation accuracy >= 0.9 (the paper: 3,021 did).\n"
    elif silent is not None:
        text += (f"\nOf {silent.n_accurate} retrained models with validation accuracy >= 0.9, "
                 f"{silent.pct_good_iauc:.0f}% reach iAUC-ROC >= 0.9 (paper: 64% of 3,021); the lowest "
                 f"iAUC-ROC among them is {silent.min_iauc_roc:.2f}.\n")
    text += f"""
## Figures

{figs}

## How to read this

- **iAUC-ROC** asks: ranking a positive bag's instances by attention, how often does an important
  instance come before an unimportant one? 1 = attention singles out exactly the important
  instances, 0.5 = no better than chance. iAUC-PR is the same question as average precision; it
  depends on how rare the important instances are.
- **A high accuracy does not certify the explanation.** Look at the spread of iAUC per
  configuration and at the accuracy-vs-iAUC heatmap: models in the top accuracy bin can sit
  anywhere on the iAUC axis. A small rho means picking the most accurate model does not pick
  the best explanation.
- **Ensembles:** averaging the attention of a few independently trained models usually removes
  most bad explanations (the curve falls towards 0 % with size); members from several
  configurations help more than seeds of one.
- The study's numbers are the reference, not a target: ours differ with the preset's sizes
  (fewer bags, epochs and retrains) and with the data generator.
"""
    path = result.out / "report.md"
    path.write_text(text)
    return path
