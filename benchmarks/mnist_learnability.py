"""Which MNIST settings leave the chance plateau? Per-epoch loss curves over seeds (issue #25 item 1).

For every problem x bag size x learning rate x seed, trains one ``AttentionMILClassifier``
(CNN featurizer, Adam with the study's weight decay 1e-4 and 100 bags per step) on
``n_train`` MNIST bags and records, after **every** epoch, the training loss (skorch's mean over
the epoch's steps), the validation log-loss and the validation accuracy on ``n_valid`` bags
from the disjoint validation pool. After the last epoch it scores the test bags (accuracy and
iAUC-ROC of the attention). One CSV row per epoch; the run's own values (CPU seconds, test
scores, status) are repeated on every row of the run, so the file stays one flat table.

The bags are the same for every seed and learning rate of a problem and bag size (seeded by
``--data-seed``; train, valid and test from the pools ``"train"``, ``"valid"``, ``"test"``);
the seed is the model's (weights and batch order). The composition is ``make_bags``' default
unless ``--composition`` names one; the value used is recorded.

Training is epoch by epoch: ``fit`` with ``max_epochs=1`` then skorch's ``partial_fit``, one
epoch each, which continues the same optimiser and batch-order generator (checked: the same
losses and probabilities as one ``fit`` of all the epochs, to 6e-8).

Resumable and safe to run twice at once: a run's rows are appended in one locked write when
the run ends, runs already in the CSV are skipped, and rows of a run cut short (a crash
inside that write) are dropped at start and the run trained again.

The issue's run (AND and XOR, bags of 250 and 50, 4 seeds, lr 0.005 and 0.02)::

    OMP_NUM_THREADS=1 python benchmarks/mnist_learnability.py --epochs 100

then ``--epochs 500 --problems and --bag-sizes 250`` (say) for the most promising setting.
Cost: benchmarks/README.md ("Cost of one MNIST run"). A smoke test::

    python benchmarks/mnist_learnability.py --problems and --bag-sizes 12 --n-bags 20 10 10 \\
        --seeds 0 1 --lrs 0.02 --epochs 2 --out /tmp/learnability_smoke.csv

Needs the ``mnist`` extra, or ``--mnist-path`` to full MNIST on disk (docs/datasets.md).
"""

import argparse
import csv
import datetime
import fcntl
import inspect
import io
import os
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import log_loss

from setlearn import AttentionMILClassifier
from setlearn.bags import PaddedBags
from setlearn.datasets import make_bags
from setlearn.metrics import importance_auroc_score
from setlearn.nn import BagDataset

OUT = Path(__file__).resolve().parent.parent / "docs" / "results" / "mnist_learnability.csv"
KEY = ["problem", "pool", "composition", "n_train", "n_valid", "n_test", "bag_size", "data_seed", "hidden_size",
       "attention_size", "featurizer_depth", "classifier_depth", "lr", "weight_decay", "batch_size", "epochs", "seed"]
EPOCH = ["epoch", "train_loss", "valid_loss", "valid_accuracy"]
RUN = ["status", "fit_cpu_s", "fit_wall_s", "valid_cpu_s", "test_accuracy", "test_iauc", "device", "torch",
       "finished_utc"]
COLUMNS = KEY + EPOCH + RUN


def _key(row):
    return tuple(str(row[name]) for name in KEY)


def _complete_runs(rows):
    """Keys of the runs whose rows are all there (every epoch, or up to a divergence)."""
    by_key = {}
    for row in rows:
        by_key.setdefault(_key(row), []).append(row)
    return {key for key, run in by_key.items()
            if len(run) == int(run[0]["epochs"]) or run[0]["status"] == "diverged"}


def _read(path):
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


class _Locked:
    """An exclusive lock on ``path``'s side file, for the read-check-write of one run."""

    def __init__(self, path):
        self.lock = path.with_name(path.name + ".lock")

    def __enter__(self):
        self.fh = self.lock.open("a")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _text(rows, header):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def drop_incomplete(path):
    """Rewrite ``path`` without the rows of runs cut short; returns how many rows went."""
    with _Locked(path):
        rows = _read(path)
        complete = _complete_runs(rows)
        kept = [row for row in rows if _key(row) in complete]
        if len(kept) < len(rows):
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(_text(kept, header=True))
            os.replace(tmp, path)
        return len(rows) - len(kept)


def append_run(path, rows):
    """Append one run's rows in one write, unless another process wrote that run meanwhile."""
    with _Locked(path):
        if _key(rows[0]) in _complete_runs(_read(path)):
            return False
        text = _text(rows, header=not path.exists() or path.stat().st_size == 0)
        with path.open("a", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        return True


def _bags(problem, bag_size, n_bags, args):
    """Train, valid and test bags, each from its own pool, seeded by (data seed, split)."""
    extra = {} if args.composition is None else {"composition": args.composition}
    if args.mnist_path is not None:
        extra["mnist_path"] = args.mnist_path
    return [make_bags(problem, "mnist", n_bags=n, bag_size=bag_size, pool=pool,
                      random_state=np.random.SeedSequence([args.data_seed, i]), **extra)
            for i, (pool, n) in enumerate(zip(("train", "valid", "test"), n_bags))]


def train_epochs(model, X, y, n_epochs):
    """Train ``model`` one epoch per ``next()``: ``fit`` for the first, skorch's ``partial_fit`` after.

    ``partial_fit`` continues the same optimiser and batch-order generator, so the epochs are
    those of one ``fit`` of ``n_epochs`` (``model`` has ``max_epochs=1``). Yields the epoch number.
    """
    model.fit(X, y)
    yield 1
    # The training set as fit built it: each distinct image of a step featurized once.
    dataset = BagDataset(PaddedBags([np.asarray(b) for b in X], distinct="auto"),
                         np.searchsorted(model.classes_, y).astype(np.int64))
    for epoch in range(2, n_epochs + 1):
        model.net_.partial_fit(dataset, y=None)
        yield epoch


def make_model(key, device="cpu"):
    """The run's model, unfitted, for :func:`train_epochs` (one epoch per ``fit``)."""
    return AttentionMILClassifier(
        hidden_size=key["hidden_size"], attention_size=key["attention_size"],
        featurizer_depth=key["featurizer_depth"], classifier_depth=key["classifier_depth"], lr=key["lr"],
        weight_decay=key["weight_decay"], batch_size=key["batch_size"], max_epochs=1, random_state=key["seed"],
        n_threads=1, device=device, verbose=0,
    )


def train_run(key, data, device="cpu"):
    """Train one model epoch by epoch; its rows (one per epoch)."""
    (X, y, _), (Xv, yv, _), (Xt, yt, imp_t) = data
    model = make_model(key, device)
    steps = train_epochs(model, X, y, key["epochs"])
    fit_cpu = fit_wall = valid_cpu = 0.0
    rows, status = [], "ok"
    for epoch in range(1, key["epochs"] + 1):
        start, wall = time.process_time(), time.perf_counter()
        try:
            next(steps)
        except ValueError as exc:
            if "diverged" not in str(exc):
                raise
            status = "diverged"
            break
        finally:
            fit_cpu += time.process_time() - start
            fit_wall += time.perf_counter() - wall
        start = time.process_time()
        proba = model.predict_proba(Xv)
        valid_cpu += time.process_time() - start
        rows.append({**key, "epoch": epoch, "train_loss": float(model.net_.history[-1, "train_loss"]),
                     "valid_loss": log_loss(yv, proba, labels=model.classes_),
                     "valid_accuracy": float((model.classes_[proba.argmax(axis=1)] == yv).mean())})
    test_accuracy = test_iauc = float("nan")
    if status == "ok":
        test_accuracy = float((model.predict(Xt) == yt).mean())
        test_iauc = importance_auroc_score(imp_t, model.explain(Xt), y=yt)
    run = {"status": status, "fit_cpu_s": round(fit_cpu, 2), "fit_wall_s": round(fit_wall, 2),
           "valid_cpu_s": round(valid_cpu, 2), "test_accuracy": test_accuracy, "test_iauc": test_iauc,
           "device": device, "torch": torch.__version__,
           "finished_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if not rows:  # diverged in the first epoch: one row says so
        rows = [{**key, "epoch": 0, "train_loss": float("nan"), "valid_loss": float("nan"),
                 "valid_accuracy": float("nan")}]
    return [{**row, **run} for row in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["and", "xor"])
    parser.add_argument("--bag-sizes", nargs="+", type=int, default=[250, 50])
    parser.add_argument("--lrs", nargs="+", type=float, default=[0.005, 0.02])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--n-bags", nargs=3, type=int, default=[1000, 250, 250], metavar=("TRAIN", "VALID", "TEST"),
                        help="bags per split (the study's 1000 / 250 / 250)")
    parser.add_argument("--hidden-size", type=int, default=8)
    parser.add_argument("--attention-size", type=int, default=4)
    parser.add_argument("--featurizer-depth", type=int, default=1)
    parser.add_argument("--classifier-depth", type=int, default=2,
                        help="2: AND and XOR bags need a hidden layer in the head (docs/estimators.md)")
    parser.add_argument("--composition", default=None, help="make_bags' composition (default: its default)")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--mnist-path", default=None, help="full MNIST on disk (default: the 5,000-image pool)")
    parser.add_argument("--device", default="cpu", help="e.g. cuda (then fit_wall_s is the cost that counts)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dropped = drop_incomplete(args.out)
    if dropped:
        print(f"dropped {dropped} rows of runs cut short; they train again", flush=True)
    composition = args.composition or inspect.signature(make_bags).parameters["composition"].default
    pool = "5k-default" if args.mnist_path is None else f"files:{Path(args.mnist_path).name}"
    for problem in args.problems:
        for bag_size in args.bag_sizes:
            keys = [{"problem": problem, "pool": pool, "composition": composition, "n_train": args.n_bags[0],
                     "n_valid": args.n_bags[1], "n_test": args.n_bags[2], "bag_size": bag_size,
                     "data_seed": args.data_seed, "hidden_size": args.hidden_size,
                     "attention_size": args.attention_size, "featurizer_depth": args.featurizer_depth,
                     "classifier_depth": args.classifier_depth, "lr": lr, "weight_decay": 1e-4, "batch_size": 100,
                     "epochs": args.epochs, "seed": seed}
                    for lr in args.lrs for seed in args.seeds]
            done = _complete_runs(_read(args.out))
            todo = [key for key in keys if _key(key) not in done]
            print(f"{problem} bags of {bag_size}: {len(keys) - len(todo)} of {len(keys)} runs done", flush=True)
            if not todo:
                continue
            data = _bags(problem, bag_size, args.n_bags, args)  # built once for every seed and lr
            for key in todo:
                rows = train_run(key, data, args.device)
                written = append_run(args.out, rows)
                last = rows[-1]
                print(f"  lr {key['lr']:g} seed {key['seed']}: {last['status']}, epoch {last['epoch']} train loss "
                      f"{last['train_loss']:.3f} valid loss {last['valid_loss']:.3f} acc {last['valid_accuracy']:.2f}; "
                      f"test acc {last['test_accuracy']:.2f} iAUC {last['test_iauc']:.2f}; fit CPU "
                      f"{last['fit_cpu_s'] / max(last['epoch'], 1):.2f} s/epoch (wall "
                      f"{last['fit_wall_s'] / max(last['epoch'], 1):.2f}), valid "
                      f"{last['valid_cpu_s'] / max(last['epoch'], 1):.2f} s/epoch"
                      + ("" if written else " (another process wrote this run first; not written)"), flush=True)


if __name__ == "__main__":
    main()
