"""The sm_90 machine code of the float16 and vector-load row and elementwise kernels: one 4-wide global
load/store per 4 values (``LDG.E.128`` float32, ``LDG.E.64`` float16; kernels/_vector_f16.py), float16
widened in registers (``HADD2.F32``), no spills and no local memory. Compiled without a GPU
(compile_ptx + ptxas + cuobjdump, as kernels/RESOURCES.md)."""

import collections

import numba
import numpy as np
import pytest

from .kernel_helpers import SIMULATOR

pytestmark = [pytest.mark.ptx, pytest.mark.xdist_group("compiled_kernels")]


@pytest.fixture(scope="module")
def machine_code():
    """``f(fn, signature, launch_bounds=None) -> (ptxas figures, Counter of opcodes)``."""
    if SIMULATOR:
        pytest.skip("compile_ptx needs Numba's real CUDA target: run without NUMBA_ENABLE_CUDASIM")
    import os
    import subprocess
    import tempfile

    from numba import cuda
    from tensorcore.kernels import resources, sass

    ptxas, (cuobjdump, env) = resources.find_ptxas(), sass.find_cuobjdump()

    def compile_(fn, sig, launch_bounds=None):
        kw = {} if launch_bounds is None else {"launch_bounds": launch_bounds}
        ptx, _ = cuda.compile_ptx(fn, sig, cc=resources.CC, **kw)
        with tempfile.TemporaryDirectory() as tmp:
            src, cubin = os.path.join(tmp, "k.ptx"), os.path.join(tmp, "k.cubin")
            with open(src, "w") as f:
                f.write(ptx)
            r = subprocess.run([ptxas, f"-arch={resources.ARCH}", "-v", src, "-o", cubin], capture_output=True,
                               text=True)
            assert r.returncode == 0, r.stderr
            listing = sass.disassemble(cubin, cuobjdump, env)
        return resources.parse_ptxas(r.stderr + r.stdout), collections.Counter(i.opcode for i in sass.parse(listing))

    return compile_


def _types(dtype):
    from tensorcore.kernels import _rows

    return _rows.storage_type(dtype), _rows.compute_type(dtype)


def _no_spills_no_local(stats, ops, what):
    assert stats["spill_stores"] == stats["spill_loads"] == stats["stack"] == 0, (what, stats)
    assert not any(op.split(".")[0] in ("LDL", "STL") for op in ops), (what, ops)


@pytest.mark.parametrize("dtype, width", [(np.float32, "128"), (np.float16, "64")])
def test_activation_vector_kernels(machine_code, dtype, width):
    from tensorcore.kernels import activations

    t, a = _types(dtype)
    v = t[::1]
    for backward, loads in ((False, 2), (True, 4)):  # VEC_UNROLL = 2 vectors of x (and of grad) per step
        make = activations.make_backward_vector_kernel if backward else activations.make_forward_vector_kernel
        sig = numba.void(v, v, a, v) if backward else numba.void(v, a, v)
        stats, ops = machine_code(make("gelu", dtype), sig)
        _no_spills_no_local(stats, ops, f"gelu backward={backward}")
        assert ops[f"LDG.E.{width}"] == loads and ops[f"STG.E.{width}"] == 2, ops


@pytest.mark.parametrize("dtype, width", [(np.float32, "128"), (np.float16, "64")])
def test_row_vector_kernels(machine_code, dtype, width):
    from tensorcore.kernels import _rows, layernorm, softmax

    t, a = _types(dtype)
    m, am = t[:, ::1], a[:, ::1]
    bounds = _rows.launch_bounds(_rows.BLOCK)
    # 32 values per thread (float32 registers) in 8 vector loads; the backward's y and grad 16 each
    stats, ops = machine_code(softmax.make_forward_kernel(False, dtype, _rows.WARP, True), numba.void(m, m))
    _no_spills_no_local(stats, ops, "softmax")
    assert ops[f"LDG.E.{width}"] == 8 and ops[f"STG.E.{width}"] == 8, ops
    ce = softmax.make_cross_entropy_kernel(dtype, _rows.BLOCK, True)
    sig = numba.void(m, numba.int32[::1], a, numba.int64, a[::1], m, am, numba.int32[::1], a[::1])  # int32 targets
    stats, ops = machine_code(ce, sig, bounds)
    _no_spills_no_local(stats, ops, "cross-entropy")
    assert ops[f"LDG.E.{width}"] == 8 and ops[f"STG.E.{width}"] == 8, ops
    assert stats["registers"] <= 128
    ln = layernorm.make_backward_input_cached_kernel(dtype, _rows.WARP, True)
    stats, ops = machine_code(ln, numba.void(m, m, t[::1], a[::1], a[::1], m, am, am))
    _no_spills_no_local(stats, ops, "layer norm backward")
    assert ops[f"LDG.E.{width}"] == 12 and ops[f"STG.E.{width}"] == 4, ops  # dy, x, w: 4 groups each; dx
    if dtype == np.float16:
        assert ops["HADD2.F32"] >= 32, ops  # every float16 value widened in a register, none in memory
