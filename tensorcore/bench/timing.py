"""Timing: warm-up, then repeated samples; min, median, max and the number of runs.

CPU regions are timed with `time.perf_counter`. A region much shorter than a millisecond is run
`inner` times per sample (calibrated from the warm-up) and the sample divided by `inner`, so the
clock's resolution and the loop's own cost stay negligible. GPU regions are timed with CUDA events
recorded on the stream the work is queued on, and synchronized on the end event
(`cuda_event_timer`); `bench/gpu_check.py` imports it from here.

Example:
    t = measure(lambda: a @ b, min_time=0.2)
    print(t.median_s, t.runs)
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds per call of a timed region: summary of `runs` samples (each the mean of `inner` calls)."""

    median_s: float
    min_s: float
    max_s: float
    runs: int
    inner: int = 1

    @classmethod
    def from_samples(cls, samples, inner=1):
        if not samples:
            raise ValueError("Timing: no samples")
        return cls(statistics.median(samples), min(samples), max(samples), len(samples), inner)


def _calibrate(fn, warmup, target_sample_s):
    """Run the warm-up calls; return (seconds per call, calls per sample).

    The per-call estimate is the fastest of a few timed calls (a call that another process slowed
    down must not shrink `inner` to 1 for a region of microseconds).
    """
    for _ in range(max(1, warmup)):
        fn()
    best = math.inf
    spent = 0.0
    for _ in range(5):
        n = 1 if best > 1e-4 else 100  # tiny regions: time 100 calls at a time
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        spent += dt
        best = min(best, dt / n)
        if spent > 2 * target_sample_s and best > 1e-4:
            break
    inner = max(1, math.ceil(target_sample_s / max(best, 1e-9))) if best < target_sample_s else 1
    return best, inner


def measure(fn, *, warmup=2, min_runs=5, max_runs=50, min_time=0.2, target_sample_s=2e-3, inner=None):
    """Time `fn()` on the CPU.

    Warm-up calls first (caches, lazy imports, JIT); then samples until both `min_runs` samples and
    `min_time` seconds are reached, or `max_runs`. Each sample runs `inner` calls (calibrated so a
    sample lasts about `target_sample_s`) and records the mean per call.
    """
    last, calibrated = _calibrate(fn, warmup, target_sample_s)
    inner = calibrated if inner is None else inner
    samples = []
    start = time.perf_counter()
    while len(samples) < max_runs:
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
        if len(samples) >= min_runs and time.perf_counter() - start >= min_time:
            break
    return Timing.from_samples(samples, inner)


def measure_alternating(fns, *, warmup=2, rounds=7, inner=None, target_sample_s=0.05, syncs=None, pause_s=0.0):
    """Time several regions in alternating rounds (A B, B A, A B, ...) so drift and noise from other
    processes hit all of them alike. Returns one Timing per region and the per-round samples.

    `syncs` (one callable or None per region) runs at the end of each sample, inside the timed
    interval: e.g. `torch.cuda.synchronize` for regions that queue GPU work.

    `pause_s` sleeps (untimed) before each sample: idle BLAS/OpenMP worker threads of the region
    just timed spin for a while before they sleep, and would otherwise steal a core from the next.

    Example:
        (ta, tb), samples = measure_alternating([step_a, step_b], rounds=9)
        paired_ratio = statistics.median(a / b for a, b in zip(*samples))
    """
    syncs = list(syncs) if syncs is not None else [None] * len(fns)
    inners = []
    for fn, sync in zip(fns, syncs):
        if sync is not None:
            fn = _synced(fn, sync)
        if inner is None:
            inners.append(_calibrate(fn, warmup, target_sample_s)[1])
        else:  # fixed calls per sample: only the warm-up calls (possibly none)
            for _ in range(warmup):
                fn()
            inners.append(inner)
    samples = [[] for _ in fns]
    order = list(range(len(fns)))
    for r in range(rounds):
        for i in (order if r % 2 == 0 else order[::-1]):
            fn, n, sync = fns[i], inners[i], syncs[i]
            if pause_s:
                time.sleep(pause_s)
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            if sync is not None:
                sync()
            samples[i].append((time.perf_counter() - t0) / n)
    return [Timing.from_samples(s, n) for s, n in zip(samples, inners)], samples


def _synced(fn, sync):
    def call():
        fn()
        sync()

    return call


def rotating(arg_sets):
    """An endless iterator over input sets: successive calls read different buffers, so a region
    whose inputs fit in cache is not timed on data the previous call left hot."""
    return itertools.cycle(arg_sets)


# --- GPU ------------------------------------------------------------------------------------------


def _event_api(kind):
    """(make_event, record(ev), elapsed_s(start, end), synchronize(ev)) for cupy, torch or numba events."""
    if kind == "cupy":
        import cupy

        def make():
            return cupy.cuda.Event()

        return (make, lambda e: e.record(), lambda a, b: cupy.cuda.get_elapsed_time(a, b) * 1e-3,
                lambda e: e.synchronize())
    if kind == "torch":
        import torch

        def make():
            return torch.cuda.Event(enable_timing=True)

        return make, lambda e: e.record(), lambda a, b: a.elapsed_time(b) * 1e-3, lambda e: e.synchronize()
    if kind == "numba":
        from numba import cuda

        def make():
            return cuda.event(timing=True)

        return make, lambda e: e.record(), lambda a, b: cuda.event_elapsed_time(a, b) * 1e-3, lambda e: e.synchronize()
    raise ValueError(f"cuda_event_timer: unknown event kind {kind!r} (cupy, torch or numba)")


def cuda_event_timer(fn, *, warmup=3, min_runs=10, max_runs=100, min_time=0.2, inner=None,
                     target_sample_s=1e-3, events="cupy"):
    """Time `fn()` (which queues GPU work on the current stream) with CUDA events.

    Warm-up calls first (JIT compilation, module load, cuBLAS handles), followed by a device
    synchronization. Each sample records a start event, queues `inner` calls, records an end event
    and synchronizes on it; the sample is the elapsed event time divided by `inner`. `inner` is
    calibrated so a sample lasts about `target_sample_s` (launch-bound kernels are then timed
    back to back, as in a network). `events` picks the event API matching the library that queues
    the work: "cupy" (CuPy and Numba kernels launched on CuPy's stream), "torch" or "numba".

    Example:
        t = cuda_event_timer(lambda: gemm.matmul(a, b, out=c))
    """
    make, record, elapsed, synchronize = _event_api(events)
    start, end = make(), make()
    for _ in range(max(1, warmup)):
        fn()
    record(start)
    fn()
    record(end)
    synchronize(end)
    one = max(elapsed(start, end), 1e-7)
    if inner is None:
        inner = max(1, math.ceil(target_sample_s / one)) if one < target_sample_s else 1
    samples = []
    wall = time.perf_counter()
    while len(samples) < max_runs:
        record(start)
        for _ in range(inner):
            fn()
        record(end)
        synchronize(end)
        samples.append(elapsed(start, end) / inner)
        if len(samples) >= min_runs and time.perf_counter() - wall >= min_time:
            break
    return Timing.from_samples(samples, inner)
