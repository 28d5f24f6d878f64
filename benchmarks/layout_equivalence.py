"""Fits of this tree against a baseline revision, in float32 and float64 (issue #23, third pass).

Issue #23 changed how a one-member network lays out its products (features-major) and computes
the attention's tanh, keeping the math. This script shows what that means for fitted models: the
same ``AttentionMILClassifier`` fit (MIL, 300 training bags of 50, the study's optimiser) at
``--epochs`` 10, 30 and 50, once with ``--baseline-rev`` (exported from git) and once with this
tree, each in a fresh process, and prints the largest and median difference of the test bags'
probabilities. In float64 (the network and its input cast, by a patch in the child) the two must
agree to rounding; in float32 they drift apart once Adam has amplified the changed summation
order.

Usage::

    python benchmarks/layout_equivalence.py --baseline-rev 555e7bb
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _git import REPO, export_package  # noqa: E402

# Run in the child: argv = output .npy, "float32" or "float64", epochs...
_CHILD = """
import sys
import numpy as np
from setlearn.nn import _modules

if sys.argv[2] == "float64":
    init, forward = _modules.AttentionMILNet.__init__, _modules.AttentionMILNet.forward

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.double()

    def double_forward(self, x, mask, index=None, return_features=False, full=None):
        return forward(self, x.double(), mask, index, return_features, full)

    _modules.AttentionMILNet.__init__, _modules.AttentionMILNet.forward = __init__, double_forward

from setlearn import AttentionMILClassifier, make_bags

X, y, _ = make_bags("mil", n_bags=300, bag_size=50, random_state=0)
X_test, _, _ = make_bags("mil", n_bags=100, bag_size=50, random_state=1)
params = dict(hidden_size=8, attention_size=4, featurizer_depth=2, classifier_depth=2, batch_size=100, lr=0.005,
              weight_decay=1e-4, random_state=0)
probabilities = [AttentionMILClassifier(**params, max_epochs=int(e)).fit(X, y).predict_proba(X_test)
                 for e in sys.argv[3:]]
np.save(sys.argv[1], np.array(probabilities))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-rev", required=True, help="git revision before the change (issue #23: 555e7bb)")
    parser.add_argument("--epochs", type=int, nargs="+", default=[10, 30, 50])
    args = parser.parse_args(argv)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "baseline-tree").mkdir()
        trees = {"baseline": export_package(args.baseline_rev, tmp / "baseline-tree"), "new": REPO}
        for dtype in ("float32", "float64"):
            results = {}
            for side, tree in trees.items():
                out = tmp / f"{side}-{dtype}.npy"
                # cwd outside the repository: ``python -c`` puts the working folder first on sys.path.
                subprocess.run([sys.executable, "-c", _CHILD, str(out), dtype, *map(str, args.epochs)], check=True,
                               env={**env, "PYTHONPATH": str(tree)}, cwd=tmp)
                results[side] = np.load(out)
            diff = np.abs(results["baseline"] - results["new"])
            for epochs, d in zip(args.epochs, diff):
                print(f"{dtype}, {epochs:>3} epochs: test probabilities, baseline ({args.baseline_rev}) vs this tree: "
                      f"max |diff| {d.max():.1e}, median {np.median(d):.1e}", flush=True)


if __name__ == "__main__":
    main()
