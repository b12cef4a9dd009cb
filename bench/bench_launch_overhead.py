"""Host cost per kernel launch: the kernel wrappers' Python with the launch itself stubbed out.

Issue 17's goal: at most 10 us of Python per kernel launch. This runs the real wrappers
(``tensorcore.kernels.gemm.matmul`` and friends: argument checks, tile choice, output allocation,
stream lookup, argument packing in ``kernels/_launch.py``) on fake CuPy arrays, with the one call
that would reach the driver (``_launch._core_launch``, i.e. ``cuda.core.launch``) replaced by a
no-op. No GPU is needed; on a GPU the same code path runs, plus the driver's own launch cost
(about 2 to 4 us for ``cuLaunchKernel``; the GPU check's compile section records real launches).

The fake arrays have CuPy's attributes (``data.ptr``, ``shape``, ``strides``, ``flags``, ...) and a
``cupy`` module name, and a fake ``cupy`` module gives ``empty``/``zeros`` and the current stream, so
the wrappers take their CuPy path. The fast-launch table ``_launch._fast`` is pre-filled the way a
first real launch fills it (one entry per kernel and argument types).

    python bench/bench_launch_overhead.py [--repeat 2000] [--json bench/results/launch_overhead.json]

Prints, per case, the median microseconds per call and per launch over ``--rounds`` rounds, in this
process's CPU time (``time.process_time``): on a shared machine wall time also counts the turns the
scheduler gives other jobs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


class _Flags(dict):
    """``cupy.ndarray.flags``: ``flags.c_contiguous`` and ``flags["C_CONTIGUOUS"]``."""

    c_contiguous = True


_FLAGS = _Flags(C_CONTIGUOUS=True)


class FakeCupyArray:
    """What the wrappers read of a ``cupy.ndarray`` (C-contiguous), backed by nothing."""

    __module__ = "cupy._fake"
    _next_ptr = 1 << 32

    def __init__(self, shape, dtype, ptr=None):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.size = math.prod(self.shape)
        self.itemsize = self.dtype.itemsize
        strides, step = [], self.itemsize
        for n in reversed(self.shape):
            strides.append(step)
            step *= n
        self.strides = tuple(reversed(strides))
        if ptr is None:
            ptr = FakeCupyArray._next_ptr
            FakeCupyArray._next_ptr += max(self.size * self.itemsize, 256)
        self.data = types.SimpleNamespace(ptr=ptr)
        self.flags = _FLAGS

    def reshape(self, shape):
        return FakeCupyArray(shape, self.dtype, self.data.ptr)


def install_fake_cupy():
    """A ``cupy`` module with what kernels/_launch.py calls: empty, zeros and the current stream."""
    cupy = types.ModuleType("cupy")
    cupy.ndarray = FakeCupyArray
    cupy.empty = lambda shape, dtype=np.float32: FakeCupyArray(shape, dtype)
    cupy.zeros = lambda shape, dtype=np.float32: FakeCupyArray(shape, dtype)
    stream = types.SimpleNamespace(ptr=0)
    cupy.cuda = types.SimpleNamespace(get_current_stream=lambda: stream)
    sys.modules["cupy"] = cupy


def stub_the_driver(launch):
    """``_core_launch`` does nothing; the fast-launch table fills itself as a first launch would."""
    calls = {"n": 0}

    def core_launch(stream, config, kernel, *args):
        calls["n"] += 1

    class FilledOnFirstUse(dict):
        def get(self, key, default=None):
            if key not in self:
                self[key] = "compiled kernel"  # what _fast_entry records after a first real launch
            return dict.get(self, key)

    launch.FAST_LAUNCH = True
    launch._fast = FilledOnFirstUse()
    launch._core_launch = core_launch
    launch._core_stream = lambda stream: None
    launch._config = lambda grid, block: (grid, block)
    return calls


def cases():
    """``(name, callable)`` pairs: the GEMM wrappers, and two one-launch kernels of other families."""
    from tensorcore.kernels import activations, gemm, optim

    f32 = np.float32
    x, w, b = FakeCupyArray((32, 784), f32), FakeCupyArray((64, 784), f32), FakeCupyArray((64,), f32)
    y = FakeCupyArray((32, 64), f32)
    a4, b4, c4 = (FakeCupyArray((4096, 4096), f32) for _ in range(3))
    g, h = FakeCupyArray((32, 64), f32), FakeCupyArray((64, 784), f32)
    xb, wb, cb = FakeCupyArray((8, 32, 64), f32), FakeCupyArray((64, 48), f32), FakeCupyArray((8, 32, 48), f32)
    p, m, v, grad = (FakeCupyArray((55050,), f32) for _ in range(4))
    r, ro = FakeCupyArray((32, 64), f32), FakeCupyArray((32, 64), f32)
    return [
        ("matmul 4096^3 (out given)", lambda: gemm.matmul(a4, b4, out=c4)),
        ("linear relu(x w^T + b) 32x64x784 (split-K)", lambda: gemm.matmul(x, w, out=y, bias=b,
                                                                          activation="relu", trans_b=True)),
        ("linear x w^T + b, output allocated", lambda: gemm.matmul(x, w, bias=b, trans_b=True)),
        ("weight grad g^T x (TN) 64x784x32", lambda: gemm.matmul(g, x, out=h, trans_a=True)),
        ("batched matmul, 2-D weight shared", lambda: gemm.matmul(xb, wb, out=cb)),
        ("relu (activations)", lambda: activations.relu(r, out=ro)),
        ("adam_update 55,050 parameters (optim)", lambda: optim.adam_update(p, grad, m, v, 1e-3, step=3)),
        ("sgd_update momentum 0.9, 55,050 parameters (optim)", lambda: optim.sgd_update(p, grad, m, 0.01, 0.9,
                                                                                      first=False)),
    ]


def measure(repeat: int, rounds: int):
    sys.path.insert(0, str(ROOT))
    import gpu_check  # noqa: F401  (makes `tensorcore.kernels` importable from the checkout)

    install_fake_cupy()
    from tensorcore.kernels import _launch

    calls = stub_the_driver(_launch)
    results = []
    for name, fn in cases():
        fn()  # first use: kernel objects built, the fast-launch entry made
        calls["n"] = 0
        fn()
        per_call_launches = calls["n"]
        samples = []
        for _ in range(rounds):
            t0 = time.process_time()  # CPU time: on a shared machine, wall time counts other jobs' turns
            for _ in range(repeat):
                fn()
            samples.append((time.process_time() - t0) / repeat * 1e6)
        us = statistics.median(samples)
        results.append({"case": name, "us_per_call": us, "launches": per_call_launches,
                        "us_per_launch": us / per_call_launches, "min_us_per_call": min(samples)})
        print(f"{name:<52} {us:7.2f} us/call  {per_call_launches} launch(es)  {us / per_call_launches:6.2f} us/launch",
              flush=True)
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    results = measure(args.repeat, args.rounds)
    worst = max(r["us_per_launch"] for r in results)
    print(f"worst: {worst:.2f} us of Python per launch (goal <= 10 us)")
    if args.json:
        record = {
            "what": "kernel wrappers' Python per launch, driver launch stubbed (bench/bench_launch_overhead.py)",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpu": platform.processor() or platform.machine(), "python": sys.version.split()[0],
                        "load_average": os.getloadavg()},
            "command": "python " + " ".join([sys.argv[0]] + (argv or sys.argv[1:])),
            "results": results,
        }
        tmp = args.json.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
