"""The sm_90 machine code of the float16 implicit-GEMM convolution forward: the float32 kernel's FFMAs, float16
loads (``LDG.E.U16``) widened in registers (``HADD2.F32``), no spills and no local memory. Compiled without a
GPU (compile_ptx + ptxas + cuobjdump, as kernels/RESOURCES.md)."""

import numba
import numpy as np
import pytest

from .test_kernels_f16_sass import _no_spills_no_local, machine_code  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.ptx, pytest.mark.xdist_group("compiled_kernels")]


def test_half_conv_forward_is_the_float32_gemm_with_half_loads(machine_code):  # noqa: F811
    from tensorcore.kernels import conv_implicit as ci

    i64, tab = numba.int64, numba.int32[::1]
    ops = {}
    for dtype in (np.float32, np.float16):
        t = ci.types(dtype)[0]
        sig = numba.void(t[::1], t[:, :, ::1], tab, tab, tab, t[::1], t[:, :, ::1], *([i64] * 8))
        stats, ops[dtype] = machine_code(ci.make_forward_kernel(dtype, True, 64), sig, ci.THREADS)
        _no_spills_no_local(stats, ops[dtype], f"conv forward {np.dtype(dtype)}")
    assert ops[np.float16]["FFMA"] == ops[np.float32]["FFMA"] >= 32 * 8, ops
    half = ops[np.float16]
    assert half["LDG.E.U16"] >= ci.B_LOADS + 2 and "LDG.E.U16" not in ops[np.float32], ops  # x, w, bias: 2 bytes
    assert half["HADD2.F32"] == half["LDG.E.U16"], half  # each float16 load widened once, in a register
    assert half["STG.E.U16"] == half["F2FP.F16.F32.PACK_AB"] == ops[np.float32]["STG.E"], ops  # one rounding a store
