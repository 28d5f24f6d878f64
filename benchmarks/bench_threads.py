"""n_threads: one torch thread against torch's default (one per core), with and without a competing process.

Fits ``AttentionMILClassifier`` (default settings, 20 epochs) on 400 Gaussian
bags of 10-30 instances, with ``n_threads=1`` (setlearn's default) and with
``n_threads=None`` (torch's own setting: one thread per core), alternating,
best of ``--repeats``. Then the same with a competing process that spins on
one core for the whole measurement, as a busy machine would. The printed
ratio is ``time(torch default) / time(n_threads=1)``: above 1, one thread
is faster.

Run: ``python benchmarks/bench_threads.py`` (about a minute on 2 cores).
Quote it together with the machine's load (printed first): on a shared
machine the unloaded rows are only as quiet as the machine.
"""

import argparse
import multiprocessing
import os
import time

import torch

from setlearn import AttentionMILClassifier
from setlearn.utils._testing import presence_bags


def _spin(stop):
    while not stop.is_set():
        pass


def measure(X, y, repeats):
    times = {1: [], None: []}
    for _ in range(repeats):
        for n_threads in times:
            clf = AttentionMILClassifier(max_epochs=20, n_threads=n_threads, random_state=0)
            start = time.perf_counter()
            clf.fit(X, y)
            times[n_threads].append(time.perf_counter() - start)
    return min(times[1]), min(times[None])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X, y, _ = presence_bags(n_bags=400, sizes=(10, 20, 30))
    print(f"{os.cpu_count()} cores, torch default {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    AttentionMILClassifier(max_epochs=1).fit(X, y)  # warm-up
    one, default = measure(X, y, args.repeats)
    print(f"as the machine is      n_threads=1 {one:6.2f} s   torch default {default:6.2f} s   ratio {default / one:5.2f}")
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,))
    spinner.start()
    try:
        one, default = measure(X, y, args.repeats)
    finally:
        stop.set()
        spinner.join()
    print(f"+ one spinning process n_threads=1 {one:6.2f} s   torch default {default:6.2f} s   ratio {default / one:5.2f}")


if __name__ == "__main__":
    main()
