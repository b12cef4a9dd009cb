"""Convolution one image at a time: im2col into a cache-sized buffer, then BLAS, images split over threads.

For image b, with cols_b (C kh kw, OH OW) its im2col matrix (rows (c, i, j), group g's rows a block):
    forward   y[b, g] = w[g] (O/G, K/G) @ cols_b[g]                 (written straight into NCHW y)
    weight    dw[g]  += g[b, g] (O/G, P) @ cols_b[g]^T               (partial sums per fixed chunk of images)
    input     dcols   = w[g]^T @ g[b, g],  dx[b] = col2im(dcols)
One image's columns (LeNet: tens of KB, the MNIST convnet's second layer 660 KB) stay in L2 between
the copy and the GEMM, where BLAS runs these shapes at ~150 GFLOPS on one core of the 2-core Xeon
(the whole-batch GEMM on a 42 MB column matrix: ~100; bench/results/2026-12-01-cpu2-session4-parallel.md).
With T threads the batch is cut into T contiguous blocks of images, one per thread (Python threads:
the Numba copies release the GIL, and so does BLAS, which runs on one thread meanwhile so that no
second pool spins on the same cores). Each image's result is computed the same way whatever the
thread count; the weight gradient sums images in fixed chunks of CHUNK, then the chunks in order,
so it does not depend on the thread count either.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from . import cpu_parallel as policy

GEMM_MIN_BLOCK = 64  # rows (or columns) per thread at least in gemm
CHUNK_ELEMENTS = 1 << 18  # column entries per weight-gradient GEMM (1 MB of float32: half one core's L2)


@njit(inline="always")
def _valid_columns(j, w, sw, pw, dw, ow):
    """(x0, lo, hi): output columns [lo, hi) read input column ox sw + x0 inside [0, w)."""
    x0 = j * dw - pw
    lo = 0 if x0 >= 0 else (-x0 + sw - 1) // sw
    hi = (w - x0 + sw - 1) // sw
    lo = min(lo, ow)
    hi = max(min(hi, ow), lo)
    return x0, lo, hi


@njit(nogil=True, cache=True)
def im2col_image(x, cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """cols (C kh kw, OH OW) of one image x (C, H, W); zero where a window reads padding."""
    c, h, w = x.shape
    for ci in range(c):
        for i in range(kh):
            for j in range(kw):
                row = (ci * kh + i) * kw + j
                x0, lo, hi = _valid_columns(j, w, sw, pw, dw, ow)
                for oy in range(oh):
                    y = oy * sh + i * dh - ph
                    dst = cols[row, oy * ow :]
                    if y < 0 or y >= h:
                        for ox in range(ow):
                            dst[ox] = 0
                        continue
                    src = x[ci, y]
                    for ox in range(lo):
                        dst[ox] = 0
                    for ox in range(lo, hi):
                        dst[ox] = src[ox * sw + x0]
                    for ox in range(hi, ow):
                        dst[ox] = 0


@njit(nogil=True, cache=True)
def col2im_image(dcols, dx, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """dx (C, H, W) = every entry of dcols (C kh kw, OH OW) added back where im2col_image read it."""
    c, h, w = dx.shape
    dx[:] = 0
    for ci in range(c):
        for i in range(kh):
            for j in range(kw):
                row = (ci * kh + i) * kw + j
                x0, lo, hi = _valid_columns(j, w, sw, pw, dw, ow)
                for oy in range(oh):
                    y = oy * sh + i * dh - ph
                    if y < 0 or y >= h:
                        continue
                    src = dcols[row, oy * ow :]
                    dst = dx[ci, y]
                    for ox in range(lo, hi):
                        dst[ox * sw + x0] += src[ox]


@njit(nogil=True, cache=True)
def pad_image(x, xpad, ph, pw):
    """xpad (C Hp Wp + slack,) flat = x (C, H, W) with ph, pw zeros around each plane and zero slack."""
    c, h, w = x.shape
    wp = w + 2 * pw
    plane = (h + 2 * ph) * wp
    xpad[:] = 0
    for ci in range(c):
        for y in range(h):
            dst = xpad[ci * plane + (y + ph) * wp + pw :]
            src = x[ci, y]
            for k in range(w):
                dst[k] = src[k]


@njit(nogil=True, cache=True)
def im2col_wide(xpad, cols, hp, wp, kh, kw, dh, dw):
    """cols (C kh kw, Q = OH Wp): row (c, i, j) = the contiguous run of xpad from c Hp Wp + i dh Wp + j dw.

    Column q = oy Wp + ox is the window at (oy, ox) for ox < OW; the columns ox >= OW read whatever
    follows (the next row, the next plane or the slack) and are dropped or multiplied by zeros.
    """
    k, q = cols.shape
    taps = kh * kw
    for row in range(k):
        ci = row // taps
        i = (row - ci * taps) // kw
        j = row - ci * taps - i * kw
        src = xpad[ci * hp * wp + i * dh * wp + j * dw :]
        dst = cols[row]  # NOTE: 1-d views in the inner loops: 3-5x faster than 2-d indexing in Numba 0.68
        for t in range(q):
            dst[t] = src[t]


@njit(nogil=True, cache=True)
def col2im_wide(dcols, dxpad, dx, hp, wp, ph, pw, kh, kw, dh, dw):
    """dx (C, H, W) = the runs of dcols (C kh kw, OH Wp; zero at ox >= OW) added back at their offsets, cropped."""
    c, h, w = dx.shape
    k, q = dcols.shape
    taps = kh * kw
    dxpad[:] = 0
    for row in range(k):
        ci = row // taps
        i = (row - ci * taps) // kw
        j = row - ci * taps - i * kw
        dst = dxpad[ci * hp * wp + i * dh * wp + j * dw :]
        src = dcols[row]
        for t in range(q):
            dst[t] += src[t]
    for ci in range(c):
        for y in range(h):
            src = dxpad[ci * hp * wp + (y + ph) * wp + pw :]
            dst = dx[ci, y]
            for t in range(w):
                dst[t] = src[t]


@njit(nogil=True, cache=True)
def crop_image(y_wide, y, wp):
    """y (O, OH, OW) = y_wide (O, OH Wp) without the columns ox >= OW."""
    o, oh, ow = y.shape
    for oc in range(o):
        for oy in range(oh):
            src = y_wide[oc, oy * wp :]
            dst = y[oc, oy]
            for t in range(ow):
                dst[t] = src[t]


@njit(nogil=True, cache=True)
def widen_image(g, g_wide, wp):
    """g_wide (O, OH Wp) = g (O, OH, OW) with zeros at the columns ox >= OW."""
    o, oh, ow = g.shape
    for oc in range(o):
        for oy in range(oh):
            dst = g_wide[oc, oy * wp :]
            src = g[oc, oy]
            for t in range(ow):
                dst[t] = src[t]
            for t in range(ow, wp):
                dst[t] = 0


# --- threads ---------------------------------------------------------------------------------------

_pool = None
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
    """work(lo, hi) over [0, n) in `threads` contiguous blocks, concurrently; BLAS on one thread meanwhile."""
    if threads <= 1:
        with one_blas_thread():
            work(0, n)
        return
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < threads - 1:
            _pool = ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="tensorcore-conv")
    bounds = [n * t // threads for t in range(threads + 1)]
    with one_blas_thread():
        futures = [_pool.submit(work, bounds[t], bounds[t + 1]) for t in range(1, threads)]
        try:
            work(bounds[0], bounds[1])
        finally:
            for f in futures:
                f.result()


def gemm(a, b):
    """a @ b for 2-D a (M, K) and b (K, N): the longer of M and N cut into one block per thread.

    Each block is one single-threaded BLAS call on a slice: deterministic for a given thread count.
    (OpenBLAS gives the row blocks the whole product's values bit for bit; a column block may round
    differently in the last bit, as BLAS's own threads may.)
    """
    m, n = a.shape[0], b.shape[1]
    out = np.empty((m, n), dtype=np.result_type(a, b))
    rows = m >= n
    size = m if rows else n
    threads = min(policy.get_num_threads(), max(1, size // GEMM_MIN_BLOCK)) if _blas_controllers() else 1

    def work(lo, hi):
        if rows:
            np.matmul(a[lo:hi], b, out=out[lo:hi])
        else:
            out[:, lo:hi] = a @ b[:, lo:hi]

    _split(work, size, threads)
    return out


# --- the primitives --------------------------------------------------------------------------------


class _Plan:
    """One convolution's geometry and its per-thread buffers (wide runs for stride 1, compact otherwise)."""

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, dtype):
        n, c, h, w = x_shape
        o, cg, kh, kw = w_shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        self.oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        self.ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        self.wide = sh == 1 and sw == 1
        self.hp, self.wp = h + 2 * ph, w + 2 * pw
        self.q = self.oh * (self.wp if self.wide else self.ow)
        self.n, self.c, self.groups, self.og, self.kg = n, c, groups, o // groups, cg * kh * kw
        self.geo = (kh, kw, sh, sw, ph, pw, dh, dw, self.oh, self.ow)
        self.pad_size = c * self.hp * self.wp + (kw - 1) * dw
        self.dtype = dtype
        # images per weight-gradient GEMM: their columns about fill L2 (fixed by the shapes, not the threads)
        self.chunk = max(1, min(n, CHUNK_ELEMENTS // max(1, c * kh * kw * self.q)))

    def cols(self, images=1):
        return np.empty((self.groups, self.kg, images * self.q), dtype=self.dtype)

    def fill(self, xb, xpad, cols2d):
        """cols2d (C kh kw, Q) = the columns of image xb (C, H, W); xpad: the wide layout's padded buffer."""
        kh, kw, _, _, ph, pw, dh, dw, _, _ = self.geo
        if self.wide:
            pad_image(xb, xpad, ph, pw)
            im2col_wide(xpad, cols2d, self.hp, self.wp, kh, kw, dh, dw)
        else:
            im2col_image(xb, cols2d, *self.geo)


def conv2d_forward(x, w, stride, padding, dilation, groups):
    """Cross-correlation, no bias: x (N, C, H, W), w (O, C/groups, kh, kw) -> (N, O, OH, OW)."""
    n, o = x.shape[0], w.shape[0]
    plan = _Plan(x.shape, w.shape, stride, padding, dilation, groups, x.dtype)
    x = np.ascontiguousarray(x)
    wg = np.ascontiguousarray(w).reshape(groups, plan.og, plan.kg)
    y = np.empty((n, o, plan.oh, plan.ow), dtype=x.dtype)

    def work(lo, hi):
        cols = plan.cols()
        xpad = np.empty(plan.pad_size, dtype=x.dtype)
        out = np.empty((groups, plan.og, plan.q), dtype=x.dtype)
        for b in range(lo, hi):
            plan.fill(x[b], xpad, cols.reshape(-1, plan.q))
            if plan.wide:
                np.matmul(wg, cols, out=out)
                crop_image(out.reshape(o, plan.q), y[b], plan.wp)
            else:
                np.matmul(wg, cols, out=y[b].reshape(groups, plan.og, plan.q))

    _split(work, n, threads_for(n))
    return y


def conv2d_backward_weight(g, x, w_shape, stride, padding, dilation, groups):
    """d(sum(g * conv2d(x, w)))/dw of shape w_shape (O, C/G, kh, kw).

    The wide columns' dropped entries meet zeros of g: exact unless x holds inf or NaN (0 * inf),
    so such an x takes the compact columns.
    """
    o = w_shape[0]
    plan = _Plan(x.shape, w_shape, stride, padding, dilation, groups, g.dtype)
    x = np.ascontiguousarray(x)
    g = np.ascontiguousarray(g)
    if plan.wide and not np.isfinite(x.sum()):
        plan.wide, plan.q = False, plan.oh * plan.ow
    n, q, m = plan.n, plan.q, plan.chunk
    chunks = -(-n // m)
    partial = np.empty((chunks, groups, plan.kg, plan.og), dtype=g.dtype)  # dw^T: cols @ g^T runs faster

    def work(lo, hi):
        cols = plan.cols(m)
        flat = cols.reshape(-1, m * q)
        xpad = np.empty(plan.pad_size, dtype=x.dtype)
        gw = np.empty((o, m * q), dtype=g.dtype)
        for k in range(lo, hi):
            first, last = k * m, min(n, (k + 1) * m)
            for b in range(first, last):
                t = (b - first) * q
                plan.fill(x[b], xpad, flat[:, t : t + q])
                if plan.wide:
                    widen_image(g[b], gw[:, t : t + q], plan.wp)
                else:
                    gw[:, t : t + q] = g[b].reshape(o, q)
            used = (last - first) * q
            np.matmul(cols[:, :, :used], gw[:, :used].reshape(groups, plan.og, used).transpose(0, 2, 1),
                      out=partial[k])

    _split(work, chunks, threads_for(chunks))
    gw = partial[0]
    for k in range(1, chunks):
        gw += partial[k]
    return np.ascontiguousarray(gw.transpose(0, 2, 1)).reshape(w_shape)


def conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups):
    """d(sum(g * conv2d(x, w)))/dx for x of x_shape: the transposed convolution of g with w.

    The wide columns' dropped entries are w^T times zeros of g, so they add nothing (a non-finite w
    takes the compact columns).
    """
    o = w.shape[0]
    plan = _Plan(x_shape, w.shape, stride, padding, dilation, groups, g.dtype)
    if plan.wide and not np.isfinite(w.sum()):
        plan.wide, plan.q = False, plan.oh * plan.ow
    n, q = plan.n, plan.q
    kh, kw, _, _, ph, pw, dh, dw, _, _ = plan.geo
    wt = np.ascontiguousarray(w).reshape(groups, plan.og, plan.kg).transpose(0, 2, 1)
    g = np.ascontiguousarray(g)
    dx = np.empty(x_shape, dtype=g.dtype)

    def work(lo, hi):
        dcols = plan.cols()
        flat = dcols.reshape(-1, q)
        g_wide = np.empty((o, q), dtype=g.dtype)
        dxpad = np.empty(plan.pad_size, dtype=g.dtype)
        for b in range(lo, hi):
            if plan.wide:
                widen_image(g[b], g_wide, plan.wp)
                np.matmul(wt, g_wide.reshape(groups, plan.og, q), out=dcols)
                col2im_wide(flat, dxpad, dx[b], plan.hp, plan.wp, ph, pw, kh, kw, dh, dw)
            else:
                np.matmul(wt, g[b].reshape(groups, plan.og, q), out=dcols)
                col2im_image(flat, dx[b], *plan.geo)

    _split(work, n, threads_for(n))
    return dx
