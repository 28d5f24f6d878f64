"""Bags drawn from a finite pool of images: featurizing each distinct instance once.

The study's MNIST scale: 1,000 bags x 250 images of 28x28 pixels, drawn from a
pool of 3,000 distinct images (synthetic images here: the MNIST modality is
not on main yet, and nothing may download data). CNN featurizer (one 3x3
convolution block to 8 channels, 2x2 max pooling, a linear layer to 16),
tanh attention, linear classifier; the study's optimiser (Adam, lr 0.005,
weight decay 1e-4, 100 bags per step).

Three ways to train it, timed in one run, alternating, best of ``--repeats``:

* ``setlearn``: ``AttentionMILClassifier.fit`` as it is (bags stored as
  indices into the table of distinct images; each distinct image of a step is
  featurized once);
* ``per-slot``: the same estimator with the table switched off
  (``setlearn.bags._padding._DISTINCT_MAX_FRACTION = 0``), which is the path
  before issue #13: every slot is featurized;
* ``hand-written``: a hand-written torch loop of the same architecture, bags
  pre-padded once into one tensor, ``torch.randperm`` batches, fused Adam.

Every variant runs with one torch thread (setlearn's default ``n_threads=1``;
``torch.set_num_threads(1)`` for the hand-written loop), so the ratio
compares the same amount of hardware. Peak memory is measured at the full
1,000 bags in a fresh process per variant: the growth of the peak resident
set (Linux ``VmHWM``) over the process once the bags exist (the bags
themselves, 784 MB, are the user's), over storing the bags and three
training steps.

Run: ``python benchmarks/bench_pool.py`` (1,000 bags: a quarter of an hour on
2 quiet cores), or ``--bags 300`` (the same steps, fewer of them).
"""

import argparse
import itertools
import json
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

from _memory import memory_mib  # benchmarks/_memory.py, beside this script
from setlearn import AttentionMILClassifier
from setlearn.bags import _padding
from setlearn.nn import BagDataset

HIDDEN, ATTENTION = 16, 8


def pool_bags(n_bags, bag_size=250, pool_size=3000, seed=0):
    """Bags of 28x28 images drawn from a pool; positive bags hold images of the first tenth of the pool."""
    rng = np.random.default_rng(seed)
    pool = rng.random((pool_size, 28, 28), dtype=np.float32)
    pool[: pool_size // 10, 10:18, 10:18] += 1.0  # the "important" images carry a bright square
    y = np.arange(n_bags) % 2
    bags = []
    for label in y:
        draws = rng.integers(pool_size // 10, pool_size, size=bag_size)
        if label:
            draws[: bag_size // 10] = rng.integers(0, pool_size // 10, size=bag_size // 10)
        bags.append(pool[draws])
    return bags, y


class HandWrittenMIL(nn.Module):
    def __init__(self):
        super().__init__()
        self.featurizer = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 14 * 14, HIDDEN), nn.ReLU()
        )
        self.V = nn.Linear(HIDDEN, ATTENTION)
        self.w = nn.Linear(ATTENTION, 1)
        self.classifier = nn.Linear(HIDDEN, 2)

    def forward(self, x, mask):
        b, n = mask.shape
        h = self.featurizer(x.reshape(b * n, 1, 28, 28)).view(b, n, -1)
        logits = self.w(torch.tanh(self.V(h))).squeeze(-1).masked_fill(~mask, float("-inf"))
        return self.classifier(torch.einsum("bn,bnh->bh", torch.softmax(logits, dim=1), h))


def hand_written_fit(bags, y, epochs, max_steps=None):
    torch.manual_seed(0)
    x = torch.from_numpy(np.stack(bags))  # equal sizes: padding is a stack
    mask = torch.ones(x.shape[:2], dtype=torch.bool)
    y = torch.from_numpy(y)
    model = HandWrittenMIL()
    opt = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=1e-4, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for idx in torch.randperm(len(bags)).split(100)[:max_steps]:
            opt.zero_grad()
            loss_fn(model(x[idx], mask[idx]), y[idx]).backward()
            opt.step()


def setlearn_fit(bags, y, epochs, distinct=True):
    _padding._DISTINCT_MAX_FRACTION = 0.5 if distinct else 0.0
    clf = AttentionMILClassifier(hidden_size=HIDDEN, attention_size=ATTENTION, featurizer="cnn",
                                 max_epochs=epochs, random_state=0)
    clf.fit(bags, y)


VARIANTS = {
    "setlearn": lambda bags, y, epochs: setlearn_fit(bags, y, epochs, distinct=True),
    "per-slot": lambda bags, y, epochs: setlearn_fit(bags, y, epochs, distinct=False),
    "hand-written": hand_written_fit,
}


def child(variant, n_bags, max_steps=3):
    """Fit in this (fresh) process; print the peak memory added, in MiB.

    The fit stores all bags as usual but trains ``max_steps`` steps only: the
    peak is reached in the first step (storage plus one step's activations),
    and a full epoch of the per-slot variants takes many minutes on 2 cores.
    """
    torch.set_num_threads(1)
    bags, y = pool_bags(n_bags)
    before = memory_mib("VmRSS")
    if variant == "hand-written":
        hand_written_fit(bags, y, 1, max_steps=max_steps)
    else:
        batches = BagDataset.positioned_batches
        BagDataset.positioned_batches = lambda *a, **k: itertools.islice(batches(*a, **k), max_steps)
        VARIANTS[variant](bags, y, 1)
    peak = memory_mib("VmHWM")
    print(json.dumps({"variant": variant, "data_mib": before, "peak_added_mib": peak - before}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bags", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--memory-bags", type=int, default=1000, help="bags of the peak-memory runs")
    parser.add_argument("--child", choices=sorted(VARIANTS))
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.bags)
    torch.set_num_threads(1)
    bags, y = pool_bags(args.bags)
    n_distinct = len(np.unique(np.concatenate([b.reshape(len(b), -1) for b in bags[:50]]), axis=0))
    print(f"torch {torch.__version__}, 1 thread; {len(bags)} bags x 250 images of 28x28 from a pool of 3000 "
          f"({n_distinct} distinct images in the first 50 bags); {args.epochs} epoch(s), best of {args.repeats}")
    for variant in VARIANTS:  # warm-up: one-off allocation and dispatch costs
        VARIANTS[variant](bags[:100], y[:100], 1)
    times = {name: [] for name in VARIANTS}
    for _ in range(args.repeats):
        for name, fit in VARIANTS.items():
            start = time.perf_counter()
            fit(bags, y, args.epochs)
            times[name].append(time.perf_counter() - start)
            print(f"  {name}: {times[name][-1]:.1f} s", flush=True)
    best = {name: min(t) for name, t in times.items()}
    for name, seconds in best.items():
        print(f"{name:<13} {seconds / args.epochs:7.2f} s/epoch   hand-written / {name} = {best['hand-written'] / seconds:5.2f}")
    del bags
    for name in VARIANTS:
        out = subprocess.run([sys.executable, __file__, "--child", name, "--bags", str(args.memory_bags)],
                             capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(f"{name:<13} {args.memory_bags} bags: peak memory added by fit (storage + 3 steps): "
              f"{result['peak_added_mib']:7.0f} MiB (process before fit, bags included: {result['data_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
