"""Mixed precision and checkpointing on the cpu device: what autocast costs, how fast float16 GEMMs are, and
what activation checkpointing saves.

    python bench/bench_amp.py      # prints a markdown table (medians of many short repeats)

Times are CPU time of this process (time.process_time, one BLAS thread): on a shared, loaded machine they
measure the work, where wall-clock time would measure the other processes.

1. The autocast wrapper on a listed op outside autocast (tc.matmul vs the registered op it wraps), and inside.
2. NumPy float16 GEMM against float32 (BLAS) at the MLP's shape, and float16 through a float32 GEMM.
3. Peak traced memory (tracemalloc) of a deep MLP's forward + backward, plain vs checkpoint_sequential.
4. float16 / bfloat16 on the cpu backend: each primitive before (NumPy's half-precision loops, the function
   computed_in_float32 wraps) and after (float32 copies, float32 BLAS, one rounding), against float32; and one
   LeNet-5 training step (batch 32, forward + backward) under autocast, before and after, against float32.
"""

import functools
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


def _primitive_cases(rng):
    """(name, backend function name, float32 argument arrays, kwargs): the MLP's GEMM and LeNet-5's layers."""
    n = rng.standard_normal
    x1, w1 = n((32, 1, 28, 28)), n((6, 1, 5, 5))
    x2, w2 = n((32, 6, 14, 14)), n((16, 6, 5, 5))
    geom = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)
    return [
        ("matmul (32x784)@(784x64)", "matmul", (n((32, 784)), n((784, 64))), {}),
        ("linear (32x784), (64x784) + bias", "linear", (n((32, 784)), n((64, 784)), n(64)), {}),
        ("conv2d_forward LeNet conv1 (32,1,28,28)*(6,1,5,5) pad 2", "conv2d_forward", (x1, w1),
         {**geom, "padding": (2, 2)}),
        ("conv2d_forward LeNet conv2 (32,6,14,14)*(16,6,5,5)", "conv2d_forward", (x2, w2), geom),
        ("conv2d_backward_input LeNet conv2", "conv2d_backward_input", (n((32, 16, 10, 10)), w2),
         {**geom, "x_shape": x2.shape}),
        ("conv2d_backward_weight LeNet conv2", "conv2d_backward_weight", (n((32, 16, 10, 10)), x2),
         {**geom, "w_shape": w2.shape}),
        ("relu (32,6,28,28)", "relu", (n((32, 6, 28, 28)),), {}),
        ("max_pool2d_forward (32,6,28,28) 2x2", "max_pool2d_forward", (n((32, 6, 28, 28)),),
         {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0)}),
        ("log_softmax (32,10)", "log_softmax", (n((32, 10)),), {"axis": -1}),
    ]


def low_precision_primitives():
    """Per primitive: (name, float32 time, {dtype name: (before, after)})."""
    from tensorcore.backends import cpu

    rng = np.random.default_rng(0)
    rows = []
    for name, fn_name, arrays, kwargs in _primitive_cases(rng):
        after_fn = getattr(cpu, fn_name)
        before_fn = getattr(after_fn, "__wrapped__", None) or getattr(cpu, "_" + fn_name)
        a32 = [a.astype(np.float32) for a in arrays]
        t32 = median_time(functools.partial(after_fn, *a32, **kwargs), repeats=5, number=10)
        times = {}
        for dtype in (tc.float16, tc.bfloat16):
            low = [a.astype(dtype) for a in arrays]
            before = median_time(functools.partial(before_fn, *low, **kwargs), repeats=3, number=2)
            after = median_time(functools.partial(after_fn, *low, **kwargs), repeats=5, number=10)
            times[dtype.name] = (before, after)
        rows.append((name, t32, times))
    return rows


def lenet_step_times():
    """A LeNet-5 training step (forward + backward, batch 32): float32, and per autocast dtype (before, after)."""
    from tensorcore import models
    from tensorcore.backends import cpu

    tc.manual_seed(0)
    model = models.get_model_factory("lenet5")()
    x, y = tc.randn(32, 1, 28, 28), tc.tensor(np.arange(32) % 10)

    def step(dtype):
        def go():
            model.zero_grad()
            if dtype is None:
                loss = tc.nn.functional.cross_entropy(model(x), y)
            else:
                with tc.autocast("cpu", dtype=dtype):
                    loss = tc.nn.functional.cross_entropy(model(x), y)
            loss.backward()
        return go

    t32 = median_time(step(None), repeats=5, number=5)
    wrapped = {k: v for k, v in vars(cpu).items() if callable(v) and hasattr(v, "__wrapped__")}
    wrapped["conv2d_forward"] = cpu.conv2d_forward
    times = {}
    for dtype in (tc.float16, tc.bfloat16):
        after = median_time(step(dtype), repeats=5, number=5)
        try:  # before: the backend's half-precision NumPy loops (the unwrapped functions)
            for k, v in wrapped.items():
                setattr(cpu, k, getattr(v, "__wrapped__", None) or cpu._conv2d_forward)
            before = median_time(step(dtype), repeats=3, number=1)
        finally:
            for k, v in wrapped.items():
                setattr(cpu, k, v)
        times[dtype.name] = (before, after)
    return t32, times


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
    print()
    print("float16 / bfloat16 on the cpu backend: before (NumPy's half-precision loops) and after (computed in "
          "float32, rounded once); x = time / float32 time in the same run")
    print()
    print("| primitive | float32 | float16 before | float16 after | bfloat16 before | bfloat16 after |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, t32, times in low_precision_primitives():
        cells = " | ".join(f"{t * 1e6:.0f} us ({t / t32:.1f}x)" for d in ("float16", "bfloat16") for t in times[d])
        print(f"| {name} | {t32 * 1e6:.0f} us | {cells} |")
    t32, times = lenet_step_times()
    cells = " | ".join(f"{t * 1e3:.1f} ms ({t / t32:.1f}x)" for d in ("float16", "bfloat16") for t in times[d])
    print(f"| LeNet-5 training step, batch 32, under autocast | {t32 * 1e3:.1f} ms | {cells} |")


if __name__ == "__main__":
    main()
