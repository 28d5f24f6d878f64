"""Does one MNIST model learn at a reduced scale? (the check behind the ``study-mnist`` preset)

Trains one ``AttentionMILClassifier`` (CNN, the study's optimiser, attention size 4, featurizer
depth 1, classifier depth ``CLASSIFIER_DEPTH``, default 1) on
``n_bags`` training bags of ``bag_size`` MNIST images for ``epochs`` epochs, then prints its CPU
fit time, validation and test accuracy (100 bags each, from the disjoint pools), test iAUC-ROC
and the training loss at 10/25/50/75/100 % of the epochs.

Run: ``OMP_NUM_THREADS=1 python benchmarks/mnist_learnability.py PROBLEM N_BAGS BAG_SIZE EPOCHS HIDDEN
[CLASSIFIER_DEPTH]``, e.g. ``... and 400 20 50 8`` (about a CPU minute; needs the ``mnist`` extra).
Balanced AND and XOR bags need ``CLASSIFIER_DEPTH`` 2 (a linear head cannot separate them).
"""

import sys
import time

import torch

from setlearn import AttentionMILClassifier
from setlearn.datasets import make_bags
from setlearn.metrics import importance_auroc_score


def main():
    torch.set_num_threads(1)  # as assess trains each model
    problem, n, size, epochs, hidden = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    classifier_depth = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    X, y, _ = make_bags(problem, "mnist", n_bags=n, bag_size=size, pool="train", random_state=0)
    Xv, yv, _ = make_bags(problem, "mnist", n_bags=100, bag_size=size, pool="valid", random_state=1)
    Xt, yt, it = make_bags(problem, "mnist", n_bags=100, bag_size=size, pool="test", random_state=2)
    m = AttentionMILClassifier(hidden_size=hidden, attention_size=4, featurizer_depth=1, classifier_depth=classifier_depth, max_epochs=epochs,
                               batch_size=100, lr=0.005, weight_decay=1e-4, random_state=0, verbose=0)
    cpu, wall = time.process_time(), time.perf_counter()
    m.fit(X, y)
    fit_cpu, fit_wall = time.process_time() - cpu, time.perf_counter() - wall
    cpu = time.process_time()
    va = (m.predict(Xv) == yv).mean()
    ta = (m.predict(Xt) == yt).mean()
    iauc = importance_auroc_score(it, m.explain(Xt), y=yt)
    score_cpu = time.process_time() - cpu
    loss = [h["train_loss"] for h in m.history_]
    print(f"{problem} {n}x{size} {epochs}ep h{hidden} c{classifier_depth}: fit CPU {fit_cpu:.0f}s wall {fit_wall:.0f}s; score CPU {score_cpu:.1f}s; valid acc {va:.2f} test acc {ta:.2f} iAUC {iauc:.2f}; loss@10/25/50/75/100%: {[round(float(loss[int(f * (len(loss) - 1))]), 3) for f in (0.1, 0.25, 0.5, 0.75, 1)]}", flush=True)


if __name__ == "__main__":
    main()
