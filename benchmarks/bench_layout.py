"""The kernels behind issue #23's third pass, each timed alone at the study's step size.

One training step of the study's Gaussian network holds about 25,000 instances of 4-8 features.
Prints, in microseconds (best of ``--repeats`` means of ``--calls`` calls, one torch thread):

* a narrow product instances-major, ``(M x in) @ (in x out)``, against features-major,
  ``(out x in) @ (in x M)``: forward, the weight gradient and the input gradient;
* the first layer's ``addmm`` forward and backward over instances-major input (as bags are
  stored) against a features-major copy of it;
* float32 ``torch.tanh`` against ``torch.sigmoid``, and tanh's forward and backward against
  setlearn's ``2 sigmoid(2x) - 1`` (``setlearn.nn._modules._SigmoidTanh``).

Usage::

    python benchmarks/bench_layout.py [--instances 25000] [--calls 200] [--repeats 3]
"""

import argparse
import time

import torch

from setlearn.nn._modules import _SigmoidTanh


def microseconds(fn, calls, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=25_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    m, time_us = args.instances, lambda fn: microseconds(fn, args.calls, args.repeats)
    print(f"torch {torch.__version__}, 1 thread, {m} instances; microseconds per call")
    for n_in, n_out in [(4, 8), (8, 8), (8, 4)]:
        x, w, g = torch.randn(m, n_in), torch.randn(n_in, n_out), torch.randn(m, n_out)
        xt, wt, gt = x.t().contiguous(), w.t().contiguous(), g.t().contiguous()
        rows = (time_us(lambda: x @ w), time_us(lambda: x.t() @ g), time_us(lambda: g @ w.t()))
        cols = (time_us(lambda: wt @ xt), time_us(lambda: gt @ xt.t()), time_us(lambda: wt.t() @ gt))
        print(f"product {n_in}->{n_out}: instances-major forward / weight grad / input grad "
              f"{rows[0]:.0f} / {rows[1]:.0f} / {rows[2]:.0f};  features-major {cols[0]:.0f} / {cols[1]:.0f} / "
              f"{cols[2]:.0f}")
    weight, bias = torch.randn(4, 8, requires_grad=True), torch.randn(8, 1, requires_grad=True)
    grad = torch.randn(8, m)
    stored = torch.randn(m, 4)
    as_stored = time_us(lambda: torch.addmm(bias, weight.t(), stored.t()).backward(grad))
    copied = time_us(lambda: torch.addmm(bias, weight.t(), stored.t().contiguous()).backward(grad))
    print(f"first layer 4->8, forward + backward: over the stored (instances-major) input {as_stored:.0f}, "
          f"over a features-major copy {copied:.0f} (copy included)")
    values = torch.randn(4, m)
    print(f"float32 tanh {time_us(lambda: torch.tanh(values)):.0f}, sigmoid {time_us(lambda: torch.sigmoid(values)):.0f}")
    x = torch.randn(4, m).t().requires_grad_()
    g = torch.randn(m, 4)
    print(f"tanh forward + backward: torch.tanh {time_us(lambda: torch.tanh(x).backward(g)):.0f}, "
          f"2 sigmoid(2x) - 1 {time_us(lambda: _SigmoidTanh.apply(x).backward(g)):.0f}")


if __name__ == "__main__":
    main()
