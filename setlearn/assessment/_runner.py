"""Running an assessment: training, ensembles and the result."""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from setlearn.base import DivergenceError

from ._config import ConfigError, StudyConfig
from ._cluster import _connect, _lost_scheduler
from ._paper import PAPER_TABLE1
from ._record import StudyRecord, _row_checks, _row_files
from ._report import _Page, _write_figures, _write_progress_report, _write_report
from ._store import ENSEMBLE_KEY, MODEL_KEY, _ENSEMBLE_KINDS, _RowStore, _attention_path, _check_data, _check_run_arguments, _folder_lock, _load_attention, _prepare_folder, _save_attention
from ._tables import _retrained, top_configurations, write_tables
from ._explainers import _ensemble_fields, _scores_path
from ._tasks import _Data, _dataset, _derive_seed, _fit_and_score_stack, _model_tasks, _stacks
from ._audit import _run_audits
from ._sweep import _run_sweep


# --------------------------------------------------------------------------- running


def _ensemble_draws(config, top, retrained):
    """Every ensemble of the study as (key, config_id, members), drawn reproducibly."""
    draws = []
    for (problem, modality), config_ids in top.items():
        pools = {cid: [(cid, r) for r in sorted(retrained[problem, modality].get(cid, []))] for cid in config_ids}
        several = [m for cid in config_ids for m in pools[cid]]
        for size in range(2, config.max_ensemble_size + 1):
            for draw in range(config.n_ensembles):
                for kind in _ENSEMBLE_KINDS:
                    rng = np.random.default_rng(_derive_seed(config.seed, "ensemble", problem, modality,
                                                             kind, size, draw))
                    # One-configuration ensembles cycle through the top configurations, so
                    # each of them is represented equally.
                    config_id = config_ids[draw % len(config_ids)] if kind == "one" else "several"
                    pool = pools[config_id] if kind == "one" else several
                    members = [pool[i] for i in sorted(rng.choice(len(pool), size, replace=False))]
                    draws.append(((problem, modality, kind, size, draw), config_id, members))
    return draws


# Seconds between two plain-text progress lines (output not on a terminal).
_PROGRESS_INTERVAL_S = 30.0


class _TextProgress:
    """Progress as plain lines for a log file: done, left, ETA, at most every ``interval`` s.

    A terminal gets tqdm's bar; a log file would get a page of carriage returns
    from it, so it gets one readable line per interval, and one at the end.
    """

    def __init__(self, total, done, desc, unit, file, interval=_PROGRESS_INTERVAL_S):
        self.total, self.done, self.desc, self.unit = total, done, desc, unit
        self.file, self.interval = file, interval
        self.started = self.last = time.monotonic()
        self.start_done = done
        self.postfix = ""

    def __enter__(self):
        self._print()
        return self

    def __exit__(self, *exc):
        if self.done > self.start_done:
            self._print()
        return False

    def set_postfix_str(self, text, refresh=True):
        self.postfix = text

    def update(self, n=1):
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self._print(now)

    def _print(self, now=None):
        now = time.monotonic() if now is None else now
        self.last = now
        elapsed = now - self.started
        new = self.done - self.start_done
        left = self.total - self.done
        if new and left:
            eta = f", ETA {_duration(elapsed / new * left)}"
        else:
            eta = ""
        postfix = f" (last: {self.postfix})" if self.postfix else ""
        print(f"setlearn assess: {self.desc}: {self.done}/{self.total} {self.unit}s done, {left} left, "
              f"{_duration(elapsed)} elapsed{eta}{postfix}", file=self.file, flush=True)


def _duration(seconds):
    """90 -> '1m30s'; for progress lines."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _progress(total, done, desc, quiet):
    """A progress reporter: tqdm's bar on a terminal, plain lines (see :class:`_TextProgress`) elsewhere."""

    from tqdm.auto import tqdm

    unit = "model" if desc != "ensembles" else "ensemble"
    if quiet:
        return tqdm(total=total, initial=done, disable=True)
    stream = sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return _TextProgress(total, done, desc, unit, stream)
    return tqdm(total=total, initial=done, desc=desc, unit=unit, file=stream, dynamic_ncols=True, leave=True)


def _run_models(stacks, store, out, data, estimator_params, *, n_jobs, budget, quiet, desc, methods):
    """Train the stacks with rows not yet in ``store``; returns how many rows were written now.

    ``stacks`` are tuples of tasks (see :func:`_stacks`), one joblib task each. A stack
    with any row missing is trained whole and writes only its missing rows; ``budget``
    (``max_models``) counts rows, so the last stack may write only some of them.
    """
    from joblib import Parallel, delayed

    total = sum(len(stack) for stack in stacks)
    todo = []  # (stack, the keys of the rows it writes)
    left = budget
    for stack in stacks:
        missing = [t.key for t in stack if t.key not in store.keys]
        if left is not None:
            missing = missing[:left]
            left -= len(missing)
        if missing:
            todo.append((stack, frozenset(missing)))
    if not todo:
        return 0
    # Counted before the budget cuts todo short: the rows left for a later call are not done.
    done = len(store.keys & {t.key for stack in stacks for t in stack})
    # batch_size="auto" (joblib's default, kept on purpose): small stacks are grouped into one
    # task until a task lasts a fraction of a second. A Dask task costs 4-24 ms of scheduling
    # (benchmarks/bench_dask.py), which would otherwise be a large share of a 0.3 s model.
    results = Parallel(n_jobs=n_jobs, batch_size="auto", return_as="generator_unordered")(
        delayed(_in_worker)(os.getpid(), _fit_and_score_stack, stack, wanted, data, estimator_params,
                            stack[0].stage == "retrain", methods)
        for stack, wanted in todo
    )
    trained = 0
    with _progress(total, done, desc, quiet) as bar:
        for rows in results:
            for row, scores in rows:
                if scores is not None:
                    # The attention (and every explainer's scores) go first: a row on
                    # disk promises its files.
                    path = _attention_path(out, tuple(row[k] for k in MODEL_KEY))
                    for method, method_scores in scores.items():
                        _save_attention(_scores_path(path, method), method_scores)
                store.append(row)
                trained += 1
                bar.update()
                bar.set_postfix_str(f"iAUC {row['iauc_roc']:.2f}", refresh=False)
    return trained


@contextmanager
def _workers_leave_interrupts_to_the_run():
    """Local worker processes that ignore SIGINT, where joblib's default (loky) starts them.

    A terminal's Ctrl-C reaches the whole process group. The run stops its workers itself
    (joblib terminates them when the interrupt reaches the results loop) and says how far it
    got; a worker interrupted on its own printed a traceback of multiprocessing's internals
    first, one per worker, above that message. A backend the caller chose is left alone.
    """
    from joblib import parallel_config
    from joblib.parallel import LokyBackend, get_active_backend

    backend, _ = get_active_backend()
    if type(backend) is not LokyBackend or backend.backend_kwargs:
        yield
        return
    with parallel_config(backend="loky", initializer=_ignore_interrupts):
        yield


def _ignore_interrupts():
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


_WATCHING_PARENT = False


def _in_worker(parent_pid, function, *args):
    """Call ``function(*args)`` in a worker, which exits if the process ``parent_pid`` dies.

    loky's worker processes outlive a parent killed with ``kill -9`` (measured: still
    training minutes later; idle they wait out loky's 300 s timeout). A worker that is
    a direct child of the run therefore watches its parent and exits within a second
    of losing it. Dask workers are not children of the run and are left alone.
    """
    global _WATCHING_PARENT
    if not _WATCHING_PARENT and os.getppid() == parent_pid:
        _WATCHING_PARENT = True

        def watch():
            while os.getppid() == parent_pid:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="setlearn-watch-parent", daemon=True).start()
    return function(*args)


def _score_ensemble(draw, member_scores, data):
    """Combine the members' test attention (and other explainers) and score it. Runs in a worker."""
    from setlearn.ensemble import combine_attention
    from setlearn.metrics import importance_auroc_score, importance_average_precision_score

    key, config_id, members = draw
    _, y_test, imp_test = _dataset(key[0], key[1], "test", data)
    attention = combine_attention(member_scores["attention"], rule="mean")
    return {
        **dict(zip(ENSEMBLE_KEY, key)), "config_id": config_id,
        "members": ";".join(f"{cid}/r{r}" for cid, r in members),
        "iauc_roc": float(importance_auroc_score(imp_test, attention, y=y_test)),
        "iauc_pr": float(importance_average_precision_score(imp_test, attention, y=y_test)),
        **_ensemble_fields(member_scores, imp_test, y_test),
    }


def _run_ensembles(draws, store, out, data, *, n_jobs, quiet, methods):
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
                    loaded[m] = {method: _load_attention(_scores_path(path, method)) for method in methods}
            member_scores = {method: [loaded[m][method] for m in draw[2]] for method in methods}
            yield delayed(_in_worker)(os.getpid(), _score_ensemble, draw, member_scores, data)

    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks())
    with _progress(len(draws), len(draws) - len(todo), "ensembles", quiet) as bar:
        for row in results:
            store.append(row)
            bar.update()


@dataclasses.dataclass(frozen=True)
class AssessmentResult:
    """What :func:`assess` produced.

    Its fields are attributes of the returned object, made once from the run's
    :class:`StudyRecord` when the call ends (:meth:`from_record`).

    Parameters
    ----------
    out : pathlib.Path
        The output folder.
    config : StudyConfig
        The resolved configuration (also in ``out / "config.json"``).
    complete : bool
        False when the run stopped early (``max_models``); rerun to continue.
    models : pandas.DataFrame
        One row per trained model (``models.csv``).
    ensembles : pandas.DataFrame or None
        One row per ensemble (``ensembles.csv``; ``None`` until the run is complete).
    top : pandas.DataFrame or None
        The top-k configurations of every task (see :func:`top_configurations`;
        ``None`` until the run is complete).
    tables : dict of str to pandas.DataFrame
        ``top_configurations`` (Table 1), ``accuracy_vs_iauc`` (Table 2),
        ``ensembles`` (Table 3), ``silent_failures``, ``bad_by_ensemble_size``,
        ``audit`` (the ground-truth audit beside iAUC-ROC).
    figures : dict of str to pathlib.Path
        Every figure written, by name.
    report : pathlib.Path
        ``report.md``; ``report.html`` beside it is the same report with the figures
        embedded, readable from any folder. For a run stopped before its end (``complete``
        False) it is a progress report: how far the run got and its search so far.
    audit : pandas.DataFrame or None
        The ground-truth audit of every task (``audit.csv``, see
        :func:`setlearn.inspection.audit_ground_truth`; ``None`` until the run is complete).
    n_new_models : int
        Models trained by this call (0 when everything was already there).
    elapsed_s : float
        Seconds this call took.
    preset : str or None
        The preset the configuration started from (the report lists the overrides).
    captions : dict of str to str
        One caption per figure, as in the report.
    stage_s : dict of str to float
        Seconds this call spent in each stage it ran: ``"search"``,
        ``"retrain"``, ``"ensembles"``, ``"audit"`` and ``"report"`` (tables,
        figures and report). What is not in a stage is checking the
        configuration and preparing the folder.
    record : StudyRecord or None
        The run folder, read (stored attention by model, test bags by task, ...).

    Examples
    --------
    >>> import setlearn
    >>> result = setlearn.assess("smoke", out="results/smoke", verbose=False)  # doctest: +SKIP
    >>> result.models.groupby("stage").size()  # doctest: +SKIP
    """

    out: Path
    config: StudyConfig
    complete: bool
    models: pd.DataFrame
    ensembles: pd.DataFrame = None
    top: pd.DataFrame = None
    tables: dict = dataclasses.field(default_factory=dict)
    figures: dict = dataclasses.field(default_factory=dict)
    report: Path = None
    audit: pd.DataFrame = None
    n_new_models: int = 0
    elapsed_s: float = 0.0
    preset: str = None
    captions: dict = dataclasses.field(default_factory=dict)
    stage_s: dict = dataclasses.field(default_factory=dict)
    record: StudyRecord = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def from_record(cls, record, *, complete, n_new_models, elapsed_s, stage_s, tables=None, figures=None,
                    captions=None, report=None):
        """The result of a call on ``record``'s folder: its rows, and (once complete) its outputs.

        Parameters
        ----------
        record : StudyRecord
            The run folder, read after the call's last stage.
        complete : bool
            Whether every stage finished; the ensembles, top configurations and audit are
            part of the result only then.
        n_new_models, elapsed_s, stage_s, tables, figures, captions, report
            As the fields of the same names (empty for an incomplete run, whose report is
            its progress report).

        Returns
        -------
        result : AssessmentResult
            Made once; never changed afterwards.
        """
        return cls(out=record.out, config=record.config, complete=complete, models=record.models,
                   ensembles=record.ensembles if complete else None, top=record.top if complete else None,
                   tables=tables or {}, figures=figures or {}, report=report,
                   audit=record.audit if complete else None, n_new_models=n_new_models, elapsed_s=elapsed_s,
                   preset=record.config.preset, captions=captions or {}, stage_s=stage_s, record=record)

    def summary(self):
        """A few lines for the terminal: where the report is and the headline numbers.

        Returns
        -------
        summary : str
            One line per task with its iAUC-ROC and bad-explanation shares,
            beside the study's numbers.
        """
        lines = [f"setlearn assess: {len(self.models)} models ({self.n_new_models} trained now) "
                 f"in {self.elapsed_s:.0f} s -> {self.out}"]
        if not self.complete:
            lines.append("Stopped before the end; run the same command again to continue.")
            if self.report is not None:
                lines.append(f"Progress so far: {self.report}")
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
                   f" -> {r.pct_bad_one_configuration:.0f}% / "
                   + ("– (one config only)" if pd.isna(r.pct_bad_several_configurations) else
                      f"{r.pct_bad_several_configurations:.0f}%")
                   + f" with {r.ensemble_size:.0f} members (one / several configs)")
            )
        silent = self.tables["silent_failures"].set_index("modality").loc["all"]
        if silent.n_accurate:
            lines.append(f"  Of {silent.n_accurate} models with validation accuracy >= 0.9, "
                         f"{silent.pct_good_iauc:.0f}% have iAUC-ROC >= 0.9 (paper: 64%).")
        else:
            lines.append("  No retrained model reached validation accuracy >= 0.9.")
        audit = self.tables.get("audit")
        if audit is not None and len(audit):
            from ._audit import _audit_summary_line

            lines.append("  Ground-truth audit: " + _audit_summary_line(audit))
        lines.append(f"Report: {self.report} (with the figures embedded: {self.report.with_suffix('.html')})")
        return "\n".join(lines)


def assess(preset="quick", *, config=None, out=None, n_jobs=None, scheduler=None, max_models=None,
           drop_bad_rows=False, verbose=True):
    """Run the attention-interpretability study end to end, resuming if possible.

    Trains the grid search and the retrained top configurations, builds the
    ensembles, and writes rows, tables, figures and a report to ``out``. Running
    it again with the same configuration and folder continues an interrupted
    run: finished models are kept, nothing is trained twice.

    Parameters
    ----------
    preset : str, default="quick"
        The bundled configuration to start from (see :func:`load_config`).
    config : dict or path-like, default=None
        Overrides of the preset, as a mapping or a ``.json`` / ``.toml`` file.
    out : path-like, default=None
        Output folder; ``./setlearn-results/<preset>`` (or ``<config file stem>``).
        A run holds it exclusively: a second run on the same folder is refused.
    n_jobs : int, default=None
        Stacks of models (see docs/assessment.md) trained in parallel by joblib:
        ``None`` uses every core this process may run on (``joblib.cpu_count()``)
        locally and all Dask workers with ``scheduler``; 1 trains in this
        process; -1 is every core too. The rows do not depend on it.
    scheduler : str, default=None
        Address of a Dask scheduler (``"tcp://host:8786"``): the models are
        trained on its workers, which need setlearn installed. Results still
        travel back to, and are written by, this process only.
    max_models : int, default=None
        Stop after training this many new models (the rest on the next call).
    drop_bad_rows : bool, default=False
        Drop damaged rows of ``models.csv`` / ``ensembles.csv`` (they are
        computed again) instead of stopping with their line numbers.
    verbose : bool, default=True
        Progress bars (on a terminal) and the closing summary.

    Returns
    -------
    result : AssessmentResult or SweepResult
        The rows, tables, figures and report of the run; a :class:`SweepResult` (one
        ``AssessmentResult`` per value, and the sweep's table, figure and report) for a
        configuration with ``sweep``.

    Raises
    ------
    ConfigError
        Before anything is written, for a bad configuration or run argument,
        an unreachable scheduler or workers with other versions; later for a
        folder held by another run, one of another configuration, or damaged
        stored rows.
    ClusterError
        When the Dask scheduler is lost during the run (rerun to continue).

    Examples
    --------
    >>> import setlearn
    >>> result = setlearn.assess("smoke", out="results/smoke", verbose=False)  # doctest: +SKIP
    >>> result.tables["ensembles"]  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    """
    started = time.perf_counter()
    # Every argument is checked before anything is written: a typo must not leave a folder behind.
    resolved = StudyConfig.from_mapping(preset, config)
    if out is None:
        name = Path(config).stem if isinstance(config, (str, os.PathLike)) else preset
        out = Path("setlearn-results") / name
    _check_run_arguments(out, n_jobs, scheduler, max_models)
    with ExitStack() as stack:
        if scheduler is not None:
            # Connected before the folder exists: an unreachable cluster leaves nothing behind.
            client = stack.enter_context(_connect(scheduler))
            n_jobs = -1 if n_jobs is None else n_jobs
        else:
            stack.enter_context(_workers_leave_interrupts_to_the_run())
        stack.enter_context(_folder_lock(out))
        out = _prepare_folder(out, resolved, attention=resolved.sweep is None)
        # A sweep runs one folder of its own per value (see _sweep.py), each as _run_in_folder does.
        run = (_run_in_folder if resolved.sweep is None else
               functools.partial(_run_sweep, run_point=_run_in_folder))
        try:
            # Every core by default: assess is a batch command on the user's own machine,
            # and its rows are the same numbers whatever the number of jobs.
            return run(resolved, Path(out), n_jobs=_local_cores() if n_jobs is None else n_jobs,
                                  cluster=scheduler is not None, max_models=max_models, drop_bad_rows=drop_bad_rows, verbose=verbose,
                                  started=started)
        except DivergenceError as exc:
            raise ConfigError(f"A model stopped training. {exc} Every finished model is saved in {out}; a "
                              f"config with another lr is another study, so run it with another --out.") from None
        except Exception as exc:
            lost = _lost_scheduler(client, scheduler, exc, out) if scheduler is not None else None
            if lost is not None:
                raise lost from None
            raise


def _local_cores():
    """Cores this process may use (affinity and cgroup limits included), for the default n_jobs."""
    from joblib import cpu_count

    return cpu_count()


def _run_in_folder(config, out, *, n_jobs, cluster=False, max_models, drop_bad_rows, verbose, started):
    """The run proper, in a locked and prepared folder (see :func:`assess`)."""
    data = _Data.of(config)
    _check_data(out, config, lambda problem, modality, split: _dataset(problem, modality, split, data))
    quiet = not verbose
    files, stored_models = _row_files(config), set()
    checks = _row_checks(config, out, stored_models)

    def store(name):
        file, columns, key, types = files[name]
        return _RowStore(out / file, columns, key, types, check_row=checks[name], drop_bad_rows=drop_bad_rows)

    model_store = store("models")
    stored_models.update(model_store.keys)  # what the ensembles' rows may name
    ensemble_store, audit_store = store("ensembles"), store("audit")
    stage_s = {}

    @contextmanager
    def timed(stage):
        start = time.perf_counter()
        try:
            yield
        finally:
            stage_s[stage] = stage_s.get(stage, 0.0) + time.perf_counter() - start

    n_stored_before = len(model_store.keys)
    search, retrain = _model_tasks(config, "search"), None

    def progress_report(record):
        # A long run is committed in sittings: its folder says how far it got.
        page = _Page(record, {}, {}, {}, n_new_models=len(model_store.keys) - n_stored_before,
                     elapsed_s=time.perf_counter() - started)
        return _write_progress_report(page, search_total=len(search),
                                      retrain_total=None if retrain is None else len(retrain))

    trained = 0
    try:
        with ExitStack() as stack:
            stack.callback(model_store.close)
            stack.callback(ensemble_store.close)
            stack.callback(audit_store.close)
            run = functools.partial(_run_models, store=model_store, out=out, data=data,
                                    estimator_params=config.estimator_params, n_jobs=n_jobs, quiet=quiet,
                                    methods=config.explainers)

            with timed("search"):
                trained += run(_stacks(config, search, data), budget=max_models, desc="search")
            complete = {t.key for t in search} <= model_store.keys
            if complete:
                top = top_configurations(model_store.frame(), config.top_k)
                top_ids = {k: list(g["config_id"]) for k, g in top.groupby(["problem", "modality"])}
                retrain = _model_tasks(config, "retrain", top_ids)
                with timed("retrain"):
                    trained += run(_stacks(config, retrain, data),
                                   budget=None if max_models is None else max_models - trained, desc="retrain")
                complete = {t.key for t in retrain} <= model_store.keys
            if complete:
                models = model_store.frame()
                retrained = {}
                for (problem, modality, cid), g in _retrained(models).groupby(["problem", "modality", "config_id"]):
                    retrained.setdefault((problem, modality), {})[cid] = list(g["repeat"])
                with timed("ensembles"):
                    # Locally the ensembles are scored in this process: sending a task its members'
                    # stored scores costs this process about as much as scoring them (quick preset:
                    # 15 s in this process, 43 s with 2 loky workers). A cluster's workers add cores.
                    _run_ensembles(_ensemble_draws(config, top_ids, retrained), ensemble_store, out, data,
                                   n_jobs=n_jobs if cluster else 1, quiet=quiet, methods=config.explainers)
                with timed("audit"):
                    _run_audits(config, top_ids, audit_store, data, search, n_jobs=n_jobs)
    except KeyboardInterrupt:
        # Ctrl-C: the stores have closed with every finished row; say how far the run got.
        progress_report(StudyRecord(out, config))
        raise

    # Every result from here on is read back from the folder.
    record = StudyRecord(out, config)
    outputs = {}
    if complete:
        with timed("report"):
            tables = write_tables(record)
            figures, captions = _write_figures(record, tables)
            page = _Page(record, tables, figures, captions, n_new_models=trained,
                         elapsed_s=time.perf_counter() - started)  # for the report's provenance
            outputs = {"tables": tables, "figures": figures, "captions": captions, "report": _write_report(page)}
    else:
        outputs = {"report": progress_report(record)}
    result = AssessmentResult.from_record(record, complete=complete, n_new_models=trained,
                                          elapsed_s=time.perf_counter() - started, stage_s=stage_s, **outputs)
    if verbose:
        print(result.summary(), file=sys.stdout)
    return result
