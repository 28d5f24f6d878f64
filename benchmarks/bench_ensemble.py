"""Speed of a 20-member AttentionEnsemble against 20 sequential AttentionMILClassifier fits.

The ensemble trains its same-configuration members as one stacked torch module
(one batched product per layer, one optimizer step for all); the baseline fits
the same 20 members one after another. Both run in the same process, alternating,
best of ``--repeats``; the printed ratio ``sequential / ensemble`` is the speed-up
(target >= 3 on small bags, >= 1 everywhere).

Run: ``python benchmarks/bench_ensemble.py`` (a few minutes on 2 cores). Run it on a quiet
machine: torch's threads slow down sharply when another process holds a core.
"""

import argparse
import time

import numpy as np
from sklearn.base import clone

from setlearn import AttentionEnsemble, AttentionMILClassifier, make_bags


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(name, X, y, base, n_members, repeats):
    ensemble = AttentionEnsemble(base, n_estimators=n_members, agreement_threshold=None, random_state=0)
    seeds = np.random.RandomState(0).randint(2**31 - 1, size=n_members)

    def sequential():
        for seed in seeds:
            clone(base).set_params(random_state=int(seed)).fit(X, y)

    # Warm-up: the first fit of a process pays one-off allocation and dispatch costs.
    clone(base).set_params(max_epochs=1).fit(X, y)
    seq, ens = [], []
    for _ in range(repeats):
        seq.append(timed(sequential))
        ens.append(timed(lambda: ensemble.fit(X, y)))
    print(f"{name:<52} sequential {min(seq):6.2f} s   ensemble {min(ens):6.2f} s   speed-up {min(seq) / min(ens):5.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--members", type=int, default=20)
    args = parser.parse_args()
    print(f"{args.members} members; speed-up = sequential / ensemble (target >= 3 on small bags, never < 1)")
    X, y, _ = make_bags("mil", "gaussian", n_bags=500, bag_size=(8, 12), random_state=0)
    compare("Gaussian, 500 bags x 8-12 instances (MLP), 20 epochs", X, y,
            AttentionMILClassifier(hidden_size=8, attention_size=4, max_epochs=20), args.members, args.repeats)
    X, y, _ = make_bags("mil", "digits", n_bags=500, bag_size=(8, 12), random_state=0)
    compare("digits, 500 bags x 8-12 images (CNN), 5 epochs", X, y,
            AttentionMILClassifier(hidden_size=8, attention_size=4, max_epochs=5), args.members, args.repeats)
    X, y, _ = make_bags("mil", "gaussian", n_bags=1000, bag_size=250, random_state=0)
    compare("Gaussian, 1000 bags x 250 instances (MLP), 3 epochs", X, y,
            AttentionMILClassifier(hidden_size=8, attention_size=4, max_epochs=3), args.members, args.repeats)


if __name__ == "__main__":
    main()
