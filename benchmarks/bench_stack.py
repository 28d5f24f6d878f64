"""The study's scale (issue #23 item 5): single fit vs a hand-written loop, stacks vs single fits.

One run prints, as ratios of CPU time (``time.process_time``, one torch thread, so that
other processes on a shared machine slow both sides alike):

* ``AttentionMILClassifier.fit`` vs a hand-written torch loop of the same network
  (:func:`bench_fit.hand_written_fit`: bags pre-padded once, ``randperm`` batches of 100,
  plain ``nn`` layers, the same fused Adam; target <= 0.5);
* ``n`` members of one configuration trained as one stacked module
  (:func:`setlearn.ensemble._ensemble.fit_stacked`) vs ``n`` single fits, for ``n`` = 5, 20,
  100 (target >= 4x at 100); and the same ``n`` members in modules of the stacking budget's
  size, as ``assess`` and ``AttentionEnsemble`` cut them (``min(stack_size, budget)``
  members per module). A single fit's time is the best of ``--repeats``; ``n`` single fits
  cost ``n`` times that.

The network is the study's Gaussian one: 1000 bags x 250 instances (``make_bags("mil")``),
hidden 8, attention 4, featurizer depth 2, classifier depth 2, batches of 100 bags; a few
epochs are enough for a per-epoch ratio (the single-fit ratio is per epoch: a fit of ``--epochs``
less a fit of one). Also prints how many members the stacking memory
budget lets ``assess`` stack at this scale, and the load average.

Run: ``python benchmarks/bench_stack.py [--epochs 4] [--repeats 3] [--members 5 20 100]``.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from setlearn import AttentionMILClassifier, make_bags
from setlearn.bags import bag_sizes
from setlearn.ensemble._ensemble import _members_per_module, fit_stacked

sys.path.insert(0, str(Path(__file__).parent))
from bench_fit import hand_written_fit  # noqa: E402  (one hand-written loop for every benchmark)

HIDDEN, ATTENTION = 8, 4
PARAMS = dict(hidden_size=HIDDEN, attention_size=ATTENTION, featurizer_depth=2, classifier_depth=2, batch_size=100,
              lr=0.005, weight_decay=1e-4)


def cpu_seconds(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start


def hand_loop(X, y, epochs):
    n_features = X[0].shape[1]
    featurizer = nn.Sequential(nn.Linear(n_features, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU())
    classifier = nn.Sequential(nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 2))
    return hand_written_fit(X, y, featurizer, HIDDEN, ATTENTION, epochs, classifier=classifier)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--members", type=int, nargs="+", default=[5, 20, 100])
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y, _ = make_bags("mil", n_bags=1000, bag_size=250, random_state=0)
    y = np.asarray(y)
    epochs = args.epochs
    print(f"torch {torch.__version__}, 1 thread, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"Gaussian 1000 bags x 250, hidden {HIDDEN}, attention {ATTENTION}, depths 2/2, {epochs} epochs, "
          f"CPU seconds, best of {args.repeats}")
    # Warm-up: the first fit of a process pays one-off allocation and dispatch costs.
    hand_loop(X, y, 1)
    AttentionMILClassifier(**PARAMS, max_epochs=1, random_state=0).fit(X, y)
    times = {(side, e): [] for side in ("hand", "setlearn") for e in (1, epochs)}
    for _ in range(args.repeats):  # alternating, so load hits both
        for e in (1, epochs):
            times["hand", e].append(cpu_seconds(lambda: hand_loop(X, y, e)))
            single = AttentionMILClassifier(**PARAMS, max_epochs=e, random_state=0)
            times["setlearn", e].append(cpu_seconds(lambda: single.fit(X, y)))
    best = {k: min(v) for k, v in times.items()}
    # Per epoch: the fit of `epochs` epochs less the fit of one, so the once-per-fit work
    # (storing the bags, building the net) is left out, as it is from a 500-epoch study model.
    hand, ours = ((best[side, epochs] - best[side, 1]) / (epochs - 1) for side in ("hand", "setlearn"))
    print(f"single fit      hand-written {hand * 1e3:7.1f} ms/epoch   setlearn {ours * 1e3:7.1f} ms/epoch   "
          f"ratio setlearn / hand-written {ours / hand:5.2f}  (target <= 0.5); once per fit: hand-written "
          f"{(best['hand', 1] - hand) * 1e3:.0f} ms, setlearn {(best['setlearn', 1] - ours) * 1e3:.0f} ms")
    ours = best["setlearn", epochs]  # a whole single fit, for the stacks below
    model = AttentionMILClassifier(**PARAMS)
    budget = _members_per_module(model._architecture(X[0].shape[1:], 2), model._training(), bag_sizes(X))
    print(f"stacking memory budget at this scale: {budget} members per module "
          f"(assess stacks min(stack_size, this))")
    for n in args.members:
        for size, label in ((n, "one module"), (min(n, budget), f"modules of {min(n, budget)}")):
            stacks = []
            for _ in range(max(1, args.repeats - 1) if n * size >= 1000 else args.repeats):
                members = [AttentionMILClassifier(**PARAMS, max_epochs=epochs, random_state=s) for s in range(n)]
                stacks.append(cpu_seconds(lambda: [fit_stacked(members[i : i + size], X, y) for i in range(0, n, size)]))
            stack = min(stacks)
            print(f"{n:3d} members    {n} single fits {n * ours:7.2f} s   {label:>14} {stack:7.2f} s   "
                  f"per member-epoch {stack / n / epochs * 1e3:6.1f} ms   speed-up {n * ours / stack:5.2f}x"
                  + ("  (target >= 4x)" if n == 100 else ""), flush=True)
    print(f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
