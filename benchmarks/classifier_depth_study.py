"""The default classifier head: a linear read-out (depth 1) or one hidden layer (depth 2)?

For the study's Gaussian tasks (MIL, AND, XOR) this trains
``AttentionMILClassifier`` with its defaults except ``classifier_depth`` (1 or 2)
on a modest data scale (by default 300 training and 300 test bags of 100
instances, 3 seeds per cell) and records the test accuracy and the attention's
iAUC-ROC (``setlearn.metrics.importance_auroc_score``). The bags are made with
an explicit ``--composition`` (default ``balanced``), so that a change of the
library's default composition does not change what this measures silently; rerun
with another composition to measure that one::

    OMP_NUM_THREADS=1 python benchmarks/classifier_depth_study.py \\
        --out docs/results/classifier_depth_study.csv

Rows go to the CSV as they finish, so an interrupted run continues where it
stopped; ``--quick`` runs a tiny version (seconds) to check the script itself.
Musk, Fox, Tiger and Elephant (the classic MIL benchmarks) are not available
offline, so they are not measured here.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from _rows import append_row
from setlearn import AttentionMILClassifier
from setlearn.datasets import make_bags
from setlearn.metrics import importance_auroc_score

COLUMNS = ["problem", "composition", "n_bags", "bag_size", "max_epochs", "classifier_depth", "seed",
           "train_accuracy", "test_accuracy", "iauc_roc", "fit_time_s"]


def fit_one(problem, composition, depth, seed, n_bags, bag_size, max_epochs):
    X, y, _ = make_bags(problem, n_bags=n_bags, bag_size=bag_size, composition=composition,
                        random_state=1000 + seed)
    Xt, yt, it = make_bags(problem, n_bags=n_bags, bag_size=bag_size, composition=composition,
                           random_state=2000 + seed)
    model = AttentionMILClassifier(classifier_depth=depth, max_epochs=max_epochs, random_state=seed)
    start = time.perf_counter()
    model.fit(X, y)
    fit_time = time.perf_counter() - start
    return {
        "train_accuracy": float(np.mean(model.predict(X) == y)),
        "test_accuracy": float(np.mean(model.predict(Xt) == yt)),
        "iauc_roc": float(importance_auroc_score(it, model.explain(Xt), y=yt)),
        "fit_time_s": round(fit_time, 1),
    }


def summarise(rows):
    return (rows.groupby(["problem", "composition", "classifier_depth"], sort=False)
            .agg(n=("seed", "size"), test_accuracy_mean=("test_accuracy", "mean"),
                 test_accuracy_min=("test_accuracy", "min"), test_accuracy_max=("test_accuracy", "max"),
                 iauc_roc_mean=("iauc_roc", "mean"), fit_time_s_mean=("fit_time_s", "mean"))
            .round(3).reset_index())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="classifier_depth_study.csv")
    parser.add_argument("--problems", nargs="+", default=["mil", "and", "xor"])
    parser.add_argument("--composition", default="balanced")
    parser.add_argument("--depths", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-bags", type=int, default=300, help="training bags (and as many test bags)")
    parser.add_argument("--bag-size", type=int, default=100)
    parser.add_argument("--max-epochs", type=int, default=100, help="the estimator's default")
    parser.add_argument("--quick", action="store_true", help="tiny data and 3 epochs, to test the script")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.quick:
        args.n_bags, args.bag_size, args.max_epochs, args.seeds = 20, 10, 3, 1
    out = Path(args.out)
    done = pd.read_csv(out) if out.exists() else pd.DataFrame(columns=COLUMNS)
    keys = set(zip(done.problem, done.composition, done.n_bags, done.bag_size, done.max_epochs,
                   done.classifier_depth, done.seed))
    # Seeds outermost, so that every cell has a model early on.
    for seed in range(args.seeds):
        for problem in args.problems:
            for depth in args.depths:
                key = (problem, args.composition, args.n_bags, args.bag_size, args.max_epochs, depth, seed)
                if key in keys:
                    continue
                row = dict(zip(COLUMNS, key))
                row.update(fit_one(problem, args.composition, depth, seed, args.n_bags, args.bag_size,
                                   args.max_epochs))
                append_row(out, COLUMNS, row)
    print(summarise(pd.read_csv(out)).to_markdown(index=False))


if __name__ == "__main__":
    main()
