"""Per-bag importance scores of many bags at once vs a call per bag (issue #23).

``setlearn assess`` scores every model and every ensemble draw with the per-bag iAUC-ROC
(and iAUC-PR) of its positive test bags; the quick preset's ensembles stage made about 63,000
per-bag calls. Two measurements:

1. **Scores** (always): one ``importance_auroc_score`` / ``importance_average_precision_score``
   call (validation included; all bags ranked in one sort) against scikit-learn's
   ``roc_auc_score`` / ``average_precision_score`` called once per positive bag, and, with
   ``--baseline-rev``, against the same call of ``setlearn/metrics/_importance.py`` at that
   revision (before issue #23: one ``scipy.stats.rankdata`` per bag), at the quick preset's scale
   (100 test bags of 50) and the study's (250 test bags of 250), ``--calls`` calls each (``--sklearn-calls``
   of the slow loop), best of ``--repeats``, alternating. Every call's score is checked against the loop's (to 1e-12).
2. **The ensembles stage** (with ``--run``): a finished run folder is copied twice without its
   ``ensembles.csv`` and resumed, in a fresh process each, once with this tree and once with
   ``--baseline-rev`` (exported from git), alternating; prints ``stage_s["ensembles"]`` of both
   and checks that the two ``ensembles.csv`` agree.

Usage::

    python benchmarks/bench_importance.py [--calls 1000] [--repeats 2] [--baseline-rev REV]
    python benchmarks/bench_importance.py --calls 0 --run setlearn-results/quick --baseline-rev REV

(``REV`` 661873d is the last commit before the change.)
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

import setlearn.metrics

sys.path.insert(0, str(Path(__file__).parent))
from _git import export_package  # noqa: E402

# (name, test bags, instances per bag): the quick preset's and the study's test sets.
SCALES = [("quick preset", 100, 50), ("study", 250, 250)]


def _bags(n_bags, bag_size, seed=0):
    """Half the bags positive with ~10% important instances (at least one), softmax-like attention."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_bags) % 2
    importance = []
    for label in y:
        labels = (rng.random(bag_size) < 0.1).astype(np.int64) * label
        labels[0] = label
        importance.append(labels)
    attention = [rng.dirichlet(np.ones(bag_size)).astype(np.float32) for _ in range(n_bags)]
    return importance, attention, y


def _per_bag_loop(bag_score, importance, attention, y):
    """The baseline: scikit-learn's score called once per positive bag, then the mean."""
    return float(np.mean([bag_score(t, a) for t, a, label in zip(importance, attention, y) if label == 1]))


def _module_at(rev, path="setlearn/metrics/_importance.py"):
    """``setlearn.metrics._importance`` as it was at git revision ``rev``, beside today's.

    Loaded as a module of today's ``setlearn.metrics`` package, so its relative imports
    (bag validation) are today's: only the scores' own code is the old one.
    """
    import importlib.util

    repo = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], check=True, capture_output=True,
                            text=True).stdout
    file = Path(tempfile.mkdtemp()) / "_importance_before.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location("setlearn.metrics._importance_before", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seconds(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        value = fn()
    return time.perf_counter() - start, value


def time_scores(calls, sklearn_calls, repeats, baseline_rev):
    before = _module_at(baseline_rev) if baseline_rev else None
    print(f"Per-bag scores: {calls} calls per timing ({sklearn_calls} of the sklearn loop), best of {repeats}, "
          f"alternating; ms per call (setlearn's calls validate their input, the sklearn loop does not)")
    print(f"| scale | score | sklearn per bag | setlearn {baseline_rev or '(before: not measured)'} | setlearn now "
          f"| sklearn loop / now | before / now |")
    print("|---|---|---|---|---|---|---|")
    for name, n_bags, bag_size in SCALES:
        importance, attention, y = _bags(n_bags, bag_size)
        for score, sklearn_score, function in [("iAUC-ROC", roc_auc_score, "importance_auroc_score"),
                                               ("iAUC-PR", average_precision_score,
                                                "importance_average_precision_score")]:
            sides = {"loop": lambda: _per_bag_loop(sklearn_score, importance, attention, y),
                     "now": lambda: getattr(setlearn.metrics, function)(importance, attention, y=y)}
            if before is not None:
                sides["before"] = lambda: getattr(before, function)(importance, attention, y=y)
            best = dict.fromkeys(sides, np.inf)
            for _ in range(repeats):
                for side, fn in sides.items():
                    n = sklearn_calls if side == "loop" else calls
                    seconds, value = _seconds(fn, n)
                    best[side] = min(best[side], seconds / n)
                    if side == "loop":
                        expected = value
                    elif abs(value - expected) > 1e-12:
                        raise AssertionError(f"{name} {score}: setlearn {side} {value!r} != per-bag loop {expected!r}")
            ms = {side: 1e3 * t for side, t in best.items()}
            old = f"{ms['before']:.3f}" if "before" in ms else "-"
            ratio = f"{ms['before'] / ms['now']:.1f}" if "before" in ms else "-"
            print(f"| {name}, {n_bags} bags x {bag_size} | {score} | {ms['loop']:.3f} | {old} | {ms['now']:.3f} "
                  f"| {ms['loop'] / ms['now']:.1f} | {ratio} |", flush=True)


# Run in the child: resume a run folder and report the ensembles stage's seconds.
_CHILD = """
import json, sys
from setlearn.assessment import assess
result = assess(sys.argv[1], out=sys.argv[2], n_jobs=1, verbose=False)
print(json.dumps({"stage_s": result.stage_s, "n_ensembles": len(result.ensembles)}))
"""


def time_ensembles_stage(run, preset, baseline_rev, repeats):
    run = Path(run)
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "baseline-tree").mkdir()
        trees = {"baseline": export_package(baseline_rev, tmp / "baseline-tree"), "new": repo}
        seconds = {side: [] for side in trees}
        for repeat in range(repeats):
            for side, tree in trees.items():
                out = tmp / f"{side}-{repeat}"
                shutil.copytree(run, out, ignore=shutil.ignore_patterns("ensembles.csv"))
                done = subprocess.run([sys.executable, "-c", _CHILD, preset, str(out)], check=True, text=True,
                                      capture_output=True, env={**env, "PYTHONPATH": str(tree)}, cwd=tmp)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                seconds[side].append(result["stage_s"]["ensembles"])
                print(f"  {side}: ensembles stage {seconds[side][-1]:.2f} s ({result['n_ensembles']} ensembles)",
                      flush=True)
        _check_same_ensembles(tmp / "baseline-0", tmp / "new-0")
    old, new = min(seconds["baseline"]), min(seconds["new"])
    print(f"ensembles stage of {run} (n_jobs=1, best of {repeats}): baseline ({baseline_rev}) {old:.2f} s, "
          f"this tree {new:.2f} s, baseline / this tree = {old / new:.2f}")


def _check_same_ensembles(baseline_out, new_out):
    import pandas as pd

    key = ["problem", "modality", "kind", "size", "draw"]
    old, new = (pd.read_csv(out / "ensembles.csv").sort_values(key, ignore_index=True)
                for out in (baseline_out, new_out))
    scores = [c for c in old.columns if c.startswith("iauc_")]
    worst = float(np.max(np.abs(old[scores].to_numpy() - new[scores].to_numpy())))
    print(f"  ensembles.csv of both: {len(old)} rows, largest difference of {', '.join(scores)}: {worst:.1e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per timing of the scores (0: skip them)")
    parser.add_argument("--sklearn-calls", type=int, default=100,
                        help="calls per timing of the sklearn loop (0.1-0.3 s a call at the study's scale)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--run", help="a finished run folder whose ensembles stage to time")
    parser.add_argument("--preset", default="quick", help="with --run: the preset the run was made with")
    parser.add_argument("--baseline-rev", help="a git revision to compare against: its setlearn.metrics scores "
                        "(timed beside today's) and, with --run, its whole tree")
    args = parser.parse_args(argv)
    if args.calls:
        time_scores(args.calls, args.sklearn_calls, args.repeats, args.baseline_rev)
    if args.run:
        if not args.baseline_rev:
            parser.error("--run needs --baseline-rev (e.g. the commit before the change measured)")
        time_ensembles_stage(args.run, args.preset, args.baseline_rev, args.repeats)


if __name__ == "__main__":
    main()
