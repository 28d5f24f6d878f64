"""The README's main command, ``setlearn assess`` (the quick preset), end to end, timed.

Runs the quick preset exactly as ``setlearn assess --out <tmp>`` does (same defaults: every
core, stacks of ``stack_size`` seeds) in a fresh process, and prints its wall time beside the
per-stage times of the run (``AssessmentResult.stage_s``: search, retrain, ensembles, audit,
report), the CPU time of the process and its children, the sum of the models' ``fit_time_s``,
and the load average before and after, so that a number quoted from it says how busy the
machine was. Issue #28's target: at most 120 s wall on 2 quiet cores.

Usage::

    python benchmarks/bench_quick.py [--n-jobs N] [--preset quick]
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

# Run in the child: the call ``setlearn assess`` makes, plus the stage times it keeps.
_CHILD = """
import json, sys
from setlearn.assessment import assess
result = assess(sys.argv[1], out=sys.argv[2], n_jobs=None if sys.argv[3] == "default" else int(sys.argv[3]),
                verbose=False)
print(json.dumps({"stage_s": result.stage_s, "elapsed_s": result.elapsed_s, "n_models": len(result.models),
                  "fit_time_s": float(result.models["fit_time_s"].sum())}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--n-jobs", default="default", help="as --n-jobs of setlearn assess (default: its default)")
    args = parser.parse_args(argv)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / args.preset
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _CHILD, args.preset, str(out), args.n_jobs], env=env,
                              capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"setlearn assess --preset {args.preset} (n_jobs={args.n_jobs}, {os.cpu_count()} cores): "
          f"{run['n_models']} models")
    print(f"  wall {wall:.1f} s (process start to exit; assess itself {run['elapsed_s']:.1f} s), "
          f"CPU {cpu:.1f} s (user + system, workers included)")
    for stage, seconds in run["stage_s"].items():
        print(f"  {stage:<10} {seconds:7.1f} s")
    print(f"  models' fit_time_s summed: {run['fit_time_s']:.1f} s")
    print(f"  load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
