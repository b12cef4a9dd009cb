"""F.multi_head_attention_forward, F.conv_tbc and F.native_channel_shuffle against PyTorch; gradchecks."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
L, S, N, E, H = 4, 5, 2, 6, 3


def _weights(rng, kdim=E, vdim=E):
    return dict(q=rng.standard_normal((L, N, E)), k=rng.standard_normal((S, N, kdim)),
                v=rng.standard_normal((S, N, vdim)), W=rng.standard_normal((3 * E, E)) * 0.3,
                b=rng.standard_normal(3 * E) * 0.1, Wo=rng.standard_normal((E, E)) * 0.3,
                bo=rng.standard_normal(E) * 0.1, bk=rng.standard_normal((1, 1, E)), bv=rng.standard_normal((1, 1, E)),
                am=rng.standard_normal((L, S)), kpm=np.arange(N * S).reshape(N, S) % 4 == 3)


def _call(lib, fn, w, opts, grads=False):
    t = {k: lib.tensor(v, requires_grad=grads and v.dtype == np.float64) for k, v in w.items()}
    out = fn(t["q"], t["k"], t["v"], E, H, t["W"], t["b"], t["bk"] if opts.get("bias_kv") else None,
             t["bv"] if opts.get("bias_kv") else None, opts.get("zero", False), 0.0, t["Wo"], t["bo"], training=False,
             key_padding_mask=t["kpm"] if opts.get("masks") else None, need_weights=opts.get("weights", True),
             attn_mask=t["am"] if opts.get("masks") else None, average_attn_weights=opts.get("avg", True))
    return out, t


OPTS = [dict(), dict(bias_kv=True), dict(zero=True), dict(masks=True), dict(weights=False), dict(avg=False),
        dict(bias_kv=True, zero=True, masks=True)]


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("opts", OPTS, ids=[",".join(o) or "plain" for o in OPTS])
def test_multi_head_attention_forward_matches_torch(opts):
    w = _weights(np.random.default_rng(0))
    (ot, wt), tt = _call(torch, TF.multi_head_attention_forward, w, opts, grads=True)
    (oc, wc), tcs = _call(tc, F.multi_head_attention_forward, w, opts, grads=True)
    np.testing.assert_allclose(oc.detach().numpy(), ot.detach().numpy(), atol=1e-12)
    assert (wc is None) == (wt is None)
    if wt is not None:
        np.testing.assert_allclose(wc.detach().numpy(), wt.detach().numpy(), atol=1e-12)
    (ot ** 2).sum().backward()
    (oc ** 2).sum().backward()
    for k in ("q", "k", "v", "W", "b", "Wo", "bo"):
        np.testing.assert_allclose(tcs[k].grad.numpy(), tt[k].grad.numpy(), atol=1e-10, err_msg=k)


def test_multi_head_attention_forward_separate_weights_unbatched_and_gradcheck():
    rng = np.random.default_rng(1)
    w = _weights(rng, kdim=3, vdim=4)
    wq, wk, wv = rng.standard_normal((E, E)), rng.standard_normal((E, 3)), rng.standard_normal((E, 4))
    outs = []
    for lib, fn in ((torch, TF.multi_head_attention_forward), (tc, F.multi_head_attention_forward)):
        t = lib.tensor
        outs.append(fn(t(w["q"]), t(w["k"]), t(w["v"]), E, H, None, t(w["b"]), None, None, False, 0.0, t(w["Wo"]),
                       t(w["bo"]), training=False, use_separate_proj_weight=True, q_proj_weight=t(wq),
                       k_proj_weight=t(wk), v_proj_weight=t(wv)))
    for a, b in zip(outs[0], outs[1]):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-12)
    w = _weights(rng)
    ot, wt = TF.multi_head_attention_forward(*(torch.tensor(w[k][:, 0]) for k in "qkv"), E, H, torch.tensor(w["W"]),
                                             torch.tensor(w["b"]), None, None, False, 0.0, torch.tensor(w["Wo"]),
                                             torch.tensor(w["bo"]), training=False)
    oc, wc = F.multi_head_attention_forward(*(tc.tensor(w[k][:, 0]) for k in "qkv"), E, H, tc.tensor(w["W"]),
                                            tc.tensor(w["b"]), None, None, False, 0.0, tc.tensor(w["Wo"]),
                                            tc.tensor(w["bo"]), training=False)
    assert tuple(oc.shape) == tuple(ot.shape) == (L, E)
    np.testing.assert_allclose(oc.numpy(), ot.numpy(), atol=1e-12)
    np.testing.assert_allclose(wc.numpy(), wt.numpy(), atol=1e-12)
    q = tc.tensor(w["q"][:2], requires_grad=True)
    W = tc.tensor(w["W"], requires_grad=True)
    assert tc.gradcheck(lambda q, W: F.multi_head_attention_forward(
        q, q, q, E, H, W, tc.tensor(w["b"]), None, None, False, 0.0, tc.tensor(w["Wo"]), tc.tensor(w["bo"]),
        training=False)[0], (q, W))


def test_multi_head_attention_forward_errors():
    w = _weights(np.random.default_rng(2))
    t = {k: tc.tensor(v) for k, v in w.items()}
    with pytest.raises(tc.TensorcoreError, match="expecting embedding dimension of 8"):
        F.multi_head_attention_forward(t["q"], t["k"], t["v"], 8, H, t["W"], t["b"], None, None, False, 0.0, t["Wo"],
                                       t["bo"])
    with pytest.raises(tc.TensorcoreError, match="in_proj_weight is None"):
        F.multi_head_attention_forward(t["q"], t["k"], t["v"], E, H, None, t["b"], None, None, False, 0.0, t["Wo"],
                                       t["bo"])
    with pytest.raises(tc.TensorcoreError, match="num_heads"):
        F.multi_head_attention_forward(t["q"], t["k"], t["v"], E, 4, t["W"], t["b"], None, None, False, 0.0, t["Wo"],
                                       t["bo"])


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv_tbc_matches_torch(pad):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((7, 2, 3)), rng.standard_normal((3, 3, 4)), rng.standard_normal(4)
    tt = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ct = [tc.tensor(a, requires_grad=True) for a in (x, w, b)]
    yt, yc = torch.conv_tbc(*tt, pad), F.conv_tbc(*ct, pad)
    assert tuple(yc.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    (yt ** 2).sum().backward()
    (yc ** 2).sum().backward()
    for a, c in zip(tt, ct):
        np.testing.assert_allclose(c.grad.numpy(), a.grad.numpy(), atol=1e-10)
    assert tc.gradcheck(lambda *a: F.conv_tbc(*a, pad), ct)
    with pytest.raises(tc.TensorcoreError, match="conv_tbc"):
        F.conv_tbc(ct[0], ct[1][:, :2], ct[2])


def test_native_channel_shuffle():
    x = np.arange(2 * 6 * 2.0).reshape(2, 6, 2)
    np.testing.assert_array_equal(F.native_channel_shuffle(tc.tensor(x), 3).numpy(),
                                  TF.native_channel_shuffle(torch.tensor(x), 3).numpy())


def test_top_level_spellings():
    rng = np.random.default_rng(4)
    lp = rng.standard_normal((6, 2, 4))
    lp = lp - np.log(np.exp(lp).sum(2, keepdims=True))
    tg = np.array([[1, 2], [3, 3]])
    for args in ((), (0, 0), (0, 1), (0, 2, True)):
        want = torch.ctc_loss(torch.tensor(lp), torch.tensor(tg), [6, 5], [2, 2], *args)
        got = tc.ctc_loss(tc.tensor(lp), tc.tensor(tg), [6, 5], [2, 2], *args)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    x, w = rng.standard_normal((1, 2, 2, 3, 2)), rng.standard_normal((2, 3, 2, 2, 2))
    np.testing.assert_allclose(tc.conv_transpose3d(tc.tensor(x), tc.tensor(w), None, 2).numpy(),
                               torch.conv_transpose3d(torch.tensor(x), torch.tensor(w), None, 2).numpy(), atol=1e-12)
    x, w, b = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 3, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(tc.conv_tbc(tc.tensor(x), tc.tensor(w), tc.tensor(b), 1).numpy(),
                               torch.conv_tbc(torch.tensor(x), torch.tensor(w), torch.tensor(b), 1).numpy(), atol=1e-12)
    x = np.arange(12.0).reshape(1, 6, 2)
    np.testing.assert_array_equal(tc.native_channel_shuffle(tc.tensor(x), 2).numpy(),
                                  torch.native_channel_shuffle(torch.tensor(x), 2).numpy())


GRAD_CASES = {1: ((2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, groups=2)),
              2: ((2, 4, 7, 6), (6, 4, 3, 2), dict(stride=(2, 1), padding=1, dilation=(1, 2))),
              3: ((1, 2, 5, 4, 5), (3, 2, 2, 2, 2), dict(stride=2))}


@pytest.mark.parametrize("n", [1, 2, 3])
def test_nn_grad_matches_torch(n):
    xs, ws, kw = GRAD_CASES[n]
    rng = np.random.default_rng(n)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    go = rng.standard_normal(tuple(getattr(TF, f"conv{n}d")(torch.tensor(x), torch.tensor(w), **kw).shape))
    gi_t = getattr(torch.nn.grad, f"conv{n}d_input")(xs, torch.tensor(w), torch.tensor(go), **kw)
    gi_c = getattr(F.grad, f"conv{n}d_input")(xs, tc.tensor(w), tc.tensor(go), **kw)  # F.grad is nn.grad
    gw_t = getattr(torch.nn.grad, f"conv{n}d_weight")(torch.tensor(x), ws, torch.tensor(go), **kw)
    gw_c = getattr(tc.nn.grad, f"conv{n}d_weight")(tc.tensor(x), ws, tc.tensor(go), **kw)
    np.testing.assert_allclose(gi_c.numpy(), gi_t.numpy(), atol=1e-12)
    np.testing.assert_allclose(gw_c.numpy(), gw_t.numpy(), atol=1e-12)
    assert not gi_c.requires_grad


def test_nn_grad_is_differentiable_and_checks_shapes():
    xs, ws, kw = GRAD_CASES[2]
    rng = np.random.default_rng(5)
    w = tc.tensor(rng.standard_normal(ws), requires_grad=True)
    go = tc.tensor(rng.standard_normal((2, 6, 4, 6)), requires_grad=True)
    assert tc.gradcheck(lambda w, go: tc.nn.grad.conv2d_input(xs, w, go, **kw), (w, go))
    x = tc.tensor(rng.standard_normal(xs), requires_grad=True)
    assert tc.gradcheck(lambda x, go: tc.nn.grad.conv2d_weight(x, ws, go, **kw), (x, go))
    with pytest.raises(tc.TensorcoreError, match="conv2d_input: grad_output has shape"):
        tc.nn.grad.conv2d_input(xs, w, tc.zeros(2, 6, 3, 3, dtype=tc.float64), **kw)
