"""How far a run folder has got, read without writing to it (``setlearn status``).

A long run (the study's grid takes hours) is usually started in the background; its
progress bar goes to a log. :func:`run_status` reads the folder as it is on disk, while
the run is still appending to it, and never writes: no lock is taken, so it can neither
block nor disturb the run.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from pathlib import Path

from ._config import ConfigError
from ._report import _ACCURATE
from ._store import _folder_holder, _holder_text


@dataclasses.dataclass(frozen=True)
class TaskStatus:
    """How far one task (modality, problem) of a run has got.

    Parameters
    ----------
    modality, problem : str
        The task.
    search_done, search_total : int
        Search models stored, and the grid's configurations x seeds.
    configurations_complete, configurations : int
        Configurations with all their search seeds stored, and the grid's size.
    retrain_done, retrain_total : int
        Retrained models stored, and ``top_k x n_retrain``.
    ensembles_done, ensembles_total : int
        Ensembles stored, and sizes x draws x the two kinds.
    accurate, silent : int
        Stored models (search and retrained) with validation accuracy >= 0.9, and those of
        them whose iAUC-ROC is at most the config's ``bad_iauc`` (silent failures).

    Examples
    --------
    >>> from setlearn.assessment import TaskStatus
    >>> task = TaskStatus("gaussian", "mil", 580, 1350, 116, 270, 0, 500, 0, 1140, 532, 0)
    >>> task.search_done / task.search_total < 1
    True
    """

    modality: str
    problem: str
    search_done: int
    search_total: int
    configurations_complete: int
    configurations: int
    retrain_done: int
    retrain_total: int
    ensembles_done: int
    ensembles_total: int
    accurate: int
    silent: int


@dataclasses.dataclass(frozen=True)
class RunStatus:
    """How far a run folder has got (:func:`run_status`).

    Parameters
    ----------
    out : pathlib.Path
        The folder.
    tasks : tuple of TaskStatus
        One per task, in the config's order.
    writer : str or None
        Who is writing the folder now, as its lock's holder file names it ("process 12 on
        host, started ..."); None when no run holds it.
    writer_alive : bool or None
        Whether that process runs (checked when it is on this host; None otherwise).
    last_write_s : float or None
        Seconds since ``models.csv`` last changed (None without one).
    bad_iauc : float
        The config's bad-explanation threshold.

    Examples
    --------
    >>> from setlearn.assessment import RunStatus, TaskStatus
    >>> task = TaskStatus("gaussian", "mil", 2, 2, 1, 1, 3, 3, 4, 4, 9, 0)
    >>> status = RunStatus("run", (task,), writer=None, writer_alive=None, last_write_s=None, bad_iauc=0.65)
    >>> status.complete
    True
    >>> print(status.summary().splitlines()[0])
    run: complete.
    """

    out: Path
    tasks: tuple
    writer: str | None
    writer_alive: bool | None
    last_write_s: float | None
    bad_iauc: float

    @property
    def complete(self):
        """Whether every model and ensemble of the study is stored."""
        return all(t.search_done >= t.search_total and t.retrain_done >= t.retrain_total
                   and t.ensembles_done >= t.ensembles_total for t in self.tasks)

    def summary(self):
        """The status as lines of plain text, for a terminal or a log.

        Returns
        -------
        text : str
            Whether the run is complete and who writes it, then per task each stage's count.
        """
        from setlearn.plotting import wilson_interval

        lines = [f"{self.out}: " + ("complete." if self.complete else "not complete.")]
        if self.writer is None:
            lines.append("No run is writing it now" + ("." if self.complete else
                                                      "; run the same setlearn assess command to continue."))
        elif self.writer_alive is False:
            lines.append(f"Its last run ({self.writer}) is gone without releasing it (killed or crashed); "
                         f"run the same setlearn assess command to continue.")
        else:
            lines.append(f"Being written by {self.writer}.")
        if self.last_write_s is not None:
            lines.append(f"models.csv last changed {_duration(self.last_write_s)} ago.")
        for t in self.tasks:
            lines.append(f"{t.modality} {t.problem.upper()}:")
            lines.append(f"  search      {_count(t.search_done, t.search_total, 'models')}, "
                         f"{t.configurations_complete} of {t.configurations} configurations complete")
            retrain = (_count(t.retrain_done, t.retrain_total, "models") if t.search_done >= t.search_total
                       else "not started (it starts when every configuration has all its seeds)")
            lines.append(f"  retraining  {retrain}")
            lines.append(f"  ensembles   {_count(t.ensembles_done, t.ensembles_total, 'ensembles')}")
            if t.accurate:
                low, high = wilson_interval(t.silent, t.accurate)
                lines.append(f"  silent failures so far: {t.silent} of {t.accurate} accurate models "
                             f"(validation accuracy >= {_ACCURATE}, iAUC-ROC <= {self.bad_iauc}; "
                             f"{100 * t.silent / t.accurate:.1f} %, 95 % CI {100 * low:.1f}-{100 * high:.1f} %)")
        return "\n".join(lines)


def _count(done, total, noun):
    return f"{done:,} of {total:,} {noun} ({100 * done / total:.0f} %)" if total else f"{done:,} {noun}"


def _duration(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _writer(out):
    """(who holds the folder, whether that process is alive) from the lock's holder file."""
    holder = _folder_holder(out)
    if holder is None:
        return None, None
    alive = None
    if holder["host"] == socket.gethostname():
        try:
            os.kill(holder["pid"], 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:  # another user's process: it exists
            alive = True
    return _holder_text(holder), alive


def run_status(out):
    """How far the run in ``out`` has got, read from its files without writing to them.

    Safe while a run is writing the folder: it takes no lock and reads whole rows only.

    Parameters
    ----------
    out : path-like
        A folder written by :func:`setlearn.assessment.assess`.

    Returns
    -------
    status : RunStatus
        Per task: search, retraining and ensembles stored of their totals, and the silent
        failures so far; who is writing the folder. ``status.summary()`` is the text
        ``setlearn status`` prints.

    Raises
    ------
    ConfigError
        When ``out`` is not a folder of ``setlearn assess`` (no readable ``config.json``), or is
        a sweep's folder (its values are runs of their own, in ``out/sweep/``).

    Examples
    --------
    >>> from setlearn.assessment import run_status
    >>> print(run_status("results/smoke").summary())  # doctest: +SKIP
    results/smoke: complete.
    No run is writing it now.
    ...
    """
    from sklearn.model_selection import ParameterGrid

    from ._record import StudyRecord
    from ._store import _ENSEMBLE_KINDS

    out = Path(out)
    record = StudyRecord.open(out)
    cfg = record.config
    if cfg.sweep is not None:
        # A sweep's own folder holds no models: every value is a run of its own.
        runs = sorted(p.name for p in (out / "sweep").glob("*") if p.is_dir()) if (out / "sweep").is_dir() else []
        raise ConfigError(f"{out} is a sweep over {cfg.sweep.parameter}: each value is a run of its own, in "
                          f"{out / 'sweep'} ({', '.join(runs) or 'none started yet'}); run setlearn status on one "
                          f"of them.")
    models, ensembles = record.models, record.ensembles
    tasks = []
    for modality in cfg.modalities:
        n_configs = len(ParameterGrid(cfg.grid[modality]))
        for problem in cfg.problems:
            def rows(frame, **where):
                if frame is None:
                    return frame
                keep = (frame["modality"] == modality) & (frame["problem"] == problem)
                for column, value in where.items():
                    keep &= frame[column] == value
                return frame[keep]

            search, retrain, drawn = rows(models, stage="search"), rows(models, stage="retrain"), rows(ensembles)
            stored = [f for f in (search, retrain) if f is not None]
            accurate = sum(int((f["valid_accuracy"] >= _ACCURATE).sum()) for f in stored)
            silent = sum(int(((f["valid_accuracy"] >= _ACCURATE) & (f["iauc_roc"] <= cfg.bad_iauc)).sum())
                         for f in stored)
            seeds = search.groupby("config_id")["repeat"].nunique() if search is not None else None
            tasks.append(TaskStatus(
                modality=modality, problem=problem,
                search_done=0 if search is None else len(search), search_total=n_configs * cfg.search_seeds,
                configurations_complete=0 if seeds is None else int((seeds >= cfg.search_seeds).sum()),
                configurations=n_configs,
                retrain_done=0 if retrain is None else len(retrain),
                retrain_total=min(cfg.top_k, n_configs) * cfg.n_retrain,
                ensembles_done=0 if drawn is None else len(drawn),
                ensembles_total=(cfg.max_ensemble_size - 1) * cfg.n_ensembles * len(_ENSEMBLE_KINDS),
                accurate=accurate, silent=silent))
    writer, alive = _writer(out)
    path = out / "models.csv"
    last = time.time() - path.stat().st_mtime if path.exists() else None
    return RunStatus(out=out, tasks=tuple(tasks), writer=writer, writer_alive=alive,
                     last_write_s=None if last is None else max(last, 0.0), bad_iauc=cfg.bad_iauc)


TaskStatus.__module__ = RunStatus.__module__ = run_status.__module__ = "setlearn.assessment"
