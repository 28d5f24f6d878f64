"""Crash-safe storage of an assessment's rows and attention."""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import math
import os
import re
import socket
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from ._config import DEFAULT_EXPLAINERS, AssessmentWarning, ConfigError, StudyConfig, _check_int


MODEL_KEY = ["problem", "modality", "stage", "config_id", "repeat"]
_MODEL_METRICS = [
    "seed", "valid_accuracy", "valid_log_loss", "test_accuracy", "test_bag_auc",
    "iauc_roc", "iauc_pr", "fit_time_s",
]
ENSEMBLE_KEY = ["problem", "modality", "kind", "size", "draw"]
_ENSEMBLE_COLUMNS = ENSEMBLE_KEY + ["config_id", "members", "iauc_roc", "iauc_pr"]
_ENSEMBLE_KINDS = ("one", "several")


# --------------------------------------------------------------------------- storage

# What every stored cell must hold; a column not named here (a grid parameter) may hold anything.
# Kinds: "str"; a tuple of allowed values; "int" (a whole number >= 0, as every stored
# integer is a count, a position or a seed); "float" (finite); "fraction" (finite, in [0, 1]:
# accuracies, AUROCs, average precisions); "fraction_or_empty" (a fraction, or empty where the
# row's problem has no such value); "nonnegative" (finite, >= 0: losses, seconds).
MODEL_TYPES = {
    "problem": "str", "modality": "str", "stage": ("search", "retrain"), "config_id": "str",
    "repeat": "int", "seed": "int", "valid_accuracy": "fraction", "valid_log_loss": "nonnegative",
    "test_accuracy": "fraction", "test_bag_auc": "fraction", "iauc_roc": "fraction", "iauc_pr": "fraction",
    "fit_time_s": "nonnegative",
}
assert set(MODEL_TYPES) == set(MODEL_KEY + _MODEL_METRICS)
ENSEMBLE_TYPES = {
    "problem": "str", "modality": "str", "kind": _ENSEMBLE_KINDS, "size": "int", "draw": "int",
    "config_id": "str", "members": "str", "iauc_roc": "fraction", "iauc_pr": "fraction",
}
_PANDAS_DTYPES = {"str": str, "int": "int64", "float": "float64", "fraction": "float64",
                  "fraction_or_empty": "float64", "nonnegative": "float64"}
_INTEGER = re.compile(r"[0-9]+")
_FLOAT_RANGES = {"float": (-math.inf, math.inf), "fraction": (0.0, 1.0), "nonnegative": (0.0, math.inf)}


def _atomic_write(path, write):
    """Replace ``path`` by what ``write(binary file)`` writes, all or nothing.

    A temporary file is written, flushed to disk and renamed over ``path``, so a
    kill at any moment leaves either the old or the new content, never a mix.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    # The rename itself is on disk only once the folder is synced.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _check_cell(column, kind, value):
    """Why ``value`` cannot be a stored ``column`` cell, or None when it can."""
    if kind == "any":
        # A grid parameter of one modality only is empty in the rows of the other.
        return None
    if value == "":
        # A per-population iAUC is empty in the rows of a problem without that population.
        return None if kind == "fraction_or_empty" else f"{column} is empty"
    if kind == "fraction_or_empty":
        kind = "fraction"
    if isinstance(kind, tuple):
        return None if value in kind else f"{column} {value!r} is not one of {', '.join(kind)}"
    if kind == "int" and not _INTEGER.fullmatch(value):
        return f"{column} {value!r} is not an integer >= 0"
    if kind in _FLOAT_RANGES:
        try:
            number = float(value)
        except ValueError:
            return f"{column} {value!r} is not a number"
        if not math.isfinite(number):
            return f"{column} is {value!r}, not a finite number"
        low, high = _FLOAT_RANGES[kind]
        if not low <= number <= high:
            return f"{column} {value!r} is outside [{low:g}, {high:g}]"
    return None


class _RowStore:
    """An append-only CSV of result rows, safe against being killed at any moment.

    Each row is flushed and fsync'ed as soon as it is written, so a finished model
    is never lost; a half-written last line (a kill during a write) is cut off when
    the store is opened again, and rows already present are never written twice.
    Every stored row is checked on opening (field count, types, ranges, unique keys,
    and with ``check_row`` its meaning within the study): a damaged row would
    otherwise pass as a result or hide a finished model. Damaged rows stop the run with their line numbers, unless
    ``drop_bad_rows``, which removes them (their models are then trained again).
    """

    def __init__(self, path, columns, key, types=None, *, check_row=None, drop_bad_rows=False):
        self.path = Path(path)
        self.columns = list(columns)
        self.key = list(key)
        self.types = {c: (types or {}).get(c, "any") for c in self.columns}
        # What a row's cells mean together (its key within the study, its files): called with
        # the row's cells as text once their types are right; returns why it is damaged, or None.
        self.check_row = check_row
        self.keys = self._load(drop_bad_rows)
        self._fh = self.path.open("a", newline="")
        self._writer = csv.DictWriter(self._fh, fieldnames=self.columns, lineterminator="\n")

    def _load(self, drop_bad_rows):
        """Repair and check the file; returns the keys of its rows."""
        original = self.path.read_bytes() if self.path.exists() else b""
        # An editor's save may add a byte-order mark and Windows line endings;
        # the rows are the same, so read them and write the file back plainly.
        data = original.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
        # A kill in the middle of a write leaves a line without its newline: drop it.
        data = data[: data.rfind(b"\n") + 1]
        header = ",".join(self.columns)
        lines = data.split(b"\n")[:-1]
        if not lines:
            lines = [header.encode()]
        elif lines[0] != header.encode():
            found = lines[0].decode(errors="replace")
            raise ConfigError(
                f"{self.path} has the columns {found!r}, expected {header!r}; "
                f"it was written by another setlearn version. Use another output folder."
            )
        keys, good, problems = {}, [lines[0]], []
        for number, line in enumerate(lines[1:], start=2):
            problem, key = self._check_line(line)
            if problem is None and key in keys:
                problem = f"repeats the row of line {keys[key]} ({', '.join(map(str, key))})"
            if problem is not None:
                problems.append(f"line {number}: {problem}")
                continue
            keys[key] = number
            good.append(line)
        if problems and not drop_bad_rows:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise ConfigError(
                f"{self.path} has {len(problems)} damaged row(s): {shown}. Fix or delete them, or rerun "
                f"with --drop-bad-rows (drop_bad_rows=True) to drop them; their results are then computed again."
            )
        if problems:
            warnings.warn(f"Dropped {len(problems)} damaged row(s) of {self.path}: {'; '.join(problems)}.",
                          AssessmentWarning, stacklevel=4)
        cleaned = b"\n".join(good) + b"\n"
        if cleaned != original:
            _atomic_write(self.path, lambda fh: fh.write(cleaned))
        return set(keys)

    def _check_line(self, line):
        """(why the line is damaged or None, its key)."""
        text = line.decode("utf-8", errors="replace")
        if "\0" in text or "\ufffd" in text:
            return "holds NUL or undecodable bytes", None
        fields = next(csv.reader([text]), [])
        if len(fields) != len(self.columns):
            return f"has {len(fields)} fields, expected {len(self.columns)}", None
        row = dict(zip(self.columns, fields))
        for column, kind in self.types.items():
            problem = _check_cell(column, kind, row[column])
            if problem:
                return problem, None
        if self.check_row is not None:
            problem = self.check_row(row)
            if problem:
                return problem, None
        return None, tuple(int(row[c]) if self.types[c] == "int" else row[c] for c in self.key)

    def frame(self):
        """All stored rows, read back from disk (the one source of truth)."""
        return _read_rows(self.path, self.columns, self.types)

    def append(self, row):
        self._writer.writerow(row)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.keys.add(tuple(row[k] for k in self.key))

    def close(self):
        self._fh.close()


def _read_rows(path, columns, types):
    """The rows of a row file as a DataFrame, each column with the dtype its cell type says."""
    kinds = {c: types.get(c, "any") for c in columns}
    dtypes = {c: _PANDAS_DTYPES.get(k, str if isinstance(k, tuple) else None) for c, k in kinds.items()}
    return pd.read_csv(path, dtype={c: d for c, d in dtypes.items() if d is not None})


def _save_attention(path, attention):
    """Store one model's test attention atomically (a kill leaves no half file)."""
    _atomic_write(path, lambda fh: np.savez(fh, attention=np.concatenate(attention).astype(np.float32),
                                            sizes=np.array([len(a) for a in attention])))


def _load_attention(path):
    """One model's stored test attention (or explainer scores), one array per bag.

    Raises :class:`ConfigError` naming ``path`` for a file that is missing, truncated or
    holds values no explainer writes (sizes that do not add up, NaN or infinite scores).
    """
    try:
        with np.load(path) as npz:
            attention, sizes = npz["attention"], npz["sizes"]
        if attention.ndim != 1 or sizes.ndim != 1 or not np.issubdtype(sizes.dtype, np.integer):
            raise ValueError(f"attention of shape {attention.shape} and sizes of shape {sizes.shape} "
                             f"({sizes.dtype}), expected two 1-D arrays, integer sizes")
        if (sizes < 1).any() or sizes.sum() != len(attention):
            raise ValueError(f"the bag sizes add up to {sizes.sum()} (smallest {sizes.min(initial=0)}), "
                             f"but {len(attention)} values are stored")
        if not np.isfinite(attention).all():
            raise ValueError(f"{np.count_nonzero(~np.isfinite(attention))} values are NaN or infinite")
        return np.split(attention, np.cumsum(sizes)[:-1])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(
            f"{path} is damaged ({type(exc).__name__}: {exc}). Delete it and its model's row in "
            f"models.csv; the next run trains that model again."
        ) from None


def _attention_path(out, key):
    problem, modality, _, config_id, repeat = key
    return Path(out) / "attention" / f"{modality}-{problem}-{config_id}-r{repeat:03d}.npz"


def _check_run_arguments(out, n_jobs, scheduler, max_models):
    """Raise ConfigError for a run argument :func:`assess` cannot use, before it touches the disk."""
    if not isinstance(out, (str, os.PathLike)):
        raise ConfigError(f"out must be a path, got {out!r} ({type(out).__name__}).")
    if not str(out).strip():
        # Path("") is the current directory: an empty --out would scatter the run's files there.
        raise ConfigError("out is empty; give an output folder (leave --out out for the default).")
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


_LOCK_NAME = ".setlearn.lock"
_HOLDER_NAME = ".setlearn.lock.json"


def _unwritable(out, exc):
    return ConfigError(f"Cannot write to the output folder {str(out)!r} ({exc.strerror or exc}); "
                       f"choose a folder you can write to.")


def _folder_holder(out):
    """``{"pid", "host", "started"}`` of the run holding ``out`` (its lock's holder file), or None."""
    try:
        holder = json.loads((Path(out) / _HOLDER_NAME).read_text())
        return {"pid": int(holder["pid"]), "host": str(holder["host"]), "started": str(holder["started"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _holder_text(holder):
    """A holder of :func:`_folder_holder` as the messages name it."""
    return f"process {holder['pid']} on {holder['host']}, started {holder['started']}"


@contextlib.contextmanager
def _folder_lock(out):
    """Hold the output folder exclusively while a run uses it.

    Two runs appending to one folder would train and store every model twice.
    The lock is an OS file lock (``filelock``), so the kernel drops it when its
    holder dies, even by ``kill -9``: a stale lock never blocks a resume. A
    second file names the holder, for the message of a refused run.
    """
    from filelock import FileLock, Timeout

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = FileLock(out / _LOCK_NAME)
        lock.acquire(timeout=0)  # never wait: a second run must fail at once
    except Timeout:
        holder = _folder_holder(out)
        who = "another process" if holder is None else _holder_text(holder)
        raise ConfigError(
            f"{out} is in use by another setlearn assess ({who}). Wait for it to finish or stop it, "
            f"or choose another --out."
        ) from None
    except OSError as exc:
        raise _unwritable(out, exc) from None
    try:
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        _atomic_write(out / _HOLDER_NAME, lambda fh: fh.write(json.dumps(holder).encode()))
        yield out
    finally:
        # Leave no lock files behind, however the run ended. They go while the
        # lock is still held: a second run that opens the old file then finds it
        # locked and stops, and one that comes later creates a fresh file.
        for name in (_HOLDER_NAME, _LOCK_NAME):
            with contextlib.suppress(OSError):
                (out / name).unlink()
        lock.release()


def _versions():
    """The versions that decide a run's numbers, as recorded in ``versions.json``."""
    import platform

    from setlearn.utils._versions import package_versions

    return {"python": platform.python_version(), **package_versions()}


def _same_versions(recorded, current):
    """Whether a recorded set of versions agrees with ``current`` on every package both name.

    A record written before a package was listed (skorch, before it was) does not
    name it: that is not evidence of another version.
    """
    return all(recorded[name] == current[name] for name in recorded.keys() & current.keys())


def _record_versions(out, resuming):
    """Add this run's versions to ``versions.json``; warn when the folder mixes versions.

    ``versions.json`` lists every distinct set of versions that wrote to the folder.
    Folders written before it existed resume with a warning, as their versions are unknown.
    """
    path = Path(out) / "versions.json"
    current = _versions()
    try:
        recorded = json.loads(path.read_text()) if path.exists() else None
        if recorded is not None and not (isinstance(recorded, list) and all(isinstance(r, dict) for r in recorded)):
            raise ValueError("not a list of version records")
    except ValueError as exc:
        raise ConfigError(f"{path} is damaged ({exc}); delete it (the versions of earlier rows are then "
                          f"unknown).") from None
    if recorded is None:
        recorded = [{"unrecorded": True}] if resuming else []
        if resuming:
            warnings.warn(f"{out} has no versions.json (written before setlearn recorded versions): the "
                          f"versions that trained its stored rows are unknown. Continuing with "
                          f"{_format_versions(current)}.", AssessmentWarning, stacklevel=3)
    elif not all(_same_versions(r, current) for r in recorded):
        earlier = "; ".join(_format_versions(r) for r in recorded if not _same_versions(r, current))
        warnings.warn(f"{out} holds rows computed with other versions ({earlier}); now "
                      f"{_format_versions(current)}. The results mix versions.", AssessmentWarning, stacklevel=3)
    if current not in recorded:
        recorded.append(current)
        _atomic_write(path, lambda fh: fh.write((json.dumps(recorded, indent=2) + "\n").encode()))


def _format_versions(record):
    if record.get("unrecorded"):
        return "unrecorded versions"
    return ", ".join(f"{k} {v}" for k, v in record.items())


def _prepare_folder(out, study_config, *, attention=True):
    """Set up the (locked) output folder, or check that it holds a run of the same config.

    ``attention=False``: no ``attention/`` folder (a sweep's folder, whose models are in its sub-runs).
    """
    out = Path(out)
    config = study_config.to_dict()
    stored = out / "config.json"
    try:
        resuming = stored.exists()
        if resuming:
            try:
                previous = json.loads(stored.read_text())
                if not isinstance(previous, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                raise ConfigError(
                    f"{stored} is damaged ({exc}); restore it, or delete {out} to start over."
                ) from None
            # A folder written before the explainers key existed scored attention alone.
            previous.setdefault("explainers", list(DEFAULT_EXPLAINERS))
            changed = sorted(k for k in set(previous) | set(config)
                             if previous.get(k) != config.get(k) and k not in StudyConfig.report_keys())
            if changed:
                details = "; ".join(f"{k}: {previous.get(k)!r} there, {config.get(k)!r} now" for k in changed)
                raise ConfigError(
                    f"{out} holds results of a different configuration ({details}). Rerun with the "
                    f"same preset/config to resume, choose another --out, or delete {out} to start over."
                )
        if not resuming or previous != config:
            # A new folder, or new report-only values (the report follows the latest).
            _atomic_write(stored, lambda fh: fh.write((json.dumps(config, indent=2) + "\n").encode()))
        _record_versions(out, resuming)
        if attention:
            (out / "attention").mkdir(exist_ok=True)
    except OSError as exc:
        raise _unwritable(out, exc) from None
    return out


def _data_fingerprint(X, y, importance):
    """A SHA-256 of one split: bag sizes, labels, instance labels and features to 3 decimals.

    Features are rounded so that a last-bit difference between machines does not count as
    other data, while any change of the bags a maker draws does.
    """
    import hashlib

    digest = hashlib.sha256()
    digest.update(np.asarray([len(bag) for bag in X], dtype=np.int64).tobytes())
    digest.update(np.asarray(y).astype(str).tobytes())
    for bag, imp in zip(X, importance):
        digest.update(np.round(np.asarray(bag, dtype=np.float64), 3).tobytes())
        digest.update(np.asarray(imp, dtype=bool).tobytes())
    return digest.hexdigest()


def _changed_parameters(before, now):
    """``make_bags`` parameters that differ, for a message, or what else can make other bags."""
    changed = [f"{k} {before.get(k)!r} there, {now.get(k)!r} now" for k in sorted(before.keys() | now.keys())
               if before.get(k) != now.get(k)]
    return ", ".join(changed) or "same make_bags parameters, so the makers' code or numpy's random streams changed"


def _check_data(out, config, dataset):
    """Record in ``data.json`` what bags the folder's rows come from; refuse a resume on other bags.

    Per task, the resolved ``make_bags`` parameters (its defaults overlaid by ``data_params``)
    and a fingerprint of the test split, built by ``dataset(problem, modality, split)``. A resume
    whose code draws other bags (a changed default such as the composition, another numpy
    random stream) would mix two data sets in one folder; it stops with a ConfigError instead.
    A folder written before ``data.json`` existed gets one, with a warning that its earlier
    rows cannot be checked.
    """
    import inspect

    from setlearn.datasets import make_bags

    defaults = {name: p.default for name, p in inspect.signature(make_bags).parameters.items()
                if p.default is not inspect.Parameter.empty
                and name not in ("problem", "modality", "n_bags", "bag_size", "random_state", "pool",
                                 "return_populations")}
    current = {}
    for modality in config.modalities:
        for problem in config.problems:
            X, y, importance = dataset(problem, modality, "test")
            current[f"{problem}/{modality}"] = {
                "make_bags": {**defaults, **config.data_params},
                "test_sha256": _data_fingerprint(X, y, importance)}
    path = Path(out) / "data.json"
    try:
        recorded = json.loads(path.read_text()) if path.exists() else None
        if recorded is not None and not (isinstance(recorded, dict)
                                         and all(isinstance(task, dict) for task in recorded.values())):
            raise ValueError("not a JSON object of one object per task")
    except ValueError as exc:
        raise ConfigError(f"{path} is damaged ({exc}); delete it (the folder's data are then unchecked).") from None
    if recorded is None:
        if (Path(out) / "models.csv").exists():
            warnings.warn(f"{out} has no data.json (written before setlearn recorded its data): whether its "
                          f"stored rows were trained on the bags this version makes cannot be checked.",
                          AssessmentWarning, stacklevel=3)
    else:
        changed = sorted(task for task in recorded.keys() & current.keys()
                         if recorded[task].get("test_sha256") != current[task]["test_sha256"])
        if changed:
            details = "; ".join(
                f"{task}: {_changed_parameters(recorded[task].get('make_bags') or {}, current[task]['make_bags'])}"
                for task in changed)
            raise ConfigError(
                f"{out} holds rows trained on other bags than this version of setlearn makes for "
                f"{', '.join(changed)} ({details}). Resuming would mix two data sets: resume with the "
                f"setlearn version that wrote these rows (versions.json), or choose another --out.")
    merged = {**(recorded or {}), **current}
    if recorded != merged:
        _atomic_write(path, lambda fh: fh.write((json.dumps(merged, indent=2, default=str) + "\n").encode()))


def _member_sets(frame):
    """One hashable member set per row of ``ensembles.csv`` (a row without members counts as its own set)."""
    if "members" not in frame.columns:
        return pd.Series([("row", i) for i in range(len(frame))], index=frame.index)
    return pd.Series([frozenset(str(m).split(";")) if isinstance(m, str) and m else ("row", i)
                      for i, m in enumerate(frame["members"])], index=frame.index)
