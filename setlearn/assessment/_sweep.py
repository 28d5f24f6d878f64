"""Side experiments: one assessment per value of one parameter, and the table, figure and report over them.

A configuration with ``sweep`` (a :class:`Sweep`) runs :func:`setlearn.assess` once per value,
each in a folder of its own, ``OUT/sweep/<parameter>=<value>/``: a complete run folder
(resumable, checked and reported like any other). The sweep's folder holds its
``config.json``, the table ``tables/sweep_<parameter>.csv``, the figure
``figures/sweep_<parameter>.png`` and a report that sets the values side by side, beside
what the study says of the same experiment (its Fig. S.7 and S.8).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._paper import PAPER_SIDE_EXPERIMENTS
from ._report import CITATION, _facet, _join, _reproducibility, _task, _write_report_files
from ._store import _folder_lock, _prepare_folder
from ._tables import _markdown, _retrained, _write_table

#: The metrics of the sweep table, in its column order: ``<metric>_mean``, ``_sd``, ``_low``, ``_high``.
SWEEP_METRICS = ("iauc_roc", "iauc_pr", "test_accuracy")
_METRIC_WORDS = {"iauc_roc": "iAUC-ROC", "iauc_pr": "iAUC-PR", "test_accuracy": "test accuracy"}
_PARAMETER_WORDS = {"witness_rate": "witness rate", "attention_size": "attention hidden size"}


def _point_folder(out, sweep, value):
    """The run folder of one value of the sweep."""
    return Path(out) / "sweep" / sweep.folder_name(value)


def _counted_models(record):
    """The models of one sub-run that the sweep table counts.

    The retrained models; and, where every grid of the sub-run is a single configuration,
    the search models too: no configuration was selected, so a search seed is one more
    independent model of the same configuration (its seed is derived apart from the retrains').
    """
    from sklearn.model_selection import ParameterGrid

    config = record.config
    single = all(len(ParameterGrid(config.grid[m])) == 1 for m in config.modalities)
    return record.models if single else _retrained(record.models)


def _interval(values):
    """(mean, sample sd, 95 % interval of the mean) of ``values``: Student's t, clipped to [0, 1]
    (every metric of the table is a share); sd and interval NaN for a single value."""
    from scipy.stats import t

    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, np.nan, np.nan, np.nan
    sd = float(values.std(ddof=1))
    half = float(t.ppf(0.975, len(values) - 1)) * sd / np.sqrt(len(values))
    return mean, sd, max(0.0, mean - half), min(1.0, mean + half)


def table_sweep(models, parameter):
    """The sweep table: per task and value, test iAUC-ROC, iAUC-PR and accuracy over its models.

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of the sub-runs' ``models.csv`` (the models to count), with a column named
        ``parameter`` holding each row's sweep value.
    parameter : str
        The swept parameter.

    Returns
    -------
    table : pandas.DataFrame
        One row per (modality, problem, value), values in the order of their first row:
        ``n_models``, then for iAUC-ROC, iAUC-PR and test accuracy ``<metric>_mean``,
        ``<metric>_sd`` (sample sd), ``<metric>_low`` and ``<metric>_high`` (the 95 %
        interval of the mean, Student's t, clipped to [0, 1]; NaN with one model), and
        ``study_iauc_roc`` / ``study_iauc_pr`` where the study gives a number for the
        point (read off its figure; NaN elsewhere).

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_sweep
    >>> rows = pd.DataFrame({"modality": "gaussian", "problem": "mil", "witness_rate": [0.01, 0.01, 0.5],
    ...     "iauc_roc": [0.8, 0.9, 0.95], "iauc_pr": [0.2, 0.4, 0.9], "test_accuracy": 1.0})
    >>> table = table_sweep(rows, "witness_rate")
    >>> print(table[["witness_rate", "n_models", "iauc_pr_mean", "iauc_pr_sd", "study_iauc_pr"]].round(2).to_string(index=False))
     witness_rate  n_models  iauc_pr_mean  iauc_pr_sd  study_iauc_pr
             0.01         2           0.3        0.14            0.3
             0.50         1           0.9         NaN            NaN
    """
    study = PAPER_SIDE_EXPERIMENTS.get(parameter)
    rows = []
    for (modality, problem, value), group in models.groupby(["modality", "problem", parameter], sort=False):
        row = {"modality": modality, "problem": problem, parameter: value, "n_models": len(group)}
        for metric in SWEEP_METRICS:
            mean, sd, low, high = _interval(group[metric])
            row.update({f"{metric}_mean": mean, f"{metric}_sd": sd, f"{metric}_low": low, f"{metric}_high": high})
        point = study.points.get((modality, problem, value)) if study is not None else None
        row["study_iauc_roc"], row["study_iauc_pr"] = point if point is not None else (np.nan, np.nan)
        rows.append(row)
    columns = (["modality", "problem", parameter, "n_models"]
               + [f"{m}_{s}" for m in SWEEP_METRICS for s in ("mean", "sd", "low", "high")]
               + ["study_iauc_roc", "study_iauc_pr"])
    return pd.DataFrame(rows, columns=columns)


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What :func:`assess` produced for a configuration with ``sweep``.

    Parameters
    ----------
    out : pathlib.Path
        The sweep's folder (its sub-runs in ``out / "sweep"``).
    config : StudyConfig
        The resolved configuration, sweep included (also in ``out / "config.json"``).
    complete : bool
        False when the run stopped early (``max_models``); rerun to continue.
    runs : dict
        ``{value: AssessmentResult}`` of every sub-run this call reached, in the order of
        the values (an incomplete run stops at its first incomplete sub-run).
    models : pandas.DataFrame
        The counted models of every sub-run reached, with a column named after the
        swept parameter holding each row's value.
    table : pandas.DataFrame or None
        :func:`table_sweep` (``tables/sweep_<parameter>.csv``; None until complete).
    figures : dict of str to pathlib.Path
        ``{"sweep_<parameter>": path}`` once complete.
    captions : dict of str to str
        One caption per figure, as in the report.
    report : pathlib.Path or None
        The sweep's ``report.md`` (``report.html`` beside it); None until complete.
    n_new_models : int
        Models trained by this call, over every sub-run.
    elapsed_s : float
        Seconds this call took.

    Examples
    --------
    >>> import setlearn
    >>> result = setlearn.assess("side-s7", out="results/side-s7", verbose=False)  # doctest: +SKIP
    >>> result.table[["witness_rate", "iauc_roc_mean", "iauc_pr_mean"]]  # doctest: +SKIP
    """

    out: Path
    config: object
    complete: bool
    runs: dict
    models: pd.DataFrame
    table: pd.DataFrame = None
    figures: dict = dataclasses.field(default_factory=dict)
    captions: dict = dataclasses.field(default_factory=dict)
    report: Path = None
    n_new_models: int = 0
    elapsed_s: float = 0.0

    def summary(self):
        """A few lines for the terminal: one per task and value, and where the report is.

        Returns
        -------
        summary : str
            One line per task and value with its models' mean iAUC-ROC, iAUC-PR and accuracy.
        """
        sweep = self.config.sweep
        lines = [f"setlearn assess: sweep over {sweep.parameter}, {len(self.runs)} of {len(sweep.values)} "
                 f"sub-runs, {len(self.models)} models ({self.n_new_models} trained now) in "
                 f"{self.elapsed_s:.0f} s -> {self.out}"]
        if not self.complete:
            lines.append("Stopped before the end; run the same command again to continue.")
            return "\n".join(lines)
        for r in self.table.to_dict("records"):
            lines.append(f"  {_task(r['modality'], r['problem'])}, {sweep.parameter} = {r[sweep.parameter]}: "
                         f"{r['n_models']} models, iAUC-ROC {_mean_sd(r, 'iauc_roc')}, iAUC-PR "
                         f"{_mean_sd(r, 'iauc_pr')}, test accuracy {_mean_sd(r, 'test_accuracy')}")
        lines.append(f"Report: {self.report} (with the figures embedded: {self.report.with_suffix('.html')})")
        return "\n".join(lines)


SweepResult.__module__ = "setlearn.assessment"


def _mean_sd(row, metric):
    sd = row[f"{metric}_sd"]
    return f"{row[f'{metric}_mean']:.2f}" + ("" if pd.isna(sd) else f" ± {sd:.2f}")


def _with_value(models, parameter, value):
    # A column of objects: the values keep their own type (1 stays 1, 0.01 stays 0.01).
    return models.assign(**{parameter: pd.Series([value] * len(models), index=models.index, dtype=object)})


def _run_sweep(config, out, *, run_point, n_jobs, cluster=False, max_models, drop_bad_rows, verbose, started):
    """Run every sub-run of ``config.sweep`` in turn, then the sweep's outputs (see :func:`assess`).

    Each sub-run is a call of ``run_point`` (``_runner._run_in_folder``, passed in so that
    this module does not import the runner that imports it) in its own locked and prepared
    folder, so it resumes, checks its rows and reports as any run does; ``max_models`` is
    shared by them, and the sweep stops at the first sub-run left incomplete.
    """
    sweep = config.sweep
    points = config.sweep_points()
    runs, trained = {}, 0
    for number, (value, point) in enumerate(points, start=1):
        folder = _point_folder(out, sweep, value)
        if verbose:
            print(f"setlearn assess: sweep {sweep.parameter} = {value} ({number} of {len(points)}) -> {folder}",
                  file=sys.stdout, flush=True)
        with _folder_lock(folder):
            _prepare_folder(folder, point)
            runs[value] = run_point(point, folder, n_jobs=n_jobs, cluster=cluster,
                                    max_models=None if max_models is None else max_models - trained,
                                    drop_bad_rows=drop_bad_rows, verbose=verbose, started=time.perf_counter())
        trained += runs[value].n_new_models
        if not runs[value].complete:
            break
    parts = [_with_value(_counted_models(run.record), sweep.parameter, value) for value, run in runs.items()]
    models = pd.concat(parts, ignore_index=True)
    complete = len(runs) == len(points) and all(run.complete for run in runs.values())
    outputs = {}
    if complete:
        table = table_sweep(models, sweep.parameter)
        folder = out / "tables"
        folder.mkdir(exist_ok=True)
        name = f"sweep_{sweep.parameter}"
        _write_table(folder, name, table)
        figure, caption = _sweep_figure(config, models, table)
        (out / "figures").mkdir(exist_ok=True)
        path = out / "figures" / f"{name}.png"
        figure.savefig(path, dpi=110)
        outputs = {"table": table, "figures": {name: path}, "captions": {name: caption}}
        report = _write_sweep_report(config, out, runs, table, path, caption, n_new_models=trained,
                                     elapsed_s=time.perf_counter() - started)
        outputs["report"] = report
    result = SweepResult(out=out, config=config, complete=complete, runs=runs, models=models,
                         n_new_models=trained, elapsed_s=time.perf_counter() - started, **outputs)
    if verbose:
        print(result.summary(), file=sys.stdout)
    return result


# --------------------------------------------------------------------------- figure


def _study_title(parameter):
    """The figure's and section's name: the study's figure it reproduces, where it has one."""
    study = PAPER_SIDE_EXPERIMENTS.get(parameter)
    if study is None:
        return f"test iAUC-ROC and iAUC-PR against {parameter} (no figure of the study)"
    return f"{study.what} (the study's {study.figure})"


def _draw_sweep(models, *, parameter, values, ax):
    """One task's panel: every model as a dot, the mean and its 95 % interval per value and metric."""
    table = table_sweep(models, parameter).set_index(parameter)
    positions = {value: i for i, value in enumerate(values)}
    styles = {"iauc_roc": ("tab:blue", "o", "-"), "iauc_pr": ("tab:orange", "s", "-"),
              "test_accuracy": ("0.45", "^", ":")}
    rng = np.random.default_rng(0)  # the jitter only: the same picture every time
    for offset, (metric, (color, marker, line)) in zip((-0.15, 0.0, 0.15), styles.items()):
        x_models = [positions[v] + offset for v in models[parameter]]
        ax.scatter(np.add(x_models, rng.uniform(-0.04, 0.04, len(x_models))), models[metric], s=9, color=color,
                   alpha=0.35, marker=marker, linewidths=0)
        shown = [v for v in values if v in table.index]
        x = [positions[v] + offset for v in shown]
        mean = table.loc[shown, f"{metric}_mean"].to_numpy(float)
        low = table.loc[shown, f"{metric}_low"].to_numpy(float)
        high = table.loc[shown, f"{metric}_high"].to_numpy(float)
        # NaN (a single model) draws no bar.
        errors = np.vstack([mean - low, high - mean])
        ax.errorbar(x, mean, yerr=np.nan_to_num(errors), color=color, marker=marker, linestyle=line, capsize=3,
                    label=f"{_METRIC_WORDS[metric]} (mean, 95% CI)")
    for metric, color in (("iauc_roc", "tab:blue"), ("iauc_pr", "tab:orange")):
        study = table[f"study_{metric}"].dropna()
        if len(study):
            ax.scatter([positions[v] for v in study.index], study, marker="*", s=140, color=color,
                       edgecolors="black", zorder=5, label=f"{_METRIC_WORDS[metric]}, the study (read off its figure)")
    ax.set_xticks(range(len(values)), [f"{v:g}" if isinstance(v, float) else str(v) for v in values])
    ax.set_xlabel(_PARAMETER_WORDS.get(parameter, parameter))
    ax.set_ylim(-0.02, 1.05)
    ax.set_ylabel("test score")
    ax.grid(axis="y", alpha=0.3)
    # Below the panel: inside, it would hide the points of some value.
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)


def _sweep_figure(config, models, table):
    """The sweep's figure (one panel per task) and its caption."""
    import functools

    sweep = config.sweep
    groups = list(models.groupby(["modality", "problem"]))
    draw = functools.partial(_draw_sweep, parameter=sweep.parameter, values=list(sweep.values))
    figure = _facet(groups, draw, f"Test iAUC-ROC, iAUC-PR and accuracy against {sweep.parameter}", config)
    counts = sorted(set(table["n_models"]))
    caption = (f"The {_study_title(sweep.parameter)}: one sub-run per "
               f"value of {sweep.parameter} ({', '.join(map(str, sweep.values))}), "
               f"{_join([str(c) for c in counts])} models per value and task (see *Which models*). Dots: every "
               f"model's test score, jittered sideways; markers and bars: the mean and its 95% interval "
               f"(Student's t, clipped to [0, 1]); blue circles iAUC-ROC, orange squares iAUC-PR, grey triangles "
               f"(dotted) test bag accuracy, shifted sideways so that they do not hide each other.")
    if table[["study_iauc_roc", "study_iauc_pr"]].notna().any().any():
        caption += " Stars: the study's values, read off its figure (approximate)."
    return figure, caption


# --------------------------------------------------------------------------- report


def _findings(table, parameter):
    """Sentences per task, computed from the table: how far each metric moves and where it is best."""
    lines = []
    for (modality, problem), g in table.groupby(["modality", "problem"], sort=False):
        parts = []
        for metric in ("iauc_roc", "iauc_pr"):
            means = g.set_index(parameter)[f"{metric}_mean"]
            parts.append(f"mean {_METRIC_WORDS[metric]} spans {means.min():.2f} ({parameter} = {means.idxmin()}) "
                         f"to {means.max():.2f} ({parameter} = {means.idxmax()})")
        best = g.loc[g["iauc_roc_mean"].idxmax()]
        others = g.drop(index=best.name)
        overlapping = int(((others["iauc_roc_high"] >= best["iauc_roc_low"]) | others["iauc_roc_high"].isna()
                           | pd.isna(best["iauc_roc_low"])).sum())
        text = f"- {_task(modality, problem)}: " + "; ".join(parts) + "."
        if len(others):
            text += (f" The highest mean iAUC-ROC is at {parameter} = {best[parameter]}; "
                     + ("no other value's 95% interval reaches its own, so it is the best here." if overlapping == 0
                        else f"the 95% intervals of {overlapping} of the other {len(others)} values overlap its "
                             f"own: this run cannot tell {'them' if overlapping > 1 else 'it'} apart from it."))
        for r in g.dropna(subset=["study_iauc_roc"]).to_dict("records"):
            text += (f" At {parameter} = {r[parameter]}: ours iAUC-ROC {r['iauc_roc_mean']:.2f}, iAUC-PR "
                     f"{r['iauc_pr_mean']:.2f}; the study ~{r['study_iauc_roc']:.1f} and ~{r['study_iauc_pr']:.1f} "
                     f"(read off its figure).")
        lines.append(text)
    return lines


def _display_table(table, parameter):
    """The sweep table as the report shows it: mean ± sd [95% interval] per metric."""
    def cell(r, metric):
        interval = ("" if pd.isna(r[f"{metric}_low"]) else
                    f" [{r[f'{metric}_low']:.2f}, {r[f'{metric}_high']:.2f}]")
        return _mean_sd(r, metric) + interval

    rows = []
    for r in table.to_dict("records"):
        study = ("–" if pd.isna(r["study_iauc_roc"]) else
                 f"~{r['study_iauc_roc']:.1f} / ~{r['study_iauc_pr']:.1f}")
        # The value as written in the config (the table's float format would round 0.005 to 0.01).
        rows.append({"data": r["modality"], "problem": r["problem"].upper(), parameter: str(r[parameter]),
                     "models": r["n_models"], **{f"{_METRIC_WORDS[m]}, mean ± sd [95% CI]": cell(r, m)
                                                 for m in SWEEP_METRICS},
                     "study iAUC-ROC / iAUC-PR (read off its figure)": study})
    return pd.DataFrame(rows)


def _write_sweep_report(config, out, runs, table, figure_path, caption, *, n_new_models, elapsed_s):
    """Write the sweep's ``report.md`` and ``report.html``; returns the Markdown path."""
    from ._record import _command
    from setlearn.utils._versions import REPORT_PACKAGES, package_versions

    sweep = config.sweep
    study = PAPER_SIDE_EXPERIMENTS.get(sweep.parameter)
    title = _study_title(sweep.parameter)
    links = pd.DataFrame([{sweep.parameter: str(value), "models in its models.csv": len(run.models),
                           "report": f"[sweep/{sweep.folder_name(value)}/report.md]"
                                     f"(sweep/{sweep.folder_name(value)}/report.md)"}
                          for value, run in runs.items()])
    if study is not None:
        beside = (f"The study's {study.figure} ({study.setting}): {study.statement} The study prints no table "
                  f"for it, so its numbers here are read off the figure and approximate.")
    else:
        beside = f"The study has no side experiment over {sweep.parameter}: there is nothing to set beside ours."
    versions = {name: version or "not installed" for name, version in package_versions(REPORT_PACKAGES).items()}
    text = f"""# setlearn assess report: {title}

{CITATION}

{config.description}

## Ours beside the study

{beside}

Per task and value of `{sweep.parameter}`: test iAUC-ROC, iAUC-PR and bag accuracy as mean ± sample sd
over the models, and the 95% interval of the mean (Student's t, clipped to [0, 1]; none with a single
model). Also in `tables/sweep_{sweep.parameter}.csv`.

{_markdown(_display_table(table, sweep.parameter))}

{chr(10).join(_findings(table, sweep.parameter))}

## Figure: {title}

![sweep_{sweep.parameter}](figures/{figure_path.name})

*Figure.* {caption}

## Which models

One sub-run per value: a complete `setlearn assess` run of the configuration with `{sweep.parameter}`
set to the value ({'in `data_params`' if sweep.varies_data else 'in `estimator_params`'}), in its
own folder with its own report. Counted per value: the retrained models, and where the sub-run's grid
is a single configuration (nothing is selected) its search models too. Every sub-run derives its data
and model seeds from the same `seed`, so the values are compared on the same draws.

{_markdown(links)}

{_reproducibility(versions, _command(), [
    ("Configuration", "`config.json` (the sweep included); every sub-run's own in its folder."),
    ("Wall time", f"{elapsed_s:.0f} s for this call; {n_new_models} models trained by it."),
])}
"""
    return _write_report_files(out, text, f"setlearn assess report: sweep over {sweep.parameter}")
