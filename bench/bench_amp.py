"""Mixed precision and checkpointing on the cpu device: what autocast costs, how fast float16 GEMMs are, and
what activation checkpointing saves.

    python bench/bench_amp.py      # prints a markdown table (medians of many short repeats)

Times are CPU time of this process (time.process_time, one BLAS thread): on a shared, loaded machine they
measure the work, where wall-clock time would measure the other processes.

1. The autocast wrapper on a listed op outside autocast (tc.matmul vs the registered op it wraps), and inside.
2. NumPy float16 GEMM against float32 (BLAS) at the MLP's shape, and float16 through a float32 GEMM.
3. Peak traced memory (tracemalloc) of a deep MLP's forward + backward, plain vs checkpoint_sequential.
"""

import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorcore as tc  # noqa: E402
import tensorcore.nn as nn  # noqa: E402
from tensorcore.ops.registry import OPS  # noqa: E402
from tensorcore.utils.checkpoint import checkpoint_sequential  # noqa: E402


def median_time(fn, repeats=7, number=200):
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(number):
            fn()
        times.append((time.process_time() - t0) / number)
    return statistics.median(times)


def wrapper_overhead():
    a, b = tc.randn(2, 2), tc.randn(2, 2)
    inner = OPS["matmul"].__wrapped__
    plain = median_time(lambda: inner(a, b), number=2000)
    wrapped = median_time(lambda: tc.matmul(a, b), number=2000)
    with tc.autocast("cpu", dtype=tc.float16):
        inside = median_time(lambda: tc.matmul(a, b), number=2000)
    return plain, wrapped, inside


def gemm_speed():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((32, 784)), rng.standard_normal((784, 64))
    x32, w32, x16, w16 = x.astype(np.float32), w.astype(np.float32), x.astype(np.float16), w.astype(np.float16)
    t32 = median_time(lambda: x32 @ w32, number=50)
    t16 = median_time(lambda: x16 @ w16, number=5)
    t16w = median_time(lambda: (x16.astype(np.float32) @ w16.astype(np.float32)).astype(np.float16), number=50)
    return t32, t16, t16w


def peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, p = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return p


def checkpoint_memory(depth=32, width=256, batch=256, segments=6):
    tc.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(depth) for m in (nn.Linear(width, width), nn.ReLU())])
    x = tc.randn(batch, width, requires_grad=True)

    def step(run):
        def go():
            model.zero_grad()
            run(x).sum().backward()
        return go

    plain = peak(step(model))
    ckpt = peak(step(lambda v: checkpoint_sequential(model, segments, v, use_reentrant=False)))
    t_plain = median_time(step(model), repeats=3, number=3)
    t_ckpt = median_time(step(lambda v: checkpoint_sequential(model, segments, v, use_reentrant=False)), repeats=3,
                         number=3)
    return depth, width, batch, segments, plain, ckpt, t_plain, t_ckpt


def main():
    from tensorcore.nn.utils import blas_threads

    with blas_threads(1):
        _main()


def _main():
    plain, wrapped, inside = wrapper_overhead()
    t32, t16, t16w = gemm_speed()
    depth, width, batch, segments, mem_plain, mem_ckpt, t_plain, t_ckpt = checkpoint_memory()
    print(f"machine: {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}, "
          f"numpy {np.__version__}, CPU time (time.process_time), 1 BLAS thread")
    print()
    print("| what | figure |")
    print("| --- | --- |")
    print(f"| tc.matmul 2x2, registered op it wraps | {plain * 1e6:.2f} us |")
    print(f"| tc.matmul 2x2 through the autocast wrapper, no autocast region | {wrapped * 1e6:.2f} us "
          f"(+{(wrapped - plain) * 1e9:.0f} ns) |")
    print(f"| tc.matmul 2x2 inside autocast('cpu', float16) (casts included) | {inside * 1e6:.2f} us |")
    print(f"| NumPy (32x784)@(784x64) float32 (BLAS) | {t32 * 1e6:.0f} us |")
    print(f"| NumPy (32x784)@(784x64) float16 | {t16 * 1e6:.0f} us ({t16 / t32:.0f}x float32) |")
    print(f"| float16 widened to float32, BLAS, rounded back | {t16w * 1e6:.0f} us ({t16w / t32:.1f}x float32) |")
    print(f"| deep MLP {depth}x(Linear({width})+ReLU), batch {batch}: peak traced memory, plain | "
          f"{mem_plain / 2**20:.1f} MiB |")
    print(f"| same, checkpoint_sequential({segments} segments, use_reentrant=False) | {mem_ckpt / 2**20:.1f} MiB "
          f"({mem_ckpt / mem_plain:.2f}x) |")
    print(f"| step time plain / checkpointed | {t_plain * 1e3:.0f} ms / {t_ckpt * 1e3:.0f} ms "
          f"({t_ckpt / t_plain:.2f}x) |")


if __name__ == "__main__":
    main()
