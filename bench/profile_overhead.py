"""Where tensorcore's per-op overhead goes, one small op at a time.

    python bench/profile_overhead.py [--ops add,mul,matmul] [--size 1] [--mode forward] [--calls 20000]

For each op: the time per call (tensorcore and PyTorch, same data), then cProfile's functions by
own time in microseconds per op call (cProfile adds a fixed cost per Python call, so the shares
matter more than the totals), and the bare NumPy time of the same arithmetic for the floor.
"""

import argparse
import cProfile
import pstats
import sys
import timeit

import numpy as np

from tensorcore.bench.suites import overhead


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--ops", default=",".join(overhead.OPS), help="comma-separated ops of the overhead suite")
    p.add_argument("--size", default="1", choices=list(overhead.SIZES), help="tensor size")
    p.add_argument("--mode", default="forward", choices=overhead.MODES, help="what is timed")
    p.add_argument("--calls", type=int, default=20000, help="calls per timing and per profile")
    p.add_argument("--top", type=int, default=12, help="functions listed per op")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    for op in args.ops.split(","):
        tc_fn, t_fn = overhead.build_pair(op, args.size, args.mode, rng, torch)
        n = args.calls
        t_tc = min(timeit.repeat(tc_fn, number=n, repeat=5)) / n
        t_t = min(timeit.repeat(t_fn, number=n, repeat=5)) / n if t_fn else float("nan")
        print(f"\n== {op} ({args.mode}, size {args.size}): tensorcore {t_tc * 1e6:.2f} us, torch {t_t * 1e6:.2f} us "
              f"(best of 5 x {n})")
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            tc_fn()
        prof.disable()
        rows = []
        for (file, line, fn), (_cc, nc, tt, ct, _) in pstats.Stats(prof).stats.items():
            where = file.split("/main/")[-1] if "/main/" in file else file.rsplit("/", 1)[-1]
            rows.append((tt / n * 1e6, ct / n * 1e6, nc / n, f"{where}:{line}({fn})"))
        rows.sort(reverse=True)
        print(f"{'own us/op':>9} {'cum us/op':>9} {'calls/op':>8}  function")
        for tt, ct, nc, name in rows[:args.top]:
            print(f"{tt:9.2f} {ct:9.2f} {nc:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
