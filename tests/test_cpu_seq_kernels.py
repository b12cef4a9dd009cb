"""The CPU sequence primitives: the Numba kernels (cpu_parallel_seq.py) against the NumPy path, the
transposed-score attention on odd inputs against PyTorch, and the bench CLI's parallel and sequence ops.
"""

import numpy as np
import pytest

from tensorcore.backends import cpu, cpu_attention, cpu_parallel
from tensorcore.testing.threads import with_numba_threads as _threads

numba = pytest.importorskip("numba", reason="the Numba CPU kernels need numba (the NumPy path is tested elsewhere)")
seq = cpu_parallel.kernels("seq")

DTYPES = (np.float32, np.float64)
TOL = {np.float32: 3e-6, np.float64: 1e-13}


@pytest.fixture
def kernels_for_all_sizes(monkeypatch):
    monkeypatch.setattr(cpu_parallel, "enabled", True)
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)


def _close(a, b, dtype):
    assert a.shape == b.shape and a.dtype == b.dtype == np.dtype(dtype), (a.shape, b.shape, a.dtype, b.dtype)
    scale = max(float(np.abs(b).max()), 1.0) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL[dtype] * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7, 13), (130, 257), (1, 1)])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_kernels_match_numpy(dtype, shape, affine, kernels_for_all_sizes):
    rng = np.random.default_rng(1)
    rows, c = shape
    x = (rng.standard_normal((rows, 2 * c)) * 3 + 5).astype(dtype)[:, ::2]  # strided rows
    dy = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(c).astype(dtype) if affine != "none" else None
    b = rng.standard_normal(c).astype(dtype) if affine == "both" else None
    y_ref, mean_ref, rstd_ref = cpu_attention.layer_norm_forward_xp(np, x, w, b, 1e-5)
    y, mean, rstd = cpu.layer_norm_forward(x, w, b, 1e-5)
    for got, want in ((y, y_ref), (mean, mean_ref), (rstd, rstd_ref)):
        _close(got, want, dtype)
    dx_ref, dw_ref, db_ref = cpu_attention.layer_norm_backward_xp(np, dy, x, w, mean_ref, rstd_ref)
    dx, dw, db = cpu.layer_norm_backward(dy, x, w, mean, rstd)
    _close(dx, dx_ref, dtype)
    _close(db, db_ref, dtype)
    assert (dw is None) == (w is None)
    if w is not None:
        _close(dw, dw_ref, dtype)


def test_layer_norm_kernels_are_deterministic_for_any_thread_count():
    rng = np.random.default_rng(2)
    x, dy = rng.standard_normal((300, 77)), rng.standard_normal((300, 77))
    w = rng.standard_normal(77)
    one = _threads(1, lambda: (seq.layer_norm_forward(x, w, w, 1e-5), seq.layer_norm_backward(dy, x, w, x[:, 0],
                                                                                              x[:, 1] ** 2)))
    two = _threads(2, lambda: (seq.layer_norm_forward(x, w, w, 1e-5), seq.layer_norm_backward(dy, x, w, x[:, 0],
                                                                                              x[:, 1] ** 2)))
    for a, b in zip([*one[0], *one[1]], [*two[0], *two[1]]):
        assert np.array_equal(a, b)


def test_layer_norm_kernels_propagate_nan(kernels_for_all_sizes):
    x = np.ones((3, 40), np.float32)
    x[1, 7] = np.nan
    y, _, _ = cpu.layer_norm_forward(x, None, None, 1e-5)
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_backward_kernel_gives_np_add_at_bits(dtype, padding_idx, monkeypatch):
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 11, (5, 33))  # repeated indices: the order of the sums matters
    dout = rng.standard_normal((5, 33, 2 * 70)).astype(dtype)[..., ::2]  # strided, 70 columns: two tasks
    monkeypatch.setattr(cpu_parallel, "enabled", False)
    want = cpu.embedding_backward(dout, idx, 11, padding_idx)
    monkeypatch.setattr(cpu_parallel, "enabled", True)
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)
    got = cpu.embedding_backward(dout, idx, 11, padding_idx)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert padding_idx is None or not got[padding_idx].any()
    assert np.array_equal(_threads(2, lambda: seq.embedding_backward(dout, idx, 11, padding_idx)), got)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_tanh_and_sigmoid_kernels_match_numpy(dtype, monkeypatch):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 1000)) * 4).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    monkeypatch.setattr(cpu_parallel, "enabled", False)
    want = cpu.gelu(x, "tanh"), cpu.gelu_backward(x, g, "tanh"), cpu.sigmoid(x)
    monkeypatch.setattr(cpu_parallel, "enabled", True)
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)
    got = cpu.gelu(x, "tanh"), cpu.gelu_backward(x, g, "tanh"), cpu.sigmoid(x)
    for a, b in zip(got, want):
        _close(a, b.astype(dtype), dtype)


# --- the attention primitive on inputs the model layer does not produce -------------------------------------------


def test_attention_on_permuted_views_and_a_1d_mask_matches_pytorch(rng):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle here (pip install torch)")
    qkv = rng.standard_normal((2, 7, 3, 3, 5)).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D) as the GPT splits it
    q, k, v = qkv
    g = rng.standard_normal((2, 3, 7, 5))
    mask = rng.standard_normal(7)  # one additive bias per key, broadcast over every query
    out, lse = cpu.attention_forward(q, k, v, mask, False, 0.3)
    grads = cpu.attention_backward(q, k, v, out, lse, g, mask, False, 0.3)
    tq, tk, tv = (torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in (q, k, v))
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(mask[None]),
                                                          scale=0.3)  # torch wants a 2-D mask
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, t in zip(grads, (tq, tk, tv)):
        np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("L, S", [(0, 4), (3, 0)])
def test_attention_with_no_queries_or_no_keys(L, S):
    q, k, v = np.ones((2, L, 3), np.float32), np.ones((2, S, 3), np.float32), np.ones((2, S, 4), np.float32)
    out, lse = cpu.attention_forward(q, k, v, None, False, None)
    assert out.shape == (2, L, 4) and lse.shape == (2, L) and not out.any() and np.isneginf(lse).all()
    dq, dk, dv = cpu.attention_backward(q, k, v, out, lse, np.ones((2, L, 4), np.float32), None, False, None)
    assert dq.shape == q.shape and dk.shape == k.shape and dv.shape == v.shape
    assert not (dq.any() or dk.any() or dv.any())


def test_attention_keeps_float32_and_the_inputs(rng):
    q, k, v = (rng.standard_normal((2, 6, 4)).astype(np.float32) for _ in range(3))
    before = [a.copy() for a in (q, k, v)]
    out, lse = cpu.attention_forward(q, k, v, None, True, None)
    grads = cpu.attention_backward(q, k, v, out, lse, np.ones_like(out), None, True, None)
    assert out.dtype == lse.dtype == np.float32 and all(a.dtype == np.float32 for a in grads)
    assert all(np.array_equal(a, b) for a, b in zip((q, k, v), before))


# --- the bench CLI ---------------------------------------------------------------------------------------------


def test_bench_kernels_times_attention_and_layer_norm(tmp_path):
    pytest.importorskip("torch", reason="the suite's peer is PyTorch")
    import json

    from tensorcore.cli import main

    out = tmp_path / "k.json"
    assert main(["bench", "kernels", "--quick", "--device", "cpu", "--threads", "1", "--ops", "attention,layer_norm",
                 "--json", str(out)]) == 0
    records = json.loads(out.read_text())["records"]
    ops = {(r["op"], r["backend"]): r["status"] for r in records}
    for op in ("attention_forward", "attention_backward", "layer_norm_forward", "layer_norm_backward"):
        assert ops[(op, "tensorcore-cpu")] == "ok" and ops[(op, "torch-cpu")] == "ok"


@pytest.mark.slow  # four worker processes (each imports tensorcore or torch): about 10 s
def test_bench_parallel_runs_from_the_cli(tmp_path, capsys):
    pytest.importorskip("torch", reason="the suite's peer is PyTorch")
    from tensorcore.cli import main

    md = tmp_path / "p.md"
    assert main(["bench", "parallel", "--models", "mlp", "--threads", "1", "--rounds", "1", "--seconds", "0.01",
                 "--md", str(md)]) == 0
    assert "| mlp | 1 " in md.read_text() and "tensorcore bench parallel" in md.read_text()
    assert main(["bench", "parallel", "--models", "resnet"]) == 2
    assert "unknown model 'resnet'" in capsys.readouterr().err


@pytest.mark.parametrize("mask_shape", [None, (5, 1, 4, 6), (1, 3, 4, 6), (4, 6)])
def test_attention_in_chunks_of_the_leading_axis_matches_one_chunk(rng, mask_shape, monkeypatch):
    q, k, v, g = (rng.standard_normal((5, 3) + s) for s in ((4, 2), (6, 2), (6, 3), (4, 3)))
    mask = None if mask_shape is None else rng.random(mask_shape) > 0.4
    whole = cpu.attention_forward(q, k, v, mask, False, None)
    whole_grads = cpu.attention_backward(q, k, v, *whole, g, mask, False, None)
    monkeypatch.setattr(cpu_attention, "CHUNK_SCORES", 2 * 3 * 4 * 6)  # chunks of 2, 2 and 1 items
    parts = cpu.attention_forward(q, k, v, mask, False, None)
    part_grads = cpu.attention_backward(q, k, v, *parts, g, mask, False, None)
    for a, b in zip((*parts, *part_grads), (*whole, *whole_grads)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
