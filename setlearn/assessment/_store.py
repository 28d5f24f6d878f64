"""Crash-safe storage of an assessment's rows and attention."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from ._config import ConfigError, _check_int


MODEL_KEY = ["problem", "modality", "stage", "config_id", "repeat"]
_MODEL_METRICS = [
    "seed", "valid_accuracy", "valid_log_loss", "test_accuracy", "test_bag_auc",
    "iauc_roc", "iauc_pr", "fit_time_s",
]
ENSEMBLE_KEY = ["problem", "modality", "kind", "size", "draw"]
_ENSEMBLE_COLUMNS = ENSEMBLE_KEY + ["config_id", "members", "iauc_roc", "iauc_pr"]
_ENSEMBLE_KINDS = ("one", "several")


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
