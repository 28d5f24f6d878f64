"""Peak memory of fit and predict with one giant bag among small ones (issue #10 item 8).

1,999 Gaussian bags of 10 instances and one bag of 50,000 (4 features: about
1 MiB of data). Batching by bag count alone puts the giant bag with 99 small
ones and pads them all to 50,000 instances; batching by a budget of padded
slots as well (setlearn's default: at most 2 padded slots per real instance)
batches it alone. Each variant runs in a fresh process; the number is the
growth of the peak resident set (Linux ``VmHWM``) over the process before
``fit``.

Run: ``python benchmarks/bench_memory.py`` (about a minute on 2 cores).
"""

import argparse
import json
import subprocess
import sys

import numpy as np
import torch

from _memory import memory_mib  # benchmarks/_memory.py, beside this script
from setlearn import AttentionMILClassifier
from setlearn.bags import _padding


def child(variant, step):
    """Fit (or fit, then predict) once; print the peak memory growth of the measured step, in MiB."""
    torch.set_num_threads(1)
    if variant == "bag count only":
        _padding._PADDING_RATIO = float("inf")
    rng = np.random.default_rng(0)
    bags = [rng.normal(size=(10, 4)).astype(np.float32) for _ in range(1999)] + [
        rng.normal(size=(50_000, 4)).astype(np.float32)
    ]
    y = np.arange(len(bags)) % 2
    clf = AttentionMILClassifier(max_epochs=1, random_state=0)
    if step == "predict":
        clf.fit(bags[:-1], y[:-1])
    before = memory_mib("VmRSS")
    clf.fit(bags, y) if step == "fit" else clf.predict_proba(bags)
    print(json.dumps({"peak_added_mib": memory_mib("VmHWM") - before}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "STEP"))
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    print("1,999 bags x 10 + 1 bag x 50,000 (4 features); peak memory added, MiB")
    for step in ("fit", "predict"):
        added = {}
        for variant in ("bag count only", "padded-slot budget"):
            out = subprocess.run([sys.executable, __file__, "--child", variant, step],
                                 capture_output=True, text=True, check=True).stdout
            added[variant] = json.loads(out.strip().splitlines()[-1])["peak_added_mib"]
        print(f"{step:<8} bag count only {added['bag count only']:7.0f}   padded-slot budget "
              f"{added['padded-slot budget']:7.0f}   ratio {added['bag count only'] / added['padded-slot budget']:5.1f}")


if __name__ == "__main__":
    main()
