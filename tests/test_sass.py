"""The machine code, read without a GPU: kernels/sass.py's hot-loop analysis and the local-memory rule.

The parser is checked on a hand-written listing in cuobjdump's format; the real checks assemble the
kernels to sm_90 cubins (ptxas) and disassemble them (cuobjdump -sass), as RESOURCES.md's columns do.
"""

import pytest
from tensorcore.kernels import sass

from .kernel_helpers import SIMULATOR

pytestmark = pytest.mark.xdist_group("compiled_kernels")  # with tests/test_ptx.py: the kernels compile once

# A listing in `cuobjdump -sass` format: a 4-instruction loop (2 FFMA, 1 LDS.128, 1 IADD3 ...) inside a
# longer one, a local store outside both, and the end-of-kernel self-branch that is no loop.
LISTING = """
        code for sm_90
                Function : k
        /*0000*/                   LDC R1, c[0x0][0x28] ;                  /* 0x00000a00ff017b82 */
        /*0010*/                   STL [R1], R2 ;                          /* 0x0000000201007387 */
        /*0020*/                   IMAD.WIDE R4, R0, 0x4, R4 ;             /* 0x0000000400047825 */
        /*0030*/                   LDS.128 R8, [R3] ;                      /* 0x0000000003087984 */
        /*0040*/                   FFMA R10, R8, R9, R10 ;                 /* 0x000000090a0a7223 */
        /*0050*/                   FFMA R11, R8, R9, R11 ;                 /* 0x000000090b0b7223 */
        /*0060*/                   UIADD3 UR4, UR4, 0x1, URZ ;             /* 0x0000000104047890 */
        /*0070*/              @!P0 BRA 0x30 ;                              /* 0x0000000000f08947 */
        /*0080*/                   LDS R12, [R3+0x4] ;                     /* 0x0000040003087984 */
        /*0090*/                   ISETP.GE.AND P1, PT, R0, R5, PT ;       /* 0x000000050000720c */
        /*00a0*/               @P1 BRA 0x20 ;                              /* 0x0000000000d88947 */
        /*00b0*/                   LDL R2, [R1] ;                          /* 0x0000000001027983 */
        /*00c0*/                   EXIT ;                                  /* 0x000000000000794d */
        /*00d0*/                   BRA 0xd0;                               /* 0x000fc0000383ffff */
"""


def test_parse_drops_predicates_and_keeps_modifiers():
    ins = sass.parse(LISTING)
    assert len(ins) == 14
    assert [i.opcode for i in ins[6:8]] == ["UIADD3", "BRA"]
    assert ins[6].base == "IADD3" and ins[3].base == "LDS" and ins[3].opcode == "LDS.128"


def test_loops_are_backward_branches_not_the_final_self_branch():
    ins = sass.parse(LISTING)
    assert sorted(sass.loops(ins)) == [(2, 10), (3, 7)]


def test_hot_loop_mix():
    mix = sass.analyze(LISTING)
    # Both loops hold the 2 FFMA: the shorter (inner) one is the hot loop: 5 instructions.
    assert mix.loop_instructions == 5
    assert mix.fma_share == pytest.approx(2 / 5)
    assert mix.lds == (0, 0, 1)
    assert mix.int_per_fma == pytest.approx(0.5)  # UIADD3 only: BRA is no integer instruction
    assert (mix.local_loads, mix.local_stores) == (1, 1)  # counted over the whole kernel
    assert mix.cells() == ("5", "40%", "0/0/1", "0.50", "1/1")


def test_no_loop_measures_the_whole_kernel():
    text = "\n".join(line for line in LISTING.splitlines() if "BRA" not in line)
    mix = sass.analyze(text)
    assert mix.loop_instructions == 0 and mix.cells()[0] == "-"
    assert mix.fma_share == pytest.approx(2 / 11)


MMA_LISTING = """
        /*0000*/                   HFMA2.MMA R2, -RZ, RZ, 0, 0 ;           /* 0x000000ffff027435 */
        /*0010*/                   LDS.64 R8, [R3] ;                       /* 0x0000000003087984 */
        /*0020*/                   HMMA.16816.F32 R12, R4, R8, R12 ;       /* 0x000000080c0c723c */
        /*0030*/                   HFMA2.MMA R5, -RZ, RZ, 1.875, 0 ;       /* 0x00003f80ff057435 */
        /*0040*/                   FFMA R10, R8, R9, R10 ;                 /* 0x000000090a0a7223 */
        /*0050*/                   IADD3 R3, R3, 0x10, RZ ;                /* 0x0000001003037810 */
        /*0060*/               @P0 BRA 0x10 ;                              /* 0x0000000000f08947 */
        /*0070*/                   EXIT ;                                  /* 0x000000000000794d */
"""


def test_hmma_and_hfma2_mma_are_counted_apart_from_ffma():
    mix = sass.analyze(MMA_LISTING)
    assert mix.loop_instructions == 6
    assert mix.fma_share == pytest.approx(1 / 6)  # the FFMA only: HFMA2.MMA is a move, HMMA a tensor-core op
    assert (mix.mma, mix.hfma2_mma) == (1, 1)  # the HFMA2.MMA before the loop is outside its body
    assert mix.int_per_fma == pytest.approx(0.5)  # 1 IADD3 per (FFMA + HMMA)
    assert mix.cells()[1] == "17% +1 HMMA +1 HFMA2.MMA"
    assert sass.analyze(LISTING).cells()[1] == "40%"  # nothing added without them


def test_garbage_is_an_error():
    with pytest.raises(ValueError, match="no SASS"):
        sass.analyze("not a listing")


# ------------------------------------------------------------------------------------- real machine code


@pytest.fixture(scope="module")
def resources():
    if SIMULATOR:
        pytest.skip("compile_ptx needs Numba's real CUDA target: run without NUMBA_ENABLE_CUDASIM")
    from tensorcore.kernels import resources

    try:
        resources.find_ptxas()
        sass.find_cuobjdump()
    except (resources.PtxasNotFound, sass.CuobjdumpNotFound) as e:  # dev dependencies: fail, never skip
        pytest.fail(str(e))
    return resources


def _mix_of(resources, fn, sig):
    from numba import cuda

    ptx, _ = cuda.compile_ptx(fn, sig, cc=resources.CC)
    return resources.assemble(ptx, resources.find_ptxas(), sass.find_cuobjdump())["mix"]


@pytest.mark.ptx
def test_a_dynamically_indexed_local_array_is_seen(resources):
    """The negative control: the rule below can fail. A local array indexed by a runtime value lives
    in local memory (LDL/STL); the same kernel with constant indices keeps it in registers."""
    import numba
    from numba import cuda

    def dynamic(x, j):
        tile = cuda.local.array(32, numba.float32)
        for i in range(32):
            tile[i] = x[i]
        for i in range(32):
            k = numba.int32(x[i + 32]) & 31
            tile[k] += tile[(k + j) & 31]
        x[0] = tile[j & 31]

    def static(x, j):
        tile = cuda.local.array(32, numba.float32)
        for i in range(32):
            tile[i] = x[i]
        for i in range(32):
            tile[i] += tile[(i + 3) & 31]
        x[0] = tile[5] + numba.float32(j)

    sig = numba.void(numba.float32[::1], numba.int64)
    bad, good = _mix_of(resources, dynamic, sig), _mix_of(resources, static, sig)
    assert bad.local_loads + bad.local_stores > 0
    assert good.local_loads == good.local_stores == 0


@pytest.mark.ptx
def test_gemm_conv_attention_kernels_never_touch_local_memory(resources):
    rows = resources.collect_cached()
    ldl_stl = resources.COLUMNS.index("LDL/STL")
    bad = [(r[0], r[1], r[2], r[ldl_stl]) for r in rows if r[0] in resources.NO_LOCAL_FAMILIES and r[ldl_stl] != "0/0"]
    assert not bad, "kernels with local-memory loads/stores (LDL/STL):\n" + "\n".join(map(str, bad))


@pytest.mark.ptx
def test_float32_gemm_inner_loop_is_mostly_ffma(resources):
    """Issue 17's GEMM goals, read from the table for every generated float32 kernel and tile: the hot
    loop is >= 80% FFMA and fully unrolled (all bk x tm x tn = 512 FFMA of a K step in one body), its
    shared loads are all 128-bit, and nothing spills or touches local memory."""
    from tensorcore.kernels import gemm

    rows = resources.collect_cached()
    col = resources.COLUMNS.index
    tiles = {t.name: t for t in gemm.TILES}
    gemms = [r for r in rows if r[0] == "gemm" and r[1].endswith("float32") and r[1].split("_")[-2] in tiles]
    assert {r[1].split("_")[-2] for r in gemms} == set(tiles) and len(gemms) >= 4 * len(tiles)
    for r in gemms:
        tile = tiles[r[1].split("_")[-2]]
        share, loop = float(r[col("FMA share")].rstrip("%")) / 100, int(r[col("loop instr")])
        assert share >= 0.80, r
        assert share * loop >= tile.bk * tile.tm * tile.tn - 0.005 * loop, r  # the whole K step unrolled
        lds, lds64, lds128 = map(int, r[col("LDS/.64/.128")].split("/"))
        assert lds == lds64 == 0 and lds128 == tile.bk * (tile.tm + tile.tn) // 4, r
        assert r[col("LDL/STL")] == "0/0" and r[col("spill stores (B)")] == 0 and r[col("stack (B)")] == 0, r


def _sass_of(resources, fn, sig, launch_bounds=None):
    import os
    import subprocess
    import tempfile

    from numba import cuda

    kw = {} if launch_bounds is None else {"launch_bounds": launch_bounds}
    ptx, _ = cuda.compile_ptx(fn, sig, cc=resources.CC, **kw)
    with tempfile.TemporaryDirectory() as tmp:
        src, cubin = os.path.join(tmp, "k.ptx"), os.path.join(tmp, "k.cubin")
        with open(src, "w") as f:
            f.write(ptx)
        subprocess.run([resources.find_ptxas(), f"-arch={resources.ARCH}", src, "-o", cubin], check=True)
        return sass.parse(sass.disassemble(cubin, *sass.find_cuobjdump()))


def _global_loads(instructions):
    """``(number of LDG, the column loops holding some)``: a column loop is a loop nested inside another
    (the row loop); a row read in registers has its LDGs unrolled in the row loop, in no column loop."""
    spans = sass.loops(instructions)
    nested = [s for s in spans if any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
    ldg = [i for i, ins in enumerate(instructions) if ins.opcode.startswith("LDG")]
    return len(ldg), {s for s in nested if any(s[0] <= i <= s[1] for i in ldg)}


@pytest.mark.ptx
def test_row_kernels_read_each_row_once(resources):
    """The single pass, in the machine code: the cached softmax / layer-norm kernels load a row with exactly
    SLOTS unrolled LDGs and no column loop; the streaming kernel (the negative control) loads inside two
    column loops nested in its row loop, the row's two sweeps."""
    import numba
    from tensorcore.kernels import _rows, _softmax_stream, layernorm, softmax

    m, v, t = numba.float32[:, ::1], numba.float32[::1], numba.float32
    slots = _rows.slots("float32", 1)
    for tpr in (_rows.WARP, _rows.BLOCK):
        fwd = _sass_of(resources, softmax.make_forward_kernel(False, "float32", tpr), numba.void(m, m),
                       _rows.launch_bounds(tpr))
        count, column_loops = _global_loads(fwd)
        assert count == slots and not column_loops, (tpr, count, column_loops)
        ln = _sass_of(resources, layernorm.make_forward_cached_kernel("float32", tpr),
                      numba.void(m, v, v, t, m, v, v), _rows.launch_bounds(tpr))
        count, column_loops = _global_loads(ln)
        assert count == 3 * slots and not column_loops, (tpr, count, column_loops)  # x, and w and b per column
    stream = _sass_of(resources, _softmax_stream.make_forward_kernel(False, "float32"), numba.void(m, m))
    _, column_loops = _global_loads(stream)
    assert len(column_loops) >= 2, column_loops


@pytest.mark.ptx
def test_implicit_gemm_conv_has_no_local_memory_no_spills_and_an_unrolled_k_step(resources):
    """The implicit-GEMM convolution: no LDL/STL, no spills, and the K step unrolled in one loop body (the
    hot loop holds all BK x TM x TN FFMA of a thread's step: 256 in the 64 x 128 tile, 512 in 128 x 128)."""
    rows = [r for r in resources.collect_cached() if r[0] in ("conv_implicit", "conv_implicit_grad")]
    assert {r[0] for r in rows} == {"conv_implicit", "conv_implicit_grad"}
    col = resources.COLUMNS.index
    for r in rows:
        assert r[col("LDL/STL")] == "0/0" and r[col("spill stores (B)")] == 0 and r[col("stack (B)")] == 0, r
    from tensorcore.kernels import conv_implicit, conv_implicit_grad

    stems = [(conv_implicit, "conv_implicit_forward"), (conv_implicit_grad, "conv_implicit_backward_weight"),
             (conv_implicit_grad, "conv_implicit_backward_input_strided")]
    for module, stem in stems:
        for bm, (_, tm) in conv_implicit.TILES.items():
            name = f"{stem}_{bm}x{conv_implicit.BN}_float32"
            _, fn, sigs, bounds = next(e for e in module.ptx_signatures() if e[0] == name)
            ins = _sass_of(resources, fn, sigs[0], bounds)
            span = sass.hot_loop(ins)
            ffma = sum(i.base == "FFMA" for i in ins[span[0] : span[1] + 1])
            assert ffma == conv_implicit.BK * tm * conv_implicit.TN, (name, ffma)
