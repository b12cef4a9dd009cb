"""Convolution a chunk of images at a time: im2col into a cache-sized buffer, then BLAS; chunks split over threads.

For a chunk of images with cols (C kh kw, images Q) their columns (cpu_parallel_columns.py; rows
(c, i, j), so group g's rows are one block) and g_c the chunk's output gradient as (O, images Q):
    forward   y_c[g]  = w[g] (O/G, K/G) @ cols[g]              then cropped into NCHW y
    weight    dw^T[g] = sum over chunks, in order, of cols[g] @ g_c[g]^T
    input     dcols[g] = w[g]^T @ g_c[g],   dx = col2im(dcols)
A chunk's columns (about 1 MB: the MNIST convnet's second layer one image, LeNet-5's second layer
twelve) stay in L2 between the copy and the GEMM, where BLAS runs these shapes at ~150 GFLOPS on one
core of the 2-core Xeon (the whole-batch GEMM on a 42 MB column matrix: ~100).
With T threads, T Python threads take the chunks one at a time (the Numba copies release the GIL, and
so does BLAS, which runs on one thread meanwhile so that no second pool spins on the same cores). The
chunks depend on the shapes only, so no result depends on the thread count or on who ran which chunk.
"""

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import cpu_parallel as policy
from .cpu_parallel_columns import add_columns, crop_rows, fill_columns, widen_rows

GEMM_MIN_BLOCK = 64  # rows (or columns) per thread at least in gemm
# The wide runs (stride 1) when their dropped columns add at most this fraction to the GEMMs. Measured
# on one core: LeNet-5's second layer (4 dropped of 10) 0.62/0.76/0.66 ms wide against 1.36/1.38/1.33
# compact (forward/weight/input), AlexNet's third (2 of 13) 41/51/45 ms against 39/50/41.
WIDE_MAX_EXTRA = 1.0
CHUNK_ELEMENTS = 1 << 18  # column entries per chunk (1 MB of float32: half of one core's L2)
# Images with fewer output columns than this go several to a chunk (a power of two of them, at most
# CHUNK_MAX_ELEMENTS entries): AlexNet's 13x13 layers (195 wide columns an image) ran their GEMMs at
# 139 GFLOPS with one image, 160 with four (384x2304 @ 2304xN, one core); the layers' three primitives
# at one thread 20.4/20.8/23.5 -> 17.8/17.7/20.3 ms (the third layer, 1 -> 4 images a chunk).
GEMM_MIN_COLUMNS = 600
CHUNK_MAX_ELEMENTS = 1 << 22


# --- threads ---------------------------------------------------------------------------------------

_pool = None
_pool_pid = None
_pool_lock = threading.Lock()
_blas = None  # threadpoolctl's BLAS controllers (False: threadpoolctl missing)


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas = False
        else:
            _blas = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    return _blas


def threads_for(n):
    """How many threads split a batch of n images: the thread count, at most n, 1 without threadpoolctl."""
    t = min(policy.get_num_threads(), n)
    return t if t > 1 and _blas_controllers() else 1


class one_blas_thread:
    """Context manager: BLAS on one thread inside (no-op without threadpoolctl).

    # NOTE: OpenBLAS's idle workers spin for ~0.1 s (2^28 cycles) after each multithreaded call; on
    # 2 cores a spinning worker halves whatever runs next on the other core (measured: a LeNet-5 step at
    # 2 threads took 42-52 ms of CPU time instead of 8). Every GEMM of this module runs on one BLAS
    # thread; its own threads split the work.
    """

    def __enter__(self):
        self.saved = [(c, c.get_num_threads()) for c in (_blas_controllers() or ())]
        for c, k in self.saved:
            if k != 1:
                c.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        for c, k in self.saved:
            if k != 1:
                c.set_num_threads(k)


def _split(work, n, threads):
    """work(tasks) on `threads` threads at once, each taking the next of the tasks 0 .. n - 1 until none are left.

    BLAS runs on one thread meanwhile. Each task writes its own part of the output, so which thread ran it
    changes nothing. NOTE: the tasks are claimed, not dealt out: with another process holding the second
    core, a worker that is not running claims nothing and the calling thread does the rest itself (dealt
    out, a LeNet-5 step at 2 threads took 76-80 ms instead of 6.7 next to one busy process).
    """
    if threads <= 1:
        with one_blas_thread():
            work(range(n))
        return
    global _pool, _pool_pid
    with _pool_lock:
        # NOTE: a forked child inherits the pool object but none of its threads: it makes its own
        if _pool is None or _pool._max_workers < threads - 1 or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="tensorcore-conv")
            _pool_pid = os.getpid()
    counter = itertools.count()  # next() on it is atomic under the GIL: each task goes to one thread

    def claimed():
        for k in counter:
            if k >= n:
                return
            yield k

    with one_blas_thread():
        futures = [_pool.submit(lambda: work(claimed())) for _ in range(threads - 1)]
        try:
            work(claimed())
        finally:
            for f in futures:
                f.result()


def gemm(a, b):
    """a @ b for 2-D a (M, K) and b (K, N), cut into one block per thread, each one single-threaded BLAS call.

    Row blocks of a when every thread gets GEMM_MIN_BLOCK rows (or M >= N), else column blocks of b;
    fewer than policy.GEMM_TRANSPOSED_MAX_ROWS rows: out^T = b^T @ a^T in row blocks of b^T, copied back.
    Deterministic for a given thread count (a block's values may differ from one whole call's in the last bit).
    # NOTE: measured on the 2-core Xeon, 2 threads, min of 15 interleaved: linear's x (8, 9216) @ w.T
    # in column blocks of w.T 27.6 ms, the same as one call (26.8): those two BLAS calls do not run side
    # by side; w @ x.T in row blocks of w 19.5. Its weight gradient g.T (4096, 8) @ x (8, 9216): column
    # blocks 28.3, row blocks 22.7. The transposed form costs a copy of the (N, M) result: with M = 64
    # (the MNIST convnet's g (64, 128) @ w (128, 9216)) 2.7 ms against 0.8 in column blocks.
    """
    m, n = a.shape[0], b.shape[1]
    threads = min(policy.get_num_threads(), max(1, max(m, n) // GEMM_MIN_BLOCK)) if _blas_controllers() else 1
    if m < policy.GEMM_TRANSPOSED_MAX_ROWS and n > m:
        return np.ascontiguousarray(_blocks(b.T, a.T, threads, rows=True).T)
    rows = m >= n or m >= GEMM_MIN_BLOCK * threads
    return _blocks(a, b, min(threads, max(1, (m if rows else n) // GEMM_MIN_BLOCK)), rows)


def _blocks(a, b, threads, rows):
    """a @ b with the rows of a (or the columns of b) cut into `threads` blocks, one single-threaded BLAS call each."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    size = a.shape[0] if rows else b.shape[1]

    def work(blocks):
        for t in blocks:
            lo, hi = size * t // threads, size * (t + 1) // threads
            if rows:
                np.matmul(a[lo:hi], b, out=out[lo:hi])
            else:  # NOTE: a column block of `out` has unit stride along its rows: BLAS writes it in place
                np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])

    _split(work, threads, threads)
    return out


# --- the primitives --------------------------------------------------------------------------------


class _Plan:
    """One convolution's geometry: wide runs for stride 1, compact columns otherwise; images per chunk."""

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, dtype):
        n, c, h, w = x_shape
        o, cg, kh, kw = w_shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        self.oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        self.ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        self.hp, self.wp = h + 2 * ph, w + 2 * pw
        self.n, self.o, self.groups, self.og, self.kg, self.k = n, o, groups, o // groups, cg * kh * kw, c * kh * kw
        self.geo = (kh, kw, sh, sw, ph, pw, dh, dw, self.oh, self.ow)
        self.pad_size = c * self.hp * self.wp + (kw - 1) * dw
        self.dtype = dtype
        self.set_wide(sh == 1 and sw == 1 and (self.wp - self.ow) <= WIDE_MAX_EXTRA * self.ow)

    def set_wide(self, wide):
        self.wide = wide
        self.pitch = self.wp if wide else self.ow
        self.q = self.oh * self.pitch
        # images per GEMM: their columns about fill half of one core's L2 (fixed by the shapes alone,
        # so the weight gradient's sum order never depends on the thread count)
        per_image = max(1, self.k * self.q)
        merged = 1
        while merged * self.q < GEMM_MIN_COLUMNS and 2 * merged * per_image <= CHUNK_MAX_ELEMENTS:
            merged *= 2
        self.chunk = max(1, min(self.n, max(CHUNK_ELEMENTS // per_image, merged)))
        self.chunks = -(-self.n // self.chunk)

    def images(self, k):
        """(first image, count) of chunk k."""
        b0 = k * self.chunk
        return b0, min(self.n, b0 + self.chunk) - b0

    def buffers(self, *rows):
        """Per-thread scratch: the padded image, then one (G, rows / G, chunk Q) array per entry of rows."""
        pad = np.empty(self.pad_size if self.wide else 0, dtype=self.dtype)
        return pad, [np.empty((self.groups, r // self.groups, self.chunk * self.q), dtype=self.dtype) for r in rows]


def conv2d_forward(x, w, stride, padding, dilation, groups):
    """Cross-correlation, no bias: x (N, C, H, W), w (O, C/groups, kh, kw) -> (N, O, OH, OW)."""
    plan = _Plan(x.shape, w.shape, stride, padding, dilation, groups, x.dtype)
    x = np.ascontiguousarray(x)
    wg = np.ascontiguousarray(w).reshape(groups, plan.og, plan.kg)
    y = np.empty((plan.n, plan.o, plan.oh, plan.ow), dtype=x.dtype)

    def work(chunks):
        xpad, (cols, out) = plan.buffers(plan.k, plan.o)
        for k in chunks:
            b0, nb = plan.images(k)
            used = nb * plan.q
            fill_columns(x, b0, nb, xpad, cols.reshape(plan.k, -1), plan.wide, *plan.geo)
            np.matmul(wg, cols[:, :, :used], out=out[:, :, :used])
            crop_rows(out.reshape(plan.o, -1), y, b0, nb, plan.pitch)

    _split(work, plan.chunks, threads_for(plan.chunks))
    return y


def conv2d_backward_weight(g, x, w_shape, stride, padding, dilation, groups):
    """d(sum(g * conv2d(x, w)))/dw of shape w_shape (O, C/G, kh, kw): one GEMM per chunk, chunks summed in order.

    The wide columns' dropped entries meet zeros of g: exact unless x holds inf or NaN (0 * inf),
    so such an x takes the compact columns.
    """
    plan = _Plan(x.shape, w_shape, stride, padding, dilation, groups, g.dtype)
    x = np.ascontiguousarray(x)
    g = np.ascontiguousarray(g)
    if plan.wide and not np.isfinite(x.sum()):
        plan.set_wide(False)
    partial = np.empty((plan.chunks, groups, plan.kg, plan.og), dtype=g.dtype)  # dw^T: cols @ g^T runs faster

    def work(chunks):
        xpad, (cols, gw) = plan.buffers(plan.k, plan.o)
        for k in chunks:
            b0, nb = plan.images(k)
            used = nb * plan.q
            fill_columns(x, b0, nb, xpad, cols.reshape(plan.k, -1), plan.wide, *plan.geo)
            widen_rows(g, gw.reshape(plan.o, -1), b0, nb, plan.pitch)
            np.matmul(cols[:, :, :used], gw[:, :, :used].transpose(0, 2, 1), out=partial[k])

    _split(work, plan.chunks, threads_for(plan.chunks))
    gw = partial[0]
    for k in range(1, plan.chunks):
        gw += partial[k]
    return np.ascontiguousarray(gw.transpose(0, 2, 1)).reshape(w_shape)


def conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups):
    """d(sum(g * conv2d(x, w)))/dx for x of x_shape: the transposed convolution of g with w.

    The wide columns' dropped entries are w^T times zeros of g, so they add nothing (a non-finite w
    takes the compact columns).
    """
    plan = _Plan(x_shape, w.shape, stride, padding, dilation, groups, g.dtype)
    if plan.wide and not np.isfinite(w.sum()):
        plan.set_wide(False)
    wt = np.ascontiguousarray(w).reshape(groups, plan.og, plan.kg).transpose(0, 2, 1)
    g = np.ascontiguousarray(g)
    dx = np.empty(x_shape, dtype=g.dtype)

    def work(chunks):
        dxpad, (dcols, gw) = plan.buffers(plan.k, plan.o)
        for k in chunks:
            b0, nb = plan.images(k)
            used = nb * plan.q
            widen_rows(g, gw.reshape(plan.o, -1), b0, nb, plan.pitch)
            np.matmul(wt, gw[:, :, :used], out=dcols[:, :, :used])
            add_columns(dcols.reshape(plan.k, -1), dx, b0, nb, dxpad, plan.wide, *plan.geo)

    _split(work, plan.chunks, threads_for(plan.chunks))
    return dx
