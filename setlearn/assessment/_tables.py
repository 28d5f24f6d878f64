"""The study's tables, computed from the stored rows (pandas only), and written to ``tables/``."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, validate_params

from ._audit import table_audit
from ._explainers import table_explainers
from ._store import _ENSEMBLE_KINDS, MODEL_KEY

# The tables read user CSVs too: their arguments are checked with
# scikit-learn's validate_params, which names the argument and what it accepts.
_ROWS = [pd.DataFrame]
_SHARE = [Interval(Real, 0, 1, closed="both")]


# --------------------------------------------------------------------------- tables


@validate_params({"models": _ROWS, "top_k": [Interval(Integral, 1, None, closed="left")]},
                 prefer_skip_nested_validation=True)
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
        How many configurations to keep per task.

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
    # In key order: a mean's last bit must not depend on the order parallel workers finished in.
    search = search.sort_values([c for c in MODEL_KEY if c in search.columns], kind="stable")
    means = (search.groupby(["problem", "modality", "config_id"], as_index=False)
             [["valid_accuracy", "valid_log_loss"]].mean())
    means = means.sort_values(["problem", "modality", "valid_accuracy", "valid_log_loss", "config_id"],
                              ascending=[True, True, False, True, True])
    means["rank"] = means.groupby(["problem", "modality"]).cumcount() + 1
    top = means[means["rank"] <= top_k]
    return top[["problem", "modality", "rank", "config_id", "valid_accuracy", "valid_log_loss"]].reset_index(drop=True)


def _retrained(models):
    return models[models["stage"] == "retrain"]


@validate_params({"models": _ROWS, "bad_iauc": _SHARE, "bad_run_fraction": _SHARE},
                 prefer_skip_nested_validation=True)
def table_top_configurations(models, *, bad_iauc=0.65, bad_run_fraction=0.1):
    """Table 1: mean test iAUC over the retrained top configurations, and how many are bad.

    A configuration is *bad* when at least ``bad_run_fraction`` of its retrained
    runs have iAUC-ROC strictly below ``bad_iauc`` (the study's definition).

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``; only ``stage == "retrain"`` rows are used.
    bad_iauc : float, default=0.65
        A run is bad when its iAUC-ROC is strictly below this.
    bad_run_fraction : float, default=0.1
        A configuration is bad when at least this share of its runs is bad.

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


@validate_params({"models": _ROWS}, prefer_skip_nested_validation=True)
def table_accuracy_vs_iauc(models):
    """Table 2: whether validation accuracy tells a good explanation from a bad one.

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


@validate_params({"models": _ROWS, "ensembles": _ROWS, "bad_iauc": _SHARE}, prefer_skip_nested_validation=True)
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
        An explanation is bad when its iAUC-ROC is at most this (the study's rule).

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


@validate_params({"models": _ROWS, "ensembles": _ROWS, "bad_iauc": _SHARE}, prefer_skip_nested_validation=True)
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


@validate_params({"models": _ROWS, "accuracy": _SHARE, "iauc": _SHARE}, prefer_skip_nested_validation=True)
def table_silent_failures(models, *, accuracy=0.9, iauc=0.9):
    """How often a model that looks good (validation accuracy) explains badly.

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``; only retrained models are counted.
    accuracy : float, default=0.9
        A model looks good when its validation accuracy is at least this.
    iauc : float, default=0.9
        Its explanation is good when its iAUC-ROC is at least this.

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


# --------------------------------------------------------------------------- writing


def _markdown(frame, floatfmt="{:.2f}"):
    """A GitHub Markdown table (pandas' to_markdown needs the optional tabulate)."""
    def cell(v):
        if isinstance(v, float):
            return "–" if np.isnan(v) else floatfmt.format(v)
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def write_tables(record):
    """Compute every table of a finished run and write them to ``tables/`` (CSV and Markdown).

    Parameters
    ----------
    record : StudyRecord
        The run (its config, models, ensembles and audit rows).

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        ``top_configurations``, ``accuracy_vs_iauc``, ``ensembles``, ``silent_failures``,
        ``bad_by_ensemble_size``, ``explainers``, rows in the config's order of tasks;
        and ``audit`` (written as CSV only) when the run has audit rows.
    """
    config, models, ensembles = record.config, record.models, record.ensembles
    tables = {
        "top_configurations": table_top_configurations(models, bad_iauc=config.bad_iauc,
                                                       bad_run_fraction=config.bad_run_fraction),
        "accuracy_vs_iauc": table_accuracy_vs_iauc(models),
        "ensembles": table_ensembles(models, ensembles, bad_iauc=config.bad_iauc),
        "silent_failures": table_silent_failures(models),
        "bad_by_ensemble_size": bad_fraction_by_ensemble_size(models, ensembles, bad_iauc=config.bad_iauc),
        "explainers": table_explainers(models, ensembles, list(config.explainers), bad_iauc=config.bad_iauc),
    }
    # Rows in the config's order (MIL, AND, XOR as in the paper), not alphabetical.
    rank = {name: i for i, name in enumerate(config.modalities + config.problems)}
    tables = {name: table.sort_values(["modality", "problem"], key=lambda col: col.map(rank).fillna(len(rank)),
                                      kind="stable", ignore_index=True)
              for name, table in tables.items()}
    folder = record.out / "tables"
    folder.mkdir(exist_ok=True)
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
        (folder / f"{name}.md").write_text(_markdown(table, "{:.3f}") + "\n")
    if record.audit is not None:
        order = list(tables["top_configurations"][["modality", "problem"]].itertuples(index=False))
        tables["audit"] = table_audit(models, record.audit, order)
        tables["audit"].to_csv(folder / "audit.csv", index=False)
    return tables
