"""CNNFeaturizer's block order: ReLU then max-pooling (before) vs max-pooling then ReLU (now).

Both orders give the same values and gradients (ReLU is monotone; tested in
``setlearn/nn/tests/test_nn.py``); pooling first runs the ReLU on a quarter of the elements.
Times, in one process and one torch thread, a forward and backward pass of ``--images`` 28x28
images (the 3,000 of the default MNIST training pool: what one training step featurizes)
through a depth-1 block, 1 -> 8 channels, then a linear layer to 8 features, as the featurizer
does. CPU time (``time.process_time``), mean of ``--repeats`` passes after as many warm-up
passes, both orders alternated; prints each order's seconds and their ratio.

Run: ``python benchmarks/bench_cnn_pool_order.py [--images 3000] [--repeats 3]``.
"""

import argparse
import os
import time

import torch
from torch import nn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.rand(args.images, 1, 28, 28)
    conv, head = nn.Conv2d(1, 8, 3, padding=1), nn.Linear(8 * 14 * 14, 8)

    def relu_then_pool():
        return torch.relu(head(nn.functional.max_pool2d(torch.relu(conv(x)), 2).flatten(1)))

    def pool_then_relu():
        return torch.relu(head(torch.relu(nn.functional.max_pool2d(conv(x), 2)).flatten(1)))

    orders = {"ReLU then pooling (before)": relu_then_pool, "pooling then ReLU (now)": pool_then_relu}
    seconds = {name: 0.0 for name in orders}
    for rep in range(2 * args.repeats):
        for name, forward in orders.items():
            start = time.process_time()
            forward().sum().backward()
            if rep >= args.repeats:  # the first passes warm up
                seconds[name] += (time.process_time() - start) / args.repeats
    for name, s in seconds.items():
        print(f"{name}: {s:.3f} CPU s per pass of {args.images} images")
    before, now = seconds.values()
    print(f"now / before: {now / before:.2f} ({100 * (1 - now / before):.0f} % less); load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
