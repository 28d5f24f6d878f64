"""Summarise ``mnist_learnability.py``'s rows: which settings leave the chance plateau, how often, when.

Reads the per-epoch CSV and writes, beside it:

* ``<stem>_summary.csv`` and ``.md``: one row per setting (problem, bag size, learning rate,
  epochs) with the number of runs, how many **left the plateau** (validation accuracy at least
  ``--threshold`` at some epoch; 0.6 is 3 standard errors above chance for 250 balanced
  validation bags) with a 95 % Wilson interval, how many still were at the last epoch, the
  median first epoch above the threshold, the last epoch's validation accuracy and the test
  accuracy and iAUC-ROC (mean, min-max), and the CPU seconds per epoch;
* ``<stem>.png``: training loss, validation log-loss and validation accuracy against the
  epoch, one line per run,
  one panel per problem and bag size, coloured by learning rate.

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
RUN = SETTING + ["seed"]


def _runs(rows, threshold):
    """One row per run: when it first reached ``threshold``, and its last epoch's values."""
    rows = rows.sort_values(RUN + ["epoch"])
    above = rows[rows["valid_accuracy"] >= threshold].groupby(RUN)["epoch"].min().rename("first_epoch_above")
    last = rows.groupby(RUN).tail(1).set_index(RUN)
    runs = last[["epoch", "valid_accuracy", "test_accuracy", "test_iauc", "fit_cpu_s", "valid_cpu_s", "status"]]
    runs = runs.join(above).reset_index()
    runs["left_plateau"] = runs["first_epoch_above"].notna()
    runs["above_at_end"] = runs["valid_accuracy"] >= threshold
    runs["cpu_s_per_epoch"] = (runs["fit_cpu_s"] + runs["valid_cpu_s"]) / runs["epoch"].clip(lower=1)
    return runs


def _range(values, digits=2):
    values = values.dropna()
    if values.empty:
        return "-"
    return f"{values.mean():.{digits}f} ({values.min():.{digits}f}-{values.max():.{digits}f})"


def summarise(rows, threshold=0.6):
    """The summary table of :func:`_runs`' runs, one row per setting."""
    runs = _runs(rows, threshold)
    table = []
    for key, g in runs.groupby(SETTING):
        n, k = len(g), int(g["left_plateau"].sum())
        low, high = wilson_interval(k, n)
        table.append({
            **dict(zip(SETTING, key)), "runs": n, "left_plateau": k,
            "left_plateau_95ci": f"[{100 * low:.0f}, {100 * high:.0f}] %",
            "above_at_end": int(g["above_at_end"].sum()),
            "median_first_epoch_above": (float(g["first_epoch_above"].median()) if k else np.nan),
            "last_valid_accuracy": _range(g["valid_accuracy"]),
            "test_accuracy": _range(g["test_accuracy"]), "test_iauc_roc": _range(g["test_iauc"]),
            "cpu_s_per_epoch": round(float(g["cpu_s_per_epoch"].mean()), 2),
            "diverged": int((g["status"] == "diverged").sum()),
        })
    return pd.DataFrame(table)


def plot(rows, path, threshold=0.6):
    """Training loss, validation loss and accuracy per epoch; one column per problem and bag size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted(rows.groupby(["problem", "bag_size"]).groups, key=lambda k: (k[0], -k[1]))
    lrs = sorted(rows["lr"].unique())
    colours = dict(zip(lrs, plt.get_cmap("tab10").colors))
    fig, axes = plt.subplots(3, len(panels), figsize=(3.6 * len(panels), 8), sharex=True, sharey="row",
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
        axes[2, col].axhline(threshold, color="grey", lw=0.8, ls=":")
        axes[0, col].set_title(f"{problem.upper()}, bags of {bag_size}")
        axes[2, col].set_xlabel("epoch")
        axes[2, col].set_ylim(0.4, 1.0)
    axes[0, 0].set_ylabel("training loss (chance: ln 2)")
    axes[1, 0].set_ylabel("validation log-loss")
    axes[2, 0].set_ylabel(f"validation accuracy ({threshold:g}: left the plateau)")
    handles = [plt.Line2D([], [], color=colours[lr], label=f"lr {lr:g}") for lr in lrs]
    fig.legend(handles=handles, loc="upper right", frameon=False)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--threshold", type=float, default=0.6)
    args = parser.parse_args()
    rows = pd.read_csv(args.csv)
    table = summarise(rows, args.threshold)
    stem = args.csv.with_suffix("")
    table.to_csv(f"{stem}_summary.csv", index=False)
    Path(f"{stem}_summary.md").write_text(table.to_markdown(index=False) + "\n")
    plot(rows, f"{stem}.png", args.threshold)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
