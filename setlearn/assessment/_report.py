"""An assessment's outputs: Markdown tables, figures and the report."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from ._paper import PAPER_TABLE1, PAPER_TABLE3
from ._store import _attention_path, _load_attention
from ._tables import _retrained, bad_fraction_by_ensemble_size, table_accuracy_vs_iauc, table_ensembles, table_silent_failures, table_top_configurations
from ._tasks import _dataset
from setlearn.datasets._generators import _POOL_LOADERS


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
        if modality not in _POOL_LOADERS:  # an attention figure needs image instances
            continue
        # The model the search would pick: best validation accuracy, first positive test bag.
        best = frame.sort_values(["valid_accuracy", "valid_log_loss", "config_id", "repeat"],
                                 ascending=[False, True, True, True]).iloc[0]
        key = (problem, modality, "retrain", best["config_id"], int(best["repeat"]))
        X, y, importance = _dataset(problem, modality, "test", data)
        bag = int(np.flatnonzero(y == 1)[0])
        fig = plotting.plot_bag_attention(X[bag], _load_attention(_attention_path(result.out, key))[bag],
                                          importance=importance[bag], max_instances=40, fig=Figure())
        fig.suptitle(f"{modality} {problem.upper()}, test bag {bag}, model {best['config_id']} r{best['repeat']}")
        figures[f"{modality}_{problem}_bag"] = fig
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
    digits_note = ("\n*Data:* `digits` (scikit-learn's 8x8 digits, 3 = population 1, 9 = population 2) is a "
                   "smaller stand-in for the paper's MNIST; the paper's MNIST numbers stand beside `mnist` "
                   "only.\n" if "digits" in cfg["modalities"] else "")
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
