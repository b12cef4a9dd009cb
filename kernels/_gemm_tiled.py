"""The register-blocked SGEMM kernel, generated as source text per tile configuration and layout
(private to kernels/gemm.py, whose ``ptx_signatures`` lists the kernels it launches).

Math: ``C[z] = act(op(A[z % batchA]) @ op(B[z % batchB]) + bias)`` (see kernels/gemm.py, which owns the
wrappers). This module writes one kernel per ``(layout, dtype, activation, tile)`` as Python source,
fully unrolled, and ``exec``s it (with ``NUMBA_CACHE_DIR`` set, writes it to a file there and imports it,
so Numba's disk cache keeps the compiled kernel across processes): NVVM does not unroll the 8-step k loop
of a written loop (its body, 64 FMAs and 16 loads, is over the unroll threshold), so the source is unrolled here.

Arguments (flat, C-contiguous 1-D views; the wrapper makes them)::

    A, B, C, bias, M, N, K, batch_a, batch_b, batch_bias, bias_mode, splits, k_chunk

``A`` holds ``batch_a`` matrices ``(M, K)`` (``(K, M)`` with trans_a), ``B`` ``batch_b`` matrices
``(K, N)`` (``(N, K)`` with trans_b), ``C`` ``batch * splits`` matrices ``(M, N)``; ``bias`` is
``(batch_bias, N)`` (``bias_mode`` 1) or ``(batch_bias, M)`` (2), or a 1-element dummy (0). Split-K
block ``z * splits + s`` sums k in ``[s * k_chunk, (s + 1) * k_chunk)`` into matrix ``z * splits + s``
of ``C``. FLOPs ``2 batch M N K``. Grid ``(cdiv(N, bn), cdiv(M, bm), batch * splits)``, block
``tile.threads``. Every operand below 2^32 elements (32-bit index arithmetic; the wrapper checks).

Machine-code design (RESOURCES.md shows the result):

* Thread ``(ty, tx)`` owns rows ``4 TY h + 4 ty + r`` and columns ``4 TX h + 4 tx + c`` (``h < TM/4``,
  ``r, c < 4``): groups of 4 consecutive rows/columns, so each k step loads its fragments as
  ``TM/4 + TN/4`` 128-bit shared loads (``LDS.128``) and runs ``TM TN`` FFMAs on them.
* Shared tiles are K-major ``[buffer][k][m]`` with rows padded to ``BM + 4`` words (16-byte aligned,
  and the two k rows a warp stores at once fall in different banks). Double-buffered: one barrier
  per K step; the next step's global loads are issued into registers before this step's FMAs.
* Shared indices are unsigned 64-bit (no wrap-around test, and LLVM can prove 4 consecutive loads
  adjacent and merge them); global indices are truncated to 32 bits (``U32``), which narrows their
  arithmetic to 32-bit IMADs.
* Interior blocks (the whole tile inside M and N) and full K steps load without bounds tests; the
  edge path tests every element. Stores are unchecked for interior blocks too.
* Accumulators, fragments and prefetch registers are scalar locals (never a local array), so
  nothing can end up in local memory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
from typing import NamedTuple

import numba
import numpy as np
from numba import cuda

from . import _launch


class GemmTile(NamedTuple):
    """A block tile ``bm x bn x bk`` computed by ``(bm/tm) * (bn/tn)`` threads of ``tm x tn`` each."""

    bm: int
    bn: int
    bk: int
    tm: int
    tn: int

    @property
    def threads(self) -> int:
        return (self.bm // self.tm) * (self.bn // self.tn)

    @property
    def name(self) -> str:
        return f"{self.bm}x{self.bn}x{self.bk}"


#: The production tiles, largest first (kernels/gemm.py chooses among them by shape).
TILE_128x128 = GemmTile(128, 128, 8, 8, 8)
TILE_128x64 = GemmTile(128, 64, 8, 8, 8)
TILE_64x64 = GemmTile(64, 64, 8, 8, 8)
TILES = (TILE_128x128, TILE_128x64, TILE_64x64)
#: A small tile for simulator tests that want many blocks cheaply (same generator, 16 threads).
SMALL_TILE = GemmTile(16, 16, 4, 4, 4)

#: Activation codes of the fused epilogue.
ACTIVATIONS = {None: 0, "none": 0, "relu": 1, "gelu": 2}
#: Blocks per SM each tile's launch bounds ask for, by threads a block (float32): 64 accumulators,
#: 2 x 16 fragment registers, the next step's prefetch and the addressing need 160-170 registers. At
#: 128 (2 blocks of 256) ptxas spills a few loop invariants, so the tiles trade occupancy for no local
#: memory. ptxas caps a thread at the register file of one SM quarter (16384) over the warps it may
#: hold: 1 x 256 threads -> 2 warps a quarter, 255 registers; 3 x 128 -> 3 warps, 168; 4 x 64 -> 2
#: warps, 255 (5 x 64 would be 3 warps and 168, and spill).
MIN_BLOCKS = {256: 1, 128: 3, 64: 4}


def launch_bounds(tile: GemmTile, dtype) -> tuple:
    """``(threads, min blocks per SM)`` (:data:`MIN_BLOCKS`); float64 (checks) at one block."""
    if np.dtype(dtype) == np.float32:
        return (tile.threads, MIN_BLOCKS.get(tile.threads, 1))
    return (tile.threads, 1)


def check_tile(tile: GemmTile):
    """ValueError unless the generator supports ``tile`` (fragment groups of 4, whole loads per thread)."""
    bm, bn, bk, tm, tn = tile
    threads = tile.threads
    ok = (
        tm % 4 == 0
        and tn % 4 == 0
        and bm % tm == 0
        and bn % tn == 0
        and (bm * bk) % threads == 0
        and (bn * bk) % threads == 0
        and threads >= bm
        and threads >= bn
        and threads % bm == 0
        and threads % bn == 0
    )
    if ok:
        la, lb = bm * bk // threads, bn * bk // threads
        ok = bk % la == 0 and bk % lb == 0 and la <= bk and lb <= bk
    if not ok:
        raise ValueError(f"gemm: unsupported tile {tuple(tile)}")


def _operand_plan(rows: int, k_contiguous: bool, tile: GemmTile) -> dict:
    """How the block's threads load one operand tile (``rows x bk``) per K step.

    ``k_contiguous``: the operand is stored with k fastest (A in NN/NT, B in NT/TT); a thread reads
    ``loads`` consecutive k of one row. Otherwise rows are fastest: consecutive threads read
    consecutive rows, a thread's loads are ``kstep`` k apart.
    """
    loads = rows * tile.bk // tile.threads
    if k_contiguous:
        return {"loads": loads, "k_contiguous": True, "per_row": tile.bk // loads}
    return {"loads": loads, "k_contiguous": False, "kstep": tile.threads // rows}


def kernel_source(trans_a: bool, trans_b: bool, tile: GemmTile, name: str) -> str:
    """The Python source of one kernel (see the module docstring). Its globals: ``T`` (the scalar
    type), ``OUTER_PRODUCTS`` and ``ZEROS`` (:func:`outer_products`), ``EPILOGUE`` (:func:`epilogue`)."""
    check_tile(tile)
    BM, BN, BK, TM, TN = tile
    TX = BN // TN
    AST, BST = BM + 4, BN + 4  # padded shared row strides (words)
    ASZ, BSZ = BK * AST, BK * BST  # one buffer (words)
    pa = _operand_plan(BM, not trans_a, tile)
    pb = _operand_plan(BN, bool(trans_b), tile)
    src = []

    def emit(depth, line):
        src.append("    " * depth + line)

    emit(0, f"def {name}(A, B, C, bias, M, N, K, batch_a, batch_b, batch_bias, bias_mode, splits, k_chunk):")
    d = 1
    emit(d, f"As = cuda.shared.array({2 * ASZ}, T{', alignment=16' if not SIM else ''})")
    emit(d, f"Bs = cuda.shared.array({2 * BSZ}, T{', alignment=16' if not SIM else ''})")
    emit(d, "tid = I64(cuda.threadIdx.x)")
    emit(d, f"tx = tid % {TX}")
    emit(d, f"ty = tid // {TX}")
    emit(d, "zs = I64(cuda.blockIdx.z)")
    emit(d, "z = zs // splits")
    emit(d, "k_begin = (zs - z * splits) * k_chunk")
    emit(d, "k_end = min(K, k_begin + k_chunk)")
    emit(d, f"m0 = I64(cuda.blockIdx.y) * {BM}")
    emit(d, f"n0 = I64(cuda.blockIdx.x) * {BN}")
    emit(d, f"interior = (m0 + {BM} <= M) & (n0 + {BN} <= N)")

    # Per-thread load coordinates. Rows are clamped into range (an edge block's rows past M or N
    # read row M - 1 or N - 1, whose results are never stored), so every address is valid.
    def loader(op, plan, rows, size_rows, batch_of):
        base0 = "m0" if op == "a" else "n0"
        if plan["k_contiguous"]:
            emit(d, f"{op}_row = tid // {plan['per_row']}")
            emit(d, f"{op}_k = (tid % {plan['per_row']}) * {plan['loads']}")
        else:
            emit(d, f"{op}_row = tid % {rows}")
            emit(d, f"{op}_k = tid // {rows}")
        emit(d, f"{op}_ok = {base0} + {op}_row < {size_rows}")
        emit(d, f"{op}_rowc = min({base0} + {op}_row, {size_rows} - 1)")
        if plan["k_contiguous"]:  # stored (rows, K): element (row, k) at (zz R + row) K + k
            emit(d, f"{op}_base = ({batch_of} * {size_rows} + {op}_rowc) * K")
            emit(d, f"{op}_off = {op}_base + {op}_k")
        else:  # stored (K, rows): element (row, k) at (zz K + k) R + row
            emit(d, f"{op}_zk = {batch_of} * K")
            emit(d, f"{op}_off = ({op}_zk + {op}_k) * {size_rows} + {op}_rowc")

    emit(d, "za = z % batch_a")
    emit(d, "zb = z % batch_b")
    loader("a", pa, BM, "M", "za")
    loader("b", pb, BN, "N", "zb")

    def global_loads(depth, op, plan, size_rows, kvar, checked):
        """Unchecked: offsets from the thread's base. Checked: k clamped too, and the value zeroed
        (``selp``, no branch) unless the row and k are in range."""
        arr = op.upper()
        for r in range(plan["loads"]):
            step = r if plan["k_contiguous"] else r * plan["kstep"]
            if not checked:
                if plan["k_contiguous"]:
                    idx = f"{op}_off + {kvar} + {r}" if r else f"{op}_off + {kvar}"
                else:
                    idx = f"{op}_off + ({kvar} + {step}) * {size_rows}" if step else f"{op}_off + {kvar} * {size_rows}"
                emit(depth, f"p{op}{r} = {arr}[U64({idx})]")
                continue
            emit(depth, f"k_{op}{r} = {kvar} + {op}_k + {step}" if step else f"k_{op}{r} = {kvar} + {op}_k")
            if plan["k_contiguous"]:
                idx = f"{op}_base + min(k_{op}{r}, K - 1)"
            else:
                idx = f"({op}_zk + min(k_{op}{r}, K - 1)) * {size_rows} + {op}_rowc"
            emit(depth, f"p{op}{r} = cuda.selp({op}_ok & (k_{op}{r} < k_end), {arr}[U64({idx})], T(0.0))")

    def loads(depth, kvar, checked):
        """Global loads of the K step starting at ``kvar`` into the prefetch registers."""
        global_loads(depth, "a", pa, "M", kvar, checked)
        global_loads(depth, "b", pb, "N", kvar, checked)

    def shared_stores(depth, nxt):
        """The prefetch registers into shared buffer ``nxt`` (a name or 0): a 32-bit base (one
        register) plus 64-bit constant offsets (immediates of the STS)."""
        for op, plan, st, arr, size in (("a", pa, AST, "As", ASZ), ("b", pb, BST, "Bs", BSZ)):
            base = f"U32({nxt} * {size} + {op}_st)" if nxt != "0" else f"U32({op}_st)"
            for r in range(plan["loads"]):
                step = r if plan["k_contiguous"] else r * plan["kstep"]
                emit(depth, f"{arr}[{base} + U64({step * st})] = p{op}{r}")

    # Shared store bases (words) and fragment read bases: rows 4 ty + 4 TY h + r, columns 4 tx + 4 TX h + c.
    emit(d, f"a_st = a_k * {AST} + a_row")
    emit(d, f"b_st = b_k * {BST} + b_row")
    emit(d, "a_rd = ty * 4")
    emit(d, "b_rd = tx * 4")
    emit(d, "acc = ZEROS()")  # the TM x TN accumulators, row-major, as one tuple

    def k_step(depth, checked):
        """One K step: the next step's global loads, this step's BK outer products from shared
        buffer ``cur``, the prefetched values into the other buffer, one barrier."""
        emit(depth, f"kn = k0 + {BK}")
        if checked:
            emit(depth, "more = kn < k_end")
            emit(depth, "if more:")
            loads(depth + 1, "kn", True)
        else:
            loads(depth, "kn", False)
        emit(depth, f"ar = U32(a_rd + cur * {ASZ})")
        emit(depth, f"br = U32(b_rd + cur * {BSZ})")
        emit(depth, "acc = OUTER_PRODUCTS(As, Bs, ar, br, acc)")
        if checked:
            emit(depth, "if more:")
            shared_stores(depth + 1, "(1 - cur)")
        else:
            shared_stores(depth, "(1 - cur)")
        emit(depth, "cuda.syncthreads()")
        emit(depth, "cur = 1 - cur")
        emit(depth, "k0 = kn")

    # Prologue: the first K step into buffer 0.
    emit(d, "if k_begin < k_end:")
    loads(d + 1, "k_begin", True)
    shared_stores(d + 1, "0")
    emit(d, "cuda.syncthreads()")
    emit(d, "cur = 0")  # the buffer computed from (0 or 1); the other one receives the next K step
    emit(d, "k0 = k_begin")
    # Interior blocks while the next K step is full: loads without bounds tests (the hot loop).
    emit(d, "if interior:")
    emit(d + 1, f"while k0 + {2 * BK} <= k_end:")
    k_step(d + 2, checked=False)
    # Edge blocks, and the last step or two of interior ones: every load tested.
    emit(d, "while k0 < k_end:")
    k_step(d + 1, checked=True)

    emit(d, "EPILOGUE(C, bias, M, N, m0, n0, tx, ty, zs, z % batch_bias, bias_mode, interior, acc)")
    return "\n".join(src) + "\n"


def outer_products_source(tile: GemmTile, name: str) -> str:
    """The device function of one K step's ``bk`` outer products: fragments from shared ``As``/``Bs``
    at word offsets ``ar``/``br`` (4 consecutive words per 128-bit load), accumulators in and out."""
    BM, BN, BK, TM, TN = tile
    TX, TY = BN // TN, BM // TM
    AST, BST = BM + 4, BN + 4
    accs = ", ".join(f"c{i}_{j}" for i in range(TM) for j in range(TN))
    src = [f"def {name}(As, Bs, ar, br, acc):", f"    {accs} = acc"]
    for kk in range(BK):
        for i in range(TM):
            off = kk * AST + (i // 4) * 4 * TY + (i % 4)
            src.append(f"    a{i} = As[ar + U64({off})]" if off else f"    a{i} = As[ar]")
        for j in range(TN):
            off = kk * BST + (j // 4) * 4 * TX + (j % 4)
            src.append(f"    b{j} = Bs[br + U64({off})]" if off else f"    b{j} = Bs[br]")
        for i in range(TM):
            for j in range(TN):
                src.append(f"    c{i}_{j} += a{i} * b{j}")
    src.append(f"    return ({accs})")
    src.append("")
    src.append(f"def {name}_zeros():")
    src += [f"    c{i}_{j} = T(0.0)" for i in range(TM) for j in range(TN)]
    src.append(f"    return ({accs})")
    return "\n".join(src) + "\n"


def epilogue_source(tile: GemmTile, activation, name: str) -> str:
    """The device function that adds the bias, applies the activation and stores the block's
    accumulators: unchecked for interior blocks, every element tested for edge blocks."""
    BM, BN, BK, TM, TN = tile
    TX, TY = BN // TN, BM // TM
    act = ACTIVATIONS[activation]
    accs = ", ".join(f"c{i}_{j}" for i in range(TM) for j in range(TN))
    src = [f"def {name}(C, bias, M, N, m0, n0, tx, ty, zs, zbias, bias_mode, interior, acc):", f"    {accs} = acc"]

    def emit(depth, line):
        src.append("    " * depth + line)

    for i in range(TM):
        emit(1, f"r{i} = m0 + ty * 4 + {(i // 4) * 4 * TY + (i % 4)}")
        emit(1, f"a{i} = T(0.0)")
    for j in range(TN):
        emit(1, f"q{j} = n0 + tx * 4 + {(j // 4) * 4 * TX + (j % 4)}")
        emit(1, f"b{j} = T(0.0)")
    # Bias loads clamped into range (rows and columns past the edge are never stored): two branches.
    emit(1, "if bias_mode == 2:")
    for i in range(TM):
        emit(2, f"a{i} = bias[U64(zbias * M + min(r{i}, M - 1))]")
    emit(1, "elif bias_mode == 1:")
    for j in range(TN):
        emit(2, f"b{j} = bias[U64(zbias * N + min(q{j}, N - 1))]")
    for i in range(TM):
        for j in range(TN):
            v = f"c{i}_{j}"
            if act == 1:  # NOTE: max(v, 0) keeps NaN as NaN (Python's max returns v unless 0 > v).
                emit(1, f"{v} = max({v} + a{i} + b{j}, T(0.0))")
            elif act == 2:
                emit(1, f"{v} += a{i} + b{j}")
                emit(1, f"{v} = T(0.5) * {v} * (T(1.0) + math.erf({v} * T(INV_SQRT2)))")
            else:
                emit(1, f"{v} += a{i} + b{j}")
    emit(1, "c_off = zs * M")
    emit(1, "if interior:")
    for i in range(TM):
        emit(2, f"o{i} = (c_off + r{i}) * N")
        for j in range(TN):
            emit(2, f"C[U64(o{i} + q{j})] = c{i}_{j}")
    emit(1, "else:")
    for i in range(TM):
        emit(2, f"if r{i} < M:")
        emit(3, f"o{i} = (c_off + r{i}) * N")
        for j in range(TN):
            emit(3, f"if q{j} < N:")
            emit(4, f"C[U64(o{i} + q{j})] = c{i}_{j}")
    return "\n".join(src) + "\n"


_outer_products: dict = {}
_epilogues: dict = {}


def epilogue(tile: GemmTile, dtype, activation):
    """The jitted :func:`epilogue_source` device function (one per tile, dtype and activation)."""
    key = (GemmTile(*tile), np.dtype(dtype), ACTIVATIONS[activation])
    fn = _epilogues.get(key)
    if fn is None:
        act = "" if key[2] == 0 else "_" + activation
        name = f"gemm_epilogue{act}_{key[0].name}_{key[1].name}"
        scope = {"U64": numba.uint64, "T": _launch.numba_type(dtype), "math": math, "INV_SQRT2": _INV_SQRT2}
        exec(compile(epilogue_source(key[0], activation, name), f"<generated {name}>", "exec"), scope)
        fn = _epilogues[key] = cuda.jit(device=True, **({} if SIM else {"forceinline": True}))(scope[name])
        if not SIM:
            t = _launch.numba_type(dtype)
            i64 = numba.int64
            args = (t[::1], t[::1]) + (i64,) * 8 + (i64, numba.boolean, numba.types.UniTuple(t, tile.tm * tile.tn))
            _compile_device(fn, args)
    return fn


def outer_products(tile: GemmTile, dtype):
    """The jitted :func:`outer_products_source` device function of ``tile`` (one per tile and dtype,
    shared by every layout and activation, inlined into each kernel by NVVM: ``forceinline``)."""
    key = (GemmTile(*tile), np.dtype(dtype))
    fn = _outer_products.get(key)
    if fn is None:
        name = f"gemm_outer_products_{key[0].name}_{key[1].name}"
        t = _launch.numba_type(dtype)
        scope = {"U64": numba.uint64, "T": t}
        exec(compile(outer_products_source(key[0], name), f"<generated {name}>", "exec"), scope)
        kw = {} if SIM else {"forceinline": True}
        fn = cuda.jit(device=True, **kw)(scope[name])
        zeros = cuda.jit(device=True, **kw)(scope[name + "_zeros"])
        if not SIM:
            acc = numba.types.UniTuple(t, tile.tm * tile.tn)
            _compile_device(fn, (t[::1], t[::1], numba.uint32, numba.uint32, acc))
            _compile_device(zeros, ())
        _outer_products[key] = fn, zeros
    return _outer_products[key]


def _compile_device(fn, args):
    """Compile device function ``fn`` for the kernels' argument types now. Numba compiles a device
    function for the current GPU's compute capability, so without a GPU (``compile_ptx`` to sm_90,
    kernels/resources.py) there is none to ask: the capability is then the one resources compiles for."""
    from numba.cuda import dispatcher

    try:
        cuda.get_current_device()
        fn.compile_device(args)
        return
    except Exception:  # no GPU or no driver here
        pass

    class _Device:
        compute_capability = (9, 0)

    original = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: _Device()
    try:
        fn.compile_device(args)
    finally:
        dispatcher.get_current_device = original


SIM = _launch.SIMULATOR
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def make_kernel(trans_a: bool, trans_b: bool, dtype, activation=None, tile: GemmTile = TILE_128x128):
    """The Python function of one generated kernel (name ``gemm_<layout>[_<act>]_<tile>_<dtype>``),
    with its ``launch_bounds``; jitted by :func:`get_kernel`."""
    tile = GemmTile(*tile)
    layout = ("T" if trans_a else "N") + ("T" if trans_b else "N")
    act = "" if ACTIVATIONS[activation] == 0 else "_" + activation
    name = f"gemm_{layout}{act}_{tile.name}_{np.dtype(dtype).name}"
    source = kernel_source(trans_a, trans_b, tile, name)
    scope = {
        "cuda": cuda,
        "math": math,
        "T": _launch.numba_type(dtype),
        "I64": numba.int64,
        "U32": numba.uint32,
        "U64": numba.uint64,
        "INV_SQRT2": _INV_SQRT2,
        "OUTER_PRODUCTS": outer_products(tile, dtype)[0],
        "ZEROS": outer_products(tile, dtype)[1],
        "EPILOGUE": epilogue(tile, dtype, activation),
    }
    fn = _define(name, source, scope)
    fn.source = source
    fn.launch_bounds = launch_bounds(tile, dtype)
    return fn


def generated_dir():
    """Where generated kernel sources are written when kernels are disk-cached (``NUMBA_CACHE_DIR``), else None."""
    return os.path.join(os.environ["NUMBA_CACHE_DIR"], "tensorcore_generated") if _launch.cache_enabled() else None


def _define(name: str, source: str, scope: dict):
    """Function ``name`` defined by ``source`` with globals ``scope``. With a disk cache, the source is
    written to a file named by its hash and imported from there: Numba caches only functions whose code
    has a real source file (its index is keyed by the file's path and stamp, which never change here)."""
    folder = generated_dir()
    if folder is None:
        exec(compile(source, f"<generated {name}>", "exec"), scope)
        return scope[name]
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    path = os.path.join(folder, f"{name}_{digest}.py")
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)  # atomic: a concurrent section sees the whole file or none
    spec = importlib.util.spec_from_file_location(f"tensorcore_generated.{name}_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(scope)
    spec.loader.exec_module(module)
    return getattr(module, name)


def get_kernel(trans_a: bool, trans_b: bool, dtype, activation=None, tile: GemmTile = TILE_128x128):
    """:func:`make_kernel`, jitted once per argument set (it compiles on its first launch, or loads from
    Numba's disk cache when ``NUMBA_CACHE_DIR`` is set: see :func:`_define`)."""
    ACTIVATIONS[activation]  # unknown names fail before anything is built
    args = (bool(trans_a), bool(trans_b), dtype, activation, GemmTile(*tile))
    return _launch.built(make_kernel, *args, launch_bounds=lambda fn: fn.launch_bounds, cache=True)


def signature(dtype):
    """The argument types the wrapper launches the generated kernels with."""
    t = _launch.numba_type(dtype)
    i64 = numba.int64
    return numba.void(t[::1], t[::1], t[::1], t[::1], *([i64] * 9))
