"""End to end: the digits and PBMC examples with and without the table of distinct instances.

Runs ``examples/cells_mil.py`` (PBMC cells: bags of 20-40 cells from 350;
needs scanpy's ``10x_pbmc68k_reduced.h5ad``, found through scanpy or given
as the first argument) and ``examples/assess_digits.py`` (scikit-learn's 8x8
digits through ``setlearn.assess``) as written, except that the assessment
runs with ``n_jobs=1`` into a fresh temporary folder (so that the switch
below reaches every model and nothing is resumed). Each example runs once
with setlearn as it is and once with the table switched off
(``setlearn.bags._padding._DISTINCT_MAX_FRACTION = 0``, every slot
featurized: the path before issue #13), alternating, best of ``--repeats``.
The printed ratio is ``time(per-slot) / time(setlearn)``.

Run: ``python benchmarks/bench_examples.py [path/to/10x_pbmc68k_reduced.h5ad]``
(a few minutes on 2 cores).
"""

import argparse
import contextlib
import io
import os
import runpy
import sys
import tempfile
import time

import setlearn
from setlearn.bags import _padding

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")


def run_example(name, argv, distinct):
    _padding._DISTINCT_MAX_FRACTION = 0.5 if distinct else 0.0
    assess = setlearn.assess
    with tempfile.TemporaryDirectory() as out:
        def one_process_assess(*args, **kwargs):
            return assess(*args, **{**kwargs, "n_jobs": 1, "out": os.path.join(out, "run")})

        setlearn.assess = one_process_assess
        sys.argv = [name, *argv]
        try:
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                runpy.run_path(os.path.join(EXAMPLES, name), run_name="__main__")
            return time.perf_counter() - start
        finally:
            setlearn.assess = assess


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pbmc_path", nargs="?")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    examples = [("assess_digits.py", []), ("cells_mil.py", [args.pbmc_path] if args.pbmc_path else [])]
    for name, argv in examples:
        times = {True: [], False: []}
        for _ in range(args.repeats):
            for distinct in times:
                times[distinct].append(run_example(name, argv, distinct))
        ours, per_slot = min(times[True]), min(times[False])
        print(f"{name:<18} setlearn {ours:6.1f} s   per-slot {per_slot:6.1f} s   ratio {per_slot / ours:5.2f}", flush=True)


if __name__ == "__main__":
    main()
