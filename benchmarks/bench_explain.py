"""Cost of every explainer, as a ratio to attention (one forward pass), on the same model and bags.

Also times drop-one and keep-one against the obvious baseline, one Python-level
forward per perturbed bag, to show what the padded, masked batches buy.

Workloads: the quick preset's test set (100 Gaussian bags of 50 instances, a
4-8 MLP model) and 100 digit bags of 10 images (CNN). Best of ``REPEATS``,
alternating methods. Quote ratios, not seconds.
"""

import time

import torch

from setlearn import AttentionMILClassifier, make_bags
from setlearn.nn._explain import EXPLAINERS

REPEATS = 3


def best_time(fn):
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def loop_perturbation(clf, X, method):
    """Baseline: one forward per perturbed bag (drop-one) or per instance (keep-one)."""
    module = clf.net_.module_.eval()
    with torch.no_grad():
        for bag in X:
            bag = torch.from_numpy(bag)
            rows = range(len(bag))
            for m in rows:
                part = bag[[i for i in rows if i != m]] if method == "drop_one" else bag[m : m + 1]
                module(part[None], torch.ones(1, len(part), dtype=torch.bool))


def run(name, clf, X):
    methods = [m for m in EXPLAINERS if m != "contribution" or clf.pooling == "additive"]
    clf.explain(X, method="integrated_gradients")  # import captum outside the timing
    times = {m: best_time(lambda m=m: clf.explain(X, method=m)) for m in methods}
    print(f"\n{name}: seconds for attention {times['attention']:.4f}")
    print("| method | time / attention |")
    print("|---|---|")
    for m in methods:
        print(f"| {m} | {times[m] / times['attention']:.1f} |")
    for m in ("drop_one", "keep_one"):
        loop = best_time(lambda m=m: loop_perturbation(clf, X, m))
        print(f"{m}: one forward per perturbed bag / batched = {loop / times[m]:.1f}")


def main():
    torch.set_num_threads(1)
    X, y, _ = make_bags("mil", "gaussian", n_bags=400, bag_size=50, random_state=0)
    clf = AttentionMILClassifier(hidden_size=8, attention_size=8, max_epochs=20, pooling="additive",
                                 random_state=0).fit(X[:300], y[:300])
    run("Gaussian, 100 bags x 50 instances x 4 features (MLP, additive pooling)", clf, X[300:])
    X, y, _ = make_bags("mil", "digits", n_bags=300, bag_size=10, random_state=0)
    clf = AttentionMILClassifier(hidden_size=16, attention_size=8, max_epochs=5, random_state=0).fit(X[:200], y[:200])
    run("digits, 100 bags x 10 images 8x8 (CNN)", clf, X[200:])


if __name__ == "__main__":
    main()
