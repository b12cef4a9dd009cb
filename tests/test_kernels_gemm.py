"""GEMM kernels (kernels/gemm.py) against the float64 NumPy reference, in the simulator or on a GPU."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, requires_gpu, to_device

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def gemm():
    from tensorcore.kernels import gemm

    return gemm


# (M, N, K): 1, primes, tile+1 (partial tiles in M, N and K; K not a multiple of BK=8).
REAL_TILE_SHAPES = [(1, 1, 1), (37, 41, 29), (129, 3, 9)]


@requires_cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["NN", "NT", "TN", "TT"])
def test_matmul_layouts_real_tile(gemm, rng, dtype, layout):
    ta, tb = layout[0] == "T", layout[1] == "T"
    shapes = REAL_TILE_SHAPES if (layout == "NN" and dtype == np.float64) else [(37, 41, 29)]
    for M, N, K in shapes:
        a = random(rng, (K, M) if ta else (M, K), dtype)
        b = random(rng, (N, K) if tb else (K, N), dtype)
        out = poisoned((M, N), dtype)
        r = gemm.matmul(to_device(a), to_device(b), out=out, trans_a=ta, trans_b=tb)
        assert r is out
        assert_close(out, gemm.gemm_reference(a, b, trans_a=ta, trans_b=tb), dtype, what=f"{layout} {M}x{N}x{K}")


@requires_cuda
@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
def test_matmul_bias_activation_epilogue(gemm, rng, activation):
    M, N, K = 19, 23, 11
    a, w, bias = (
        random(rng, (M, K), np.float64),
        random(rng, (N, K), np.float64),
        random(rng, (N,), np.float64),
    )
    out = gemm.matmul(to_device(a), to_device(w), bias=to_device(bias), activation=activation, trans_b=True)
    ref = gemm.gemm_reference(a, w, bias=bias, bias_mode=gemm.BIAS_COLUMNS, activation=activation, trans_b=True)
    assert_close(out, ref, np.float64, what=f"epilogue {activation}")


@requires_cuda
@pytest.mark.parametrize("layout", ["NN", "NT", "TN"])
def test_gemm_batched_small_tile_many_blocks(gemm, rng, layout):
    """Same kernel code with a small tile: many blocks, partial tiles, broadcast batches, row bias."""
    ta, tb = layout[0] == "T", layout[1] == "T"
    M, N, K, batch = 17, 18, 13, 4
    a = random(rng, (2, K, M) if ta else (2, M, K), np.float64)  # batch 2 reused cyclically over 4
    b = random(rng, (batch, N, K) if tb else (batch, K, N), np.float64)
    bias = random(rng, (2, M), np.float64)
    c = poisoned((batch, M, N), np.float64)
    gemm.gemm_batched(
        to_device(a), to_device(b), c, to_device(bias), gemm.BIAS_ROWS, "relu", ta, tb, tile=gemm.SMALL_TILE
    )
    ref = gemm.gemm_reference(a, b, bias=bias, bias_mode=gemm.BIAS_ROWS, activation="relu", trans_a=ta, trans_b=tb)
    assert_close(c, ref, np.float64, what=f"batched {layout}")


@requires_cuda
def test_matmul_batched_broadcast_weight(gemm, rng):
    x = random(rng, (3, 5, 7), np.float32)
    w = random(rng, (7, 4), np.float32)
    out = gemm.matmul(to_device(x), to_device(w))
    assert out.shape == (3, 5, 4)
    assert_close(out, gemm.gemm_reference(x, w[None]), np.float32)


@requires_cuda
def test_matmul_empty_and_errors(gemm, rng):
    a = to_device(random(rng, (0, 3), np.float32))
    b = to_device(random(rng, (3, 2), np.float32))
    assert gemm.matmul(a, b).shape == (0, 2)
    k0 = gemm.matmul(
        to_device(np.ones((3, 0), np.float32)),
        to_device(np.ones((0, 2), np.float32)),
        bias=to_device(np.array([1.0, -2.0], np.float32)),
        activation="relu",
    )
    assert_close(k0, np.array([[1.0, 0.0]] * 3), np.float32, what="K = 0: bias and activation only")
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: a \(0, 3\)"):
        gemm.matmul(a, to_device(random(rng, (4, 2), np.float32)))
    with pytest.raises(TypeError, match="matmul: a and b dtypes differ"):
        gemm.matmul(a, to_device(random(rng, (3, 2), np.float64)))
    with pytest.raises(ValueError, match="must be C-contiguous"):
        gemm.matmul(to_device(random(rng, (4, 3), np.float32)).T, b)
    with pytest.raises(ValueError, match="activation"):
        gemm.matmul(to_device(random(rng, (4, 3), np.float32)), b, activation="swish")
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        gemm.matmul(to_device(random(rng, (4, 3), np.float32)), b, bias=to_device(np.ones(3, np.float32)))


@requires_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("layout", ["NN", "NT", "TN"])
@pytest.mark.parametrize("activation", [None, "gelu"])
def test_matmul_large_gpu(gemm, rng, layout, activation):
    ta, tb = layout[0] == "T", layout[1] == "T"
    M, N, K = 1031, 517, 263
    a = random(rng, (K, M) if ta else (M, K), np.float32)
    b = random(rng, (N, K) if tb else (K, N), np.float32)
    bias = random(rng, (N,), np.float32)
    out = gemm.matmul(to_device(a), to_device(b), bias=to_device(bias), activation=activation, trans_a=ta, trans_b=tb)
    ref = gemm.gemm_reference(
        a, b, bias=bias, bias_mode=gemm.BIAS_COLUMNS, activation=activation, trans_a=ta, trans_b=tb
    )
    assert_close(out, ref, np.float32, tol=1e-5)


@requires_cuda
@pytest.mark.parametrize("layout", ["NT", "TN"])
def test_gemm_split_k(gemm, rng, layout):
    """Split-K (the convolution weight gradient's long K): partial products then their sum."""
    ta, tb = layout[0] == "T", layout[1] == "T"
    M, N, K, batch = 5, 7, 23, 2
    a = random(rng, (batch, K, M) if ta else (batch, M, K), np.float64)
    b = random(rng, (1, N, K) if tb else (1, K, N), np.float64)
    c = poisoned((batch, M, N), np.float64)
    gemm.gemm_batched(to_device(a), to_device(b), c, trans_a=ta, trans_b=tb, tile=gemm.SMALL_TILE, split_k=3)
    assert_close(c, gemm.gemm_reference(a, b, trans_a=ta, trans_b=tb), np.float64, what=f"split-K {layout}")
    with pytest.raises(ValueError, match="split_k > 1 cannot fuse"):
        gemm.gemm_batched(to_device(a), to_device(b), c, activation="relu", trans_a=ta, trans_b=tb, split_k=2)


@requires_cuda
@settings(max_examples=6, deadline=None, derandomize=True)
@given(
    M=st.integers(1, 40),
    N=st.integers(1, 40),
    K=st.integers(0, 20),
    layout=st.sampled_from(["NN", "NT", "TN", "TT"]),
    activation=st.sampled_from([None, "relu", "gelu"]),
)
def test_gemm_random_shapes_small_tile(M, N, K, layout, activation):
    """Random shapes and layouts (small tile: many blocks, partial tiles) against the reference."""
    from tensorcore.kernels import gemm

    rng = np.random.default_rng(M * 10007 + N * 101 + K)
    ta, tb = layout[0] == "T", layout[1] == "T"
    a = random(rng, (1, K, M) if ta else (1, M, K), np.float64)
    b = random(rng, (1, N, K) if tb else (1, K, N), np.float64)
    bias = random(rng, (1, N), np.float64)
    c = poisoned((1, M, N), np.float64)
    gemm.gemm_batched(
        to_device(a), to_device(b), c, to_device(bias), gemm.BIAS_COLUMNS, activation, ta, tb, tile=gemm.SMALL_TILE
    )
    ref = gemm.gemm_reference(
        a, b, bias=bias, bias_mode=gemm.BIAS_COLUMNS, activation=activation, trans_a=ta, trans_b=tb
    )
    assert_close(c, ref, np.float64, what=f"{layout} {M}x{N}x{K} {activation}")
