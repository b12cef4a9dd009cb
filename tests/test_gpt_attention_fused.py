"""The GPT's fused attention: packed_self_attention against the composition it replaces, the CPU's kept
attention probabilities against the recomputed ones, and the whole GPT against PyTorch in float64
(forward and every parameter gradient)."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.backends import cpu_attention
from tensorcore.errors import ArgumentError, DTypeError, ShapeError
from tensorcore.ops.attention_packed import packed_self_attention

TOL = {"rtol": 1e-10, "atol": 1e-12}


def _composed(qkv, n_head, is_causal):
    """nanoGPT's lines: split the heads, SDPA, merge the heads."""
    B, T, C3 = qkv.shape
    h = qkv.reshape(B, T, 3, n_head, C3 // (3 * n_head)).permute(2, 0, 3, 1, 4)
    y = tc.nn.functional.scaled_dot_product_attention(h[0], h[1], h[2], is_causal=is_causal)
    return y.permute(0, 2, 1, 3).reshape(B, T, C3 // 3)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("is_causal", [True, False])
def test_packed_self_attention_equals_the_composition(is_causal, fast):
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((3, 5, 18)), rng.standard_normal((3, 5, 6))
    grads = []
    tc.autograd.set_fast_backward(fast)
    try:
        for fn in (lambda x: packed_self_attention(x, 3, is_causal=is_causal), lambda x: _composed(x, 3, is_causal)):
            x = tc.tensor(a, requires_grad=True)
            y = fn(x)
            (y * tc.tensor(w)).sum().backward()
            grads.append((y.numpy(), x.grad.numpy()))
    finally:
        tc.autograd.set_fast_backward(True)
    np.testing.assert_allclose(grads[0][0], grads[1][0], **TOL)
    np.testing.assert_allclose(grads[0][1], grads[1][1], **TOL)


@pytest.mark.parametrize("is_causal", [True, False])
def test_packed_self_attention_gradcheck_and_gradgradcheck(is_causal):
    x = tc.tensor(np.random.default_rng(1).standard_normal((2, 4, 12)), requires_grad=True)
    fn = lambda t: packed_self_attention(t, 2, is_causal=is_causal, scale=0.7)  # noqa: E731
    assert tc.gradcheck(fn, (x,))
    assert tc.gradgradcheck(fn, (x,))


def test_packed_self_attention_errors_are_clear():
    with pytest.raises(ShapeError, match=r"packed_self_attention: qkv must be \(B, T, 3C\).*\(2, 3, 10\)"):
        packed_self_attention(tc.zeros((2, 3, 10)), 2)
    with pytest.raises(ShapeError, match="divisible by n_head"):
        packed_self_attention(tc.zeros((2, 3, 9)), 2)
    with pytest.raises(DTypeError, match="floating"):
        packed_self_attention(tc.zeros((2, 3, 12), dtype=tc.int64), 2)
    with pytest.raises(ArgumentError, match="must be a Tensor"):
        packed_self_attention(np.zeros((2, 3, 12)), 2)


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("mask", [None, "causal", "bool"])
def test_kept_probabilities_give_the_recomputed_gradients(mask, chunked, monkeypatch):
    rng = np.random.default_rng(2)
    q, k, v, do = (rng.standard_normal((5, 2, 7, 4)) for _ in range(4))
    m = (rng.random((7, 7)) > 0.4) if mask == "bool" else None
    if m is not None:
        m[3] = False  # a row with every key masked: zeros, as the recomputation gives
    if chunked:
        monkeypatch.setattr(cpu_attention, "CHUNK_SCORES", 2 * 2 * 7 * 7)  # chunks of 2, 2 and 1 items
    args = (m if m is None else np.where(m, 0.0, -np.inf), mask == "causal", 0.5)
    out, lse = cpu_attention.attention_forward(q, k, v, *args)
    out_p, lse_p, pt = cpu_attention.attention_forward_probs(q, k, v, *args)
    np.testing.assert_array_equal(out_p, out)  # the forward's values are unchanged
    np.testing.assert_array_equal(lse_p, lse)
    assert pt.shape == (5, 2, 7, 7) and np.all(np.isfinite(pt))
    want = cpu_attention.attention_backward(q, k, v, out, lse, do, *args)
    got = cpu_attention.attention_backward_probs(q, k, v, out, pt, do, args[2])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **TOL)


def test_large_scores_are_not_kept(monkeypatch):
    monkeypatch.setattr(cpu_attention, "PROBS_MAX_ELEMENTS", 10)
    q = np.ones((2, 3, 4))
    out, lse, pt = cpu_attention.attention_forward_probs(q, q, q, None, True, None)
    assert pt is None and out.shape == (2, 3, 4) and lse.shape == (2, 3)


def test_gpt_matches_pytorch_in_float64():
    """Our GPT with PyTorch's layers (nanoGPT's forward) and the same weights: logits and every gradient."""
    torch = pytest.importorskip("torch")
    tnn, TF = torch.nn, torch.nn.functional
    V, T, C, H, L = 11, 8, 16, 2, 2

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = tnn.LayerNorm(C), tnn.LayerNorm(C)
            self.attn, self.mlp = tnn.Module(), tnn.Module()
            self.attn.c_attn, self.attn.c_proj = tnn.Linear(C, 3 * C), tnn.Linear(C, C)
            self.mlp.c_fc, self.mlp.c_proj = tnn.Linear(C, 4 * C), tnn.Linear(4 * C, C)

        def forward(self, x):
            B = x.shape[0]
            qkv = self.attn.c_attn(self.ln_1(x)).reshape(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4)
            y = TF.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
            x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))

    class GPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(V, C), tnn.Embedding(T, C)
            self.h = tnn.ModuleList([Block() for _ in range(L)])
            self.ln_f = tnn.LayerNorm(C)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(T))
            for b in self.h:
                x = b(x)
            return TF.linear(self.ln_f(x), self.wte.weight)

    tc.manual_seed(0)
    ours = tc.models.get_model("gpt", vocab_size=V, block_size=T, n_layer=L, n_head=H, n_embd=C).double()
    theirs = GPT().double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(3)
    idx, y = rng.integers(0, V, (3, T)), rng.integers(0, V, 3 * T)
    lo, lt = ours(tc.tensor(idx)), theirs(torch.from_numpy(idx))
    np.testing.assert_allclose(lo.numpy(), lt.detach().numpy(), **TOL)
    tc.nn.functional.cross_entropy(lo.reshape(-1, V), tc.tensor(y)).backward()
    TF.cross_entropy(lt.reshape(-1, V), torch.from_numpy(y)).backward()
    params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), params[name].grad.numpy(), err_msg=name, **TOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("is_causal", [True, False])
@pytest.mark.parametrize("L,S", [(7, 7), (9, 5), (4, 11)])
def test_numba_softmax_forward_matches_the_numpy_path(L, S, is_causal, dtype, monkeypatch):
    pytest.importorskip("numba")
    from tensorcore.backends import cpu_parallel

    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((3, 2, n, 5)).astype(dtype) for n in (L, S, S))
    q[0, 0, 1, 0] = np.nan  # one query row NaN: NaN out and lse there, as NumPy's max and sum give
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)
    results = []
    for on in (False, True):
        monkeypatch.setattr(cpu_parallel, "enabled", on)
        assert cpu_attention._numba_softmax(q, S) == on
        results.append(cpu_attention.attention_forward_probs(q, k, v, None, is_causal, None))
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else TOL
    for got, want in zip(results[1], results[0]):
        assert got.dtype == dtype
        np.testing.assert_allclose(got[1:], want[1:], **tol)
        np.testing.assert_allclose(got[0, 1], want[0, 1], **tol)
    for i in range(2):  # out and lse of the item with the NaN query: NaN (and -inf) in the same places
        np.testing.assert_allclose(results[1][i][0, 0], results[0][i][0, 0], **tol)
    assert np.isnan(results[1][0][0, 0, 1]).all() and np.isfinite(results[1][0][1:]).all()


@pytest.mark.parametrize("kept", [True, False])
def test_numba_attention_backward_gives_the_numpy_bits(kept, monkeypatch):
    pytest.importorskip("numba")
    from tensorcore.backends import cpu_parallel

    rng = np.random.default_rng(5)
    q, k, v, do = (rng.standard_normal((2, 3, n, 4)).astype(np.float32) for n in (6, 9, 9, 6))
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)
    monkeypatch.setattr(cpu_parallel, "enabled", False)
    out, lse, pt = cpu_attention.attention_forward_probs(q, k, v, None, True, None)
    results = []
    for on in (False, True):
        monkeypatch.setattr(cpu_parallel, "enabled", on)
        if kept:
            results.append(cpu_attention.attention_backward_probs(q, k, v, out, pt, do, 0.5))
        else:
            results.append(cpu_attention.attention_backward(q, k, v, out, lse, do, None, True, 0.5))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)
