"""The sequence primitives of both backends: attention, layer_norm, embedding (forward and backward).

CPU (backends/cpu_attention.py): against PyTorch in float64. cuda (our kernels, in the simulator or
on a GPU; marked `cuda`): against the CPU primitives, with every mask broadcast pattern the kernel
maps to (batch, heads) and one it must materialize, and with the `attention = "cupy"` switch.
"""

import numpy as np
import pytest

from tensorcore.backends import cpu

from .conftest import require_cuda


def _attention_inputs(rng, lead, L, S, E, Ev, dtype):
    q, k = rng.standard_normal(lead + (L, E)), rng.standard_normal(lead + (S, E))
    v, g = rng.standard_normal(lead + (S, Ev)), rng.standard_normal(lead + (L, Ev))
    return [a.astype(dtype) for a in (q, k, v, g)]


def _bool_mask(rng, shape):
    m = rng.random(shape) > 0.3
    m[..., 0] = True  # every row attends somewhere (PyTorch's math path would give NaN otherwise)
    return m


@pytest.mark.parametrize("causal, mask_shape", [(False, None), (True, None), (False, (2, 1, 7, 13)),
                                                (False, (7, 13)), (False, (1, 3, 1, 13))])
@pytest.mark.parametrize("bool_mask", [False, True])
def test_cpu_attention_matches_pytorch(rng, causal, mask_shape, bool_mask):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle here (pip install torch)")
    q, k, v, g = _attention_inputs(rng, (2, 3), 7, 13, 5, 4, np.float64)
    mask = None
    if mask_shape is not None:
        mask = _bool_mask(rng, mask_shape) if bool_mask else rng.standard_normal(mask_shape)
    out, lse = cpu.attention_forward(q, k, v, mask, causal, None)
    dq, dk, dv = cpu.attention_backward(q, k, v, out, lse, g, mask, causal, None)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tm = None if mask is None else torch.tensor(mask)
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, is_causal=causal)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, t in zip((dq, dk, dv), (tq, tk, tv)):
        np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-9, atol=1e-11)
    s = q @ k.swapaxes(-1, -2) / np.sqrt(5) + (0 if mask is None else np.where(mask, 0, -np.inf) if bool_mask
                                                else mask)
    if causal:
        s = np.where(np.triu(np.ones((7, 13), bool), 1), -np.inf, s)
    np.testing.assert_allclose(lse, np.log(np.exp(s).sum(-1)), rtol=1e-12)


def test_cpu_attention_fully_masked_row_is_zero(rng):
    q, k, v, g = _attention_inputs(rng, (1,), 3, 4, 2, 2, np.float32)
    mask = np.ones((3, 4), bool)
    mask[1] = False
    out, lse = cpu.attention_forward(q, k, v, mask, False, 0.5)
    assert (out[0, 1] == 0).all() and np.isneginf(lse[0, 1]) and np.isfinite(out).all()
    dq, dk, dv = cpu.attention_backward(q, k, v, out, lse, g, mask, False, 0.5)
    assert (dq[0, 1] == 0).all() and all(np.isfinite(a).all() for a in (dq, dk, dv))
    assert out.dtype == lse.dtype == dq.dtype == np.float32


@pytest.mark.parametrize("affine", [True, False])
def test_cpu_layer_norm_matches_pytorch(rng, affine):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle here (pip install torch)")
    x, dy = rng.standard_normal((7, 13)) + 3.0, rng.standard_normal((7, 13))
    w, b = (rng.standard_normal(13), rng.standard_normal(13)) if affine else (None, None)
    y, mean, rstd = cpu.layer_norm_forward(x, w, b, 1e-5)
    dx, dw, db = cpu.layer_norm_backward(dy, x, w, mean, rstd)
    tx = torch.tensor(x, requires_grad=True)
    tw, tb = (None, None) if not affine else (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
    ty = torch.nn.functional.layer_norm(tx, (13,), tw, tb, 1e-5)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rstd, 1 / np.sqrt(x.var(1) + 1e-5), rtol=1e-12)
    if affine:
        np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-10)
    else:
        assert dw is None


def test_cpu_embedding_backward_matches_add_at(rng):
    idx = rng.integers(0, 6, size=(3, 5))
    dout = rng.standard_normal((3, 5, 4)).astype(np.float32)
    w = rng.standard_normal((6, 4)).astype(np.float32)
    assert np.array_equal(cpu.embedding_forward(w, idx), w[idx])
    expected = np.zeros((6, 4), np.float32)
    np.add.at(expected, idx.reshape(-1), dout.reshape(-1, 4))
    assert np.array_equal(cpu.embedding_backward(dout, idx, 6, None), expected)
    expected[idx[0, 0]] = 0
    assert np.array_equal(cpu.embedding_backward(dout, idx, 6, int(idx[0, 0])), expected)


# ----------------------------------------------------------------------------------------------- cuda


@pytest.fixture
def cb():
    require_cuda()
    from tensorcore.backends import cuda

    yield cuda
    cuda.attention = "numba"


def _on(cb, *arrays):
    return [None if a is None else cb.from_host(a) for a in arrays]


def _close(cb, got, want, tol, what):
    got = cb.to_numpy(got).astype(np.float64)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, what
    finite = np.isfinite(want)
    assert (np.isfinite(got) == finite).all() and (got[~finite] == want[~finite]).all(), what
    err = np.linalg.norm(got[finite] - want[finite]) / max(np.linalg.norm(want[finite]), 1e-30)
    assert err < tol, f"{what}: relative error {err:.3g}"


@pytest.mark.cuda
@pytest.mark.parametrize("switch", ["numba", "cupy"])
@pytest.mark.parametrize("lead, mask_shape, causal", [
    ((2, 2), (2, 1, 5, 7), False),       # key padding per batch: outer axes
    ((2, 2), (1, 2, 1, 7), True),        # per head: inner axes
    ((3,), (5, 7), False),               # 2-D mask, one leading axis
    ((2, 1, 2), (2, 1, 1, 5, 7), False),  # outer, a size-1 axis, inner broadcast
    ((2, 2, 2), (2, 1, 2, 5, 7), False),  # not outer x inner: materialized
])
def test_cuda_attention_matches_cpu(cb, rng, switch, lead, mask_shape, causal):
    cb.attention = switch
    q, k, v, g = _attention_inputs(rng, lead, 5, 7, 5, 3, np.float32)
    mask = _bool_mask(rng, mask_shape)
    out, lse = cpu.attention_forward(q, k, v, mask, causal, 0.4)
    grads = cpu.attention_backward(q, k, v, out, lse, g, mask, causal, 0.4)
    dq_, dk_, dv_, dm = _on(cb, q, k, v, mask)
    cout, clse = cb.attention_forward(dq_, dk_, dv_, dm, causal, 0.4)
    _close(cb, cout, out, 2e-6, "out")
    _close(cb, clse, lse, 2e-6, "lse")
    cgrads = cb.attention_backward(dq_, dk_, dv_, cout, clse, cb.from_host(g), dm, causal, 0.4)
    for name, a, b in zip(("dq", "dk", "dv"), cgrads, grads):
        _close(cb, a, b, 5e-6, name)


@pytest.mark.cuda
@pytest.mark.parametrize("switch", ["numba", "cupy"])
def test_cuda_layer_norm_and_embedding_match_cpu(cb, rng, switch):
    cb.attention = switch
    x, dy = rng.standard_normal((6, 9)), rng.standard_normal((6, 9))
    w, b = rng.standard_normal(9), rng.standard_normal(9)
    for weight, bias in ((w, b), (None, None)):
        ref = cpu.layer_norm_forward(x, weight, bias, 1e-5)
        got = cb.layer_norm_forward(*_on(cb, x, weight, bias), 1e-5)
        for a, r in zip(got, ref):
            _close(cb, a, r, 1e-12, "layer_norm_forward")
        ref_b = cpu.layer_norm_backward(dy, x, weight, ref[1], ref[2])
        got_b = cb.layer_norm_backward(*_on(cb, dy, x, weight), got[1], got[2])
        for a, r in zip(got_b, ref_b):
            assert (a is None) == (r is None)
            if r is not None:
                _close(cb, a, r, 1e-12, "layer_norm_backward")
    table = rng.standard_normal((7, 5)).astype(np.float32)
    idx = rng.integers(0, 7, size=(2, 6))
    dout = rng.standard_normal((2, 6, 5)).astype(np.float32)
    _close(cb, cb.embedding_forward(*_on(cb, table, idx)), table[idx], 1e-7, "embedding_forward")
    for pad in (None, int(idx[0, 0])):
        got = cb.embedding_backward(cb.from_host(dout), cb.from_host(idx), 7, pad)
        _close(cb, got, cpu.embedding_backward(dout, idx, 7, pad), 1e-6, f"embedding_backward padding_idx={pad}")


@pytest.mark.cuda
def test_gpt_training_step_on_cuda_runs_our_kernels_and_matches_cpu(cb, monkeypatch):
    """A tiny GPT's loss and every parameter gradient: cuda (our kernels) against the CPU backend."""
    import tensorcore as tc

    names = ["attention_forward", "attention_backward", "layer_norm_forward", "layer_norm_backward",
             "embedding_forward", "embedding_backward"]
    kernels = {"attention": "attention", "layer": "layernorm", "embedding": "embedding"}
    calls = dict.fromkeys(names, 0)
    for n in names:
        family = cb._kernels(kernels[n.split("_")[0]])
        original = getattr(family, n)

        def counted(*args, _original=original, _n=n, **kw):
            calls[_n] += 1
            return _original(*args, **kw)

        monkeypatch.setattr(family, n, counted)
    tc.manual_seed(0)
    model = tc.models.get_model("gpt", vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8, dropout=0.0)
    idx = np.random.default_rng(0).integers(0, 11, size=(2, 8))
    results = {}
    for dev in ("cpu", "cuda"):
        model = model.to(dev)
        x = tc.tensor(idx, device=dev)
        out = model(x)
        logits = out[0] if isinstance(out, tuple) else out
        loss = tc.nn.functional.cross_entropy(logits.reshape(-1, 11), tc.tensor(idx.reshape(-1), device=dev))
        model.zero_grad()
        loss.backward()
        results[dev] = (loss.item(), [p.grad.numpy().copy() for p in model.parameters()])
    assert all(calls[n] > 0 for n in names), calls  # the kernels ran, not the CuPy fallback
    assert abs(results["cpu"][0] - results["cuda"][0]) < 1e-5
    for a, b in zip(results["cpu"][1], results["cuda"][1]):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
