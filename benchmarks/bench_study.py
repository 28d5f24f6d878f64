"""``setlearn assess --preset study`` end to end, this tree against a baseline revision (issue #23).

Runs the study preset (MIL, AND, XOR on Gaussian bags at the study's data scale: 192 models,
2,700 ensembles, the audit and the report) once with ``--baseline-rev`` (exported from git)
and once with this tree, one after the other, each in a fresh process with one torch thread
and ``--n-jobs 1`` (the call ``setlearn assess --preset P --config F --n-jobs 1`` makes), so that
both sides run the same work on one core, and prints the ratio of their CPU times (the process
and its children) and wall times, and of every stage's time (``AssessmentResult.stage_s``).

``--epochs`` overrides the preset's 500 epochs (through ``--config``, every other setting
kept): at 500 epochs the baseline of issue #23 (``b70575a``, the last commit before its first
change) takes about 2 hours of one core (7,250 CPU s, computed from its stage times at 100
epochs). With fewer epochs the stages that do not train (scoring, ensembles, audit, report)
weigh more in both times, so the ratio is that of a shorter run, not of the preset's.

Then the two ``models.csv`` are compared row by row: the data are the same on both sides
(``make_bags`` is unchanged since ``b70575a``), but this tree trains the seeds of a
configuration in stacks that share their batch order (docs/assessment.md, "Stacked seeds"), so
rows agree only where the training is the same, and the comparison says how far apart the
rest are.

Usage::

    python benchmarks/bench_study.py --baseline-rev b70575a [--epochs 100] [--preset study]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _git import REPO, export_package  # noqa: E402

KEY = ["problem", "modality", "stage", "config_id", "repeat"]
SCORES = ["valid_accuracy", "test_accuracy", "iauc_roc"]


# Run in the child: the call ``setlearn assess --preset P --config F --out D --n-jobs 1 -q`` makes,
# with the stage times it keeps (both revisions have them).
_CHILD = """
import json, sys
from setlearn.assessment import assess
result = assess(sys.argv[1], config=sys.argv[2], out=sys.argv[3], n_jobs=1, verbose=False)
print(json.dumps({"stage_s": result.stage_s, "n_models": len(result.models)}))
"""


def run_assess(tree, preset, config, out):
    """Wall and CPU seconds, and the stage times, of one ``assess`` in a fresh process importing ``tree``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, preset, str(config), str(out)], env=env, check=True,
                          cwd=out.parent, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(done.stdout.strip().splitlines()[-1])


def compare_rows(baseline_out, new_out):
    """Per stage: rows on each side, and the largest and median differences of the scores."""
    old, new = (pd.read_csv(out / "models.csv") for out in (baseline_out, new_out))
    joined = old.merge(new, on=KEY, suffixes=("_old", "_new"), how="outer", indicator=True)
    for stage, rows in joined.groupby("stage"):
        both = rows[rows["_merge"] == "both"]
        line = [f"  {stage}: {len(both)} rows on both sides ({(rows['_merge'] != 'both').sum()} on one side)"]
        for score in SCORES:
            diff = np.abs(both[f"{score}_old"] - both[f"{score}_new"])
            line.append(f"{score} max |diff| {diff.max():.1e}, median {diff.median():.1e}, "
                        f"equal to 1e-5 in {(diff <= 1e-5).sum()}")
        print("; ".join(line))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-rev", required=True, help="git revision to compare against (issue #23: b70575a)")
    parser.add_argument("--epochs", type=int, default=100, help="max_epochs of every model (the preset: 500)")
    parser.add_argument("--preset", default="study")
    args = parser.parse_args(argv)
    preset = json.loads((REPO / "setlearn" / "assessment" / "presets" / f"{args.preset}.json").read_text())
    estimator_params = {**preset["estimator_params"], "max_epochs": args.epochs}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config = tmp / "epochs.json"
        config.write_text(json.dumps({"estimator_params": estimator_params}))
        (tmp / "baseline-tree").mkdir()
        trees = {"baseline": export_package(args.baseline_rev, tmp / "baseline-tree"), "new": REPO}
        times = {}
        for side, tree in trees.items():
            times[side] = run_assess(tree, args.preset, config, tmp / side)
            wall, cpu, run = times[side]
            stages = ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in run["stage_s"].items())
            print(f"{side:<8} wall {wall:7.1f} s   CPU {cpu:7.1f} s   {run['n_models']} models   stages (s): {stages}",
                  flush=True)
        (old_wall, old_cpu, old_run), (new_wall, new_cpu, new_run) = times["baseline"], times["new"]
        print(f"setlearn assess --preset {args.preset}, {args.epochs} epochs, --n-jobs 1, one torch thread: "
              f"baseline ({args.baseline_rev}) / this tree = {old_cpu / new_cpu:.2f}x CPU, {old_wall / new_wall:.2f}x wall")
        for stage, seconds in old_run["stage_s"].items():
            if new_run["stage_s"].get(stage):
                print(f"  {stage:<10} baseline / this tree = {seconds / new_run['stage_s'][stage]:.2f}x")
        compare_rows(tmp / "baseline", tmp / "new")
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
