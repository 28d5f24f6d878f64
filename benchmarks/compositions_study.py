"""The compositions of AND and XOR, measured at the study's scale.

For every problem (AND, XOR) and composition (``setlearn.datasets.COMPOSITIONS``)
this trains a few attention models on the study's data scale (1000 training,
250 validation and 250 test bags of 250 Gaussian instances; Adam, lr 0.005,
weight decay 1e-4, batches of 100, 500 epochs) and runs the ground-truth audit
(``setlearn.inspection.audit_ground_truth``): population 0's share alone, and a
uniform-attention model of the first configuration.

Rows go to a CSV as they finish, so an interrupted run continues where it
stopped. The closing table is the one in ``docs/datasets.md``::

    OMP_NUM_THREADS=1 python benchmarks/compositions_study.py --out compositions_study.csv

``--quick`` runs a tiny version (a minute) to check the script itself.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from _rows import append_row
from setlearn import AttentionMILClassifier
from setlearn.datasets import COMPOSITIONS, make_bags
from setlearn.inspection import audit_ground_truth, classify_bad_model
from setlearn.metrics import importance_auroc_per_population, importance_auroc_score
from setlearn.plotting import wilson_interval

STUDY = dict(max_epochs=500, batch_size=100, lr=0.005, weight_decay=1e-4)
# The study preset's largest configuration, with the linear classifier head the
# preset uses (classifier_depth 1) and with a hidden layer (classifier_depth 2):
# with a linear head a "balanced" AND/XOR bag cannot be classified at all (its
# pooled features lie between those of the other class), so the head decides
# whether the composition can be learnt without a shortcut.
CONFIGS = [
    dict(hidden_size=8, attention_size=4, featurizer_depth=2, classifier_depth=1),
    dict(hidden_size=8, attention_size=4, featurizer_depth=1, classifier_depth=2),
]
PROBLEMS = ("and", "xor")
BAD_IAUC = 0.65
COLUMNS = ["problem", "composition", "kind", "config", "seed", "valid_accuracy", "test_accuracy",
           "iauc_roc", "iauc_roc_pop1", "iauc_roc_pop2", "failure", "auroc", "auroc_low", "auroc_high", "leaks",
           "fit_time_s"]


def config_id(params):
    return (f"h{params['hidden_size']}-a{params['attention_size']}-f{params['featurizer_depth']}"
            f"-c{params['classifier_depth']}")


def data(problem, composition, n_bags, bag_size):
    splits = {}
    for i, (split, n) in enumerate(zip(("train", "valid", "test"), n_bags)):
        X, y, importance, populations = make_bags(problem, n_bags=n, bag_size=bag_size, composition=composition,
                                                  random_state=100 + i, return_populations=True)
        splits[split] = X, y, importance, populations
    return splits


def fit_one(splits, params, seed, estimator_params):
    X, y, _, _ = splits["train"]
    model = AttentionMILClassifier(**estimator_params, **params, random_state=seed)
    start = time.perf_counter()
    model.fit(X, y)
    fit_time = time.perf_counter() - start
    Xv, yv, _, _ = splits["valid"]
    Xt, yt, it, pt = splits["test"]
    attention = model.explain(Xt)
    valid_accuracy = float(np.mean(model.predict(Xv) == yv))
    per_population = importance_auroc_per_population(it, attention, pt, y=yt)
    return {
        "valid_accuracy": valid_accuracy,
        "test_accuracy": float(np.mean(model.predict(Xt) == yt)),
        "iauc_roc": float(importance_auroc_score(it, attention, y=yt)),
        **{f"iauc_roc_pop{k}": float(v) for k, v in per_population.items()},
        "failure": classify_bad_model(per_population, valid_accuracy),
        "fit_time_s": round(fit_time, 1),
    }


def summarise(rows):
    """One line per (problem, composition, configuration): the audit and the models over their seeds."""
    out = []
    for (problem, composition), g in rows.groupby(["problem", "composition"], sort=False):
        share = g[g.kind == "audit: population shares"]
        fmt = lambda r: f"{r.auroc:.2f} [{r.auroc_low:.2f}, {r.auroc_high:.2f}]"  # noqa: E731
        for config, models in g[g.kind == "attention"].groupby("config", sort=False):
            uniform = g[(g.kind == "audit: uniform attention") & (g.config == config)]
            bad = models.iauc_roc <= BAD_IAUC  # the study's bad explanation; `failure` says why
            low, high = wilson_interval(int(bad.sum()), len(models))
            out.append({
                "problem": problem, "composition": composition, "config": config, "n": len(models),
                "subsets that leak": share.leaks.iloc[0] if len(share) else "",
                "whole-bag shares AUROC": fmt(share.iloc[0]) if len(share) else "",
                "uniform attention AUROC": fmt(uniform.iloc[0]) if len(uniform) else "",
                "valid acc": f"{models.valid_accuracy.mean():.2f} ± {models.valid_accuracy.std():.2f}",
                "iAUC-ROC": f"{models.iauc_roc.mean():.2f} ± {models.iauc_roc.std():.2f}",
                f"bad (iAUC-ROC <= {BAD_IAUC})": f"{int(bad.sum())}/{len(models)} [{low:.2f}, {high:.2f}]",
                "failures": ", ".join(f"{k} {v}" for k, v in models.failure[bad].value_counts().items()) or "-",
            })
    return pd.DataFrame(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="compositions_study.csv")
    parser.add_argument("--quick", action="store_true", help="tiny data and 3 epochs, to test the script")
    parser.add_argument("--seeds", type=int, default=4, help="seeds per configuration")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n_bags, bag_size, estimator_params = ((1000, 250, 250), 250, STUDY)
    if args.quick:
        n_bags, bag_size, estimator_params = (60, 40, 40), 20, dict(STUDY, max_epochs=3)
    out = Path(args.out)
    done = pd.read_csv(out) if out.exists() else pd.DataFrame(columns=COLUMNS)
    keys = set(zip(done.problem, done.composition, done.kind, done.config.astype(str), done.seed))
    cache = {}

    def write(row):
        append_row(out, COLUMNS, row)

    def splits_of(problem, composition):
        if (problem, composition) not in cache:
            cache.clear()  # one task's bags in memory at a time
            cache[problem, composition] = data(problem, composition, n_bags, bag_size)
        return cache[problem, composition]

    # Round-robin over the cells and configurations, seed by seed, so that a run stopped early has the same
    # number of seeds in every cell; the
    # uniform-attention audits (one model each) come last.
    for seed in range(args.seeds):
        for params in CONFIGS:
            for problem in PROBLEMS:
                for composition in COMPOSITIONS:
                    base = {"problem": problem, "composition": composition, "seed": seed}
                    if (problem, composition, "audit: population shares", "-", 0) not in keys:
                        X, y, importance, populations = splits_of(problem, composition)["train"]
                        audit = audit_ground_truth(X, y, importance, populations, random_state=0)
                        write({**base, "kind": "audit: population shares", "config": "-",
                               **{k: getattr(audit.whole_bag_shares, k) for k in ("auroc", "auroc_low", "auroc_high")},
                               "leaks": "; ".join(check.name for check in audit.leaks) or "none"})
                        keys.add((problem, composition, "audit: population shares", "-", 0))
                    if (problem, composition, "attention", config_id(params), seed) not in keys:
                        write({**base, "kind": "attention", "config": config_id(params),
                               **fit_one(splits_of(problem, composition), params, seed, estimator_params)})
    for params in CONFIGS[::-1]:
        for problem in PROBLEMS:
            for composition in COMPOSITIONS:
                if (problem, composition, "audit: uniform attention", config_id(params), 0) in keys:
                    continue
                splits = splits_of(problem, composition)
                X, y, importance, populations = splits["train"]
                Xt, yt, _, _ = splits["test"]
                model = AttentionMILClassifier(**estimator_params, **params, random_state=0)
                audit = audit_ground_truth(X, y, importance, populations, estimator=model, test=(Xt, yt),
                                           random_state=0)
                write({"problem": problem, "composition": composition, "seed": 0,
                       "kind": "audit: uniform attention", "config": config_id(params),
                       **{k: getattr(audit.attention_needed, k) for k in ("auroc", "auroc_low", "auroc_high")}})
    print(summarise(pd.read_csv(out)).to_markdown(index=False))


if __name__ == "__main__":
    main()
