"""The float16 GEMM (kernels/gemm_f16.py: float16 storage, float32 accumulation) against float64 references,
in the simulator or on a GPU; its sm_90 PTX compiles (ptx)."""

import numpy as np
import pytest

from .kernel_helpers import SIMULATOR, poisoned, requires_cuda, to_device, to_host


@pytest.fixture(scope="module")
def gemm_f16():
    from tensorcore.kernels import gemm_f16

    return gemm_f16


def _half(rng, shape):
    return rng.standard_normal(shape).astype(np.float16)


def _check_rounded(out, ref, what):
    """Each output is the float16 rounding of the exact result, give or take the float32 sums' error."""
    out = to_host(out).astype(np.float64)
    assert not np.isnan(out).any(), f"{what}: NaN (an element was not written)"
    ulp = np.spacing(np.abs(ref).astype(np.float16)).astype(np.float64)
    err = np.abs(out - ref)
    assert (err <= 0.5 * ulp + 1e-5 * (1 + np.abs(ref))).all(), f"{what}: max error {err.max()} ({err.argmax()})"


@pytest.mark.kernels
@requires_cuda
@pytest.mark.parametrize("layout", ["NN", "NT", "TN", "TT"])
def test_gemm_f16_layouts_small_tile_odd_shapes(gemm_f16, layout):
    rng = np.random.default_rng(0)
    ta, tb = layout[0] == "T", layout[1] == "T"
    M, N, K = 11, 9, 7  # partial tiles in M, N and K for the 8x8x4 tile
    a = _half(rng, (K, M) if ta else (M, K))
    b = _half(rng, (N, K) if tb else (K, N))
    out = poisoned((M, N), np.float16)
    r = gemm_f16.matmul(to_device(a), to_device(b), out=out, trans_a=ta, trans_b=tb, tile=gemm_f16.SMALL_TILE)
    assert r is out
    _check_rounded(out, gemm_f16.gemm_f16_reference(a, b, trans_a=ta, trans_b=tb), f"{layout} {M}x{N}x{K}")


@pytest.mark.kernels
@requires_cuda
def test_gemm_f16_production_tile_batched_bias(gemm_f16):
    rng = np.random.default_rng(1)
    x = _half(rng, (2, 5, 19))  # batched, K=19 > BK=16: two K steps, the second partial
    w = _half(rng, (3, 19))
    bias = _half(rng, (3,))
    out = gemm_f16.matmul(to_device(x), to_device(w), bias=to_device(bias), trans_b=True)
    assert out.shape == (2, 5, 3) and out.dtype == np.float16
    _check_rounded(out, gemm_f16.gemm_f16_reference(x, w[None], bias=bias, trans_b=True), "batched + bias")


@pytest.mark.kernels
@requires_cuda
def test_gemm_f16_accumulates_in_float32(gemm_f16):
    # 64 terms of 1 + 2^-11: a float16 running sum stalls at 64 (each step rounds back), float32 keeps them.
    a = np.full((1, 64), 1 + 2.0**-10, np.float16)
    b = np.ones((64, 1), np.float16)
    out = to_host(gemm_f16.matmul(to_device(a), to_device(b), tile=gemm_f16.SMALL_TILE))
    assert out[0, 0] == np.float16(64 * (1 + 2.0**-10))


@pytest.mark.kernels
@requires_cuda
def test_gemm_f16_refuses_other_dtypes_and_shapes(gemm_f16):
    a = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="float16"):
        gemm_f16.matmul(to_device(a), to_device(a.T.copy()))
    h = np.ones((2, 3), np.float16)
    with pytest.raises(ValueError, match="inner dimensions"):
        gemm_f16.matmul(to_device(h), to_device(h))
    with pytest.raises(ValueError, match="activation"):
        gemm_f16.matmul(to_device(h), to_device(h.T.copy()), activation="relu")


@pytest.mark.ptx
def test_gemm_f16_compiles_to_sm90_ptx(gemm_f16):
    if SIMULATOR:
        pytest.skip("compile_ptx needs Numba's real CUDA target: run without NUMBA_ENABLE_CUDASIM")
    from numba import cuda

    for name, fn, sigs, _ in gemm_f16.ptx_signatures():
        ptx, _ = cuda.compile_ptx(fn, sigs[0], cc=(9, 0))
        assert ".target sm_90" in ptx and name in ptx
        assert "cvt.f32.f16" in ptx and "fma.rn.f32" in ptx  # float16 loads widened, float32 FMAs
        assert ".local" not in ptx, f"{name}: local memory (a spill or a dynamically indexed local array)"
