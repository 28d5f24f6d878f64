"""An assessment's figures and report (Markdown and HTML), rendered from its record and tables.

What is rendered is a :class:`_Page`: a :class:`StudyRecord` (the run folder, read), the
tables computed from it (``_tables.write_tables``), the figures, and this call's facts.
The report is a list of sections (:data:`_SECTIONS`), each a function of the page that
returns Markdown (or "" to leave itself out); adding a section is one line. Every
sentence that states a finding is computed from the rows: a claim appears only when the
numbers show it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import functools
import html
import math
import os
import platform

import numpy as np
import pandas as pd
from ._explainers import _report_section
from ._audit import audit_headline, audit_report_section
from ._paper import PAPER_TABLE1, PAPER_TABLE2, PAPER_TABLE3
from ._tables import _markdown, _retrained

CITATION = ('J. Haab, N. Deutschmann, M. Rodríguez Martínez, "Is Attention Interpretation? A Quantitative '
            'Assessment On Sets", arXiv:2207.13018 (2022); NeurIPS 2022 workshop "All Things Attention".')
"""The study :func:`setlearn.assess` reproduces, as the report cites it."""

# Modalities whose instances are images: the report shows bags of them as pictures.
_IMAGE_MODALITIES = ("digits", "mnist")
# The thresholds of the silent-failure table (table_silent_failures' defaults).
_ACCURATE, _GOOD_IAUC = 0.9, 0.9
# Short names of the usual grid parameters, for figure labels.
_SHORT_NAMES = {"hidden_size": "hid", "attention_size": "att", "featurizer_depth": "feat", "classifier_depth": "clf"}
_LONG_NAMES = {"hidden_size": "hidden size", "attention_size": "attention size",
               "featurizer_depth": "featurizer depth", "classifier_depth": "classifier depth"}
_KIND_WORDS = {"one": "one configuration", "several": "several configurations"}

# --------------------------------------------------------------------------- outputs


# --------------------------------------------------------------------------- what is rendered


@dataclasses.dataclass(frozen=True)
class _Page:
    """What the report renders: a run's record and tables, its figures, and this call's facts.

    Parameters
    ----------
    record : StudyRecord
        The run folder, read.
    tables : dict of str to pandas.DataFrame
        Its tables (``_tables.write_tables``).
    figures : dict of str to pathlib.Path
        The saved figures, by name.
    captions : dict of str to str
        One caption per figure.
    n_new_models : int
        Models trained by this call.
    elapsed_s : float
        Seconds this call took up to the report.
    """

    record: object
    tables: dict
    figures: dict
    captions: dict
    n_new_models: int
    elapsed_s: float

    # The record's parts, as the sections read them.
    config = property(lambda self: self.record.config)
    models = property(lambda self: self.record.models)
    ensembles = property(lambda self: self.record.ensembles)
    audit = property(lambda self: self.record.audit)
    top = property(lambda self: self.record.top)
    out = property(lambda self: self.record.out)


# --------------------------------------------------------------------------- configurations


def _plain(value):
    """8.0 -> 8: grid values read back from CSV as floats print as the integers they were."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value


def _configurations(record):
    """One row per retrained configuration: its id decoded into the grid's parameters."""
    retrained = _retrained(record.models)
    params = [c for c in record.config.grid_parameters if c in retrained.columns]
    rows = []
    for config_id, group in retrained.groupby("config_id", sort=True):
        first = group.iloc[0]
        values = {name: _plain(first[name]) for name in params if not pd.isna(first[name])}
        tasks = record.top[record.top["config_id"] == config_id]
        rows.append({
            "config_id": config_id, "values": values,
            "label": _label(values) if values else config_id,
            "tasks": ", ".join(f"{r.modality} {r.problem.upper()} #{r.rank}" for r in tasks.itertuples()),
        })
    return rows


def _label(values):
    """A short figure label, two parameters a line: 'hid 8 att 2' / 'feat 1 clf 2'."""
    parts = [f"{_SHORT_NAMES.get(name, name)} {value}" for name, value in values.items()]
    return "\n".join(" ".join(parts[i:i + 2]) for i in range(0, len(parts), 2))


# --------------------------------------------------------------------------- figures


def _facet(groups, draw, title, config):
    """One panel per task (in the config's order), on a figure that needs no display (Agg)."""
    from matplotlib.figure import Figure

    order = {(m, p): i for i, (m, p) in enumerate((m, p) for m in config.modalities for p in config.problems)}
    groups = sorted(groups, key=lambda group: order[group[0]])
    ncols = min(3, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    fig = Figure(figsize=(4.6 * ncols, 3.8 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, ((modality, problem), frame) in zip(axes, groups):
        draw(frame, ax=ax)
        ax.set_title(f"{modality} {problem.upper()}")
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    from setlearn.plotting import set_figure_title

    set_figure_title(fig, title)  # wrapped: one panel is narrower than the title
    return fig


def _bad_curve_ymax(curve):
    """One y scale for every panel: the highest upper 95 % bound, at least 5 %."""
    from setlearn.plotting import wilson_interval

    if not len(curve):
        return 5.0
    _, high = wilson_interval(np.round(curve["pct_bad"] / 100 * curve["n"]), curve["n"])
    return max(5.0, 105 * float(high.max()))


def _pick_bag_models(frame, bad_iauc):
    """(good or None, silent failure or None): two different models among a task's retrained models.

    Silent failure: a model at least as accurate as ``_ACCURATE`` on validation
    whose explanation is bad (iAUC-ROC <= ``bad_iauc``), the worst such
    explanation. Good: among the other models, the most accurate ones' best
    explanation (None when the silent failure is the only model).
    """
    accurate = frame[frame["valid_accuracy"] >= _ACCURATE]
    failing = accurate[accurate["iauc_roc"] <= bad_iauc]
    silent = failing.sort_values(["iauc_roc", "valid_accuracy", "config_id", "repeat"],
                                 ascending=[True, False, True, True]).iloc[0] if len(failing) else None
    others = frame if silent is None else frame.drop(index=silent.name)
    if not len(others):
        return None, silent
    pool = others[others["valid_accuracy"] >= _ACCURATE]
    pool = pool if len(pool) else others
    good = pool.sort_values(["valid_accuracy", "iauc_roc", "config_id", "repeat"],
                            ascending=[False, False, True, True]).iloc[0]
    return good, silent


def _bag_figures(record, labels):
    """For image tasks: one test bag as the good and the silently failing model saw it.

    The bag is the positive test bag where the silently failing model's
    attention is worst (its lowest per-bag iAUC-ROC), shown for both models; with
    no silent failure, the first positive test bag that can be scored.
    """
    from matplotlib.figure import Figure

    from setlearn import plotting
    from setlearn.metrics import importance_auroc_score

    figures = {}
    cfg = record.config
    bad = cfg.bad_iauc
    groups = dict(list(_retrained(record.models).groupby(["modality", "problem"])))
    for modality, problem in [(m, p) for m in cfg.modalities for p in cfg.problems]:
        frame = groups.get((modality, problem))
        if modality not in _IMAGE_MODALITIES or frame is None:
            continue
        X, y, importance = record.test_bags(problem, modality)
        good, silent = _pick_bag_models(frame, bad)
        best = "good explanation" if good is not None and good["iauc_roc"] >= _GOOD_IAUC else "best explanation found"
        shown = [(suffix, row, what) for suffix, row, what in
                 [("", good, best), ("_silent_failure", silent, "silent failure")] if row is not None]
        keys = {suffix: (problem, modality, "retrain", row["config_id"], int(row["repeat"])) for suffix, row, _ in shown}
        attention = {key: record.attention(key) for key in keys.values()}
        per_bag = {key: importance_auroc_score(importance, attention[key], y=y, return_details=True).per_bag
                   for key in keys.values()}
        # NaN for negative bags and bags that cannot be scored; nanargmin skips them.
        scores = per_bag[keys[shown[-1][0]]]
        bag = int(np.nanargmin(scores) if silent is not None else np.flatnonzero(~np.isnan(scores))[0])
        which = ("the positive test bag where the silent failure's attention is worst" if silent is not None
                 else "the first positive test bag")
        task = f"{modality} {problem.upper()}"
        for suffix, row, what in shown:
            key = keys[suffix]
            model = f"{row['config_id']} seed r{int(row['repeat'])}"
            title = (f"{task}, test bag {bag}: {what} (model {model}, validation accuracy "
                     f"{row['valid_accuracy']:.2f}; iAUC-ROC {per_bag[key][bag]:.2f} on this bag, "
                     f"{row['iauc_roc']:.2f} on all)")
            fig = plotting.plot_bag_attention(X[bag], attention[key][bag], importance=importance[bag],
                                              max_instances=40, title=title, fig=Figure())
            label = labels.get(row["config_id"], row["config_id"]).replace("\n", " ")
            caption = (f"Test bag {bag} of {task} ({which}) with the attention of retrained model {model} "
                       f"({label}): validation accuracy {row['valid_accuracy']:.2f}, iAUC-ROC "
                       f"{per_bag[key][bag]:.2f} on this bag and {row['iauc_roc']:.2f} over all positive test "
                       f"bags. ")
            if suffix:
                caption += (f"A silent failure: validation accuracy >= {_ACCURATE} but iAUC-ROC <= {bad}, the worst "
                            f"such explanation among the task's {len(frame)} retrained models.")
            else:
                caption += (f"The best explanation among the most accurate of the task's {len(frame)} retrained "
                            f"models.")
                if silent is None:
                    caption += (f" No retrained model of this task reached validation accuracy >= {_ACCURATE} "
                                f"with iAUC-ROC <= {bad}, so there is no silent failure to show beside it.")
            figures[f"{modality}_{problem}_bag{suffix}"] = (fig, caption + " Key under the images.")
    return figures


def _pca_models(frame):
    """(good, bad) for the PCA figure: the most accurate models' best explanation and the task's worst
    explanation among the other models; None when the task has a single retrained model."""
    if len(frame) < 2:
        return None
    order = ["valid_accuracy", "iauc_roc", "config_id", "repeat"]
    good = frame.sort_values(order, ascending=[False, False, True, True]).iloc[0]
    rest = frame.drop(index=good.name)
    bad = rest.sort_values(["iauc_roc", "valid_accuracy", "config_id", "repeat"],
                           ascending=[True, False, True, True]).iloc[0]
    return good, bad


def _pca_figures(record, labels):
    """For Gaussian tasks, the study's Fig. 3: the positive test bags' instances on their first two
    principal components, coloured by instance label and by a good and a bad model's attention."""
    from matplotlib.figure import Figure

    from setlearn import plotting

    figures = {}
    cfg = record.config
    groups = dict(list(_retrained(record.models).groupby(["modality", "problem"])))
    for modality, problem in [(m, p) for m in cfg.modalities for p in cfg.problems]:
        frame = groups.get((modality, problem))
        if modality != "gaussian" or frame is None or (pair := _pca_models(frame)) is None:
            continue
        X, y, importance = record.test_bags(problem, modality)
        positive = [i for i in range(len(X)) if np.asarray(importance[i]).any()]
        bags, truth = [X[i] for i in positive], [importance[i] for i in positive]
        fig = Figure(figsize=(14, 4.2), layout="constrained")
        axes = fig.subplots(1, 3)
        plotting.plot_attention_pca(bags, importance=truth, ax=axes[0])
        axes[0].set_title("instance label")
        described = []
        for ax, row, what in zip(axes[1:], pair, ("good", "bad")):
            key = (problem, modality, "retrain", row["config_id"], int(row["repeat"]))
            attention = record.attention(key)
            plotting.plot_attention_pca(bags, [attention[i] for i in positive], importance=truth, ax=ax)
            model = f"{row['config_id']} seed r{int(row['repeat'])}"
            ax.set_title(f"{what}: {model}\nvalidation accuracy {row['valid_accuracy']:.2f}, "
                         f"iAUC-ROC {row['iauc_roc']:.2f}", fontsize=9)
            label = labels.get(row["config_id"], row["config_id"]).replace("\n", " ")
            described.append(f"{what}: retrained model {model} ({label}; validation accuracy "
                             f"{row['valid_accuracy']:.2f}, iAUC-ROC {row['iauc_roc']:.2f})")
        plotting.set_figure_title(fig, f"{_task(modality, problem)}: instances of the positive test bags, "
                                       f"first two principal components")
        caption = (f"The study's Fig. 3 for {_task(modality, problem)}: the instances of the {len(bags)} positive "
                   f"test bags on their first two principal components; triangles are the important instances. "
                   f"Left: coloured by instance label; middle and right: by attention relative to uniform "
                   f"(attention x bag size; 1 = uniform). {described[0][0].upper() + described[0][1:]} (the best "
                   f"explanation among the most accurate of the task's {len(frame)} retrained models); "
                   f"{described[1]} (the worst explanation among the others"
                   + (f", a bad one: iAUC-ROC <= {cfg.bad_iauc})." if pair[1]["iauc_roc"] <= cfg.bad_iauc else
                      f"; none is bad, iAUC-ROC <= {cfg.bad_iauc}).")
                   + " A working model is near-constant on the unimportant instances and high on the important "
                   "ones; a bad one is near-uniform or points elsewhere.")
        figures[f"{modality}_{problem}_attention_pca"] = (fig, caption)
    return figures


def _search_figure(models, cfg):
    """Validation accuracy against test iAUC-ROC of every search model, one panel per task.

    ``(figure, caption)``, or None without search models. The study's Fig. 4 is drawn over
    the retrained models; this one covers the whole grid (every configuration x seed), which
    is where a silent failure outside the top configurations shows.
    """
    from setlearn import plotting

    search = models[models["stage"] == "search"]
    if search.empty:
        return None
    figure = _facet(list(search.groupby(["modality", "problem"])),
                    functools.partial(plotting.plot_accuracy_vs_iauc, good=_ACCURATE),
                    "Validation accuracy vs test iAUC-ROC, search models", cfg)
    caption = (f"Every search model ({len(search)}: each configuration of the grid x its seeds), validation "
               f"accuracy against test iAUC-ROC, per task, drawn as Fig. 4 is. Each cell prints its number of "
               f"models; dashed lines at accuracy {_ACCURATE} and iAUC-ROC {_GOOD_IAUC}. The counts per grid "
               f"value are in *The search by grid value*.")
    return figure, caption


def _figures(record, tables):
    """Every figure of the report, drawn but not saved: ``{name: (figure, caption)}``."""
    from setlearn import plotting

    cfg = record.config
    tasks = ["modality", "problem"]
    retrained = _retrained(record.models)
    labels = {row["config_id"]: row["label"] for row in _configurations(record)}
    n_retrained = len(retrained)
    from matplotlib.figure import Figure

    pooled = Figure(figsize=(5.2, 4.2), layout="constrained")
    plotting.plot_accuracy_vs_iauc(retrained, good=_ACCURATE, ax=pooled.subplots())
    plotting.set_figure_title(pooled, "Validation accuracy vs test iAUC-ROC, all retrained models")
    accurate = retrained[retrained["valid_accuracy"] >= _ACCURATE]
    bins = ""
    if len(accurate):
        edges = [(0.9, 1.01), (0.8, 0.9), (0.7, 0.8), (0.6, 0.7), (0.5, 0.6), (0.0, 0.5)]
        shares = [((accurate["iauc_roc"] >= lo) & (accurate["iauc_roc"] < hi)).mean() for lo, hi in edges]
        bins = (f" Of the {len(accurate)} models at validation accuracy >= {_ACCURATE}: "
                + ", ".join(f"{_pct(100 * share)} at iAUC-ROC {lo:.1f}–{min(hi, 1.0):.1f}" if lo else
                            f"{_pct(100 * share)} below 0.5" for share, (lo, hi) in zip(shares, edges))
                + " (the study: 64, 16, 6, 6, 3 and 3 % of 3,021).")
    figures = {
        "iauc_by_configuration": (
            _facet(list(retrained.groupby(tasks)),
                   functools.partial(plotting.plot_iauc_by_configuration, threshold=cfg.bad_iauc, labels=labels),
                   "Test iAUC-ROC of the retrained top configurations", cfg),
            f"The study's Fig. 2: test iAUC-ROC of every retrained model ({n_retrained} models: the top "
            f"{cfg.top_k} configurations "
            f"of each task x {cfg.n_retrain} seeds), one box per configuration (median and quartiles, whiskers "
            f"to 1.5 x IQR) and every model as a dot, jittered sideways. Dashed: the bad-explanation threshold "
            f"{cfg.bad_iauc}. Labels: hid = hidden size, att = attention size, feat / clf = featurizer / "
            f"classifier depth (see *Configurations*)."),
        **_pca_figures(record, labels),
        "accuracy_vs_iauc_all": (
            pooled,
            f"The study's Fig. 4: validation accuracy against test iAUC-ROC over all {n_retrained} retrained "
            f"models of every task (the study: 4,500). Each cell prints its number of models; dashed lines at "
            f"accuracy {_ACCURATE} and iAUC-ROC {_GOOD_IAUC}.{bins} Per task: the next figure."),
        "accuracy_vs_iauc": (
            _facet(list(retrained.groupby(tasks)), functools.partial(plotting.plot_accuracy_vs_iauc, good=_ACCURATE),
                   "Validation accuracy vs test iAUC-ROC (retrained models)", cfg),
            f"The study's Fig. S.19, per task: the {n_retrained} retrained models (the same models as the "
            f"silent-failure sentence; the search "
            f"models are left out): validation accuracy against test iAUC-ROC. Each cell prints its number of "
            f"models; the shading is logarithmic and empty cells are blank. Dashed lines at accuracy "
            f"{_ACCURATE} and iAUC-ROC {_GOOD_IAUC}: models right of the vertical line and below the horizontal "
            f"one are accurate but explain worse than {_GOOD_IAUC}."),
    }
    search_figure = _search_figure(record.models, cfg)
    if search_figure is not None:
        figures["search_accuracy_vs_iauc"] = search_figure
    if len(record.ensembles):  # with max_ensemble_size 1 the curve would be a single point
        curve = tables["bad_by_ensemble_size"]
        figures["bad_vs_ensemble_size"] = (
            _facet(list(curve.groupby(tasks)),
                   functools.partial(plotting.plot_bad_vs_ensemble_size, ymax=_bad_curve_ymax(curve)),
                   f"% bad explanations (iAUC-ROC <= {cfg.bad_iauc}) vs ensemble size", cfg),
            f"The study's Fig. S.22 (S.6): % of bad explanations (iAUC-ROC <= {cfg.bad_iauc}) against "
            f"ensemble size. Size 1: the task's "
            f"{cfg.top_k * cfg.n_retrain} retrained single models; sizes 2 to {cfg.max_ensemble_size}: "
            f"{cfg.n_ensembles} random ensembles per size and kind, their members' test attention averaged. "
            f"Circles (solid): members from one configuration; squares (dashed): members from the top "
            f"{cfg.top_k} configurations, shifted sideways so that equal values stay visible. Bars: 95% "
            f"Wilson intervals of the proportion over the distinct ensembles (draws that repeat a member "
            f"set count once; see *Do ensembles help?*). All panels share one y scale.")
    figures.update(_bag_figures(record, labels))
    return figures


def _write_figures(record, tables):
    """Draw and save the figures of a run; returns ``(paths, captions)``, both by figure name."""
    folder = record.out / "figures"
    folder.mkdir(exist_ok=True)
    paths, captions = {}, {}
    for name, (fig, caption) in _figures(record, tables).items():
        paths[name] = folder / f"{name}.png"
        fig.savefig(paths[name], dpi=110)
        captions[name] = caption
    return paths, captions


# --------------------------------------------------------------------------- report sections


def _number(value, spec):
    """A number for the report; "–" for a missing one (no ensembles, no published value)."""
    return "–" if pd.isna(value) else format(value, spec)


def _pct(value):
    """A percentage for a sentence: 0, 12.5, 100 ('%g' keeps 0 and 100 short, but 1 decimal)."""
    return f"{float(value):.1f}".removesuffix(".0") + "%"


def _share_with_interval(k, n):
    """``k`` of ``n`` as a percentage with its 95% Wilson interval, for a sentence or a cell."""
    from setlearn.plotting import wilson_interval

    low, high = wilson_interval(k, n)
    return f"{_pct(k / n * 100)}, CI {_pct(low * 100)}–{_pct(high * 100)}"


def _task(modality, problem):
    return f"{modality} {problem.upper()}"


def _join(items):
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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


def _preset_and_overrides(config):
    """The preset the configuration started from, its description, and how the configuration differs.

    Returns (preset, description, overrides), overrides as readable "key: preset value -> value"
    strings (see :meth:`StudyConfig.preset_changes`).
    """
    preset, description, changes = config.preset_changes()
    return preset, description, [f"`{key}`: {old} -> {new}" for key, old, new in changes]


def _section_title(page):
    cfg = page.config
    preset, base_description, overrides = _preset_and_overrides(cfg)
    description = cfg.description
    if overrides:
        # A preset's description (its size, its run time) is not true of a changed configuration.
        about = (f"A custom configuration based on preset `{preset}`, with {len(overrides)} "
                 f"override{'s' if len(overrides) > 1 else ''} (listed under *Reproducibility*).")
        if description and description != base_description:
            about += f" Its description: {description}"
    else:
        about = f"Preset `{preset}`: {description}" if description else f"Preset `{preset}`."
    n_search = int((page.models["stage"] == "search").sum())
    n_retrain = int((page.models["stage"] == "retrain").sum())
    ensembles = (f"{len(page.ensembles)} ensembles (2 to {cfg.max_ensemble_size} members x "
                 f"{cfg.n_ensembles} draws per size and kind)" if cfg.max_ensemble_size > 1 else
                 "no ensembles (max_ensemble_size 1)")
    tasks = _join([_task(m, p) for m in cfg.modalities for p in cfg.problems])
    audit = page.tables.get("audit")
    leak_line = audit_headline(audit) + "\n\n" if audit is not None and len(audit) else ""
    return f"""# setlearn assess report

{leak_line}Does a model's attention point at the instances that decide a bag's label? This report reproduces,
at a smaller scale, the protocol of {CITATION}

{about}

Tasks: {tasks}. {n_search} search models ({cfg.search_seeds} seed{'s' if cfg.search_seeds > 1 else ''} per configuration), {n_retrain}
retrained models (top {cfg.top_k} configurations x {cfg.n_retrain} seed{'s' if cfg.n_retrain > 1 else ''} per task), {ensembles};
{cfg.n_train_bags} training bags of {cfg.bag_size} instances,
{cfg.estimator_params.get('max_epochs', 'the default number of')} epochs. Configuration: `config.json`;
one row per model: `models.csv`; one row per ensemble: `ensembles.csv`; tables: `tables/`."""


def _section_study(page):
    cfg, t = page.config, page.tables
    notes = []
    if "digits" in cfg.modalities:
        notes.append("*Data:* `digits` (scikit-learn's 8x8 digits, 3 = population 1, 9 = population 2) is a "
                     "smaller stand-in for the study's MNIST; the study's MNIST numbers stand beside `mnist` only.")
    return f"""## Ours beside the study

Mean test iAUC-ROC over the top-{cfg.top_k} configurations (bad configurations: at least
{cfg.bad_run_fraction:.0%} of runs with iAUC-ROC < {cfg.bad_iauc}) — the study's Table 1 — and the % of bad
explanations (iAUC-ROC <= {cfg.bad_iauc}) of single models and of the largest ensembles — its Table 3.
The study used the top 5 configurations, 100 retrains and ensembles of 20; smaller runs are noisier.
{chr(10).join(notes)}

{_markdown(_paper_comparison(t['top_configurations'], t['ensembles']))}"""


def _accuracy_sentence(t2):
    rho = t2["spearman_rho"].dropna()
    if rho.empty:
        return ("Spearman's rho is undefined for every configuration (all its runs equally accurate, or "
                "equally good at explaining), so accuracy cannot rank explanations here.")
    text = (f"Over {len(rho)} configurations with a defined rho, it ranged from {rho.min():.2f} to "
            f"{rho.max():.2f} (the study: -0.01 to 0.62); ")
    weak = int((rho < 0.5).sum())
    text += (f"in {weak} of them it is below 0.5: choosing the most accurate run would not reliably choose "
             f"the best explanation." if weak else
             "every one is at least 0.5: here the more accurate runs also tend to explain better.")
    spread = t2["delta_iauc_roc"].max()
    text += (f" Among the most accurate tenth of a configuration's runs, iAUC-ROC still spreads by up to "
             f"{spread:.2f} (Delta-iAUC).")
    return text


def _table2(by_task):
    """Table 2 per task as the study reports it, ours beside the published rho."""
    rows = []
    for r in by_task.itertuples(index=False):
        paper = PAPER_TABLE2.get((r.modality, r.problem))
        rho = ("–" if pd.isna(r.rho_mean) else f"{r.rho_mean:.2f}" + ("" if pd.isna(r.rho_sd) else
                                                                      f" ± {r.rho_sd:.2f}"))
        rows.append({
            "data": r.modality, "problem": r.problem.upper(),
            "rho, mean ± sd (ours)": f"{rho} ({r.n_defined_rho} of {r.n_configurations} configs)",
            "(paper)": f"{paper[0]:.2f} ± {paper[1]:.2f}" if paper else "–",
            "highest Delta-iAUC (config)": f"{_number(r.delta_iauc_highest, '.2f')} (`{r.delta_iauc_highest_config}`)",
            "lowest Delta-iAUC (config)": f"{_number(r.delta_iauc_lowest, '.2f')} (`{r.delta_iauc_lowest_config}`)",
            "largest top tenth (of runs)": f"{r.max_top_decile} of {r.n_models}",
        })
    return pd.DataFrame(rows)


def _section_accuracy(page):
    t2 = page.tables["accuracy_vs_iauc"]
    by_task = page.tables["accuracy_vs_iauc_by_task"]
    return f"""## Does accuracy tell you the explanation is good?

The study's Table 2, per task: Spearman's rho between validation accuracy and test iAUC-ROC over one
configuration's retrains, as mean ± sd (sample sd) over the task's top configurations where it is
defined, and the highest and lowest Delta-iAUC among them. Delta-iAUC is max - min iAUC-ROC among a
configuration's most accurate tenth of runs: the ceil(n / 10) runs of highest validation accuracy plus
every run tied with the last of them (ties at 100 % accuracy are common, so the "tenth" can be larger;
the last column gives its largest size). {_accuracy_sentence(t2)} ("–": every run equally accurate,
rho undefined.) Per configuration: `tables/accuracy_vs_iauc.csv`; per task:
`tables/accuracy_vs_iauc_by_task.csv`.

{_markdown(_table2(by_task))}

{_silent_sentence(page.tables["silent_failures"])}"""


_FAILURE_WORDS = {
    "untrained": "validation accuracy < 0.9: the model did not learn the task",
    "one-population": "attention finds one deciding population (iAUC >= 0.65) and not another",
    "inverted": "every deciding population ranked below the unimportant instances (iAUC <= 0.35)",
    "diffuse": "no deciding population ranked clearly above the unimportant ones",
}


def _section_bad_models(page):
    """Why the bad explanations fail: every bad model classified from its per-population iAUC."""
    table = page.tables.get("bad_models")
    if table is None or not len(table):
        return ""
    top = page.tables["top_configurations"].set_index(["modality", "problem"])
    populations = [c for c in top.columns if c.startswith("mean_iauc_roc_pop")]
    rows = []
    for r in table.to_dict("records"):  # "one-population" is no attribute name
        row = {"data": r["modality"], "problem": r["problem"].upper(), "retrained": r["n_models"],
               f"bad (iAUC-ROC <= {page.config.bad_iauc})": r["n_bad"]}
        row.update({kind: r[kind] for kind in _FAILURE_WORDS})
        if table["unclassified"].any():
            row["unclassified"] = r["unclassified"]
        for column in populations:
            value = top.loc[(r["modality"], r["problem"]), column]
            row[f"mean iAUC-ROC, population {column.removeprefix('mean_iauc_roc_pop')}"] = _number(value, ".2f")
        rows.append(row)
    frame = pd.DataFrame(rows)
    totals = {kind: int(table[kind].sum()) for kind in _FAILURE_WORDS}
    n_bad = int(table["n_bad"].sum())
    if n_bad == 0:
        finding = "No retrained model explains badly, so there is no failure to classify."
    else:
        counted = [f"{count} {kind}" for kind, count in sorted(totals.items(), key=lambda kv: -kv[1]) if count]
        finding = (f"Of {n_bad} bad explanations among {int(table['n_models'].sum())} retrained models: "
                   + (_join(counted) if counted else "none classified") + ".")
        if int(table["unclassified"].sum()):
            finding += (f" {int(table['unclassified'].sum())} could not be classified: their rows have no "
                        f"per-population iAUC (a `models.csv` from before it was stored).")
        if int(table["good"].sum()):
            finding += (f" {int(table['good'].sum())} find every deciding population (each iAUC >= 0.65) though "
                        f"their pooled iAUC-ROC is at the threshold.")
    kinds = "\n".join(f"- **{kind}**: {words}" for kind, words in _FAILURE_WORDS.items())
    return f"""## Why do bad explanations fail?

The pooled iAUC-ROC cannot tell attention that finds one deciding population and avoids the other
(iAUC ~0.5 on AND/XOR) from near-uniform attention. The iAUC of each deciding population against the
unimportant instances (`iauc_roc_pop<k>` in `models.csv`) can: every retrained model with iAUC-ROC <=
{page.config.bad_iauc} is classified (`setlearn.inspection.classify_bad_model`, tested in this order) as

{kinds}

{finding} Per model: `tables/bad_model_kinds.csv`. The last columns: mean iAUC-ROC of each deciding
population over all retrained models of the task ("–": the task has no such population).

{_markdown(frame)}"""


def _grid_value_lines(table, modality, problem, bad_iauc, *, with_count=True):
    """One task's rows of ``search_by_grid_value`` as a sentence and a Markdown table ([] if none).

    ``with_count=False`` leaves the task's count of silent failures out of the sentence, for a
    page that already states it (the progress report's task line).
    """
    rows = table[(table["modality"] == modality) & (table["problem"] == problem)]
    if rows.empty:
        return []
    silent = rows[rows["n_silent"] > 0]
    values = _join([f"{_LONG_NAMES.get(r.parameter, r.parameter)} {r.value} ({r.n_silent})"
                    for r in silent.itertuples()]) if len(silent) else ""
    if with_count:
        # Every search model has one value of each parameter: the first parameter's rows count them all.
        first = rows[rows["parameter"] == rows["parameter"].iloc[0]]
        n_models, n_accurate, n_silent = (int(first[c].sum()) for c in ("n_models", "n_accurate", "n_silent"))
        share = _share_with_interval(n_silent, n_accurate) if n_accurate else "none accurate"
        sentence = (f"**{_task(modality, problem)}**: {n_silent} of {n_accurate} accurate search models are silent "
                    f"failures (iAUC-ROC <= {bad_iauc}; {share}), of {n_models} search models in all.")
        if len(silent):
            sentence += f" The grid values they have: {values}."
    else:
        sentence = f"**{_task(modality, problem)}**: " + (
            f"the silent failures' grid values: {values}." if len(silent) else "no silent failure so far.")
    frame = pd.DataFrame({
        "parameter": rows["parameter"].map(lambda name: _LONG_NAMES.get(name, name)), "value": rows["value"],
        "models": rows["n_models"], "accurate": rows["n_accurate"], "silent failures": rows["n_silent"],
        "mean iAUC-ROC": rows["mean_iauc_roc"], "lowest iAUC-ROC, accurate": rows["lowest_accurate_iauc_roc"]})
    return [sentence, _markdown(frame)]


def _section_search_by_grid_value(page):
    table = page.tables.get("search_by_grid_value")
    if table is None or table.empty:
        return ""
    lines = []
    for modality, problem in dict.fromkeys(table[["modality", "problem"]].itertuples(index=False)):
        lines += _grid_value_lines(table, modality, problem, page.config.bad_iauc)
    body = "\n\n".join(lines)
    return f"""## The search by grid value

Every search model (all configurations x seeds, test data used only for the iAUC) counted by the
value it has of each grid parameter: how many are accurate (validation accuracy >= {_ACCURATE}) and how
many of those explain badly. It says where in the grid silent failures occur, beyond the top
configurations that are retrained (`tables/search_by_grid_value.csv`).

{body}"""


def _silent_sentence(table):
    rows = table.set_index("modality")
    if "all" not in rows.index:
        return ""
    silent = rows.loc["all"]
    if silent.n_accurate == 0:
        return (f"No retrained model reached validation accuracy >= {_ACCURATE} (the study: 3,021 did), so "
                f"there is no silent failure to count.")
    n_bad = int(round(silent.n_accurate * (1 - silent.pct_good_iauc / 100)))
    return (f"Of {silent.n_accurate} retrained models with validation accuracy >= {_ACCURATE}, "
            f"{silent.pct_good_iauc:.0f}% reach iAUC-ROC >= {_GOOD_IAUC} (the study: 64% of 3,021); "
            f"{n_bad} do not — silent failures — and the lowest iAUC-ROC among them is "
            f"{silent.min_iauc_roc:.2f}.")


def _ensemble_findings(table, curve):
    """Sentences on what ensembles did, one per task and an overall one, from Table 3.

    Returns a list of Markdown lines. "removed" is said only where the largest
    ensembles have no bad explanation left while single models had some, and the
    overall sentences only when every task agrees.
    """
    from setlearn.plotting import wilson_interval

    def interval(modality, problem, kind, size):
        row = curve[(curve["modality"] == modality) & (curve["problem"] == problem) & (curve["kind"] == kind)
                    & (curve["size"] == size)].iloc[0]
        low, high = wilson_interval(round(row["pct_bad"] / 100 * row["n"]), row["n"])
        return float(low) * 100, float(high) * 100, int(row["n"]), int(row["n_draws"])

    lines, changes = [], []
    for r in table.itertuples(index=False):
        task = _task(r.modality, r.problem)
        if pd.isna(r.ensemble_size):
            lines.append(f"- {task}: no ensembles; {_pct(r.pct_bad_single)} of single models explain badly.")
            continue
        size = int(r.ensemble_size)
        s_low, s_high, s_n, _ = interval(r.modality, r.problem, "one", 1)
        parts = []
        for kind, value in [("one", r.pct_bad_one_configuration), ("several", r.pct_bad_several_configurations)]:
            if pd.isna(value):
                if kind == "several":
                    parts.append("from several configurations: not a separate result, as the task's retrained "
                                 "models all come from one configuration")
                continue
            low, high, n, n_draws = interval(r.modality, r.problem, kind, size)
            if value < r.pct_bad_single:
                verb = "removed every one" if value == 0 else f"lowered it to {_pct(value)}"
            elif value > r.pct_bad_single:
                verb = f"raised it to {_pct(value)}"
            else:
                verb = "left it unchanged"
            overlap = not (high < s_low or low > s_high)
            counted = (f"{n} distinct ensembles" if n == n_draws else
                       f"only {n} distinct ensembles in {n_draws} draws, the interval over the {n}")
            parts.append(f"from {_KIND_WORDS[kind]} {verb} (95% CI {low:.0f}–{high:.0f}%, {counted}"
                         + ("; overlaps the single models' interval" if overlap and value != r.pct_bad_single
                            else "") + ")")
            changes.append((task, kind, r.pct_bad_single, value, overlap))
        lines.append(f"- {task}: {_pct(r.pct_bad_single)} of {s_n} single models explain badly (95% CI "
                     f"{s_low:.0f}–{s_high:.0f}%); ensembles of {size} " + "; ".join(parts) + ".")
    if not changes:
        return lines
    worse = sorted({task for task, _, single, value, _ in changes if value > single})
    had_bad = [c for c in changes if c[2] > 0]
    if worse:
        verdict = (f"Ensembles made things worse in {_join(worse)}: there the largest ensembles had more bad "
                   f"explanations than single models, so averaging attention did not protect against them.")
    elif not had_bad:
        verdict = "No single model explained badly, so the ensembles had nothing to improve on."
    elif all(value == 0 for _, _, _, value, _ in had_bad):
        verdict = ("In every task where single models explained badly, the largest ensembles removed every "
                   "bad explanation (both kinds of ensemble).")
    elif all(value < single for _, _, single, value, _ in had_bad):
        verdict = ("The largest ensembles had fewer bad explanations than single models in every task where "
                   "single models had any, but not none.")
    else:
        verdict = "The largest ensembles changed the share of bad explanations in some tasks only."
    noisy = [c for c in changes if c[4] and c[3] != c[2]]
    if noisy:
        verdict += (f" In {len(noisy)} of {len(changes)} comparisons the 95% intervals overlap: more retrains "
                    f"or draws are needed to tell these differences from chance.")
    by_task = {}
    for task, kind, _, value, _ in changes:
        by_task.setdefault(task, {})[kind] = value
    # Only tasks where both kinds are separate results are compared.
    by_task = {task: values for task, values in by_task.items() if len(values) == 2}
    if not by_task:
        return lines + ["", verdict]
    comparison = {"better": sum(v["several"] < v["one"] for v in by_task.values()),
                  "worse": sum(v["several"] > v["one"] for v in by_task.values())}
    comparison["as well"] = len(by_task) - comparison["better"] - comparison["worse"]
    verdict += (" Compared with members from one configuration, members from several did "
                + "; ".join(f"{word} in {count} of {len(by_task)} task{'s' if len(by_task) > 1 else ''}"
                            for word, count in comparison.items() if count) + ".")
    return lines + ["", verdict]


def _repeated_draws_sentence(curve, table):
    """Where fewer distinct ensembles than draws stand behind a point of the curve, and where
    "several configurations" is no separate result: said, not hidden in the counts."""
    short = curve[(curve["size"] > 1) & (curve["n"] < curve["n_draws"])]
    parts = [f"{_task(m, p)}, {_KIND_WORDS[k]}: "
             + ", ".join(f"size {r.size} ({r.n} of {r.n_draws})" for r in g.itertuples(index=False))
             for (m, p, k), g in short.groupby(["modality", "problem", "kind"], sort=False)]
    text = ("Draws that repeat a member set are one ensemble (the same members give the same averaged "
            "attention), so every % and interval here and in the figure is over distinct ensembles. ")
    text += ("Fewer distinct ensembles than draws (distinct of drawn): " + "; ".join(parts) + "."
             if parts else "Every draw was a distinct ensemble.")
    if any("retrains of a configuration" in str(note) for note in table["note"]):
        text += (" With as many members as a configuration has retrains, every draw from one configuration is "
                 "the whole configuration: one ensemble per configuration.")
    single = [_task(r.modality, r.problem) for r in table.itertuples(index=False)
              if "not a separate result" in str(r.note)]
    if single:
        text += (f" In {_join(single)} the retrained models all come from one configuration, so \"several "
                 f"configurations\" is the same pool as \"one configuration\" and is not reported apart.")
    return text


def _section_ensembles(page):
    table, curve = page.tables["ensembles"], page.tables["bad_by_ensemble_size"]
    lines = _ensemble_findings(table, curve)
    return f"""## Do ensembles help?

An explanation is bad when its iAUC-ROC is at most {page.config.bad_iauc}. The single models are the
retrained models; the ensembles average their members' test attention (largest size shown here; every
size in the study's Fig. S.22 equivalent, *bad_vs_ensemble_size*, and `tables/bad_by_ensemble_size.csv`).
{_repeated_draws_sentence(curve, table) if len(page.ensembles) else ""}

""" + "\n".join(lines)


def _section_audit(page):
    """Beside iAUC: could the label be predicted without the important instances?"""
    if page.audit is None:
        return ""
    order = list(page.tables["top_configurations"][["modality", "problem"]].itertuples(index=False))
    return audit_report_section(page.models, page.audit, order)


def _section_explainers(page):
    return _report_section(page.tables["explainers"], _markdown, bad_iauc=page.config.bad_iauc)


def _section_figures(page):
    captions = page.captions
    parts = ["## Figures"]
    for number, (name, path) in enumerate(page.figures.items(), start=1):
        caption = captions.get(name, "")
        parts.append(f"### Figure {number}: {_figure_title(name)}\n\n![{name}](figures/{path.name})\n\n"
                     f"*Figure {number}.* {caption}")
    return "\n\n".join(parts)


# The report's figure titles, each naming the study's figure it reproduces.
_FIGURE_TITLES = {"iauc_by_configuration": "iAUC-ROC per configuration (the study's Fig. 2)",
                  "accuracy_vs_iauc_all": "accuracy against iAUC-ROC, all models (the study's Fig. 4)",
                  "accuracy_vs_iauc": "accuracy against iAUC-ROC per task (the study's Fig. S.19)",
                  "search_accuracy_vs_iauc": "accuracy against iAUC-ROC, every search model",
                  "bad_vs_ensemble_size": "bad explanations against ensemble size (the study's Fig. S.22)"}


def _figure_title(name):
    if name in _FIGURE_TITLES:
        return _FIGURE_TITLES[name]
    if name.endswith("_attention_pca"):
        modality, problem = name.split("_")[:2]
        return f"{_task(modality, problem)} instances coloured by attention (the study's Fig. 3)"
    if "_bag" in name:  # "<modality>_<problem>_bag[_silent_failure]"
        modality, problem = name.split("_")[:2]
        return f"a {_task(modality, problem)} bag" + (", silent failure" if name.endswith("_silent_failure") else "")
    return name.replace("_", " ")


def _section_configurations(page):
    rows = _configurations(page)
    if not rows:
        return ""
    names = list(dict.fromkeys(name for row in rows for name in row["values"]))
    table = pd.DataFrame([
        {"configuration": f"`{row['config_id']}`",
         **{_LONG_NAMES.get(name, name): row["values"].get(name, "–") for name in names},
         "label in figures": row["label"].replace("\n", " / "), "retrained for (rank)": row["tasks"]}
        for row in rows])
    return f"""## Configurations

The retrained configurations, their ids decoded (featurizer depth: layers applied to each instance
before attention; classifier depth: layers after pooling).

{_markdown(table)}"""


def _section_reading_guide(page):
    return """## How to read this

- **iAUC-ROC** asks: ranking a positive bag's instances by attention, how often does an important
  instance come before an unimportant one? 1 = attention singles out exactly the important
  instances, 0.5 = no better than chance, below 0.5 = attention prefers the unimportant ones.
  iAUC-PR is the same question as average precision; it depends on how rare the important
  instances are.
- **Accuracy and explanation are separate questions.** The accuracy-vs-iAUC figure shows where
  the accurate models' explanations fall; the silent-failure sentence counts the accurate models
  that explain badly.
- **Intervals:** a % over draws is an estimate; the 95% intervals show how far it could move with
  other draws. Where the intervals of two numbers overlap, this run cannot tell them apart.
- The study's numbers are the reference, not a target: ours differ with the configuration's sizes
  (bags, epochs, retrains) and with the data generator."""


def _reproducibility(versions, command, items, *, device=None):
    """The "Reproducibility" section of a report (a run's or a sweep's): one block, one format.

    ``versions``: ``{package: version}``; ``items``: ``(label, text)`` pairs between the command
    and the machine (the configuration, how to reproduce, the wall time); ``device``: where the
    models were trained, when the report knows it.
    """
    machine = f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs"
    if device is not None:
        machine += f"; models trained on\n  device `{device}`"
    lines = [f"- **Study:** {CITATION}",
             f"- **Versions:** {', '.join(f'{name} {version}' for name, version in versions.items())}; "
             f"Python {platform.python_version()}.",
             f"- **Command:** `{command}`",
             *(f"- **{label}:** {text}" for label, text in items),
             f"- **Machine:** {machine}.",
             f"- **Written:** {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC."]
    # Not "Provenance": a reader (and a test) looking for a stray "nan" would find one in it.
    return "## Reproducibility\n\n" + "\n".join(lines)


def _section_provenance(page):
    cfg = page.config
    preset, _, overrides = _preset_and_overrides(cfg)
    fit_time = float(page.models["fit_time_s"].sum()) if "fit_time_s" in page.models else float("nan")
    trained = (f"{page.n_new_models} of {len(page.models)} models were trained by this call"
               + ("" if page.n_new_models == len(page.models) else
                  " (the others come from an earlier call on the same folder)"))
    override_lines = "\n".join(f"  - {line}" for line in overrides) if overrides else "  none"
    return _reproducibility(page.record.versions, page.record.command, [
        ("Configuration", f"preset `{preset}`; overrides:\n{override_lines}"),
        ("Reproduce", f"`setlearn assess --preset {preset} --config {page.out / 'config.json'} --out NEW_FOLDER`\n"
                      f"  (`config.json` holds the whole resolved configuration)."),
        ("Wall time", f"{page.elapsed_s:.0f} s for this call up to the report; {trained}. Training time summed\n"
                      f"  over all models: {fit_time:.0f} s."),
    ], device=cfg.estimator_params.get("device", "cpu"))


# The report, in order. A section returns Markdown, or "" to leave itself out.
_SECTIONS = [
    _section_title,
    _section_study,
    _section_audit,
    _section_accuracy,
    _section_bad_models,
    _section_search_by_grid_value,
    _section_ensembles,
    _section_explainers,
    _section_figures,
    _section_configurations,
    _section_reading_guide,
    _section_provenance,
]


def _report_markdown(page):
    return "\n\n".join(text for section in _SECTIONS if (text := section(page))) + "\n"


def _html(markdown_text, folder, title):
    """A self-contained HTML page of the report: every figure inlined as a base64 PNG."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(markdown_text)
    for token in tokens:
        for child in token.children or []:
            if child.type == "image":
                path = folder / child.attrGet("src")
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                child.attrSet("src", f"data:image/png;base64,{data}")
    body = md.renderer.render(tokens, md.options, {})
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
img {{ max-width: 100%; }}
code {{ background: #f4f4f4; padding: 0 0.2em; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def _write_report_files(folder, text, title):
    """Write ``text`` as ``folder/report.md`` and its self-contained twin ``report.html``;
    returns the Markdown path."""
    path = folder / "report.md"
    path.write_text(text)
    (folder / "report.html").write_text(_html(text, folder, title))
    return path


def _write_report(page, text=None, title="setlearn assess report"):
    """Write the run's report (``text``, by default the whole report); returns the Markdown path."""
    return _write_report_files(page.out, _report_markdown(page) if text is None else text, title)


def _progress_markdown(page, *, search_total, retrain_total, top_k=10, figure_path=None, figure_caption=""):
    """The report of a run stopped before its end: how far it got, and its search so far.

    Only the search rows can be read before the search ends, and none of them is a result
    of the study (no configuration is retrained until every configuration has all its seeds),
    so this page shows progress and the configurations ranked so far, never the study's tables.
    """
    from sklearn.model_selection import ParameterGrid

    from ._tables import _grid_parameters, table_search_by_grid_value, top_configurations

    cfg, models = page.config, page.models
    search = models[models["stage"] == "search"]
    n_retrained = len(_retrained(models))
    retrain = (f"{n_retrained} of {retrain_total} retrained models" if retrain_total is not None
               else "retraining not started (it starts when every configuration has all its seeds)")
    lines = [
        "# setlearn assess report (run in progress)",
        f"**This run stopped before its end: {len(search)} of {search_total} search models, {retrain}; "
        "no ensembles.** Run the same command again to continue: nothing is trained twice. Until the "
        "run is complete this page shows its progress and the search so far, not the study's tables "
        "(they need the retrained top configurations).",
        f"Preset `{_preset_and_overrides(cfg)[0]}`: {cfg.description}" if cfg.description else "",
        "## The search so far",
        f"Per task: configurations with all {cfg.search_seeds} seeds trained, and the {top_k} best of them "
        "ranked as the run will rank them (mean validation accuracy, then validation log-loss; test data "
        "unused), with their mean test iAUC-ROC. A silent failure is a search model with validation "
        f"accuracy >= {_ACCURATE} and iAUC-ROC <= {cfg.bad_iauc} (95% Wilson interval).",
    ]
    for (modality, problem), rows in search.groupby(["modality", "problem"], sort=False):
        seeds = rows.groupby("config_id")["repeat"].nunique()
        done = rows[rows["config_id"].isin(seeds.index[seeds >= cfg.search_seeds])]
        n_configs = len(ParameterGrid(cfg.grid[modality]))
        accurate = rows[rows["valid_accuracy"] >= _ACCURATE]
        silent = int((accurate["iauc_roc"] <= cfg.bad_iauc).sum())
        if len(accurate):
            failures = (f"Silent failures: {silent} of {len(accurate)} accurate models "
                        f"({_share_with_interval(silent, len(accurate))}).")
        else:
            failures = "No accurate model yet."
        lines.append(f"**{_task(modality, problem)}**: {len(rows)} search models, "
                     f"{done['config_id'].nunique()} of {n_configs} configurations complete. {failures}")
        if done.empty:
            continue
        ranked = top_configurations(done, top_k)
        iauc = done.groupby("config_id")["iauc_roc"].agg(["mean", "min"])
        table = ranked.assign(
            test_iauc_roc=ranked["config_id"].map(iauc["mean"]),
            lowest_iauc_roc=ranked["config_id"].map(iauc["min"]),
        )[["rank", "config_id", "valid_accuracy", "valid_log_loss", "test_iauc_roc", "lowest_iauc_roc"]]
        lines.append(_markdown(table.round(3)))
    if not search.empty:
        by_value = table_search_by_grid_value(search, _grid_parameters(cfg, search), bad_iauc=cfg.bad_iauc)
        lines.append("### The search so far by grid value")
        lines.append(f"Every search model so far, counted by the value it has of each grid parameter: accurate "
                     f"(validation accuracy >= {_ACCURATE}) and silent failures among them.")
        for modality, problem in dict.fromkeys(by_value[["modality", "problem"]].itertuples(index=False)):
            # The task lines above already count the silent failures.
            lines += _grid_value_lines(by_value, modality, problem, cfg.bad_iauc, with_count=False)
        if figure_path is not None:
            lines.append(f"![search_accuracy_vs_iauc](figures/{figure_path.name})\n\n*Figure.* {figure_caption}")
    lines += _retraining_so_far(models, cfg)
    lines.append(_section_provenance(page))
    return "\n\n".join(line for line in lines if line) + "\n"


def _retraining_so_far(models, cfg):
    """The progress report's retrained models per task and configuration (none: no lines).

    Counts, not the study's tables: a configuration's bad rate so far, with its interval, is
    what a long run's sitting can show while the rest of the retrains and the ensembles wait.
    """
    retrained = _retrained(models)
    if retrained.empty:
        return []
    lines = ["## The retraining so far",
             f"Per task and top configuration: retrained models so far (of {cfg.n_retrain}), how many are "
             f"accurate (validation accuracy >= {_ACCURATE}), their mean test iAUC-ROC, and how many explain "
             f"badly (iAUC-ROC <= {cfg.bad_iauc}; 95% Wilson interval)."]
    for (modality, problem), rows in retrained.groupby(["modality", "problem"], sort=False):
        table = []
        for config_id, g in rows.groupby("config_id", sort=False):
            bad = int((g["iauc_roc"] <= cfg.bad_iauc).sum())
            table.append({"config_id": config_id, "retrained": len(g),
                          "accurate": int((g["valid_accuracy"] >= _ACCURATE).sum()),
                          "mean_iauc_roc": round(float(g["iauc_roc"].mean()), 3),
                          "bad": f"{bad} ({_share_with_interval(bad, len(g))})"})
        lines += [f"**{_task(modality, problem)}**", _markdown(pd.DataFrame(table))]
    return lines


def _write_progress_report(page, *, search_total, retrain_total):
    """Write ``report.md`` (and ``report.html``) of a run stopped before its end; returns its path.

    With its one figure, the search so far (:func:`_search_figure`), in ``figures/``.
    """
    path, caption = None, ""
    search_figure = _search_figure(page.models, page.config)
    if search_figure is not None:
        figure, caption = search_figure
        folder = page.out / "figures"
        folder.mkdir(exist_ok=True)
        path = folder / "search_accuracy_vs_iauc.png"
        figure.savefig(path, dpi=110)
    text = _progress_markdown(page, search_total=search_total, retrain_total=retrain_total,
                              figure_path=path, figure_caption=caption)
    return _write_report(page, text, "setlearn assess report (run in progress)")
