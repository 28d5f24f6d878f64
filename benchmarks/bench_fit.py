"""Speed of AttentionMILClassifier.fit against a hand-written torch loop.

Both train the same architecture (MLP or CNN featurizer -> tanh attention ->
linear classifier) with Adam on the same bags for the same number of epochs,
100 bags per step. The hand-written loop is what a careful user would write:
bags pre-padded once into one tensor with a mask, a random permutation per
epoch, plain ``torch.nn`` layers, the same fused Adam, no skorch. Timings alternate between the two
and the best of ``--repeats`` runs is kept, so background load hits both; the
printed ratio ``setlearn / hand-written`` is the number to read (target <= 1.25).

Run: ``python benchmarks/bench_fit.py`` (about a minute on 2 cores).
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from setlearn import AttentionMILClassifier


class HandWrittenMIL(nn.Module):
    def __init__(self, featurizer, hidden, attention, classifier=None):
        super().__init__()
        self.featurizer = featurizer
        self.V = nn.Linear(hidden, attention)
        self.w = nn.Linear(attention, 1)
        self.classifier = nn.Linear(hidden, 2) if classifier is None else classifier

    def forward(self, x, mask):
        b, n = mask.shape
        h = self.featurizer(x.reshape(b * n, *x.shape[2:])).view(b, n, -1)
        logits = self.w(torch.tanh(self.V(h))).squeeze(-1).masked_fill(~mask, float("-inf"))
        a = torch.softmax(logits, dim=1)
        return self.classifier(torch.einsum("bn,bnh->bh", a, h))


def hand_written_fit(bags, y, featurizer, hidden, attention, epochs, seed=0, classifier=None, batch_size=100):
    torch.manual_seed(seed)
    width = max(len(b) for b in bags)
    x = torch.zeros(len(bags), width, *bags[0].shape[1:])
    mask = torch.zeros(len(bags), width, dtype=torch.bool)
    for i, b in enumerate(bags):
        x[i, : len(b)] = torch.from_numpy(b)
        mask[i, : len(b)] = True
    y = torch.from_numpy(y)
    model = HandWrittenMIL(featurizer, hidden, attention, classifier)
    # Same optimizer as setlearn (fused Adam), so the ratio measures only what
    # setlearn and skorch add around the same computation.
    opt = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=1e-4, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for idx in torch.randperm(len(bags)).split(batch_size):
            opt.zero_grad()
            loss = loss_fn(model(x[idx], mask[idx]), y[idx])
            loss.backward()
            opt.step()
    return model


def gaussian_bags(n_bags, size, rng):
    y = np.arange(n_bags) % 2
    bags = [
        (rng.normal(0, 0.5, (size, 4)) + (rng.random((size, 1)) < 0.5 * label)).astype(np.float32)
        for label in y
    ]
    return bags, y


def digits_bags(n_bags, rng, flatten):
    digits = load_digits()
    images = (digits.images / 16).astype(np.float32)
    if flatten:
        images = images.reshape(len(images), -1)
    y = np.arange(n_bags) % 2
    bags = []
    for _ in y:
        idx = rng.integers(0, len(images), rng.integers(8, 13))
        bags.append(images[idx])
    return bags, y


def cnn_featurizer(hidden):
    return nn.Sequential(
        nn.Unflatten(1, (1, 8)), nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(8 * 4 * 4, hidden), nn.ReLU(),
    )


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def compare(name, bags, y, hand_featurizer, epochs, repeats, hidden=8, attention=8):
    clf = AttentionMILClassifier(hidden_size=hidden, attention_size=attention, max_epochs=epochs, random_state=0)
    # Warm-up: the first fit of a process pays one-off allocation and dispatch costs.
    hand_written_fit(bags, y, hand_featurizer(), hidden, attention, 1)
    clf.set_params(max_epochs=1).fit(bags, y).set_params(max_epochs=epochs)
    times = {"setlearn": [], "hand-written": []}
    for _ in range(repeats):
        times["hand-written"].append(best_of(lambda: hand_written_fit(bags, y, hand_featurizer(), hidden, attention, epochs), 1))
        times["setlearn"].append(best_of(lambda: clf.fit(bags, y), 1))
    hand, ours = min(times["hand-written"]), min(times["setlearn"])
    print(f"{name:<44} hand-written {hand / epochs * 1e3:7.1f} ms/epoch   setlearn {ours / epochs * 1e3:7.1f} ms/epoch   ratio {ours / hand:5.2f}")
    return ours / hand


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    # setlearn runs torch on one thread by default (n_threads=1); the
    # hand-written loop gets the same, so the ratio compares equal hardware.
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ratio = setlearn / hand-written (target <= 1.25)")
    bags, y = gaussian_bags(1000, 250, rng)
    compare("Gaussian, 1000 bags x 250 x 4 features (MLP)", bags, y,
            lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU()), args.epochs, args.repeats)
    bags, y = digits_bags(1000, rng, flatten=True)
    compare("digits, 1000 bags x 8-12 x 64 pixels (MLP)", bags, y,
            lambda: nn.Sequential(nn.Linear(64, 8), nn.ReLU()), 3 * args.epochs, args.repeats)
    bags, y = digits_bags(1000, rng, flatten=False)
    compare("digits, 1000 bags x 8-12 x 8x8 images (CNN)", bags, y, lambda: cnn_featurizer(8), args.epochs, args.repeats)


if __name__ == "__main__":
    main()
