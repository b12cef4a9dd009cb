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


@requires_cuda
@pytest.mark.parametrize("bias_mode, activation", [(1, "relu"), (2, "gelu")])
def test_split_k_applies_bias_and_activation_after_the_sum(gemm, rng, bias_mode, activation):
    """relu(sum of partial products + bias), not a sum of relu'd partials: the epilogue runs once, in
    the reduction kernel. Three splits of a K that is no multiple of the tile's bk."""
    M, N, K, batch = 6, 9, 21, 2
    a = random(rng, (batch, M, K), np.float64)
    b = random(rng, (1, N, K), np.float64)
    bias = random(rng, (1, N if bias_mode == 1 else M), np.float64)
    c = poisoned((batch, M, N), np.float64)
    gemm.gemm_batched(
        to_device(a), to_device(b), c, to_device(bias), bias_mode, activation, False, True,
        tile=gemm.SMALL_TILE, split_k=3,
    )  # fmt: skip
    ref = gemm.gemm_reference(a, b, bias=bias, bias_mode=bias_mode, activation=activation, trans_b=True)
    assert_close(c, ref, np.float64, what=f"split-K epilogue {activation}")
    partials = sum(  # the wrong answer an epilogue per split would give
        gemm.gemm_reference(a[:, :, s : s + 8], b[:, :, s : s + 8], bias=bias, bias_mode=bias_mode,
                            activation=activation, trans_b=True)
        for s in (0, 8, 16)
    )  # fmt: skip
    assert np.abs(partials - ref).max() > 1e-3


# Each production tile at odd sizes: one interior block (every load unchecked for 2 full K steps),
# partial blocks in M and N, and a K tail that is no multiple of bk = 8.
TILE_CASES = [
    ("128x128", "TN", "relu", 1, np.float32),
    ("128x64", "NN", "gelu", 2, np.float64),
    ("64x64", "NT", "relu", 1, np.float64),
    ("64x64", "TT", None, 0, np.float32),
]


@requires_cuda
@pytest.mark.parametrize("tile_name, layout, activation, bias_mode, dtype", TILE_CASES)
def test_every_tile_at_odd_sizes(gemm, rng, tile_name, layout, activation, bias_mode, dtype):
    tile = {t.name.rsplit("x", 1)[0]: t for t in gemm.TILES}[tile_name]
    ta, tb = layout[0] == "T", layout[1] == "T"
    M, N, K = tile.bm + 3, tile.bn + 5, 2 * tile.bk + 3
    a = random(rng, (1, K, M) if ta else (1, M, K), dtype)
    b = random(rng, (1, N, K) if tb else (1, K, N), dtype)
    bias = random(rng, (1, N if bias_mode == 1 else M), dtype) if bias_mode else None
    c = poisoned((1, M, N), dtype)
    gemm.gemm_batched(
        to_device(a), to_device(b), c, None if bias is None else to_device(bias), bias_mode, activation, ta, tb,
        tile=tile,
    )  # fmt: skip
    ref = gemm.gemm_reference(a, b, bias=bias, bias_mode=bias_mode, activation=activation, trans_a=ta, trans_b=tb)
    assert_close(c, ref, dtype, what=f"{tile_name} {layout} {M}x{N}x{K}")


def test_tile_and_split_k_are_chosen_by_shape(gemm, monkeypatch):
    """Large outputs take the largest tile with a block for every SM; small ones the smallest tile plus split-K
    (not in the simulator, where auto_split_k is 1)."""
    from tensorcore.kernels import _launch

    monkeypatch.setattr(_launch, "_sm_count", 132)
    assert gemm.choose_tile(4096, 4096, 1) == gemm.TILE_128x128
    assert gemm.choose_tile(1024, 2048, 1) == gemm.TILE_128x64  # 128 blocks of 128x128 leave SMs idle
    assert gemm.choose_tile(1024, 1024, 1) == gemm.TILE_64x64
    assert gemm.choose_tile(128, 4096, 1) == gemm.TILE_64x64  # AlexNet fc6 at batch 128
    assert gemm.choose_tile(4096, 4096, 1, np.float64) == gemm.TILE_64x64
    monkeypatch.setattr(_launch, "SIMULATOR", False)
    assert gemm.auto_split_k(128, 4096, 9216, 1, gemm.TILE_64x64) == 4  # 128 blocks -> 512 of 528 (4 a SM)
    assert gemm.auto_split_k(4096, 4096, 4096, 1, gemm.TILE_128x128) == 1
    assert gemm.auto_split_k(32, 64, 300, 1, gemm.TILE_64x64) == 1  # K too short to split


def test_generated_source_is_unrolled_with_wide_shared_loads(gemm):
    """The generator's text: no loop in the outer products, fragments read 4 consecutive words."""
    from tensorcore.kernels import _gemm_tiled

    src = _gemm_tiled.outer_products_source(gemm.TILE_128x128, "f")
    assert "for " not in src and src.count(" += ") == 8 * 64
    assert "a3 = As[ar + U64(3)]" in src and "a4 = As[ar + U64(64)]" in src  # rows 4 ty + 0..3 and 64 + 4 ty
    with pytest.raises(ValueError, match="unsupported tile"):
        _gemm_tiled.check_tile(gemm.GemmTile(16, 16, 4, 2, 2))


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
