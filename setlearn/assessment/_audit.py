"""The ground-truth audit of every task of an assessment, and its part of the report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._tasks import _dataset_with_populations, _derive_seed

AUDIT_KEY = ["problem", "modality", "check"]
_AUDIT_COLUMNS = AUDIT_KEY + ["config_id", "auroc", "auroc_low", "auroc_high", "n_bags", "features", "bound",
                              "excess_low", "excess_high", "leak"]
# What every stored cell must hold (config_id is empty except for the attention-needed check;
# the AUROC columns may be NaN: an undefined check; bound and excess are NaN outside the subsets).
AUDIT_TYPES = {"problem": "str", "modality": "str", "check": "str", "n_bags": "int", "leak": ("True", "False")}
# The check every task's audit stores last: once it is stored, the task's audit is complete.
_LAST_CHECK = "attention needed"
# The checks that are no subset, in report order (the rest are subsets of the populations).
_WHOLE_BAG_CHECKS = ("whole-bag shares", "bag size")


def _audit_task(problem, modality, config_id, params, data, estimator_params, seed):
    """Audit one task (runs in a worker): rows for ``audit.csv``, one per check.

    The subset, whole-bag-share and bag-size checks use the training bags; the
    attention-needed model has the task's best configuration and the study's
    estimator settings, is trained on the training bags and scored on the test
    bags, like every model of the run.
    """
    import torch

    from setlearn.estimators import AttentionMILClassifier
    from setlearn.inspection import audit_ground_truth

    X, y, importance, populations = _dataset_with_populations(problem, modality, "train", data)
    X_test, y_test, _, _ = _dataset_with_populations(problem, modality, "test", data)
    estimator = AttentionMILClassifier(**estimator_params, **dict(params), random_state=seed, verbose=0)
    threads = torch.get_num_threads()
    # One thread per model, as in _fit_and_score.
    torch.set_num_threads(1)
    try:
        audit = audit_ground_truth(X, y, importance, populations, estimator=estimator, test=(X_test, y_test),
                                   random_state=seed)
    finally:
        torch.set_num_threads(threads)
    rows = audit.to_frame().to_dict("records")
    assert rows[-1]["check"] == _LAST_CHECK  # _run_audits reads a task as done from this row
    return [{"problem": problem, "modality": modality,
             "config_id": config_id if r["check"] == _LAST_CHECK else "", **r, "leak": bool(r["leak"])}
            for r in rows]


def _run_audits(config, top_ids, store, data, search_tasks, *, n_jobs):
    """Audit every task not yet in ``store`` (one row per check); a rerun adds only what is missing."""
    from joblib import Parallel, delayed

    params = {(t.problem, t.modality, t.config_id): t.params for t in search_tasks}
    # A task's rows are stored in check order, the attention-needed check last.
    todo = [(problem, modality) for (problem, modality) in top_ids
            if (problem, modality, _LAST_CHECK) not in store.keys]
    jobs = []
    for problem, modality in todo:
        best = top_ids[problem, modality][0]
        seed = _derive_seed(config.seed, "audit", problem, modality)
        jobs.append(delayed(_audit_task)(problem, modality, best, params[problem, modality, best], data,
                                         config.estimator_params, seed))
    for rows in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
        for row in rows:
            if tuple(row[k] for k in AUDIT_KEY) not in store.keys:
                store.append(row)


def _complete_audit(audit):
    """``audit.csv`` rows in today's layout: an audit stored before issue #21 read as one.

    Old files hold two checks per task, under their old names ("population shares",
    "uniform attention"; :data:`setlearn.inspection.RENAMED_CHECKS`) and without the
    bound, excess and leak columns (NaN, NaN, False: no subset was checked).
    """
    from setlearn.inspection import RENAMED_CHECKS

    audit = audit.assign(check=audit["check"].replace(RENAMED_CHECKS))
    for column in ("bound", "excess_low", "excess_high"):
        if column not in audit:
            audit[column] = np.nan
    audit["leak"] = (audit["leak"].astype(str) == "True") if "leak" in audit else False
    return audit


def table_audit(models, audit, order=None):
    """The complete audit of every task: one row per (task, check).

    Parameters
    ----------
    models : pandas.DataFrame
        The run's ``models.csv`` rows (for the row order when ``order`` is None).
    audit : pandas.DataFrame
        The run's ``audit.csv`` rows (an old two-check file too).
    order : list of (modality, problem), default=None
        Row order of the tasks (the config's); ``None`` keeps the order of ``models``.

    Returns
    -------
    table : pandas.DataFrame
        Columns modality, problem, check, kind (``"subset"``, ``"whole bag"`` or
        ``"attention needed"``), auroc, auroc_low, auroc_high, bound, excess_low,
        excess_high, leak, n_bags, features. Subsets first (in the audit's order),
        then whole-bag shares, bag size and attention needed.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment._audit import table_audit
    >>> audit = pd.DataFrame({"problem": "mil", "modality": "gaussian", "check": ["population 0",
    ...     "uniform attention"], "auroc": [0.99, 0.97], "bound": [0.5, float("nan")], "leak": [True, False]})
    >>> table_audit(pd.DataFrame(), audit)[["check", "kind", "leak"]].values.tolist()
    [['population 0', 'subset', True], ['attention needed', 'attention needed', False]]
    """
    columns = ["modality", "problem", "check", "kind", "auroc", "auroc_low", "auroc_high", "bound", "excess_low",
               "excess_high", "leak", "n_bags", "features"]
    if audit is None or not len(audit):
        return pd.DataFrame(columns=columns)
    audit = _complete_audit(audit)
    kind = np.where(audit["check"] == _LAST_CHECK, "attention needed",
                    np.where(audit["check"].isin(_WHOLE_BAG_CHECKS), "whole bag", "subset"))
    table = audit.assign(kind=kind).reindex(columns=columns)
    within = {"subset": 0, "whole bag": 1, "attention needed": 2}
    tasks = list(order) if order is not None else (
        list(dict.fromkeys(zip(models["modality"], models["problem"]))) if len(models) else [])
    rank = {tuple(task): i for i, task in enumerate(tasks)}
    sort = pd.DataFrame({"task": [rank.get((m, p), len(rank)) for m, p in zip(table.modality, table.problem)],
                         "kind": table["kind"].map(within), "check": table["check"].map(
                             {c: i for i, c in enumerate(_WHOLE_BAG_CHECKS)}).fillna(0)})
    return table.iloc[np.lexsort([sort["check"], sort["kind"], sort["task"]])].reset_index(drop=True)


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _interval(auroc, low, high):
    return "–" if pd.isna(auroc) else f"{auroc:.2f} [{low:.2f}, {high:.2f}]"


def audit_headline(table):
    """The report's first line on the audit: every leak, named, or that none was found.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`table_audit`.

    Returns
    -------
    line : str
        Markdown; "" when the run has no audit.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment._audit import audit_headline, table_audit
    >>> audit = pd.DataFrame({"problem": "mil", "modality": "gaussian", "check": "population 0",
    ...     "auroc": [0.99], "auroc_low": 0.98, "auroc_high": 1.0, "bound": 0.5, "excess_low": 0.47,
    ...     "excess_high": 0.5, "leak": True})
    >>> audit_headline(table_audit(pd.DataFrame(), audit))[:58]
    '**Ground-truth leak** in gaussian MIL: population 0 (AUROC'
    """
    if not len(table):
        return ""
    subsets = table[table["kind"] == "subset"]
    tasks = list(dict.fromkeys(zip(table["modality"], table["problem"])))
    leaks = subsets[subsets["leak"]]
    if not len(leaks):
        if not len(subsets):
            return ("**Ground-truth audit:** this run's `audit.csv` predates the subset checks (issue #21), so "
                    "no subset of the populations was checked for a leak; rerun the audit in a new folder.")
        named = [f"{m} {p.upper()}" for m, p in tasks]
        where = (named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1] if len(named) <= 4
                 else f"any of the {len(named)} tasks")
        return (f"**Ground-truth audit: no leak.** In {where}, no strict subset of the populations without "
                f"every deciding one tells the label beyond what the rule allows ({_count(len(subsets), 'subset')} "
                f"checked; section *Can the label be predicted without the important instances?*).")
    parts = []
    for (modality, problem), g in leaks.groupby(["modality", "problem"], sort=False):
        named = "; ".join(f"{r.check} (AUROC {r.auroc:.2f} against a bound of {r.bound:.2f}, excess "
                          f"[{r.excess_low:.2f}, {r.excess_high:.2f}])" for r in g.itertuples(index=False))
        parts.append(f"{modality} {problem.upper()}: {named}")
    return ("**Ground-truth leak** in " + "; in ".join(parts) + ". A model attending only to these populations "
            "can classify, and the ground truth would score it as a failure: read these tasks' low iAUC-ROC as "
            "possibly a shortcut, not a miss.")


def _reading(task_rows, mean_test_bag_auroc):
    leaks = task_rows[(task_rows["kind"] == "subset") & task_rows["leak"]]
    if len(leaks):
        return (f"leak ({', '.join(leaks['check'])}): attention on these populations can classify, so a low "
                f"iAUC may be a shortcut, not a miss")
    needed = task_rows[task_rows["kind"] == "attention needed"]
    if len(needed) and needed.iloc[0]["auroc_low"] >= mean_test_bag_auroc - 0.02:
        return "attention is not needed for the label; a low iAUC may be a model that never had to focus"
    if not (task_rows["kind"] == "subset").any():
        return "subsets not checked (an audit from before issue #21)"
    return "only the deciding populations together give the label: a low iAUC is attention missing them"


def audit_report_section(models, audit, order=None):
    """The report's "ground-truth audit" section (Markdown), from ``models.csv`` and ``audit.csv`` frames.

    Parameters
    ----------
    models, audit : pandas.DataFrame
        The run's ``models.csv`` and ``audit.csv``.
    order : list of (modality, problem), default=None
        Row order (the config's); ``None`` keeps the order of ``models``.

    Returns
    -------
    text : str
        A Markdown section starting with ``## Can the label be predicted without the important
        instances?``; empty when ``audit`` is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.assessment._audit import audit_report_section
    >>> audit_report_section(pd.DataFrame(), pd.DataFrame())
    ''
    """
    if audit is None or not len(audit):
        return ""
    table = table_audit(models, audit, order)
    retrained = models[models["stage"] == "retrain"]
    subsets = ["| data | problem | subset S | what it reads | bag AUROC [95%] | bound | excess [simultaneous] | "
               "leak |", "|---|---|---|---|---|---|---|---|"]
    for r in table[table["kind"] == "subset"].itertuples(index=False):
        excess = "–" if pd.isna(r.excess_low) else f"{r.auroc - r.bound:+.2f} [{r.excess_low:+.2f}, {r.excess_high:+.2f}]"
        subsets.append(f"| {r.modality} | {r.problem.upper()} | {r.check} | {r.features} | "
                       f"{_interval(r.auroc, r.auroc_low, r.auroc_high)} | {r.bound:.2f} | {excess} | "
                       f"{'**LEAK**' if r.leak else 'no'} |")
    whole = ["| data | problem | iAUC-ROC | bag AUROC, attention | whole-bag shares | bag size | attention needed "
             "(uniform attention) | reading |", "|---|---|---|---|---|---|---|---|"]
    for (modality, problem), g in table.groupby(["modality", "problem"], sort=False):
        task_models = retrained[(retrained["modality"] == modality) & (retrained["problem"] == problem)]
        iauc, bag_auroc = task_models["iauc_roc"].mean(), task_models["test_bag_auc"].mean()
        by_check = g.set_index("check")

        def cell(check):
            if check not in by_check.index:
                return "–"
            r = by_check.loc[check]
            return _interval(r.auroc, r.auroc_low, r.auroc_high)

        whole.append(f"| {modality} | {problem.upper()} | {iauc:.2f} | {bag_auroc:.2f} | {cell('whole-bag shares')} | "
                     f"{cell('bag size')} | {cell('attention needed')} | {_reading(g, bag_auroc)} |")
    subset_part = ("\n".join(subsets) if (table["kind"] == "subset").any() else
                   "*No subset checks in this run's `audit.csv` (written before issue #21): rerun the audit in "
                   "a new folder to check them.*")
    return f"""
## Can the label be predicted without the important instances?

The ground-truth audit (`setlearn.inspection.audit_ground_truth`, rows in `audit.csv`, table
`tables/audit.csv`): a low iAUC-ROC means attention missed the deciding instances only if nothing else
predicts the label. Bag-level AUROC with a 95% bootstrap interval (0.5: no signal), on the training bags.

**Every strict subset S of the populations without all deciding ones**: gradient boosting,
5-fold cross-validated, on what a model attending only to S could read (S's counts and, for two or more
populations, their shares within S), beside the **bound** the labelling rule allows for S (the AUROC of
the presence of S's deciding populations alone: 0.5 for population 0). S **leaks** when the paired
bootstrap interval of AUROC - bound (simultaneous over the task's subsets) lies above 0.

{subset_part}

**Apart, what uniform attention sees** (no bound: these move with the deciding populations' amount):
the whole-bag shares of the unimportant populations and the bag size; and **attention needed**: the
task's best configuration with mean pooling instead of attention, trained on the training bags and
scored on the test bags (is attention needed at all?). Beside them the mean test iAUC-ROC and test bag
AUROC of the retrained attention models.

{chr(10).join(whole)}
"""


def _audit_summary_line(table):
    """The audit in one line of the command line's summary: leaks named, the rest per task."""
    subsets = table[table["kind"] == "subset"]
    leaks = subsets[subsets["leak"]]
    if len(leaks):
        first = "LEAK in " + "; ".join(f"{m} {p.upper()}: {', '.join(g['check'])}"
                                       for (m, p), g in leaks.groupby(["modality", "problem"], sort=False))
    elif len(subsets):
        first = f"no leak ({_count(len(subsets), 'subset')} checked)"
    else:
        first = "no subset checked (audit.csv from before issue #21)"
    rest = []
    for (modality, problem), g in table.groupby(["modality", "problem"], sort=False):
        values = g.set_index("check")["auroc"]
        cells = [f"{values[c]:.2f}" if c in values.index else "–" for c in ("whole-bag shares", "attention needed")]
        rest.append(f"{modality} {problem.upper()} {cells[0]} / {cells[1]}")
    return first + ". Bag AUROC, whole-bag shares / attention needed: " + "; ".join(rest)
