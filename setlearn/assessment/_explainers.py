"""Explainers in the assessment: the ``explainers`` config key, their scores and cost per model,
their ensembles, and the table that answers "is attention interpretation, compared to what?".

``attention`` keeps the study's columns (``iauc_roc``, ``iauc_pr``) and files; every other
configured method adds ``iauc_roc_<method>`` to ``models.csv`` and ``ensembles.csv`` and stores
its test scores beside the attention (``attention/<model>-<method>.npz``). Every method's
explanation time on the test bags is stored as ``explain_s_<method>``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ._store import _member_sets


def _extra_methods(methods):
    return [m for m in methods if m != "attention"]


def _model_columns(methods):
    """Extra ``models.csv`` columns: iAUC-ROC of every other method, and every method's time.

    None when only attention is scored: such a run writes the same files as before the
    ``explainers`` key existed.
    """
    if not _extra_methods(methods):
        return []
    return [f"iauc_roc_{m}" for m in _extra_methods(methods)] + [f"explain_s_{m}" for m in methods]


def _ensemble_columns(methods):
    return [f"iauc_roc_{m}" for m in _extra_methods(methods)]


def _explain_test(model, X_test, y_test, imp_test, methods):
    """Every configured explainer (``methods``) on the test bags: ``(scores by method, row fields)``.

    Class-specific methods explain the positive class (label 1), as the importance scorers do:
    the importance labels mark the instances that make a bag positive.
    """
    from setlearn.metrics import importance_auroc_score

    positive = list(model.classes_).index(1)
    scores, fields = {}, {}
    for method in methods:
        start = time.perf_counter()
        scores[method] = model.explain(X_test, method=method, target=positive)
        if _extra_methods(methods):
            fields[f"explain_s_{method}"] = round(time.perf_counter() - start, 4)
        if method != "attention":
            fields[f"iauc_roc_{method}"] = float(importance_auroc_score(imp_test, scores[method], y=y_test))
    return scores, fields


def _scores_path(attention_path, method):
    """Where a model's test scores of ``method`` are stored, beside its attention file."""
    if method == "attention":
        return attention_path
    return attention_path.with_name(f"{attention_path.stem}-{method}{attention_path.suffix}")


def _ensemble_fields(member_scores, imp_test, y_test):
    """iAUC-ROC of every non-attention method's members combined by the mean (as attention is)."""
    from setlearn.ensemble import combine_scores
    from setlearn.metrics import importance_auroc_score
    from setlearn.nn._explain import EXPLAINERS

    fields = {}
    for method, members in member_scores.items():
        if method == "attention":
            continue
        combined = combine_scores(members, rule="mean", normalized=EXPLAINERS[method] == "weights")
        fields[f"iauc_roc_{method}"] = float(importance_auroc_score(imp_test, combined, y=y_test))
    return fields


def table_explainers(models, ensembles, methods, *, bad_iauc=0.65, accuracy=0.9):
    """Every explainer's iAUC-ROC, silent failures and cost, per task.

    Parameters
    ----------
    models, ensembles : pandas.DataFrame
        Rows of ``models.csv`` and ``ensembles.csv``; only retrained models and
        the largest ensembles of each task count.
    methods : list of str
        The explainers (the ``explainers`` config key); ``"attention"`` reads the
        study's ``iauc_roc`` column, the others ``iauc_roc_<method>`` (an explainer
        without its column is left out).
    bad_iauc : float, default=0.65
        An explanation is bad when its iAUC-ROC is at most this.
    accuracy : float, default=0.9
        A model looks good when its validation accuracy is at least this.

    Returns
    -------
    table : pandas.DataFrame
        One row per (modality, problem, explainer): ``iauc_roc`` (mean over
        retrained models), ``pct_silent_failures`` (of the models that look good,
        % with a bad explanation), ``ensemble_size``, ``n_ensembles`` (distinct
        member sets among the largest ensembles, both kinds), ``n_ensemble_draws``
        (their rows in ``ensembles.csv``), ``ensemble_iauc_roc`` and
        ``pct_bad_ensembles`` (over the distinct member sets: draws that repeat a
        member set are one ensemble, as in :func:`table_ensembles`), ``explain_s``
        (mean seconds to explain one model's test bags) and ``cost_vs_attention``.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment import table_explainers
    >>> models = pd.DataFrame({"problem": "and", "modality": "gaussian", "stage": "retrain",
    ...     "valid_accuracy": [1.0, 1.0], "iauc_roc": [0.5, 0.9], "iauc_roc_drop_one": [0.95, 0.99],
    ...     "explain_s_attention": [0.01, 0.01], "explain_s_drop_one": [0.2, 0.4]})
    >>> ens = pd.DataFrame({"problem": "and", "modality": "gaussian", "kind": "one", "size": 2,
    ...     "members": ["a/r0;a/r1", "a/r1;a/r0"], "iauc_roc": [0.6, 0.6], "iauc_roc_drop_one": [0.97, 0.97]})
    >>> table = table_explainers(models, ens, ["attention", "drop_one"])
    >>> table[["explainer", "iauc_roc", "pct_silent_failures", "pct_bad_ensembles"]]
       explainer  iauc_roc  pct_silent_failures  pct_bad_ensembles
    0  attention      0.70                 50.0              100.0
    1   drop_one      0.97                  0.0                0.0
    >>> table[["n_ensembles", "n_ensemble_draws"]].values.tolist()  # two draws of one member set
    [[1, 2], [1, 2]]
    >>> table["cost_vs_attention"].round(1).tolist()
    [1.0, 30.0]
    """
    keys = ["modality", "problem"]
    # Rows written without an explainer's column (before it was configured, or by
    # hand) leave that explainer out rather than failing the whole report.
    methods = [m for m in methods if ("iauc_roc" if m == "attention" else f"iauc_roc_{m}") in models]
    runs = models[models["stage"] == "retrain"]
    if ensembles is not None and len(ensembles):
        largest = ensembles[ensembles["size"] == ensembles.groupby(keys)["size"].transform("max")]
    else:
        largest = pd.DataFrame(columns=keys + ["size"])
    draws = largest.groupby(keys).size()
    # The same members give the same averaged scores: one ensemble, counted once.
    largest = largest.assign(member_set=_member_sets(largest)).drop_duplicates(keys + ["member_set"])
    rows = []
    for (modality, problem), group in runs.groupby(keys, sort=False):
        accurate = group[group["valid_accuracy"] >= accuracy]
        task_ensembles = largest[(largest["modality"] == modality) & (largest["problem"] == problem)]
        attention_s = group["explain_s_attention"].mean() if "explain_s_attention" in group else np.nan
        for method in methods:
            column = "iauc_roc" if method == "attention" else f"iauc_roc_{method}"
            seconds = group[f"explain_s_{method}"].mean() if f"explain_s_{method}" in group else np.nan
            ensemble_scores = task_ensembles[column] if column in task_ensembles else pd.Series(dtype=float)
            rows.append({
                "modality": modality, "problem": problem, "explainer": method,
                "iauc_roc": group[column].mean(),
                "pct_silent_failures": 100 * np.mean(accurate[column] <= bad_iauc) if len(accurate) else np.nan,
                "ensemble_size": task_ensembles["size"].max() if len(task_ensembles) else np.nan,
                "n_ensembles": len(task_ensembles),
                "n_ensemble_draws": int(draws.get((modality, problem), 0)),
                "ensemble_iauc_roc": ensemble_scores.mean() if len(ensemble_scores) else np.nan,
                "pct_bad_ensembles": 100 * np.mean(ensemble_scores <= bad_iauc) if len(ensemble_scores) else np.nan,
                "explain_s": seconds,
                "cost_vs_attention": seconds / attention_s if attention_s else np.nan,
            })
    return pd.DataFrame(rows, columns=keys + [
        "explainer", "iauc_roc", "pct_silent_failures", "ensemble_size", "n_ensembles", "n_ensemble_draws",
        "ensemble_iauc_roc",
        "pct_bad_ensembles", "explain_s", "cost_vs_attention"])


def _report_section(table, markdown, *, bad_iauc):
    """The report's section on explainers ("" when only attention was scored)."""
    if table is None or table["explainer"].nunique() < 2:
        return ""
    findings = []
    for (modality, problem), task in table.groupby(["modality", "problem"], sort=False):
        best = task.loc[task["iauc_roc"].idxmax()]
        attention = task.loc[task["explainer"] == "attention", "iauc_roc"].iloc[0]
        findings.append(
            f"- {modality} {problem.upper()}: attention {attention:.2f}; "
            + ("no other explainer did better." if best["explainer"] == "attention" else
               f"best {best['explainer']} ({best['iauc_roc']:.2f}, {best['cost_vs_attention']:.1f}x the cost).")
        )
    tasks = table.drop_duplicates(["modality", "problem"])
    repeated = tasks[tasks["n_ensembles"] < tasks["n_ensemble_draws"]]
    repeats = "" if not len(repeated) else (
        " Draws that repeat a member set are one ensemble, counted once: "
        + "; ".join(f"{r.modality} {r.problem.upper()} {r.n_ensembles} distinct of {r.n_ensemble_draws} draws"
                    for r in repeated.itertuples()) + ".")
    return f"""## Is attention interpretation, compared to what?

Every configured explainer scored on the same test bags and ground truth (`explainers` in
`config.json`; docs/explainers.md says what each returns). Mean test iAUC-ROC of the retrained
models, per task:

{chr(10).join(findings)}

Per task and explainer: mean iAUC-ROC; **silent failures**, the % of models with validation
accuracy >= 0.9 whose explanation is bad (iAUC-ROC <= {bad_iauc}); the largest ensembles (members'
scores averaged; `n_ensembles` distinct member sets of `n_ensemble_draws` draws) with their mean
iAUC-ROC and % of bad explanations over the distinct ones.{repeats} The cost: the mean seconds
to explain one model's test bags and its ratio to attention. Also in `tables/explainers.csv`.

{markdown(table)}"""
