"""The simulator's waiting block scheduler (kernels/_sim_block.py) keeps the semantics of Numba's:
barriers release when every running thread has arrived (threads that returned count), shared arrays
are one per source line, syncthreads_count/and/or, and the first exception of a thread is raised
without a hang. The kernels are real CUDA code: on a GPU they check the hardware's semantics."""

import numpy as np
import pytest
from numba import cuda  # a module global: the simulator swaps its fake cuda module in for it
from tensorcore.kernels import _launch  # installs the simulator's shuffles and scheduler

from .kernel_helpers import SIMULATOR, requires_cuda

pytestmark = [pytest.mark.kernels, requires_cuda]


@pytest.mark.skipif(not SIMULATOR, reason="checks what is installed in Numba's simulator (NUMBA_ENABLE_CUDASIM=1)")
def test_the_waiting_scheduler_is_installed_with_the_kernels():
    assert _launch.SIMULATOR
    from numba.cuda.simulator import kernel

    assert kernel.BlockManager._tc_waits
    assert kernel.BlockManager.run.__module__ == "tensorcore.kernels._sim_block"


def test_tree_reduction_over_barriers_with_a_partial_warp():
    @cuda.jit
    def block_sum(x, out):
        s = cuda.shared.array(64, np.float64)
        t = cuda.threadIdx.x
        s[t] = x[cuda.blockIdx.x * cuda.blockDim.x + t]
        stride = 32
        while stride > 0:  # six barriers; each thread adds its partner's partial sum
            cuda.syncthreads()
            if t < stride and t + stride < cuda.blockDim.x:
                s[t] += s[t + stride]
            stride //= 2
        cuda.syncthreads()
        if t == 0:
            out[cuda.blockIdx.x] = s[0]

    x = np.random.default_rng(0).standard_normal(3 * 37)
    out = np.zeros(3)
    block_sum[3, 37](x, out)
    np.testing.assert_allclose(out, x.reshape(3, 37).sum(axis=1), rtol=1e-12)


def test_threads_that_return_early_do_not_hold_the_barrier():
    @cuda.jit
    def early_exit(out):
        s = cuda.shared.array(16, np.int64)
        t = cuda.threadIdx.x
        if t >= 5:
            return  # 11 of 16 threads end before the barriers the first 5 wait in
        s[t] = t + 1
        cuda.syncthreads()
        acc = 0
        for i in range(5):
            acc += s[i]
        cuda.syncthreads()
        out[t] = acc

    out = np.zeros(16, np.int64)
    early_exit[1, 16](out)
    assert out[:5].tolist() == [15] * 5 and not out[5:].any()


def test_shared_arrays_are_one_per_line_and_syncthreads_votes_count():
    @cuda.jit
    def votes(flags, out):
        a = cuda.shared.array(8, np.int64)
        b = cuda.shared.array(8, np.int64)
        t = cuda.threadIdx.x
        a[t] = t
        b[t] = 10 * t
        cuda.syncthreads()
        out[t, 0] = a[(t + 1) % 8] + b[(t + 3) % 8]  # both arrays are the block's, and distinct
        f = flags[t]
        out[t, 1] = cuda.syncthreads_count(f)
        out[t, 2] = cuda.syncthreads_and(f)
        out[t, 3] = cuda.syncthreads_or(f)

    flags = np.array([1, 0, 1, 1, 0, 0, 1, 0], np.int32)
    out = np.zeros((8, 4), np.int64)
    votes[1, 8](flags, out)
    t = np.arange(8)
    assert out[:, 0].tolist() == ((t + 1) % 8 + 10 * ((t + 3) % 8)).tolist()
    assert out[:, 1].tolist() == [4] * 8 and not out[:, 2].any() and out[:, 3].tolist() == [1] * 8


@pytest.mark.skipif(not SIMULATOR, reason="an exception inside a kernel is the simulator's (a GPU has no raise)")
def test_an_exception_in_one_thread_is_raised_and_aborts_the_waiting_ones():
    @cuda.jit
    def fails(x):
        t = cuda.threadIdx.x
        cuda.syncthreads()
        if t == 6:
            x[100] = 1.0  # out of bounds in the simulator: IndexError
        cuda.syncthreads()  # the other 39 threads wait here: they must be released, not hang
        x[t] = t

    with pytest.raises(IndexError, match=r"tid=\[6, 0, 0\]"):
        fails[1, 40](np.zeros(40))
