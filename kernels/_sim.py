"""Warp shuffles for Numba's CUDA simulator, so the simulator runs the very code the GPU runs.

Numba's simulator (``NUMBA_ENABLE_CUDASIM=1``) runs each CUDA thread as a Python thread but has no
``cuda.shfl_*_sync``. :func:`install` adds ``shfl_sync``, ``shfl_xor_sync``, ``shfl_down_sync`` and
``shfl_up_sync`` to its fake ``cuda`` module. Each warp of a block exchanges values through a slot
table guarded by a barrier of the warp's threads, so - as on the GPU with a full mask - every lane
of the warp must take part in each shuffle. Imported only in simulator mode.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()


class _Warp:
    def __init__(self, lanes: int):
        self.lanes = lanes
        self.values = [None] * 32
        # A timeout turns a lane that never arrives (divergent shuffle, exception) into an error, not a hang.
        self.barrier = threading.Barrier(lanes, timeout=120)


def _warp_of_current_thread():
    t = threading.current_thread()
    manager = t._manager
    bx, by, bz = manager._block_dim
    nthreads = bx * by * bz
    warp_id = t.thread_id // 32
    with _lock:
        warps = manager.__dict__.setdefault("_tc_warps", {})
        w = warps.get(warp_id)
        if w is None:
            w = warps[warp_id] = _Warp(min(32, nthreads - 32 * warp_id))
    return w, t.thread_id % 32


def _exchange(value, src_of_lane):
    w, lane = _warp_of_current_thread()
    w.values[lane] = value
    w.barrier.wait()
    src = src_of_lane(lane)
    result = w.values[src] if 0 <= src < w.lanes else value
    w.barrier.wait()
    return result


def shfl_sync(self, mask, value, src_lane):
    return _exchange(value, lambda lane: int(src_lane) % 32)


def shfl_xor_sync(self, mask, value, lane_mask):
    return _exchange(value, lambda lane: lane ^ int(lane_mask))


def shfl_down_sync(self, mask, value, delta):
    return _exchange(value, lambda lane: lane + int(delta) if lane + int(delta) < 32 else lane)


def shfl_up_sync(self, mask, value, delta):
    return _exchange(value, lambda lane: lane - int(delta) if lane >= int(delta) else lane)


def install():
    """Add the shuffles to the simulator's fake ``cuda`` module, and its waiting scheduler (idempotent)."""
    from numba.cuda.simulator import kernelapi

    from . import _sim_block

    _sim_block.install()

    fake = kernelapi.FakeCUDAModule
    for name, fn in (
        ("shfl_sync", shfl_sync),
        ("shfl_xor_sync", shfl_xor_sync),
        ("shfl_down_sync", shfl_down_sync),
        ("shfl_up_sync", shfl_up_sync),
    ):
        if not hasattr(fake, name):
            setattr(fake, name, fn)
