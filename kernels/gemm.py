"""GEMM: ``C = act(op(A) @ op(B) + bias)`` in one kernel (batched, split-K when the tiles are few).

Math and shapes
---------------
For every batch ``z`` of ``C`` (shape ``(batch, M, N)``)::

    C[z] = act(op(A[z % batchA]) @ op(B[z % batchB]) + bias)

``op(A)`` is ``A`` (stored ``(M, K)``) or, with ``trans_a``, ``A.T`` (``A`` stored ``(K, M)``);
likewise ``op(B)`` is ``B`` (``(K, N)``) or ``B.T`` (``B`` stored ``(N, K)``). All four layouts
compile (NN, NT, TN, TT); linear and convolution forward/backward use NN, NT and TN. Batches are
strided (contiguous 3-D arrays); an operand with fewer batches is reused cyclically (``z % batchA``),
so a 2-D weight broadcasts over a batch and ``(G, ...)`` group weights over ``(N*G, ...)`` images.
``bias`` is per column (``(batchBias, N)``, the linear layer's bias) or per row (``(batchBias, M)``,
the convolution's per-channel bias), batch ``z % batchBias``. ``act`` is none, ReLU or GELU (erf).
Any M, N, K >= 0: no multiple-of-tile assumption; out-of-range tile entries load as zero and are
never stored. FLOPs ``2*batch*M*N*K``; fewest bytes ``itemsize*(|A| + |B| + |C|)``.

Kernels and tiles
-----------------
The kernels are generated per layout, activation and tile by kernels/_gemm_tiled.py (fully unrolled
``bk``-step outer products from 128-bit shared loads; its docstring gives the design). Tiles
``128x128``, ``128x64`` and ``64x64`` (``bk = 8``, ``8 x 8`` per thread: 256, 128 and 64 threads); per
K step a ``128x128`` block loads 8 KiB and runs 262,144 FLOPs (32 FLOP/B), ``64x64`` 16 FLOP/B.
:func:`choose_tile` takes the largest tile with a block for every SM; an output too small for any
tile runs the smallest one with split-K (:func:`auto_split_k`): partial products to a scratch array,
then one kernel sums them and applies the bias and activation (:func:`make_sum_splits_kernel`).
float64 (for checks) always runs the ``64x64`` tile.

Launch grid: ``(cdiv(N, BN), cdiv(M, BM), batch * splits)`` blocks of ``tile.threads`` threads.

Wrapper
-------
``matmul(a, b, out=None, bias=None, activation=None, trans_a=False, trans_b=False, stream=None)``;
``a``/``b`` 2-D or 3-D (batched), float32 or float64, C-contiguous, CuPy/Numba device arrays (or
NumPy arrays in the simulator)::

    c = matmul(x, w, bias=b, activation="relu", trans_b=True)   # relu(x @ w.T + b)
    dw = matmul(grad, x, trans_a=True)                           # grad.T @ x

:func:`gemm_batched` is the lower-level entry (3-D operands, row or column bias) used by conv.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from . import _gemm_tiled, _launch
from ._gemm_tiled import ACTIVATIONS, TILES, GemmTile  # noqa: F401  (GemmTile: kernels/gemm_f16.py)

#: The tile is chosen per shape (:func:`choose_tile`); callers may pass a :class:`GemmTile` instead.
TILE = None
TILE_128x128, TILE_128x64, TILE_64x64 = TILES
#: A small tile for the simulator tests that want many blocks cheaply (same generator, 16 threads).
SMALL_TILE = _gemm_tiled.SMALL_TILE

#: Shortest K range one split-K block walks (see :func:`auto_split_k`).
SPLIT_K_MIN = 256
#: Bias modes of the fused epilogue.
BIAS_NONE, BIAS_COLUMNS, BIAS_ROWS = 0, 1, 2

_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def blocks_per_sm(tile: GemmTile, dtype=np.float32) -> int:
    """Blocks of ``tile`` one SM holds at once (its launch bounds: registers are the limit)."""
    return _gemm_tiled.launch_bounds(tile, dtype)[1]


def choose_tile(M, N, batch, dtype=np.float32) -> GemmTile:
    """The largest tile whose ``batch * cdiv(M, bm) * cdiv(N, bn)`` blocks give every SM one, else the
    smallest (then :func:`auto_split_k` splits K until every SM holds :func:`blocks_per_sm` blocks).
    float64 always gets the smallest."""
    if np.dtype(dtype) != np.float32:
        return TILE_64x64
    sms = _launch.sm_count()
    for tile in TILES:
        if batch * _launch.cdiv(M, tile.bm) * _launch.cdiv(N, tile.bn) >= sms:
            return tile
    return TILES[-1]


def get_gemm_kernel(trans_a: bool, trans_b: bool, dtype, activation=None, tile: GemmTile = TILE_128x128):
    """The jitted kernel for a layout/dtype/activation/tile, built once and cached (it then compiles
    once, on its first launch)."""
    return _gemm_tiled.get_kernel(trans_a, trans_b, dtype, activation, tile)


#: The (layout, activation) pairs the wrappers launch: matmul/linear (NN, NT with any activation),
#: conv forward (NN), conv input grad (TN), weight grad (NT); TT only without activation.
LAUNCHED = [
    ((ta, tb), act) for ta, tb in ((False, False), (False, True), (True, False)) for act in (None, "relu", "gelu")
]
LAUNCHED += [((True, True), None)]


#: The table's rows (kernels/resources.py): every layout on every tile, and linear's NT layout with
#: each activation on the largest tile (an activation changes only the epilogue, not the hot loop; the
#: other pairs compile the same code); float64 on its one tile.
TABLE_FLOAT32 = [((ta, tb), None, t) for t in TILES for ta in (False, True) for tb in (False, True)]
TABLE_FLOAT32 += [((False, True), act, TILE_128x128) for act in ("relu", "gelu")]


def ptx_signatures():
    """``(name, python function, [signature], launch_bounds)`` for the GEMM kernels in the SASS table
    (``kernels/resources.py`` compiles each to sm_90)."""
    out = []
    for dtype in _launch.FLOAT_DTYPES:
        rows = TABLE_FLOAT32 if dtype == np.float32 else [(lay, None, TILE_64x64) for lay, act in LAUNCHED if not act]
        for (ta, tb), act, tile in rows:
            fn = _gemm_tiled.make_kernel(ta, tb, dtype, act, tile)
            out.append((fn.__name__, fn, [_gemm_tiled.signature(dtype)], fn.launch_bounds))
        t = _launch.numba_type(dtype)
        red = make_sum_splits_kernel(dtype)
        out.append((red.__name__, red, [numba.void(t[:, ::1], t[:, ::1], numba.int64)], None))
        for act in (None, "relu") if dtype == np.float32 else ():
            red = make_sum_splits_kernel(dtype, act, epilogue=True)
            out.append((red.__name__, red, [_sum_splits_epilogue_signature(dtype)], None))
    return out


_dummies: dict = {}


def _dummy_bias(kind: str, dtype):
    """A 1-element zero array of ``kind`` passed as the bias when there is none (made once)."""
    key = (kind, np.dtype(dtype))
    d = _dummies.get(key)
    if d is None:
        d = _dummies[key] = _launch.zeros(kind, (1,), dtype)
    return d


def gemm_batched(
    a,
    b,
    c,
    bias=None,
    bias_mode=BIAS_NONE,
    activation=None,
    trans_a=False,
    trans_b=False,
    stream=None,
    tile: GemmTile | None = TILE,
    split_k=None,
    fn="gemm_batched",
):
    """``c[z] = act(op(a[z % A]) @ op(b[z % B]) + bias)`` on 3-D operands, written into ``c``.

    ``bias`` is 2-D ``(batchBias, N)`` with ``bias_mode=BIAS_COLUMNS`` or ``(batchBias, M)`` with
    ``BIAS_ROWS``. Shapes are checked; ``c`` must be allocated by the caller. Returns ``c``.
    ``tile``: None chooses by shape (:func:`choose_tile`). ``split_k``: split the K loop over that many
    blocks writing partial products to a scratch array, then sum them and apply the bias and the
    activation in one kernel; None chooses (:func:`auto_split_k`).
    """
    kind = _launch.check_same_kind(fn, a, b, c, bias)
    for name, x in (("a", a), ("b", b), ("c", c)):
        _launch.check_float(fn, name, x, ndim=3)
    dtype = np.dtype(c.dtype)
    if a.dtype != dtype or b.dtype != dtype:
        raise TypeError(f"{fn}: dtypes differ: a {a.dtype}, b {b.dtype}, out {c.dtype}")
    batch, M, N = c.shape
    ash, bsh = a.shape, b.shape
    am, ak = (ash[2], ash[1]) if trans_a else (ash[1], ash[2])
    bk, bn = (bsh[2], bsh[1]) if trans_b else (bsh[1], bsh[2])
    if am != M or bn != N or ak != bk:
        raise ValueError(
            f"{fn}: shapes do not multiply: a {tuple(ash)}{' (transposed)' if trans_a else ''}, "
            f"b {tuple(bsh)}{' (transposed)' if trans_b else ''}, out {tuple(c.shape)}"
        )
    for name, n in (("a", ash[0]), ("b", bsh[0])):
        if n < 1 or batch % n:
            raise ValueError(f"{fn}: batch of {name} ({n}) must divide the output batch ({batch})")
    if activation not in ACTIVATIONS:
        raise ValueError(f"{fn}: activation must be one of None, 'relu', 'gelu', got {activation!r}")
    if bias is None or bias_mode == BIAS_NONE:
        bias1, bias_mode, batch_bias = _dummy_bias(kind, dtype), BIAS_NONE, 1
    else:
        length = N if bias_mode == BIAS_COLUMNS else M
        _launch.check(fn, "bias", bias, ndim=2, dtype=dtype)
        if bias.shape[1] != length or bias.shape[0] < 1 or batch % bias.shape[0]:
            raise ValueError(f"{fn}: bias of shape {tuple(bias.shape)} does not fit output {tuple(c.shape)}")
        bias1, batch_bias = bias, bias.shape[0]
    _run(kind, a, b, c, bias1, batch, M, N, ak, ash[0], bsh[0], batch_bias, bias_mode, activation, trans_a, trans_b,
         stream, tile, split_k, dtype)  # fmt: skip
    return c


_plans: dict = {}


def _plan(dtype, M, N, K, batch, activation, trans_a, trans_b, tile, split_k):
    """``(kernel, grid, threads, splits, k_chunk, sum kernel, sum grid)`` of one GEMM shape, made once."""
    key = (dtype, M, N, K, batch, activation, trans_a, trans_b, tile, split_k)
    plan = _plans.get(key)
    if plan is None:
        tile = choose_tile(M, N, batch, dtype) if tile is None else GemmTile(*tile)
        if split_k is None:
            split_k = auto_split_k(M, N, K, batch, tile)
        k_chunk = max(tile.bk, _launch.cdiv(_launch.cdiv(K, max(1, int(split_k))), tile.bk) * tile.bk)
        splits = max(1, _launch.cdiv(K, k_chunk))
        grid = (_launch.cdiv(N, tile.bn), _launch.cdiv(M, tile.bm), batch * splits)
        kernel = _gemm_tiled.get_kernel(trans_a, trans_b, dtype, activation if splits == 1 else None, tile)
        red = _launch.built(make_sum_splits_kernel, dtype, activation, True) if splits > 1 else None
        plan = _plans[key] = (kernel, grid, tile.threads, splits, k_chunk, red, _launch.grid_1d(batch * M * N))
    return plan


def _run(kind, a, b, c, bias1, batch, M, N, K, batch_a, batch_b, batch_bias, bias_mode, activation, trans_a,
         trans_b, stream, tile, split_k, dtype):  # fmt: skip
    """Launch the GEMM (contiguous operands passed flat), the arguments checked (:func:`gemm_batched`,
    :func:`matmul`)."""
    if batch == 0 or M == 0 or N == 0:
        return
    kernel, grid, threads, splits, k_chunk, red, red_grid = _plan(
        dtype, M, N, K, batch, activation, trans_a, trans_b, tile, split_k
    )
    stream = _launch.stream_for(kind, stream)
    Flat = _launch.Flat
    if splits == 1:
        _launch.launch(
            kernel, grid, threads, stream,
            Flat(a), Flat(b), Flat(c), Flat(bias1), M, N, K, batch_a, batch_b, batch_bias, bias_mode, 1, K,
        )  # fmt: skip
        return
    # Split-K: partial products without epilogue, then their sum with the bias and the activation.
    part = _launch.empty(kind, (batch * splits * M * N,), dtype)
    _launch.launch(
        kernel, grid, threads, stream,
        Flat(a), Flat(b), part, _dummy_bias(kind, dtype), M, N, K, batch_a, batch_b, 1, BIAS_NONE, splits, k_chunk,
    )  # fmt: skip
    _launch.launch(
        red, red_grid, _launch.THREADS_1D, stream, part, Flat(c), Flat(bias1), splits, N, M, batch_bias, bias_mode
    )


def auto_split_k(M, N, K, batch, tile: GemmTile = TILE_64x64) -> int:
    """Split-K factor for a GEMM whose output tiles alone cannot fill the GPU (a convolution's weight
    gradient: ``Cout x Cin*kh*kw`` outputs, ``K = batch*H*W`` long; a linear layer's at small batch):
    as many splits as fit in one wave (every SM holding :func:`blocks_per_sm` blocks: a second, partly
    empty wave would cost more than it fills), each split at least ``SPLIT_K_MIN`` long. 1 (no split)
    in the simulator."""
    if _launch.SIMULATOR:
        return 1
    blocks = _launch.cdiv(M, tile.bm) * _launch.cdiv(N, tile.bn) * batch
    want = _launch.sm_count() * blocks_per_sm(tile) // blocks
    return max(1, min(want, K // SPLIT_K_MIN))


def _sum_splits_epilogue_signature(dtype):
    t = _launch.numba_type(dtype)
    i64 = numba.int64
    return numba.void(t[::1], t[::1], t[::1], i64, i64, i64, i64, i64)


def make_sum_splits_kernel(dtype, activation=None, epilogue=False):
    """``out[z, i] = act(sum_s part[z * splits + s, i] + bias)``: adds split-K partial products.

    ``epilogue=False``: arguments ``(part, out, splits)``, no bias or activation (the convolution's
    weight-gradient chunks). ``epilogue=True``: ``(part, out, bias, splits, N, M, batch_bias,
    bias_mode)``, all flat: ``part`` ``(batch * splits, M, N)``, ``out`` ``(batch, M, N)``, ``bias``
    ``(batch_bias, N)`` (mode 1) or ``(batch_bias, M)`` (mode 2). Grid-stride over ``out.size``; reads
    ``splits`` and writes 1 element per output."""
    T = _launch.numba_type(dtype)
    ACT = ACTIVATIONS[activation]
    INV_SQRT2 = _INV_SQRT2

    def gemm_sum_splits(part, out, splits):
        n = out.shape[1]
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < out.size:
            z = i // n
            r = i - z * n
            acc = T(0.0)
            for s in range(splits):
                acc += part[z * splits + s, r]
            out[z, r] = acc
            i += stride

    def gemm_sum_splits_epilogue(part, out, bias, splits, N, M, batch_bias, bias_mode):
        n = M * N
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < out.size:
            z = i // n
            r = i - z * n
            acc = T(0.0)
            for s in range(splits):
                acc += part[(z * splits + s) * n + r]
            if bias_mode == 1:
                acc += bias[(z % batch_bias) * N + r % N]
            elif bias_mode == 2:
                acc += bias[(z % batch_bias) * M + r // N]
            if ACT == 1:  # NOTE: max(v, 0) keeps NaN as NaN (Python's max returns v unless 0 > v).
                acc = max(acc, T(0.0))
            elif ACT == 2:
                acc = T(0.5) * acc * (T(1.0) + math.erf(acc * T(INV_SQRT2)))
            out[i] = acc
            i += stride

    if not epilogue:
        return _launch.named(gemm_sum_splits, "gemm_sum_splits", dtype)
    act = "" if ACT == 0 else "_" + activation
    return _launch.named(gemm_sum_splits_epilogue, f"gemm_sum_splits_epilogue{act}", dtype)


def _sum_splits_kernel(dtype):
    return _launch.built(make_sum_splits_kernel, dtype)


def matmul(a, b, out=None, bias=None, activation=None, trans_a=False, trans_b=False, stream=None):
    """``out = act(op(a) @ op(b) + bias)`` (``op`` transposes the last two axes when asked).

    ``a``: ``(M, K)``, or ``(K, M)`` with ``trans_a``, or 3-D with a leading batch; ``b``: ``(K, N)``
    or ``(N, K)`` with ``trans_b``, or 3-D. 2-D times 2-D gives ``(M, N)``; otherwise the output is
    ``(batch, M, N)`` and a 2-D operand is shared by every batch. ``bias``: ``(N,)``, added to every
    row. ``activation``: None, ``"relu"`` or ``"gelu"`` (erf form). float32 or float64,
    C-contiguous. ``stream``: a Numba or CuPy stream (default: CuPy's current stream for CuPy input).

    Example::

        y = matmul(x, w, bias=b, trans_b=True)      # x @ w.T + b, a linear layer
    """
    fn = "matmul"
    kind = _launch.check_same_kind(fn, a, b, out, bias)
    _launch.check_float(fn, "a", a, ndim=(2, 3))
    _launch.check_float(fn, "b", b, ndim=(2, 3))
    dtype = a.dtype
    if b.dtype != dtype:
        raise TypeError(f"{fn}: a and b dtypes differ: {a.dtype} vs {b.dtype}")
    ash, bsh = tuple(a.shape), tuple(b.shape)  # (the simulator's shapes take no negative index)
    M = ash[-1] if trans_a else ash[-2]
    Ka = ash[-2] if trans_a else ash[-1]
    Kb = bsh[-1] if trans_b else bsh[-2]
    N = bsh[-2] if trans_b else bsh[-1]
    if Ka != Kb:
        raise ValueError(
            f"{fn}: inner dimensions differ: a {tuple(a.shape)}{' (transposed)' if trans_a else ''} "
            f"and b {tuple(b.shape)}{' (transposed)' if trans_b else ''}"
        )
    batch_a = ash[0] if len(ash) == 3 else 1
    batch_b = bsh[0] if len(bsh) == 3 else 1
    if len(ash) == len(bsh) == 3 and batch_a != batch_b:
        raise ValueError(f"{fn}: batch sizes differ: a {ash}, b {bsh}")
    batch = max(batch_a, batch_b)
    out = _launch.output(fn, kind, out, (M, N) if len(ash) == len(bsh) == 2 else (batch, M, N), dtype)
    if activation not in ACTIVATIONS:
        raise ValueError(f"{fn}: activation must be one of None, 'relu', 'gelu', got {activation!r}")
    if bias is None:
        bias1, bias_mode = _dummy_bias(kind, dtype), BIAS_NONE
    else:
        _launch.check(fn, "bias", bias, ndim=1, dtype=dtype, shape=(N,))
        bias1, bias_mode = bias, BIAS_COLUMNS
    _run(kind, a, b, out, bias1, batch, M, N, Ka, batch_a, batch_b, 1, bias_mode, activation, trans_a, trans_b,
         stream, TILE, None, dtype)  # fmt: skip
    return out


def gemm_reference(a, b, bias=None, bias_mode=BIAS_NONE, activation=None, trans_a=False, trans_b=False):
    """NumPy float64 reference of :func:`gemm_batched` (3-D operands) and :func:`matmul` (2-D)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    opa = np.swapaxes(a, -1, -2) if trans_a else a
    opb = np.swapaxes(b, -1, -2) if trans_b else b
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        batch = max(a.shape[0], b.shape[0])
        opa = opa[np.arange(batch) % a.shape[0]]
        opb = opb[np.arange(batch) % b.shape[0]]
    r = opa @ opb
    if bias is not None and bias_mode != BIAS_NONE:
        bias = np.asarray(bias, dtype=np.float64)
        if bias.ndim == 1:
            bias = bias[None]
        zb = np.arange(r.shape[0] if r.ndim == 3 else 1) % bias.shape[0]
        bb = bias[zb]  # (batch, L)
        if r.ndim == 2:
            bb = bb[0]
            r = r + (bb[None, :] if bias_mode == BIAS_COLUMNS else bb[:, None])
        else:
            r = r + (bb[:, None, :] if bias_mode == BIAS_COLUMNS else bb[:, :, None])
    if activation == "relu":
        r = np.where(r < 0, 0.0, r)
    elif activation == "gelu":
        r = gelu_erf_reference(r)
    return r


def gelu_erf_reference(x):
    """``0.5 x (1 + erf(x / sqrt 2))`` in float64 (NumPy has no erf; math.erf elementwise)."""
    x = np.asarray(x, dtype=np.float64)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
