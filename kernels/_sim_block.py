"""A block scheduler for Numba's CUDA simulator that waits instead of polling (simulator only).

Numba's simulator runs each CUDA thread of a block as a Python thread; its ``BlockManager.run``
then spins in a loop asking every thread ``is_alive()`` and ``syncthreads_blocked`` until all have
arrived at a barrier or ended. That loop holds the GIL the simulated threads need (the sweep's
layer_norm case on the simulated device: 19-22 s of CPU time with it, 11-12 s without, 2026-12-02).
:func:`install` replaces it with a condition variable: ``syncthreads`` releases the block when every
thread still running has arrived (threads that returned count as arrived, as in Numba's scheduler),
and the first exception of a thread aborts the others and is raised, as Numba raises it.
``cuda.shared.array`` keeps Numba's key (the calling file and line) but reads it from the caller's
frame instead of a whole stack extraction (which stats every source file of the stack on each
call). The kernels, their launch configurations and the order of blocks are unchanged. Imported
only in simulator mode.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

_ABORT_CALL = "abort flag set on syncthreads call"
_ABORT_CLEAR = "abort flag set on syncthreads clear"


class Block:
    """One block's barrier: ``live`` threads still running, ``arrived`` of them waiting in it."""

    def __init__(self, threads: int, warps: dict):
        self.cond = threading.Condition()
        self.done = threading.Event()  # every thread ended, or one raised
        self.live = threads
        self.arrived = 0
        self.generation = 0
        self.error = None  # (exception, traceback) of the first thread that raised
        self.warps = warps  # the shuffle barriers of kernels/_sim.py, aborted with the block

    def _release_if_complete(self):
        if self.arrived and self.arrived == self.live:
            self.arrived = 0
            self.generation += 1
            self.cond.notify_all()

    def sync(self):
        """``cuda.syncthreads()`` of one thread."""
        with self.cond:
            if self.error is not None:
                raise RuntimeError(_ABORT_CALL)
            generation = self.generation
            self.arrived += 1
            self._release_if_complete()
            while generation == self.generation and self.error is None:
                self.cond.wait()
            if self.error is not None:
                raise RuntimeError(_ABORT_CLEAR)

    def leave(self, exception):
        """A thread ended (``exception``: its ``(exception, traceback)``, or None)."""
        with self.cond:
            self.live -= 1
            if exception is not None and self.error is None:
                self.error = exception
                for warp in list(self.warps.values()):
                    warp.barrier.abort()
                self.cond.notify_all()
            else:
                self._release_if_complete()
            if self.error is not None or self.live == 0:
                self.done.set()


def _thread_run(self, _run=None):
    try:
        _run(self)
    finally:
        self._tc_block.leave(self.exception)


def _syncthreads(self):
    self._tc_block.sync()


def _block_run(self, grid_point, *args):
    """``BlockManager.run``: start the block's threads, wait for them to end, raise the first error."""
    from numba.cuda.simulator.kernel import BlockThread

    block = Block(int(np.prod(self._block_dim)), self.__dict__.setdefault("_tc_warps", {}))

    def target():
        self._f(*args)

    for block_point in np.ndindex(*self._block_dim):
        t = BlockThread(target, self, grid_point, block_point, self._debug)
        t._tc_block = block
        t.start()
    block.done.wait()
    if block.error is not None:
        raise block.error[0].with_traceback(block.error[1])


def _shared_array(self, shape, dtype, alignment=None, _array=None):
    """``cuda.shared.array``: one array per calling file and line, as Numba keys it."""
    if alignment is not None or shape == 0:
        return _array(self, shape, dtype, alignment)
    caller = sys._getframe(1)
    key = (caller.f_code.co_filename, caller.f_lineno)
    res = self._allocations.get(key)
    if res is None:
        from numba.cuda.simulator import kernelapi

        if isinstance(dtype, kernelapi.types.Type):
            dtype = kernelapi.numpy_support.as_dtype(dtype)
        res = self._allocations[key] = np.empty(shape, dtype)
    return res


def install():
    """Swap the scheduler and ``shared.array`` into Numba's simulator (idempotent)."""
    from functools import partialmethod

    from numba.cuda.simulator import kernel, kernelapi

    if getattr(kernel.BlockManager, "_tc_waits", False):
        return
    kernel.BlockThread.run = partialmethod(_thread_run, _run=kernel.BlockThread.run)
    kernel.BlockThread.syncthreads = _syncthreads
    kernel.BlockManager.run = _block_run
    kernelapi.FakeCUDAShared.array = partialmethod(_shared_array, _array=kernelapi.FakeCUDAShared.array)
    kernel.BlockManager._tc_waits = True
