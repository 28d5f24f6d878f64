"""The study's tables, computed from the stored rows (pandas only), and written to ``tables/``."""

from __future__ import annotations

import math
import re
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, validate_params

from ._audit import table_audit
from ._explainers import table_explainers
from ._store import _ENSEMBLE_KINDS, MODEL_KEY, _member_sets

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


def _write_table(folder, name, table):
    """Write ``table`` as ``folder/<name>.csv`` and, rounded for reading, ``<name>.md``."""
    table.to_csv(folder / f"{name}.csv", index=False)
    (folder / f"{name}.md").write_text(_markdown(table, "{:.3f}") + "\n")


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
        n_models, mean_iauc_roc, mean_iauc_pr, mean_test_accuracy, mean_test_bag_auc,
        and ``mean_iauc_roc_pop<k>`` for every ``iauc_roc_pop<k>`` column of
        ``models`` (the mean iAUC-ROC of deciding population k alone; NaN for a
        task without population k).

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
    # Per deciding population (NaN where the task has no such population, or an older models.csv).
    for column in _population_iauc_columns(runs):
        table[f"mean_{column}"] = runs.groupby(["modality", "problem"])[column].mean()
    return table.reset_index()


def _population_iauc_columns(models):
    """The per-population iAUC columns of ``models`` (``iauc_roc_pop1``, ...), in population order."""
    return sorted((c for c in models.columns if re.fullmatch(r"iauc_roc_pop\d+", c)), key=lambda c: int(c[12:]))


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
    table = table.astype({"n_models": int, "n_top_decile": int})
    populations = _population_iauc_columns(runs)
    if populations and len(table):
        means = runs.groupby(keys)[populations].mean().add_prefix("mean_").reset_index()
        table = table.merge(means, on=keys, how="left")
    return table


@validate_params({"models": _ROWS}, prefer_skip_nested_validation=True)
def table_accuracy_vs_iauc_by_task(models):
    """Table 2 as the study reports it: per task, over its retrained top configurations.

    Spearman's rho (validation accuracy against iAUC-ROC over one
    configuration's retrains) as mean ± sd over the task's configurations where
    it is defined, and the highest and lowest Delta-iAUC among them, with the
    configuration each comes from. Delta-iAUC is computed as in
    :func:`table_accuracy_vs_iauc`: the spread of iAUC-ROC among the
    ``ceil(n / 10)`` most accurate runs plus every run tied with the last of
    them (``max_top_decile`` says how large that "tenth" grew through ties).

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``; only ``stage == "retrain"`` rows are used.

    Returns
    -------
    table : pandas.DataFrame
        One row per (modality, problem): n_configurations, n_defined_rho,
        rho_mean, rho_sd (sample sd, NaN with fewer than two defined rho),
        delta_iauc_highest, delta_iauc_highest_config, delta_iauc_lowest,
        delta_iauc_lowest_config, n_models (per configuration, the smallest),
        max_top_decile (the most runs in a configuration's top tenth).

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_accuracy_vs_iauc_by_task
    >>> rows = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "retrain",
    ...     "config_id": ["a"] * 4 + ["b"] * 4, "valid_accuracy": [0.5, 0.7, 0.9, 1.0] * 2,
    ...     "iauc_roc": [0.6, 0.7, 0.8, 0.9, 0.9, 0.8, 0.7, 0.6]})
    >>> print(table_accuracy_vs_iauc_by_task(rows)[["rho_mean", "rho_sd", "n_defined_rho"]].round(2).to_string(index=False))
     rho_mean  rho_sd  n_defined_rho
          0.0    1.41              2
    """
    per_config = table_accuracy_vs_iauc(models)
    rows = []
    for (modality, problem), g in per_config.groupby(["modality", "problem"], sort=False):
        rho = g["spearman_rho"].dropna()
        deltas = g.dropna(subset=["delta_iauc_roc"]).sort_values(["delta_iauc_roc", "config_id"])
        rows.append({
            "modality": modality, "problem": problem, "n_configurations": len(g), "n_defined_rho": len(rho),
            "rho_mean": rho.mean() if len(rho) else np.nan, "rho_sd": rho.std(ddof=1) if len(rho) > 1 else np.nan,
            "delta_iauc_highest": deltas["delta_iauc_roc"].iloc[-1] if len(deltas) else np.nan,
            "delta_iauc_highest_config": deltas["config_id"].iloc[-1] if len(deltas) else "",
            "delta_iauc_lowest": deltas["delta_iauc_roc"].iloc[0] if len(deltas) else np.nan,
            "delta_iauc_lowest_config": deltas["config_id"].iloc[0] if len(deltas) else "",
            "n_models": int(g["n_models"].min()), "max_top_decile": int(g["n_top_decile"].max()),
        })
    columns = ["modality", "problem", "n_configurations", "n_defined_rho", "rho_mean", "rho_sd",
               "delta_iauc_highest", "delta_iauc_highest_config", "delta_iauc_lowest", "delta_iauc_lowest_config",
               "n_models", "max_top_decile"]
    return pd.DataFrame(rows, columns=columns)


@validate_params({"models": _ROWS, "bad_iauc": _SHARE}, prefer_skip_nested_validation=True)
def classify_bad_models(models, *, bad_iauc=0.65):
    """Every bad retrained model (iAUC-ROC <= ``bad_iauc``), with why its explanation failed.

    The kind is :func:`setlearn.inspection.classify_bad_model` of the model's
    per-population iAUC (``iauc_roc_pop<k>`` columns) and validation accuracy:
    untrained, one-population, inverted or diffuse (``"good"`` only if every
    deciding population is found although the pooled iAUC is bad).
    ``"unclassified"`` where the row has no per-population iAUC (a
    ``models.csv`` written before they were stored).

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``; only ``stage == "retrain"`` rows are used.
    bad_iauc : float, default=0.65
        A model is bad when its iAUC-ROC is at most this (the study's rule).

    Returns
    -------
    bad : pandas.DataFrame
        The bad models' rows (modality, problem, config_id, repeat, valid_accuracy,
        iauc_roc, the per-population iAUC) and a ``failure`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import classify_bad_models
    >>> rows = pd.DataFrame({"problem": "and", "modality": "gaussian", "stage": "retrain", "config_id": "a",
    ...     "repeat": [0, 1, 2], "valid_accuracy": [1.0, 1.0, 0.6], "iauc_roc": [0.45, 0.95, 0.5],
    ...     "iauc_roc_pop1": [0.9, 0.95, 0.5], "iauc_roc_pop2": [0.03, 0.95, 0.5]})
    >>> classify_bad_models(rows)[["repeat", "failure"]].values.tolist()
    [[0, 'one-population'], [2, 'untrained']]
    """
    from setlearn.inspection import classify_bad_model

    runs = _retrained(models)
    populations = _population_iauc_columns(runs)
    bad = runs[runs["iauc_roc"] <= bad_iauc]
    columns = [c for c in ["modality", "problem", "config_id", "repeat", "valid_accuracy", "iauc_roc"]
               if c in bad.columns] + populations

    def kind(row):
        values = [row[c] for c in populations]
        if not np.isfinite(np.asarray(values, dtype=float)).any():
            return "unclassified"
        return classify_bad_model(values, float(row["valid_accuracy"]))

    failure = [kind(row) for _, row in bad.iterrows()]
    return bad[columns].assign(failure=pd.Series(failure, index=bad.index, dtype=object)).reset_index(drop=True)


BAD_MODEL_KINDS = ("untrained", "one-population", "inverted", "diffuse", "good", "unclassified")
"""The columns of :func:`table_bad_models` after ``n_bad``, in the order of the tests of
:func:`setlearn.inspection.classify_bad_model` (then its ``"good"``, then "unclassified")."""


@validate_params({"models": _ROWS, "bad_iauc": _SHARE}, prefer_skip_nested_validation=True)
def table_bad_models(models, *, bad_iauc=0.65):
    """How many retrained models of every task explain badly, and why (:func:`classify_bad_models`).

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``; only ``stage == "retrain"`` rows are used.
    bad_iauc : float, default=0.65
        A model is bad when its iAUC-ROC is at most this.

    Returns
    -------
    table : pandas.DataFrame
        One row per (modality, problem): n_models, n_bad, then one count per kind
        of :data:`BAD_MODEL_KINDS`.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_bad_models
    >>> rows = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "retrain", "config_id": "a",
    ...     "repeat": [0, 1], "valid_accuracy": 1.0, "iauc_roc": [0.2, 0.9], "iauc_roc_pop1": [0.2, 0.9]})
    >>> table_bad_models(rows)[["n_models", "n_bad", "inverted", "diffuse"]].values.tolist()
    [[2, 1, 1, 0]]
    """
    runs = _retrained(models)
    bad = classify_bad_models(models, bad_iauc=bad_iauc)
    rows = []
    for (modality, problem), g in runs.groupby(["modality", "problem"], sort=False):
        kinds = bad[(bad["modality"] == modality) & (bad["problem"] == problem)]["failure"].value_counts()
        rows.append({"modality": modality, "problem": problem, "n_models": len(g), "n_bad": int(kinds.sum()),
                     **{kind: int(kinds.get(kind, 0)) for kind in BAD_MODEL_KINDS}})
    return pd.DataFrame(rows, columns=["modality", "problem", "n_models", "n_bad", *BAD_MODEL_KINDS])


def _single_configuration_tasks(singles):
    """The (modality, problem) tasks whose retrained models all come from one configuration.

    There, "several configurations" draws its members from the same pool as "one
    configuration" (top_k = 1): it is not a separate result.
    """
    if "config_id" not in singles.columns or not len(singles):
        return set()
    counts = singles.groupby(["modality", "problem"])["config_id"].nunique()
    return set(counts[counts == 1].index)


@validate_params({"models": _ROWS, "ensembles": _ROWS, "bad_iauc": _SHARE}, prefer_skip_nested_validation=True)
def bad_fraction_by_ensemble_size(models, ensembles, *, bad_iauc=0.65):
    """% of bad explanations (iAUC-ROC <= ``bad_iauc``) against ensemble size, over distinct ensembles.

    Size 1 is the retrained single models, shared by both kinds of ensemble: every
    kind has a size-1 row, even when ``ensembles`` is empty (``max_ensemble_size``
    of 1). Draws that repeat a member set (bound to happen when the size equals a
    configuration's number of retrains, or when few sets exist) are one ensemble:
    ``n`` counts the distinct member sets, and the % and its interval are over
    them; ``n_draws`` counts the draws. Where a task's retrained models all come
    from one configuration (top_k = 1), "several configurations" is the same
    pool as "one configuration" and is left out.

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
        size, n (distinct ensembles, or single models at size 1), n_draws, pct_bad.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import bad_fraction_by_ensemble_size
    >>> models = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "retrain",
    ...     "config_id": ["a", "b"], "iauc_roc": [0.5, 0.9]})
    >>> ens = pd.DataFrame({"problem": "mil", "modality": "gaussian", "kind": "one", "size": 2,
    ...     "members": ["a/r0;a/r1", "a/r0;a/r1"], "iauc_roc": [0.9, 0.9]})
    >>> bad_fraction_by_ensemble_size(models, ens)[["kind", "size", "n", "n_draws", "pct_bad"]].values.tolist()
    [['one', 1, 2, 2, 50.0], ['one', 2, 1, 2, 0.0], ['several', 1, 2, 2, 50.0]]
    """
    singles = _retrained(models)
    keys = ["modality", "problem", "kind", "size"]
    # The known kinds, not the observed ones: with no ensembles the curve is the single models.
    parts = [singles.assign(kind=kind, size=1, member_set=[("model", i) for i in range(len(singles))])
             for kind in _ENSEMBLE_KINDS]
    if len(ensembles):
        parts.append(ensembles.assign(member_set=_member_sets(ensembles)))
    both = pd.concat(parts, ignore_index=True).assign(bad=lambda d: d["iauc_roc"] <= bad_iauc)
    one_pool = _single_configuration_tasks(singles)
    if one_pool:
        same = [(m, p) in one_pool and k == "several" for m, p, k in zip(both.modality, both.problem, both.kind)]
        both = both[~np.asarray(same, dtype=bool)]
    draws = both.groupby(keys).size().rename("n_draws")
    # The same members give the same averaged attention: one ensemble, counted once.
    distinct = both.drop_duplicates(keys + ["member_set"])
    curve = distinct.groupby(keys).agg(n=("bad", "size"), pct_bad=("bad", "mean")).join(draws)
    curve["pct_bad"] *= 100
    return curve.reset_index()[keys + ["n", "n_draws", "pct_bad"]].astype({"size": int})


@validate_params({"models": _ROWS, "ensembles": _ROWS, "bad_iauc": _SHARE}, prefer_skip_nested_validation=True)
def table_ensembles(models, ensembles, *, bad_iauc=0.65):
    """Table 3: % bad explanations of single models vs the largest ensembles, over distinct ensembles.

    Parameters
    ----------
    models, ensembles : pandas.DataFrame
        Rows of ``models.csv`` and ``ensembles.csv``.
    bad_iauc : float, default=0.65
        An explanation is bad when its iAUC-ROC is at most this (the study's rule).

    Returns
    -------
    table : pandas.DataFrame
        One row per (modality, problem): pct_bad_single, ensemble_size, and for
        each kind (``one_configuration``, ``several_configurations``) ``pct_bad_*``
        (over distinct ensembles), ``n_*`` (distinct ensembles) and ``n_draws_*``;
        ``note`` says where fewer distinct ensembles than draws stand behind a
        number, and where "several configurations" is not a separate result (a
        single retrained configuration: its columns are NaN). NaN for a task
        without ensembles, as with ``max_ensemble_size`` 1.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_ensembles
    >>> models = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "retrain",
    ...     "config_id": ["a", "a", "b", "b"], "iauc_roc": [0.5, 0.9, 0.9, 0.9]})
    >>> ens = pd.DataFrame({"problem": "mil", "modality": "gaussian", "kind": ["one", "several"],
    ...     "size": 2, "members": ["a/r0;a/r1", "a/r1;b/r0"], "iauc_roc": [0.6, 0.9]})
    >>> table_ensembles(models, ens).iloc[0][["pct_bad_single", "ensemble_size", "pct_bad_one_configuration",
    ...     "pct_bad_several_configurations"]].to_dict()
    {'pct_bad_single': 25.0, 'ensemble_size': 2, 'pct_bad_one_configuration': 100.0, 'pct_bad_several_configurations': 0.0}
    """
    curve = bad_fraction_by_ensemble_size(models, ensembles, bad_iauc=bad_iauc)
    keys = ["modality", "problem"]
    names = {"one": "one_configuration", "several": "several_configurations"}
    columns = keys + ["pct_bad_single", "ensemble_size"] + [
        f"{what}_{name}" for name in names.values() for what in ("pct_bad", "n", "n_draws")] + ["note"]
    singles = _retrained(models)
    one_pool = _single_configuration_tasks(singles)
    repeats = (singles.groupby(keys + ["config_id"]).size().groupby(keys).max()
               if "config_id" in singles.columns and len(singles) else pd.Series(dtype=int))
    rows = []
    for (modality, problem), g in curve.groupby(keys, sort=False):
        row = {"modality": modality, "problem": problem,
               "pct_bad_single": g[g["size"] == 1]["pct_bad"].iloc[0]}
        ensembled = g[g["size"] > 1]
        notes = []
        if (modality, problem) in one_pool:
            notes.append("several configurations = one (a single retrained configuration): not a separate result")
        if len(ensembled):
            size = int(ensembled["size"].max())
            row["ensemble_size"] = size
            for kind, name in names.items():
                point = ensembled[(ensembled["size"] == size) & (ensembled["kind"] == kind)]
                if not len(point):
                    continue
                point = point.iloc[0]
                row.update({f"pct_bad_{name}": point["pct_bad"], f"n_{name}": int(point["n"]),
                            f"n_draws_{name}": int(point["n_draws"])})
                if point["n"] < point["n_draws"]:
                    why = (f"size {size} = the {int(repeats[modality, problem])} retrains of a configuration"
                           if kind == "one" and (modality, problem) in repeats.index
                           and size == repeats[modality, problem] else "draws repeat member sets")
                    notes.append(f"{name.replace('_', ' ')}: {int(point['n'])} distinct of {int(point['n_draws'])} "
                                 f"draws ({why})")
        row["note"] = "; ".join(notes)
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=columns)
    return table.astype({c: "Int64" for c in columns if c.startswith("n_")} | {"ensemble_size": "Int64"})


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


@validate_params({"models": _ROWS, "parameters": [list, tuple], "accuracy": _SHARE, "bad_iauc": _SHARE},
                 prefer_skip_nested_validation=True)
def table_search_by_grid_value(models, parameters, *, accuracy=0.9, bad_iauc=0.65):
    """Where in the grid the search's models learn, and where the accurate ones explain badly.

    One row per task, grid parameter and value, over every search model that has that
    value: it answers "do silent failures appear anywhere in the grid?" from the search
    alone (every configuration x seed), before or without the retraining.

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of ``models.csv``; only search rows are counted.
    parameters : list of str
        The grid's parameters (columns of ``models``), e.g. ``["hidden_size", "attention_size"]``.
    accuracy : float, default=0.9
        A model is accurate when its validation accuracy is at least this.
    bad_iauc : float, default=0.65
        An accurate model with iAUC-ROC at most this is a silent failure.

    Returns
    -------
    table : pandas.DataFrame
        Columns modality, problem, parameter, value, n_models, n_accurate, n_silent (accurate
        models with iAUC-ROC <= ``bad_iauc``), mean_iauc_roc (all models) and
        lowest_accurate_iauc_roc (NaN without an accurate model).

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_search_by_grid_value
    >>> rows = pd.DataFrame({"problem": "mil", "modality": "gaussian", "stage": "search",
    ...     "hidden_size": [2, 2, 8], "valid_accuracy": [0.5, 0.95, 1.0], "iauc_roc": [0.5, 0.3, 0.99]})
    >>> table_search_by_grid_value(rows, ["hidden_size"])[["value", "n_accurate", "n_silent"]].values.tolist()
    [[2, 1, 1], [8, 1, 0]]
    """
    missing = [name for name in parameters if name not in models.columns]
    if missing:
        raise ValueError(f"models has no column for the grid parameters {missing}; pass the grid's parameter "
                         f"names (columns of models.csv such as 'hidden_size').")
    search = models[models["stage"] == "search"]
    accurate = search["valid_accuracy"] >= accuracy
    search = search.assign(accurate=accurate, silent=accurate & (search["iauc_roc"] <= bad_iauc),
                           accurate_iauc=search["iauc_roc"].where(accurate))
    parts = []
    for name in parameters:
        part = search.groupby(["modality", "problem", name], sort=True).agg(
            n_models=("iauc_roc", "size"), n_accurate=("accurate", "sum"), n_silent=("silent", "sum"),
            mean_iauc_roc=("iauc_roc", "mean"), lowest_accurate_iauc_roc=("accurate_iauc", "min"))
        parts.append(part.reset_index().rename(columns={name: "value"}).assign(parameter=name))
    columns = ["modality", "problem", "parameter", "value", "n_models", "n_accurate", "n_silent",
               "mean_iauc_roc", "lowest_accurate_iauc_roc"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


# --------------------------------------------------------------------------- writing


def _markdown(frame, floatfmt="{:.2f}"):
    """A GitHub Markdown table (pandas' to_markdown needs the optional tabulate)."""
    def cell(v):
        if v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return "–"
        if isinstance(v, float):
            return floatfmt.format(v)
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _grid_parameters(config, models):
    """The grid's parameters over all modalities, in the grid's order, that ``models`` has as columns."""
    names = dict.fromkeys(name for modality in config.modalities for name in config.grid[modality])
    return [name for name in names if name in models.columns]


def write_tables(record):
    """Compute every table of a finished run and write them to ``tables/`` (CSV and Markdown).

    Parameters
    ----------
    record : StudyRecord
        The run (its config, models, ensembles and audit rows).

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        ``top_configurations`` (Table 1), ``accuracy_vs_iauc`` (per configuration) and
        ``accuracy_vs_iauc_by_task`` (Table 2 as the study reports it), ``bad_models`` (bad models
        per task by kind) and ``bad_model_kinds`` (every bad model and its kind), ``ensembles``
        (Table 3), ``silent_failures``, ``search_by_grid_value`` (the search's models per grid value),
        ``bad_by_ensemble_size``, ``explainers``, rows in the
        config's order of tasks;
        and ``audit`` (written as CSV only) when the run has audit rows.
    """
    config, models, ensembles = record.config, record.models, record.ensembles
    tables = {
        "top_configurations": table_top_configurations(models, bad_iauc=config.bad_iauc,
                                                       bad_run_fraction=config.bad_run_fraction),
        "accuracy_vs_iauc": table_accuracy_vs_iauc(models),
        "accuracy_vs_iauc_by_task": table_accuracy_vs_iauc_by_task(models),
        "bad_models": table_bad_models(models, bad_iauc=config.bad_iauc),
        "bad_model_kinds": classify_bad_models(models, bad_iauc=config.bad_iauc),
        "ensembles": table_ensembles(models, ensembles, bad_iauc=config.bad_iauc),
        "silent_failures": table_silent_failures(models),
        "search_by_grid_value": table_search_by_grid_value(models, _grid_parameters(config, models),
                                                           bad_iauc=config.bad_iauc),
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
        _write_table(folder, name, table)
    if record.audit is not None:
        order = list(tables["top_configurations"][["modality", "problem"]].itertuples(index=False))
        tables["audit"] = table_audit(models, record.audit, order)
        tables["audit"].to_csv(folder / "audit.csv", index=False)
    return tables
