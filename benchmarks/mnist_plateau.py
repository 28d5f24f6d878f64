"""Why an MNIST model sits on the chance plateau: dead featurizer units, measured epoch by epoch.

A model whose training loss stays at ln 2 predicts the class prior for every bag. One way to get
there is that every output unit of the CNN featurizer is dead (ReLU zero on every image): then
every bag has the same representation, attention is uniform and nothing can be learnt, as no
gradient reaches the featurizer again. This script measures it: for each setting and seed it
trains ``mnist_learnability.py``'s model (same data, same optimiser) epoch by epoch and records
after every epoch

* ``dead_features``: featurizer output units that are zero on every validation image;
* ``attention_spread``: the mean, over validation bags, of the largest attention weight times
  the bag size (1 for uniform attention);
* the training loss and validation accuracy.

One CSV row per epoch. ::

    OMP_NUM_THREADS=1 python benchmarks/mnist_plateau.py --problems and xor --epochs 10 \\
        --out docs/results/mnist_plateau.csv
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_learnability import _bags, make_model, train_epochs  # noqa: E402  (the learnability runs')



def _dead_features(model, images):
    with torch.no_grad():
        features = model.net_.module_.featurizer(torch.as_tensor(images, dtype=torch.float32))[0]
    return int((features == 0).all(dim=0).sum())


def _attention_spread(model, X):
    return float(np.mean([weights.max() * len(weights) for weights in model.explain(X)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["and", "xor"])
    parser.add_argument("--bag-sizes", nargs="+", type=int, default=[250])
    parser.add_argument("--lrs", nargs="+", type=float, default=[0.005, 0.02])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-bags", nargs=3, type=int, default=[1000, 250, 250])
    parser.add_argument("--hidden-size", type=int, default=8)
    parser.add_argument("--composition", default=None)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--mnist-path", default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for problem in args.problems:
        for bag_size in args.bag_sizes:
            (X, y, _), (Xv, yv, _), _ = _bags(problem, bag_size, args.n_bags, args)
            images = np.unique(np.concatenate([np.asarray(b) for b in Xv]), axis=0)
            for lr in args.lrs:
                for seed in args.seeds:
                    # mnist_learnability.py's model and optimiser at its default sizes.
                    model = make_model({"hidden_size": args.hidden_size, "attention_size": 4, "featurizer_depth": 1,
                                        "classifier_depth": 2, "lr": lr, "weight_decay": 1e-4, "batch_size": 100,
                                        "seed": seed})
                    for epoch in train_epochs(model, X, y, args.epochs):
                        row = {"problem": problem, "bag_size": bag_size, "lr": lr, "seed": seed, "epoch": epoch,
                               "hidden_size": args.hidden_size,
                               "train_loss": float(model.net_.history[-1, "train_loss"]),
                               "valid_accuracy": float((model.predict(Xv) == yv).mean()),
                               "dead_features": _dead_features(model, images),
                               "attention_spread": _attention_spread(model, Xv)}
                        rows.append(row)
                        print(row, flush=True)
                    pd.DataFrame(rows).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
