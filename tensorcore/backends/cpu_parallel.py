"""Multi-core CPU kernels (Numba, parallel=True): the switch, the size threshold and the thread count.

The CPU backend (cpu.py, cpu_conv.py) asks `use(size)` before each primitive: True sends the call
to a Numba kernel family (cpu_parallel_conv, _pool, _elementwise, _optim, _seq), False to the NumPy
implementation, which stays the reference in tests and the fallback when Numba is not installed.

    tc.backends.cpu_parallel.enabled = False     # NumPy only (tests, benchmarks)
    tc.backends.cpu_parallel.MIN_ELEMENTS = 0    # every size goes to the kernels (tests)

Nothing here imports numba: a family module (which does) is imported the first time an array
above the threshold reaches it, and its kernels compile then (cached on disk, `cache=True`).
Every kernel gives each output element to one loop iteration with a fixed inner order, so its
result does not depend on the thread count (the BLAS calls between them may, in the last bit).
Arrays between MIN_ELEMENTS and PARALLEL_MIN_ELEMENTS run the same kernels on one thread (one fused
pass, no thread wake-up); `use(size)` sets Numba's thread count for the call that follows it.
Convolutions (cpu_parallel_tiled, _columns) and large 2-D products (tiled.gemm) split their work over
tc's own Python threads instead, with BLAS on one thread each: OpenBLAS's own threads spin after every
call and would hold the second core (bench/results/2026-12-01-cpu2-session4-parallel.md).
"""

import importlib
import importlib.util
import os
import sys

enabled = True
# Arrays with fewer elements than this stay on NumPy: below it the parallel launch and the Python
# wrapper cost about what they save (measured on the 2-core Xeon: bench/results/2026-12-01-cpu2-parallel.md).
MIN_ELEMENTS = 32768
# Arrays with fewer elements than this run on one thread. NOTE: every parallel loop wakes the pool's
# threads, which costs milliseconds when other processes hold the cores: measured on the shared 2-core
# machine at load 8, an MLP step whose one parallel loop was Adam's 55k-element update took 76 ms
# instead of 0.44 ms on one thread, and at load 8-34 a LeNet-5 step with its 300k-element layers in
# parallel 164-557 ms instead of 16 ms. Loops over 4 MB (a millisecond or more) can pay for it.
PARALLEL_MIN_ELEMENTS = 1 << 20
# Convolution: the direct loops (cpu_parallel_direct.py) for stride-1 filters with at most this many
# weights per group (LeNet's first layer); the parallel GEMM + col2im input gradient when the column
# matrix has at least COL2IM_MIN_ELEMENTS entries; NumPy's batched GEMMs for the rest (measured faster).
DIRECT_MAX_WEIGHTS = 256
# The direct loops' weight gradient also for filters up to this many weights per group: a tiled GEMM with
# so few rows is a poor BLAS shape (the MNIST convnet's first layer, 288 weights: 5.4 vs 1.7 ms).
DIRECT_WEIGHT_MAX_WEIGHTS = 512
COL2IM_MIN_ELEMENTS = 1 << 22
# The per-image im2col + BLAS of cpu_parallel_tiled.py (images split over Python threads) for the
# other convolutions (measured faster than both above on the MNIST convnet, LeNet-5 and AlexNet layers).
TILED = True
# Max pooling's forward kernel (one scalar scan per window) measured slower than the NumPy path's
# kh*kw vectorized passes on the 2-core Xeon for 3x3 windows on one thread (AlexNet's first pool 12.8 vs
# 10.8 ms): off by default, except its 2x2 stride-2 form (LeNet-5's first pool 0.41 vs 0.17 ms, the MNIST
# convnet's 5.7 vs 1.6) and arrays that run on several threads (AlexNet's pools at 2 threads, quiet machine,
# min of 11: 7.0 vs 11.0 and 4.5 vs 7.2 ms; NumPy's passes use one core).
MAX_POOL_FORWARD = False
# 2-D products larger than this (m n k) run on tc's threads with one BLAS thread each (cpu_parallel_tiled.gemm).
# Below it the split costs more than OpenBLAS's own threads save: the MLP's 784x32 @ 32x64 weight gradient took
# 16 us in one threaded BLAS call, 43 us split (session 4, lead); with 65536 * 4 here the MLP step went from
# 0.34 to 0.57 ms at 2 threads, and LeNet-5 (6.9 -> 6.6 ms) and the MNIST convnet (56 -> 52 ms) gain too.
GEMM_MIN_MNK = 1 << 23
# Products above GEMM_MIN_MNK with fewer rows than this go to tiled.gemm at one thread too, which computes them
# transposed (w @ x.T): linear's x (8, 9216) @ w.T on one core 40 -> 30 ms, (8, 4096) @ w.T 16.7 -> 13.6 ms.
GEMM_TRANSPOSED_MAX_ROWS = 32
MAX_POOL_2X2 = True

_available = None
_threads = None  # set_num_threads' value; None: the default (every core)
_numba_threads = None  # the count last given to numba.set_num_threads (None: not yet)
_wanted_threads = None  # what the last use() asked for
# NOTE: with PyTorch imported first, Numba's loops run on PyTorch's libgomp, whose threads spin
# (measured: a LeNet-5 step 70-98 ms instead of 6 on 2 cores). Then the kernels use one thread,
# unless tc.set_num_threads asks otherwise.
_shares_openmp_with_torch = False
_families = {}


def available():
    """True when Numba is installed (and TENSORCORE_NUMBA is not '0')."""
    global _available
    if _available is None:
        _available = os.environ.get("TENSORCORE_NUMBA", "1") != "0" and importlib.util.find_spec("numba") is not None
    return _available


def use(size):
    """Whether an array of `size` elements goes to the kernels; sets their thread count for it."""
    if not (enabled and size >= MIN_ELEMENTS and available()):
        return False
    global _shares_openmp_with_torch, _wanted_threads
    if not _families:  # numba's OpenMP runtime loads with the first kernel, right after this call
        _shares_openmp_with_torch = "torch" in sys.modules and _threads is None
    _wanted_threads = 1 if size < PARALLEL_MIN_ELEMENTS or _shares_openmp_with_torch else get_num_threads()
    if _wanted_threads != _numba_threads and _families:
        _set_numba_threads(_wanted_threads)
    return True


def takes(*arrays):
    """Whether the elementwise kernels take these arrays: one float32/float64 dtype and shape, large enough."""
    a0 = arrays[0]
    if a0.size < MIN_ELEMENTS or not use(a0.size) or a0.dtype.kind != "f" or a0.dtype.itemsize < 4:
        return False
    return all(a.dtype == a0.dtype and a.shape == a0.shape for a in arrays[1:])


def conv_direct(w_shape, stride, groups):
    """Whether a convolution with this filter takes the direct loops."""
    o, cg, kh, kw = w_shape
    return tuple(stride) == (1, 1) and (o // groups) * cg * kh * kw <= DIRECT_MAX_WEIGHTS


def conv_direct_weight(w_shape, stride, groups):
    """Whether a convolution's weight gradient takes the direct loops."""
    o, cg, kh, kw = w_shape
    return conv_direct(w_shape, stride, groups) or (
        tuple(stride) == (1, 1) and (o // groups) * cg * kh * kw <= DIRECT_WEIGHT_MAX_WEIGHTS)


def conv_tiled(w_shape, stride, groups):
    """Whether a convolution (not taking the direct loops) takes the per-image tiled path."""
    return TILED and not conv_direct(w_shape, stride, groups)


def max_pool_forward(kernel, stride, padding, dilation, size=0):
    """Whether max pooling's forward with this geometry on `size` elements takes the kernel (for arrays `takes`
    accepts): the 2x2 stride-2 form always, the others when they would run on several threads."""
    two = tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and not any(padding) and tuple(dilation) == (1, 1)
    threaded = size >= PARALLEL_MIN_ELEMENTS and not _shares_openmp_with_torch and get_num_threads() > 1
    return MAX_POOL_FORWARD or (MAX_POOL_2X2 and two) or threaded


def gemm(a, b):
    """Whether a @ b (2-D, one float32/float64 dtype) goes to cpu_parallel_tiled.gemm: a large product and
    several threads asked (OpenBLAS's idle workers would spin next to the other kernels), or few rows."""
    return (a.ndim == 2 and b.ndim == 2 and a.shape[0] * a.shape[1] * b.shape[1] > GEMM_MIN_MNK  # size first:
            and enabled and a.dtype == b.dtype and a.dtype.kind == "f" and a.dtype.itemsize >= 4  # small products
            and (get_num_threads() > 1 or a.shape[0] < GEMM_TRANSPOSED_MAX_ROWS)  # (the per-op overhead
            and available())  # benchmark's) pay only that


def conv_columns_size(x_shape, w_shape, padding, dilation):
    """The number of entries of the parallel GEMM's column matrix (C kh kw) x (N OH Wp), stride 1."""
    n, c, h, w = x_shape
    _, _, kh, kw = w_shape
    oh = h + 2 * padding[0] - dilation[0] * (kh - 1)
    return c * kh * kw * n * max(oh, 0) * (w + 2 * padding[1])


def kernels(family):
    """The kernel module cpu_parallel_<family>, imported (with numba) on first use."""
    module = _families.get(family)
    if module is None:
        # NOTE: Numba's OpenMP pool, loaded here, sleeps between loops instead of spinning (unless the
        # user set OMP_WAIT_POLICY), so its threads never hold a core that BLAS's threads need.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        importlib.import_module(f"{__package__}.cpu_malloc").retain_freed_memory()  # no page faults per step
        module = _families[family] = importlib.import_module(f"{__package__}.cpu_parallel_{family}")
        _set_numba_threads(_wanted_threads or get_num_threads())
    return module


def default_num_threads():
    """Numba's default: NUMBA_NUM_THREADS, else the cores this process may run on."""
    env = os.environ.get("NUMBA_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def get_num_threads():
    """The number of threads the CPU kernels and BLAS use (torch.get_num_threads)."""
    return _threads if _threads is not None else default_num_threads()


def set_num_threads(n):
    """Use n threads in the CPU kernels (Numba) and in BLAS (through threadpoolctl, when installed).

    Like torch.set_num_threads, it applies to the calling thread's kernels and to the whole
    process's BLAS. Numba never runs more threads than NUMBA_NUM_THREADS (its pool size).
    """
    from ..errors import ArgumentError

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ArgumentError(f"set_num_threads: the number of threads must be a positive int, got {n!r}")
    global _threads, _shares_openmp_with_torch
    _threads = n
    _shares_openmp_with_torch = False
    if _families:
        _set_numba_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n, user_api="blas")


def _set_numba_threads(n):
    """numba.set_num_threads(n), capped at its pool size (it applies to the calling thread)."""
    global _numba_threads
    import numba

    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    _numba_threads = n
