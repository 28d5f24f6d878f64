"""The ground-truth audit of every task of an assessment, and its part of the report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._tasks import _dataset_with_populations, _derive_seed

AUDIT_KEY = ["problem", "modality", "check"]
_AUDIT_COLUMNS = AUDIT_KEY + ["config_id", "auroc", "auroc_low", "auroc_high", "n_bags", "features"]
# What every stored cell must hold (config_id is empty for the share check, and the AUROC
# columns may be NaN: an undefined check).
AUDIT_TYPES = {"problem": "str", "modality": "str", "check": "str", "n_bags": "int"}


def _audit_task(problem, modality, config_id, params, data, estimator_params, seed):
    """Audit one task (runs in a worker): rows for ``audit.csv``.

    The share check uses the training bags; the uniform-attention model has the
    task's best configuration and the study's estimator settings, is trained on
    the training bags and scored on the test bags, like every model of the run.
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
    return [{"problem": problem, "modality": modality, "config_id": config_id if r["check"] != "population shares"
             else "", **r} for r in audit.to_dict("records")]


def _run_audits(config, top_ids, store, data, search_tasks, *, n_jobs):
    """Audit every task not yet in ``store`` (one row per check); a rerun adds only what is missing."""
    from joblib import Parallel, delayed

    params = {(t.problem, t.modality, t.config_id): t.params for t in search_tasks}
    todo = [(problem, modality) for (problem, modality) in top_ids
            if not {(problem, modality, c) for c in ("population shares", "uniform attention")} <= store.keys]
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


def table_audit(models, audit, order=None):
    """One row per task: iAUC-ROC and the attention models' bag AUROC beside the audit.

    ``order``: (modality, problem) pairs giving the row order (the config's order).
    """
    retrained = models[models["stage"] == "retrain"]
    rows = []
    for (problem, modality), g in retrained.groupby(["problem", "modality"], sort=False):
        a = audit[(audit["problem"] == problem) & (audit["modality"] == modality)].set_index("check")
        row = {"modality": modality, "problem": problem,
               "mean_iauc_roc": g["iauc_roc"].mean(), "mean_test_bag_auroc": g["test_bag_auc"].mean()}
        for check, name in (("population shares", "shares"), ("uniform attention", "uniform")):
            for col in ("auroc", "auroc_low", "auroc_high"):
                row[f"{name}_{col}"] = a.loc[check, col] if check in a.index else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    if order is not None and len(table):
        rank = {tuple(task): i for i, task in enumerate(order)}
        table = table.iloc[np.argsort([rank.get((m, p), len(rank)) for m, p in zip(table.modality, table.problem)],
                                      kind="stable")].reset_index(drop=True)
    return table


def _reading(r):
    if r.shares_auroc_low > 0.6:
        inherent = " (inherent in MIL)" if r.problem == "mil" else ""
        return (f"the shares of unimportant populations predict the label{inherent}: attention that ranks "
                f"them first can still classify, so a low iAUC may be a shortcut, not a miss")
    if r.uniform_auroc_low >= r.mean_test_bag_auroc - 0.02:
        return "attention is not needed for the label; a low iAUC may be a model that never had to focus"
    return "only the important instances give the label away: a low iAUC is attention missing them"


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

    def interval(r, name):
        auroc = getattr(r, f"{name}_auroc")
        if pd.isna(auroc):
            return "–"
        return f"{auroc:.2f} [{getattr(r, f'{name}_auroc_low'):.2f}, {getattr(r, f'{name}_auroc_high'):.2f}]"

    lines = ["| data | problem | iAUC-ROC | bag AUROC, attention | bag AUROC, population shares only | "
             "bag AUROC, uniform attention | reading |", "|---|---|---|---|---|---|---|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {r.modality} | {r.problem.upper()} | {r.mean_iauc_roc:.2f} | {r.mean_test_bag_auroc:.2f} | "
                     f"{interval(r, 'shares')} | {interval(r, 'uniform')} | {_reading(r)} |")
    return f"""
## Can the label be predicted without the important instances?

The ground-truth audit (`setlearn.inspection.audit_ground_truth`, rows in `audit.csv`): a low iAUC-ROC
means attention missed the deciding instances only if nothing else predicts the label. Bag-level AUROC
with a 95% bootstrap interval (0.5: no signal), beside the mean test iAUC-ROC and test bag AUROC of the
retrained attention models:

- **population shares only**: gradient boosting, 5-fold cross-validated on the training bags, on the
  share of every unimportant population (any function of it, not only a monotone one). In MIL it is 1
  by construction: population 0's share is the complement of population 1's, so "little population 0"
  is the same signal as "population 1 present".
- **uniform attention**: the task's best configuration with mean pooling instead of attention,
  trained on the training bags and scored on the test bags: is attention needed at all?

{chr(10).join(lines)}
"""
