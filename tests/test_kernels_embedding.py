"""Embedding kernels (kernels/embedding.py) against float64 NumPy references, in the simulator or on a GPU."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, requires_gpu, to_device, to_host

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def emb():
    from tensorcore.kernels import embedding

    return embedding


def _indices(rng, N, V, dtype):
    idx = rng.integers(0, V, size=N).astype(dtype)
    idx[: min(4, N)] = 3 % V  # a repeated row (and the padding row below)
    return idx


@requires_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("padding_idx", [None, 3, -2])
def test_embedding_forward_backward(emb, rng, dtype, idx_dtype, padding_idx):
    V, E, N = 11, 37, 13  # E = 37: one 4 x 32-column step per lane, partial
    w = random(rng, (V, E), dtype)
    idx = _indices(rng, N, V, idx_dtype)
    g = random(rng, (N, E), dtype)
    out = poisoned((N, E), dtype)
    assert emb.embedding_forward(to_device(w), to_device(idx), out=out) is out
    assert_close(out, emb.embedding_reference(w, idx), dtype, what="forward")
    dw = emb.embedding_backward(to_device(g), to_device(idx), V, padding_idx)
    ref = emb.embedding_backward_reference(g, idx, V, padding_idx)
    assert_close(dw, ref, dtype, what=f"backward padding_idx={padding_idx}")
    if padding_idx is not None:
        assert not to_host(dw)[padding_idx].any()


@requires_cuda
def test_embedding_backward_is_deterministic_and_matches_add_at(emb, rng):
    """Sums run in increasing position, as np.add.at: bit-identical to it in float32, run after run."""
    V, E, N = 5, 9, 17
    idx = rng.integers(0, V, size=N)
    g = random(rng, (N, E), np.float32, -1e3, 1e3)
    expected = np.zeros((V, E), np.float32)
    np.add.at(expected, idx, g)
    for _ in range(2):
        assert np.array_equal(to_host(emb.embedding_backward(to_device(g), to_device(idx), V)), expected)


@requires_cuda
def test_embedding_bad_index_and_errors(emb, rng):
    w = random(rng, (4, 3), np.float32)
    idx = np.array([0, 7, -1, 2])
    out = to_host(emb.embedding_forward(to_device(w), to_device(idx)))
    assert np.isnan(out[[1, 2]]).all() and np.array_equal(out[[0, 3]], w[[0, 2]])
    dw = to_host(emb.embedding_backward(to_device(np.ones((4, 3), np.float32)), to_device(idx), 4))
    assert np.array_equal(dw, np.array([[1.0] * 3, [0] * 3, [1] * 3, [0] * 3]))  # out-of-range rows are ignored
    with pytest.raises(TypeError, match="idx must have dtype int32 or int64, got float32"):
        emb.embedding_forward(to_device(w), to_device(np.zeros(2, np.float32)))
    with pytest.raises(ValueError, match=r"padding_idx=4 is outside \[-4, 4\)"):
        emb.embedding_backward(to_device(w), to_device(np.zeros(4, np.int64)), 4, padding_idx=4)


@requires_gpu
@pytest.mark.gpu
def test_embedding_large_gpu(emb, rng):
    V, E, N = 50257, 768, 8192
    w = random(rng, (V, E), np.float32)
    idx = rng.zipf(1.3, size=N) % V  # a few very frequent rows
    g = random(rng, (N, E), np.float32)
    assert_close(emb.embedding_forward(to_device(w), to_device(idx)), emb.embedding_reference(w, idx), np.float32)
    dw = emb.embedding_backward(to_device(g), to_device(idx), V, padding_idx=0)
    assert_close(dw, emb.embedding_backward_reference(g, idx, V, 0), np.float32, tol=1e-6)
