"""Every explainer on the study's tasks and on a signed-evidence task: iAUC-ROC and cost.

Tasks: Gaussian MIL, AND and XOR (``setlearn.make_bags``, the default balanced
composition) and ``signed``, a task of the xMIL kind (Hense et al., 2024)
where instances support *or refute* the label: a bag is positive when it holds
more instances of population 1 (supporting) than of population 2 (refuting),
so both kinds of instance matter and a good class-wise explanation ranks
supporting instances first and refuting ones last.

For every task and seed one attention model (the study's Ilse et al. pooling;
a hidden classifier layer, which AND/XOR need on balanced bags) is trained, and
every method of ``explain`` is scored on the positive test bags for the
positive class:

- ``iauc_roc``: iAUC-ROC against the task's importance labels (MIL: population
  1; AND/XOR: populations 1 and 2; signed: population 1, the supporting
  instances), as ``make_importance_scorer`` scores it;
- ``iauc_pop1``, ``iauc_pop2``: per population, the AUC of ranking that
  population above population 0 (mean over positive bags holding both); on
  ``signed``, ``iauc_pop2`` is the AUC of ranking the *refuting* instances
  *below* population 0, which only signed explainers can do (0.5 = blind to
  the sign, 0 = refuting ranked as support);
- ``explain_s``: seconds to explain the test bags, ``cost_vs_attention`` and
  ``cost_vs_drop_one`` its ratios (same process, same bags, back to back).

Rows go to the CSV as they finish; a rerun skips the (task, seed) pairs it
holds. Two scales::

    # reduced (what docs/results/explainers_study.csv holds; ~10 CPU minutes)
    OMP_NUM_THREADS=1 python benchmarks/compare_explainers_study.py
    # the study's scale: 1000 training, 250 validation (unused), 250 test bags of 250, 500 epochs
    OMP_NUM_THREADS=1 python benchmarks/compare_explainers_study.py --scale study --seeds 5 \\
        --out docs/results/explainers_study_full.csv

``--scale quick`` checks the script itself in seconds.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from _rows import append_row
from setlearn import AttentionMILClassifier
from setlearn.datasets import make_bags
from setlearn.metrics import importance_auroc_score
from setlearn.nn._explain import EXPLAINERS

SCALES = {
    # Bags are (train, test); the model and training follow the study (Adam, lr 0.005,
    # weight decay 1e-4, batches of 100 bags).
    "reduced": dict(n_train=200, n_test=100, bag_size=50, max_epochs=100),
    "study": dict(n_train=1000, n_test=250, bag_size=250, max_epochs=500),
    # Checks the script itself in seconds; its numbers mean nothing.
    "quick": dict(n_train=40, n_test=20, bag_size=10, max_epochs=3),
}
MODEL = dict(hidden_size=8, attention_size=4, featurizer_depth=2, classifier_depth=2, batch_size=100, lr=0.005,
             weight_decay=1e-4)
TASKS = ("mil", "and", "xor", "signed")
# contribution needs pooling="additive"; this study scores the study's attention pooling.
METHODS = [m for m in EXPLAINERS if m != "contribution"]
MEANS = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [-1.0, 1.0, 1.0, 1.0]])  # the study's populations
SIGMA = 0.5
COLUMNS = ["scale", "task", "seed", "n_train", "n_test", "bag_size", "max_epochs", "test_accuracy", "method",
           "iauc_roc", "iauc_pop1", "iauc_pop2", "explain_s", "cost_vs_attention", "cost_vs_drop_one"]


def make_signed_bags(n_bags, bag_size, rng):
    """Bags where population 1 supports and population 2 refutes the label.

    Every bag holds ``c1`` instances of population 1 and ``c2`` of population 2,
    each drawn uniformly from 1 .. bag_size // 5 (so both kinds appear in every
    bag), with ``c1 != c2``; the bag is positive when ``c1 > c2``. Half the bags
    are positive. Gaussian instances, the study's means and sigma.

    Returns
    -------
    X, y, populations : list of ndarray, ndarray, list of ndarray
    """
    X, y, populations = [], [], []
    high = max(2, bag_size // 5)
    for b in range(n_bags):
        positive = b % 2 == 0
        while True:
            c1, c2 = rng.integers(1, high + 1, size=2)
            if c1 != c2 and (c1 > c2) == positive:
                break
        pops = np.zeros(bag_size, dtype=np.int64)
        pops[:c1], pops[c1 : c1 + c2] = 1, 2
        pops = rng.permutation(pops)
        X.append((MEANS[pops] + SIGMA * rng.normal(size=(bag_size, 4))).astype(np.float32))
        y.append(int(positive))
        populations.append(pops)
    order = rng.permutation(n_bags)
    return [X[i] for i in order], np.array(y)[order], [populations[i] for i in order]


def make_task(task, n_bags, bag_size, seed):
    if task == "signed":
        X, y, populations = make_signed_bags(n_bags, bag_size, np.random.default_rng(seed))
        return X, y, [(p == 1).astype(int) for p in populations], populations
    X, y, importance, populations = make_bags(task, "gaussian", n_bags=n_bags, bag_size=bag_size,
                                              random_state=seed, return_populations=True)
    return X, y, importance, populations


def population_auc(scores, populations, y, population, *, below=False):
    """Mean over positive bags holding both of the AUC of ``population`` against population 0."""
    aucs = []
    for s, pops, label in zip(scores, populations, y):
        keep = (pops == population) | (pops == 0)
        if label != 1 or len(np.unique(pops[keep])) < 2:
            continue
        aucs.append(roc_auc_score(pops[keep] == population, -s[keep] if below else s[keep]))
    return float(np.mean(aucs)) if aucs else np.nan


def run_one(scale, task, seed, sizes):
    X, y, importance, populations = make_task(task, sizes["n_train"] + sizes["n_test"], sizes["bag_size"], seed)
    n = sizes["n_train"]
    clf = AttentionMILClassifier(max_epochs=sizes["max_epochs"], random_state=seed, **MODEL).fit(X[:n], y[:n])
    X_test, y_test, imp_test, pop_test = X[n:], y[n:], importance[n:], populations[n:]
    accuracy = float(np.mean(clf.predict(X_test) == y_test))
    positive = list(clf.classes_).index(1)
    clf.explain(X_test[:2], method="integrated_gradients")  # import captum outside the timing
    rows, seconds = [], {}
    for method in METHODS:
        start = time.perf_counter()
        scores = clf.explain(X_test, method=method, target=positive)
        seconds[method] = time.perf_counter() - start
        rows.append({
            "scale": scale, "task": task, "seed": seed, "n_train": n, "n_test": sizes["n_test"],
            "bag_size": sizes["bag_size"], "max_epochs": sizes["max_epochs"], "test_accuracy": round(accuracy, 4),
            "method": method, "iauc_roc": round(float(importance_auroc_score(imp_test, scores, y=y_test)), 4),
            "iauc_pop1": round(population_auc(scores, pop_test, y_test, 1), 4),
            "iauc_pop2": round(population_auc(scores, pop_test, y_test, 2, below=task == "signed"), 4),
            "explain_s": round(seconds[method], 4),
        })
    for row in rows:
        row["cost_vs_attention"] = round(seconds[row["method"]] / seconds["attention"], 2)
        row["cost_vs_drop_one"] = round(seconds[row["method"]] / seconds["drop_one"], 2)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="reduced")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--out", type=Path, default=Path("docs/results/explainers_study.csv"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    done = set()
    if args.out.exists():
        previous = pd.read_csv(args.out)
        done = set(zip(previous["scale"], previous["task"], previous["seed"]))
    for task in args.tasks:
        for seed in range(args.seeds):
            if (args.scale, task, seed) in done:
                continue
            for row in run_one(args.scale, task, seed, SCALES[args.scale]):
                append_row(args.out, COLUMNS, row)
    runs = pd.read_csv(args.out)
    runs = runs[runs["scale"] == args.scale]
    summary = runs.groupby(["task", "method"], sort=False)[
        ["test_accuracy", "iauc_roc", "iauc_pop1", "iauc_pop2", "cost_vs_attention", "cost_vs_drop_one"]
    ].mean()
    print(f"\nMean over {runs['seed'].nunique()} seeds ({args.scale} scale):")
    print(summary.round(2).to_markdown())


if __name__ == "__main__":
    main()
