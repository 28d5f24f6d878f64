"""Does ``torch.compile`` pay for the study's training step on CPU? (issue #23, fused kernels)

At the study's scale a step is mostly element-wise passes over narrow activations
(``benchmarks/README.md``, "Why not 4x"), the kind of work a compiler fuses. This times one
training step (forward, backward, fused Adam) of setlearn's network, eager as ``fit`` runs it
against the same step with the network under ``torch.compile`` (inductor, the default mode),
for a single model and for stacked members, alternating the two and keeping the best of
``--repeats``. CPU time of this process, one torch thread.

The comparison is generous to the compiler: every step sees the same padded batch shape, so
it compiles once (``dynamic=False``) and never again; real training batches change width with
their longest bag and would recompile or need dynamic shapes. The compile time of the first
step is printed apart and left out of the ratio.

The batch is 100 bags of ``make_bags("mil")`` at the study's 250 instances (the default
composition, so sizes vary and the batch carries padding); hidden 8, attention 4, featurizer
depth 2, classifier depth 2.

Run: ``python benchmarks/bench_compile.py [--members 1 5 20] [--steps 40] [--repeats 3]``.
"""

import argparse
import os
import time

import numpy as np
import torch

from setlearn import make_bags
from setlearn.bags import PaddedBags
from setlearn.nn import AttentionMILNet


def training_step(net, optimizer, x, mask, y):
    logits, _ = net(x, mask, full=False)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(logits.shape[0]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def network(n_members):
    net = AttentionMILNet((4,), 2, hidden_size=8, attention_size=4, featurizer_depth=2, classifier_depth=2,
                          n_members=n_members, seeds=range(n_members))
    return net, torch.optim.Adam(net.parameters(), lr=0.005, weight_decay=1e-4, fused=True)


def ms_per_step(step, n_steps):
    start = time.process_time()
    for _ in range(n_steps):
        step()
    return (time.process_time() - start) / n_steps * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    bags, labels, _ = make_bags("mil", n_bags=100, bag_size=250, random_state=0)
    x, mask, _ = PaddedBags(bags).batch(np.arange(100))
    y = torch.as_tensor(np.asarray(labels))
    print(f"torch {torch.__version__}, 1 thread, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"one step on 100 bags padded to {mask.shape[1]} slots ({int(mask.sum())} instances), "
          f"CPU ms per step, best of {args.repeats} x {args.steps} steps")
    for n_members in args.members:
        eager_net, eager_opt = network(n_members)
        compiled_net, compiled_opt = network(n_members)
        compiled = torch.compile(compiled_net, dynamic=False)
        start = time.process_time()
        training_step(compiled, compiled_opt, x, mask, y)
        compile_s = time.process_time() - start
        steps = {"eager": lambda: training_step(eager_net, eager_opt, x, mask, y),
                 "compiled": lambda: training_step(compiled, compiled_opt, x, mask, y)}
        for step in steps.values():  # warm-up
            ms_per_step(step, 3)
        times = {name: [] for name in steps}
        for _ in range(args.repeats):  # alternating, so load hits both
            for name, step in steps.items():
                times[name].append(ms_per_step(step, args.steps))
        eager, comp = min(times["eager"]), min(times["compiled"])
        print(f"{n_members:3d} members   eager {eager:7.1f} ms   compiled {comp:7.1f} ms   "
              f"speed-up eager / compiled {eager / comp:5.2f}x   (first compiled step {compile_s:.1f} CPU s)",
              flush=True)
    print(f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
