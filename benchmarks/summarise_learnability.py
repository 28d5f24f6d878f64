"""Summarise ``mnist_learnability.py``'s rows: which settings leave the chance plateau, how often, when.

Reads the per-epoch CSV and writes, beside it:

* ``<stem>_summary.csv`` and ``.md``: one row per setting (problem, bag size, learning rate,
  epochs) with the number of runs; how many **left the plateau** (a training loss at or below
  ``--loss-threshold``, 0.6, at some epoch: chance is ln 2 = 0.693, and the training loss is a
  mean over all 1000 training bags, so it does not cross 0.6 by noise) with a 95 % Wilson
  interval and the median first epoch there; how many **generalise at the end** (validation
  accuracy at least ``--accuracy-threshold``, 0.6, at the last epoch: 3 standard errors above
  chance for 250 balanced validation bags); the last epoch's validation accuracy, the test
  accuracy and iAUC-ROC (mean, min-max); the CPU seconds per epoch;
* ``<stem>.png``: training loss, validation log-loss and validation accuracy against the
  epoch, one line per run,
  one panel per problem and bag size, coloured by learning rate.

With ``--plateau`` (the rows of ``mnist_plateau.py``, the same runs' first epochs with the
featurizer's dead units counted), also ``<stem>_dead_units.csv`` and ``.md``: per run, the dead
featurizer units at the plateau rows' last epoch beside whether the run left the plateau, and
per group (every unit dead, or some alive) how many left, with a Wilson interval.

A run is one (problem, bag size, learning rate, epochs, seed); runs of 100 and 500 epochs are
separate rows (the first 100 epochs of a 500-epoch run are the same computation as a 100-epoch
run of that seed, as training is epoch by epoch and deterministic, so their curves coincide).
::

    python benchmarks/summarise_learnability.py docs/results/mnist_learnability.csv
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from setlearn.plotting import wilson_interval

SETTING = ["problem", "bag_size", "lr", "epochs"]
RUN = SETTING + ["hidden_size", "seed"]


def _runs(rows, loss_threshold, accuracy_threshold):
    """One row per run: when its training loss first reached ``loss_threshold``, its last epoch's values."""
    rows = rows.sort_values(RUN + ["epoch"])
    below = rows[rows["train_loss"] <= loss_threshold].groupby(RUN)["epoch"].min().rename("first_epoch_left")
    last = rows.groupby(RUN).tail(1).set_index(RUN)
    runs = last[["epoch", "valid_accuracy", "test_accuracy", "test_iauc", "fit_cpu_s", "valid_cpu_s", "status"]]
    runs = runs.join(below).reset_index()
    runs["left_plateau"] = runs["first_epoch_left"].notna()
    runs["generalises_at_end"] = runs["valid_accuracy"] >= accuracy_threshold
    runs["cpu_s_per_epoch"] = (runs["fit_cpu_s"] + runs["valid_cpu_s"]) / runs["epoch"].clip(lower=1)
    return runs


def _range(values, digits=2):
    values = values.dropna()
    if values.empty:
        return "-"
    return f"{values.mean():.{digits}f} ({values.min():.{digits}f}-{values.max():.{digits}f})"


def _interval(k, n):
    low, high = wilson_interval(k, n)
    return f"[{100 * low:.0f}, {100 * high:.0f}] %"


def summarise(rows, loss_threshold=0.6, accuracy_threshold=0.6):
    """The summary table of :func:`_runs`' runs, one row per setting."""
    runs = _runs(rows, loss_threshold, accuracy_threshold)
    table = []
    for key, g in runs.groupby(SETTING):
        n, k, m = len(g), int(g["left_plateau"].sum()), int(g["generalises_at_end"].sum())
        table.append({
            **dict(zip(SETTING, key)), "runs": n, "left_plateau": k, "left_plateau_95ci": _interval(k, n),
            "median_first_epoch_left": (float(g["first_epoch_left"].median()) if k else np.nan),
            "generalises_at_end": m, "generalises_at_end_95ci": _interval(m, n),
            "last_valid_accuracy": _range(g["valid_accuracy"]),
            "test_accuracy": _range(g["test_accuracy"]), "test_iauc_roc": _range(g["test_iauc"]),
            "cpu_s_per_epoch": round(float(g["cpu_s_per_epoch"].mean()), 2),
            "diverged": int((g["status"] == "diverged").sum()),
        })
    return pd.DataFrame(table)


def dead_units(rows, plateau, loss_threshold=0.6):
    """Per run, dead featurizer units after ``plateau``'s epochs beside whether the run left the plateau.

    ``plateau`` repeats the first epochs of the same runs (same bags, seeds and optimiser); its
    training losses are checked against ``rows`` so that a mismatch cannot pass unnoticed.
    """
    keys = ["problem", "bag_size", "lr", "hidden_size", "seed"]
    joined = plateau.merge(rows[keys + ["epoch", "train_loss"]].drop_duplicates(keys + ["epoch"]),
                           on=keys + ["epoch"], suffixes=("", "_run"))
    if not np.allclose(joined["train_loss"], joined["train_loss_run"], rtol=0, atol=1e-6):
        raise ValueError("the plateau rows are not the same runs: their training losses differ")
    last = plateau.sort_values("epoch").groupby(keys).tail(1)
    runs = _runs(rows, loss_threshold, 0.6)
    runs = runs[runs["epochs"] == runs.groupby(keys)["epochs"].transform("min")]  # the shortest run per seed
    per_run = last.drop(columns="valid_accuracy").merge(
        runs[keys + ["left_plateau", "valid_accuracy"]].rename(columns={"valid_accuracy": "last_valid_accuracy"}),
        on=keys)
    per_run = per_run.rename(columns={"epoch": "plateau_epochs"})
    per_run["all_dead"] = per_run["dead_features"] == per_run["hidden_size"]
    groups = []
    for all_dead, g in per_run.groupby("all_dead"):
        k, n = int(g["left_plateau"].sum()), len(g)
        groups.append({"featurizer units": "all dead" if all_dead else "some alive", "runs": n,
                       "left_plateau": k, "left_plateau_95ci": _interval(k, n)})
    columns = keys + ["plateau_epochs", "dead_features", "left_plateau", "last_valid_accuracy"]
    return per_run.sort_values(keys)[columns], pd.DataFrame(groups)


def plot(rows, path, loss_threshold=0.6, accuracy_threshold=0.6):
    """Training loss, validation loss and accuracy per epoch; one column per problem and bag size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted(rows.groupby(["problem", "bag_size"]).groups, key=lambda k: (k[0], -k[1]))
    lrs = sorted(rows["lr"].unique())
    colours = dict(zip(lrs, plt.get_cmap("tab10").colors))
    fig, axes = plt.subplots(3, len(panels), figsize=(3.6 * len(panels), 8), sharex="col", sharey="row",
                             squeeze=False)
    for col, (problem, bag_size) in enumerate(panels):
        sub = rows[(rows["problem"] == problem) & (rows["bag_size"] == bag_size)]
        for (lr, epochs, seed), run in sub.groupby(["lr", "epochs", "seed"]):
            style = dict(color=colours[lr], lw=0.9, alpha=0.8, ls="-" if epochs == sub["epochs"].max() else "--")
            axes[0, col].plot(run["epoch"], run["train_loss"], **style)
            axes[1, col].plot(run["epoch"], run["valid_loss"], **style)
            axes[2, col].plot(run["epoch"], run["valid_accuracy"], **style)
        for row in (0, 1):
            axes[row, col].axhline(np.log(2), color="grey", lw=0.8, ls=":")
        axes[0, col].axhline(loss_threshold, color="grey", lw=0.8, ls="--")
        axes[2, col].axhline(accuracy_threshold, color="grey", lw=0.8, ls=":")
        axes[0, col].set_title(f"{problem.upper()}, bags of {bag_size}")
        axes[2, col].set_xlabel("epoch")
        axes[2, col].set_ylim(0.4, 1.0)
    for row in (0, 1):  # the first epochs' spikes would squash the curves
        axes[row, 0].set_ylim(top=0.8)
    axes[0, 0].set_ylabel(f"training loss (ln 2: chance; {loss_threshold:g}: left)")
    axes[1, 0].set_ylabel("validation log-loss")
    axes[2, 0].set_ylabel(f"validation accuracy ({accuracy_threshold:g}: generalises)")
    handles = [plt.Line2D([], [], color=colours[lr], label=f"lr {lr:g}") for lr in lrs]
    fig.legend(handles=handles, loc="upper right", frameon=False)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--plateau", type=Path, help="mnist_plateau.py's rows of the same runs")
    parser.add_argument("--loss-threshold", type=float, default=0.6)
    parser.add_argument("--accuracy-threshold", type=float, default=0.6)
    args = parser.parse_args()
    rows = pd.read_csv(args.csv)
    table = summarise(rows, args.loss_threshold, args.accuracy_threshold)
    stem = args.csv.with_suffix("")
    table.to_csv(f"{stem}_summary.csv", index=False)
    Path(f"{stem}_summary.md").write_text(table.to_markdown(index=False) + "\n")
    plot(rows, f"{stem}.png", args.loss_threshold, args.accuracy_threshold)
    print(table.to_string(index=False))
    if args.plateau is not None:
        per_run, groups = dead_units(rows, pd.read_csv(args.plateau), args.loss_threshold)
        per_run.to_csv(f"{stem}_dead_units.csv", index=False)
        Path(f"{stem}_dead_units.md").write_text(per_run.to_markdown(index=False) + "\n\n"
                                                 + groups.to_markdown(index=False) + "\n")
        print(per_run.to_string(index=False), groups.to_string(index=False), sep="\n\n")


if __name__ == "__main__":
    main()
