"""Cost of every explainer, as a ratio to attention (one forward pass), on the same model and bags.

Also times drop-one and keep-one against the obvious baseline, one Python-level
forward per perturbed bag, to show what computing the features once buys
(keep-one pools each instance's features alone; drop-one uses each pooling's
closed form without one instance), MILLI against drop-one (issue #26), and
drop-one on one bag of 20,000 instances against masked forwards of the bag
without each instance (the quadratic method it replaced, issue #22),
extrapolated from ``LARGE_ROWS`` of its 20,000 rows.

Workloads: the quick preset's test set (100 Gaussian bags of 50 instances, a
4-8 MLP model) and 100 digit bags of 10 images (CNN). Best of ``REPEATS``,
alternating methods. Quote ratios, not seconds.
"""

import time

import torch

from setlearn import AttentionMILClassifier, make_bags
from setlearn.nn._explain import EXPLAINERS

REPEATS = 3
LARGE_BAG = 20_000
LARGE_ROWS = 200


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
    print("| method | time / attention | time / drop_one |")
    print("|---|---|---|")
    for m in methods:
        print(f"| {m} | {times[m] / times['attention']:.1f} | {times[m] / times['drop_one']:.2f} |")
    for m in ("drop_one", "keep_one"):
        loop = best_time(lambda m=m: loop_perturbation(clf, X, m))
        print(f"{m}: one forward per perturbed bag / batched = {loop / times[m]:.1f}")


def large_bag(clf):
    """Drop-one on one bag of LARGE_BAG instances: closed form against masked forwards."""
    bag = make_bags("mil", "gaussian", n_bags=1, bag_size=LARGE_BAG, random_state=1)[0][0]
    attention = best_time(lambda: clf.explain([bag]))
    closed = best_time(lambda: clf.explain([bag], method="drop_one"))
    module = clf.net_.module_.eval()
    x = torch.from_numpy(bag)[None]

    def masked_rows():
        # LARGE_ROWS rows of the quadratic method: the bag, one instance masked out, per row.
        for m in range(LARGE_ROWS):
            mask = torch.ones(1, LARGE_BAG, dtype=torch.bool)
            mask[0, m] = False
            with torch.no_grad():
                module(x, mask)

    masked = best_time(masked_rows) * LARGE_BAG / LARGE_ROWS
    print(f"\none bag of {LARGE_BAG} instances: drop_one / attention = {closed / attention:.1f}; "
          f"masked forwards (extrapolated from {LARGE_ROWS} rows, {masked:.0f} s) / closed form = "
          f"{masked / closed:.0f}")


def main():
    torch.set_num_threads(1)
    X, y, _ = make_bags("mil", "gaussian", n_bags=400, bag_size=50, random_state=0)
    clf = AttentionMILClassifier(hidden_size=8, attention_size=8, max_epochs=20, pooling="additive",
                                 random_state=0).fit(X[:300], y[:300])
    run("Gaussian, 100 bags x 50 instances x 4 features (MLP, additive pooling)", clf, X[300:])
    large_bag(clf)
    X, y, _ = make_bags("mil", "digits", n_bags=300, bag_size=10, random_state=0)
    clf = AttentionMILClassifier(hidden_size=16, attention_size=8, max_epochs=5, random_state=0).fit(X[:200], y[:200])
    run("digits, 100 bags x 10 images 8x8 (CNN)", clf, X[200:])


if __name__ == "__main__":
    main()
