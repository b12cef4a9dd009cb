"""Per-call time of the reductions, indexing and shape ops on small tensors, tensorcore against PyTorch in the
same run (the same call spelled the same way; medians of repeats, forward only, no grad).

    python bench/reduce_shape_overhead.py [--size 8] [--calls 2000] [--repeats 7]
"""

import argparse
import platform
import statistics
import sys
import timeit

import numpy as np

import tensorcore as tc

CALLS = {
    "sum(dim=1)": lambda m, x: x.sum(1),
    "mean()": lambda m, x: x.mean(),
    "var(1)": lambda m, x: x.var(1),
    "max(dim=1)": lambda m, x: x.max(1),
    "amax(1)": lambda m, x: m.amax(x, 1),
    "logsumexp(1)": lambda m, x: m.logsumexp(x, 1),
    "cumsum(1)": lambda m, x: x.cumsum(1),
    "sort(1)": lambda m, x: x.sort(1),
    "topk(3)": lambda m, x: x.topk(3),
    "reshape(-1)": lambda m, x: x.reshape(-1),
    "view(-1)": lambda m, x: x.view(-1),
    "transpose(0, 1)": lambda m, x: x.transpose(0, 1),
    "permute(1, 0)": lambda m, x: x.permute(1, 0),
    "x[0]": lambda m, x: x[0],
    "x[:, 1:3]": lambda m, x: x[:, 1:3],
    "unsqueeze(0)": lambda m, x: x.unsqueeze(0),
    "cat([x, x], 1)": lambda m, x: m.cat([x, x], 1),
    "stack([x, x])": lambda m, x: m.stack([x, x]),
    "split(2, 1)": lambda m, x: x.split(2, 1),
    "gather(1, idx)": lambda m, x: x.gather(1, m.zeros(x.shape, dtype=m.int64)),
    "masked_fill": lambda m, x: x.masked_fill(x > 0, 0.0),
    "index_select": lambda m, x: x.index_select(0, m.zeros(3, dtype=m.int64)),
}


def main(argv=None):
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=8)
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    a = np.random.default_rng(0).standard_normal((args.size, args.size)).astype(np.float32)
    x_tc, x_t = tc.tensor(a), torch.tensor(a)
    torch.set_num_threads(1)
    print(f"# reductions, indexing and shape ops: per-call time, ({args.size}, {args.size}) float32, forward\n")
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}; "
          f"medians of {args.repeats} x {args.calls} calls\n")
    print("| op | tensorcore us | torch us | ratio |\n| --- | ---: | ---: | ---: |")
    for name, fn in CALLS.items():
        times = []
        for m, x in ((tc, x_tc), (torch, x_t)):
            runs = timeit.repeat(lambda m=m, x=x, fn=fn: fn(m, x), number=args.calls, repeat=args.repeats)
            times.append(statistics.median(runs) / args.calls * 1e6)
        print(f"| {name} | {times[0]:.2f} | {times[1]:.2f} | {times[0] / times[1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
