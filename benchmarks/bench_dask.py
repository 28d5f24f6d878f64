"""Throughput of ``setlearn.assess`` on a Dask cluster of 1, 2, 4 worker processes vs ``n_jobs``.

The cluster is real: ``dask scheduler`` and ``dask worker --nthreads 1 --no-nanny`` processes
on 127.0.0.1 (free ports), started once per size and warmed up (torch imported) before the
timing, like a cluster that is already running. Local runs use joblib's loky processes, warmed
up the same way. Every setting first runs once ("cold": a fresh process
pays its first model's one-time costs, reported in their own column), then once per round,
rounds interleaved, best kept ("warm", what a study of hours sees). The sequential baseline
(``n_jobs=1``) runs first and last; every speed-up is against the mean of the two, so a machine
that got busier or quieter during the run shows as a gap between them.

The training stages (search and retraining, from ``AssessmentResult.stage_s``) get their own
speed-up: the rest of a run (config checks, the audit, tables and figures) runs once.

Also measures the per-task overhead: a no-op task through joblib's Dask backend, one task at a
time (``batch_size=1``) and with joblib's automatic batching (what ``assess`` uses); and the
engines alone: identical CPU-bound tasks through loky and Dask, which is the ceiling for ``assess``.

Usage::

    python benchmarks/bench_dask.py [--epochs 20] [--rounds 2] [--engine-only]
"""

import argparse
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import setlearn
from setlearn.assessment.tests._cluster import ProcessCluster

CONFIG = {
    "problems": ["mil"],
    "modalities": ["gaussian"],
    "n_train_bags": 100,
    "n_valid_bags": 40,
    "n_test_bags": 40,
    "bag_size": 20,
    "grid": {"gaussian": {"hidden_size": [4, 8], "attention_size": [2, 4], "featurizer_depth": [1, 2],
                          "classifier_depth": [1]}},
    "search_seeds": 2,
    "top_k": 2,
    "n_retrain": 4,
    "max_ensemble_size": 2,
    "n_ensembles": 2,
}
N_MODELS = 8 * 2 + 2 * 4


def _warm_up():
    import setlearn.estimators  # noqa: F401  (imports torch and skorch)

    return True


def _noop(i):
    return i


def _time_assess(config, scratch, **run):
    out = Path(tempfile.mkdtemp(dir=scratch))
    start = time.perf_counter()
    result = setlearn.assess("smoke", config=config, out=out, verbose=False, **run)
    elapsed = time.perf_counter() - start
    assert result.complete and result.n_new_models == N_MODELS
    shutil.rmtree(out)
    # The training stages alone: what more workers can speed up. The rest of a run (checking
    # the config, the one audit model per task, tables, figures) runs once, in the client.
    training = result.stage_s["search"] + result.stage_s["retrain"]
    return elapsed, training, float(result.models["fit_time_s"].median())


def _burn(seconds):
    """A task of ``seconds`` of pure CPU, identical every time."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return seconds


# The engine-only measurement: identical CPU-bound tasks, as many as assess's models here.
ENGINE_TASKS, ENGINE_TASK_S = 24, 0.5


def _engine_only(address, n_tasks=ENGINE_TASKS, seconds=ENGINE_TASK_S):
    """Speed-up of the engines alone: ``n_tasks`` identical CPU-bound tasks, 2 processes vs 1."""
    from distributed import Client
    from joblib import Parallel, delayed, parallel_config

    def timed(**parallel):
        start = time.perf_counter()
        Parallel(**parallel)(delayed(_burn)(seconds) for _ in range(n_tasks))
        return time.perf_counter() - start

    found = {"sequential": timed(n_jobs=1), "loky, n_jobs=2": timed(n_jobs=2)}
    with Client(address), parallel_config(backend="dask"):
        found["dask, 2 workers"] = timed(n_jobs=-1)
    return found


def _overhead(address, n_tasks=300):
    from distributed import Client
    from joblib import Parallel, delayed, parallel_config

    found = {}
    with Client(address), parallel_config(backend="dask"):
        for batch_size in (1, "auto"):
            start = time.perf_counter()
            list(Parallel(n_jobs=-1, batch_size=batch_size, return_as="generator_unordered")(
                delayed(_noop)(i) for i in range(n_tasks)))
            found[batch_size] = 1000 * (time.perf_counter() - start) / n_tasks
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2,
                        help="every setting runs once per round after one cold run, rounds interleaved; the best is kept")
    parser.add_argument("--engine-only", action="store_true",
                        help="only the engines' speed-up on identical CPU-bound tasks (about 30 s)")
    args = parser.parse_args()
    if args.engine_only:
        with tempfile.TemporaryDirectory(prefix="bench-dask-") as scratch, ProcessCluster(2, scratch) as cluster:
            _print_engine_only(_engine_only(cluster.address))
        return
    config = {**CONFIG, "estimator_params": {"max_epochs": args.epochs}}
    scratch = tempfile.mkdtemp(prefix="bench-dask-")
    from distributed import Client
    from joblib import Parallel, delayed

    times, training, fits = {}, {}, []
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        # Started and warmed up before any timing, like clusters that already run.
        clusters = {n: stack.enter_context(ProcessCluster(n, scratch)) for n in (1, 2, 4)}
        for cluster in clusters.values():
            with Client(cluster.address) as client:
                client.run(_warm_up)
        settings = [("n_jobs=1 (baseline, first)", {"n_jobs": 1})]
        settings += [(f"n_jobs={n} (loky processes)", {"n_jobs": n}) for n in (2, 4)]
        settings += [(f"dask, {n} worker process(es) x 1 thread", {"scheduler": c.address})
                     for n, c in clusters.items()]
        settings += [("n_jobs=1 (baseline, last)", {"n_jobs": 1})]
        cold = {}
        for round_ in range(args.rounds + 1):
            for name, run in settings:
                if run.get("n_jobs", 1) > 1:
                    Parallel(n_jobs=run["n_jobs"])(delayed(_warm_up)() for _ in range(run["n_jobs"]))
                elapsed, train_s, fit = _time_assess(config, scratch, **run)
                if round_ == 0:
                    # The first run of each setting's processes: its first models pay one-time
                    # costs (torch's first forward and backward, skorch, the data cache).
                    cold[name] = elapsed
                    continue
                if elapsed < times.get(name, float("inf")):
                    times[name], training[name] = elapsed, train_s
                fits.append(fit)
        overhead = _overhead(clusters[2].address)
        engine = _engine_only(clusters[2].address)

    first, last = times["n_jobs=1 (baseline, first)"], times["n_jobs=1 (baseline, last)"]
    baseline = (first + last) / 2
    train_baseline = (training["n_jobs=1 (baseline, first)"] + training["n_jobs=1 (baseline, last)"]) / 2
    print(f"{N_MODELS} models of {args.epochs} epochs (median fit {sorted(fits)[len(fits) // 2]:.2f} s) "
          f"+ 8 ensembles; best of {args.rounds} interleaved rounds; python {sys.version.split()[0]}")
    print(f"{'setting':<45} {'warm (s)':>9} {'speed-up':>9} {'training (s)':>13} {'speed-up':>9} {'cold (s)':>9}")
    for name, elapsed in times.items():
        print(f"{name:<45} {elapsed:>9.1f} {baseline / elapsed:>9.2f} {training[name]:>13.1f} "
              f"{train_baseline / training[name]:>9.2f} {cold[name]:>9.1f}")
    print(f"baseline drift: last / first = {last / first:.2f}")
    print(f"per-task overhead, 2 workers, no-op task: {overhead[1]:.1f} ms one task at a time, "
          f"{overhead['auto']:.1f} ms with joblib's automatic batching")
    _print_engine_only(engine)


def _print_engine_only(found):
    base = found["sequential"]
    print(f"engines alone, {ENGINE_TASKS} identical tasks of {ENGINE_TASK_S} CPU s: " + ", ".join(
        f"{name} {elapsed:.1f} s ({base / elapsed:.2f}x)" for name, elapsed in found.items()))


if __name__ == "__main__":
    main()
