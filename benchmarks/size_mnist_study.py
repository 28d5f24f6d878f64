"""How long one MNIST model takes to train, to size the ``study-mnist`` preset.

Times ``AttentionMILClassifier.fit`` (CNN featurizer, the study's optimiser:
Adam, lr 0.005, weight decay 1e-4, 100 bags per step) on real MNIST bags
(``make_bags(..., "mnist", pool="train")``) at a few bag counts and sizes and
at the corners of the study's MNIST grid, on one torch thread. It measures the
*CPU time* of the fitting process (``time.process_time``), not wall time: on a
shared machine the wall time of one fit depends on what else runs, while its
CPU time is what the fit costs one quiet core. Wall time is printed beside it.
Per row: CPU seconds per epoch (the whole fit, setup included, over the
epochs; a small fit first absorbs torch's start-up), microseconds per training image and epoch (the cost is linear in the
images per epoch, ``n_bags * bag_size``, when this is flat), and the projected
CPU time of a 500-epoch fit.

Run: ``OMP_NUM_THREADS=1 python benchmarks/size_mnist_study.py`` (needs the
``mnist`` extra; about 5 CPU minutes, longer in wall time on a busy machine).
Use ``--scales 1000x250`` to time the study's full scale (about a minute per
epoch and configuration).
"""

import argparse
import os
import time

import torch

from setlearn import AttentionMILClassifier
from setlearn.datasets import make_bags

STUDY_OPTIMISER = {"batch_size": 100, "lr": 0.005, "weight_decay": 1e-4}
# Corners of the study's MNIST grid: the featurizer's width and depth set the cost;
# attention size and classifier depth barely matter next to the convolutions.
CONFIGS = [
    {"hidden_size": 8, "featurizer_depth": 1},
    {"hidden_size": 64, "featurizer_depth": 1},
    {"hidden_size": 8, "featurizer_depth": 2},
    {"hidden_size": 64, "featurizer_depth": 2},
]


def seconds_per_epoch(n_bags, bag_size, params, epochs):
    """CPU and wall seconds per epoch of one fit."""
    X, y, _ = make_bags("and", "mnist", n_bags=n_bags, bag_size=bag_size, pool="train", random_state=0)
    model = AttentionMILClassifier(attention_size=4, classifier_depth=1, max_epochs=epochs, random_state=0,
                                   verbose=0, **STUDY_OPTIMISER, **params)
    cpu, wall = time.process_time(), time.perf_counter()
    model.fit(X, y)
    return (time.process_time() - cpu) / epochs, (time.perf_counter() - wall) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["100x100", "250x100", "250x250"],
                        help="training bags x images per bag, e.g. 250x100")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed fit")
    parser.add_argument("--configs", nargs="+", default=[f"{c['hidden_size']}:{c['featurizer_depth']}" for c in CONFIGS],
                        help="hidden_size:featurizer_depth pairs, e.g. 8:1 64:2")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread; the study's optimiser; "
          f"{args.epochs} epochs per fit; load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'bags x size':>12} {'hidden':>6} {'f.depth':>7} {'CPU s/epoch':>12} {'us/image':>9} "
          f"{'500 epochs':>11} {'wall s/epoch':>13}")
    # One small fit first: torch's one-off start-up would otherwise be charged to the first row.
    seconds_per_epoch(20, 10, CONFIGS[0], 1)
    for scale in args.scales:
        n_bags, bag_size = map(int, scale.split("x"))
        for config in args.configs:
            hidden, depth = map(int, config.split(":"))
            params = {"hidden_size": hidden, "featurizer_depth": depth}
            per_epoch, wall = seconds_per_epoch(n_bags, bag_size, params, args.epochs)
            print(f"{scale:>12} {params['hidden_size']:>6} {params['featurizer_depth']:>7} {per_epoch:>12.2f} "
                  f"{1e6 * per_epoch / (n_bags * bag_size):>9.1f} {500 * per_epoch / 60:>7.1f} min {wall:>13.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
