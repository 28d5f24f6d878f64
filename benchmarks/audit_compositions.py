"""The ground-truth audit of every composition, at the study's data scale.

For every composition (``setlearn.datasets.COMPOSITIONS``) and problem (MIL, AND,
XOR) this makes one training set of the study's size (1000 bags of 250 instances
by default; under ``"independent"`` 250 is the mean bag size) and runs
``setlearn.inspection.audit_ground_truth`` on it: for every strict subset S of the
populations without all deciding ones, gradient boosting (5-fold cross-validated)
on S's counts and within-S shares against the bound the rule allows for S, and,
apart, the whole-bag shares and the bag size. It prints one Markdown table per
composition (the tables of ``docs/datasets.md``)::

    OMP_NUM_THREADS=1 python benchmarks/audit_compositions.py
    OMP_NUM_THREADS=1 python benchmarks/audit_compositions.py --modalities gaussian mnist \\
        --compositions independent --out audit_compositions.csv

No model is trained (the attention-needed check is left out), so a full run takes a
few minutes on one core. ``--quick`` runs 200 bags of 50 to check the script.
"""

import argparse
import time
import warnings

import pandas as pd

from setlearn.datasets import COMPOSITIONS, make_bags
from setlearn.inspection import audit_ground_truth

PROBLEMS = ("mil", "and", "xor")


def audit_rows(modality, problem, composition, n_bags, bag_size, seed, n_bootstraps):
    """One row per check of the audit of one data set."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        X, y, importance, populations = make_bags(problem, modality, n_bags=n_bags, bag_size=bag_size,
                                                  composition=composition, random_state=seed,
                                                  return_populations=True)
    start = time.perf_counter()
    audit = audit_ground_truth(X, y, importance, populations, n_bootstraps=n_bootstraps, random_state=seed)
    frame = audit.to_frame()
    frame.insert(0, "composition", composition)
    frame.insert(0, "problem", problem)
    frame.insert(0, "modality", modality)
    frame["mean_bag_size"] = sum(len(b) for b in X) / len(X)
    frame["audit_s"] = round(time.perf_counter() - start, 1)
    return frame


def markdown(rows):
    """One table per composition: AUROC [95 % interval], bound, excess interval, leak."""
    out = []
    for composition, g in rows.groupby("composition", sort=False):
        lines = [f"### `{composition}`", "",
                 "| data | problem | check | AUROC [95 %] | bound | AUROC - bound, simultaneous 95 % | leak |",
                 "|---|---|---|---|---|---|---|"]
        for r in g.itertuples(index=False):
            bounded = pd.notna(r.bound)
            lines.append(
                f"| {r.modality} | {r.problem.upper()} | {r.check} | {r.auroc:.2f} [{r.auroc_low:.2f}, "
                f"{r.auroc_high:.2f}] | {f'{r.bound:.2f}' if bounded else '–'} | "
                f"{f'{r.auroc - r.bound:+.2f} [{r.excess_low:+.2f}, {r.excess_high:+.2f}]' if bounded else '–'} | "
                f"{('**LEAK**' if r.leak else 'no') if bounded else '–'} |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compositions", nargs="+", default=list(COMPOSITIONS), choices=list(COMPOSITIONS))
    parser.add_argument("--modalities", nargs="+", default=["gaussian"])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--n-bags", type=int, default=1000)
    parser.add_argument("--bag-size", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-bootstraps", type=int, default=1000)
    parser.add_argument("--out", default=None, help="also write the rows to this CSV")
    parser.add_argument("--quick", action="store_true", help="200 bags of 50, 200 resamples")
    args = parser.parse_args()
    if args.quick:
        args.n_bags, args.bag_size, args.n_bootstraps = 200, 50, 200
    frames = []
    for composition in args.compositions:
        for modality in args.modalities:
            for problem in args.problems:
                frames.append(audit_rows(modality, problem, composition, args.n_bags, args.bag_size, args.seed,
                                         args.n_bootstraps))
                print(f"{composition} {modality} {problem}: {frames[-1].audit_s.iloc[0]} s", flush=True)
    rows = pd.concat(frames, ignore_index=True)
    if args.out:
        rows.to_csv(args.out, index=False)
    print(f"\n{args.n_bags} bags of {args.bag_size} instances (seed {args.seed}), {args.n_bootstraps} bootstrap "
          f"resamples; gradient boosting 5-fold cross-validated.\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
