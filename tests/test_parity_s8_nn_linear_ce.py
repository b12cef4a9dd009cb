"""nn.LinearCrossEntropyLoss / F.linear_cross_entropy / nn.LinearCrossEntropyOptions against PyTorch 2.13: the
reference path and the chunked one (options), values and gradients, second-backward rule, fallbacks, errors."""

import warnings

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
B, IN, C = 9, 4, 7
OPTIONS = [None, dict(), dict(batch_chunk_size=2), dict(chunking_method="aspect_ratio:1"),
           dict(chunking_method=None, batch_chunk_size=4, acc_policy="accurate")]


def _both(opts, x, W, t, bias=None, weight=None, **kw):
    out = []
    for lib, fn in ((torch, TF.linear_cross_entropy), (tc, F.linear_cross_entropy)):
        o = None if opts is None else lib.nn.LinearCrossEntropyOptions(**opts)
        xs, Ws = lib.tensor(x, requires_grad=True), lib.tensor(W, requires_grad=True)
        bs = None if bias is None else lib.tensor(bias, requires_grad=True)
        loss = fn(xs, Ws, lib.tensor(t), linear_bias=bs, weight=None if weight is None else lib.tensor(weight),
                  options=o, **kw)
        out.append((loss, xs, Ws, bs))
    return out


@pytest.mark.parametrize("opts", OPTIONS, ids=[str(o) for o in OPTIONS])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("extras", ["plain", "bias", "weight", "bias+weight"])
def test_matches_torch(opts, reduction, extras):
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((B, IN)), rng.standard_normal((C, IN)), rng.standard_normal(C)
    t = rng.integers(0, C, B)
    t[2] = -100  # ignored
    cw = rng.random(C) + 0.5
    (lt, *pt), (lc, *pc) = _both(opts, x, W, t, b if "bias" in extras else None, cw if "weight" in extras else None,
                                 reduction=reduction)
    assert tuple(lc.shape) == tuple(lt.shape)
    np.testing.assert_allclose(lc.detach().numpy(), lt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(tuple(lt.shape))
    lt.backward(torch.tensor(g))
    lc.backward(tc.tensor(g))
    for a, c in zip(pt, pc):
        if a is not None:
            np.testing.assert_allclose(c.grad.numpy(), a.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_chunked_second_backward_as_torch():
    rng = np.random.default_rng(1)
    x, W, t = rng.standard_normal((B, IN)), rng.standard_normal((C, IN)), rng.integers(0, C, B)
    for allow in (False, True):
        (lt, *_), (lc, *_) = _both(dict(allow_retain_graph=allow), x, W, t)
        lt.backward(retain_graph=True)
        lc.backward(retain_graph=True)
        if allow:
            lt.backward()
            lc.backward()
        else:
            with pytest.raises(RuntimeError, match="called twice"):
                lt.backward()
            with pytest.raises(tc.TensorcoreError, match="called twice"):
                lc.backward()
    (lt, *_), (lc, *_) = _both(dict(), x, W, t, reduction="none")  # 'none' recomputes: a second backward works
    lc.sum().backward(retain_graph=True)
    lc.sum().backward()


def test_reference_path_kdim_probabilities_smoothing_unbatched():
    rng = np.random.default_rng(2)
    x, W = rng.standard_normal((B, IN)), rng.standard_normal((C, 2, 3, IN))
    t = rng.integers(0, C, (B, 2, 3))
    (lt, *pt), (lc, *pc) = _both(None, x, W, t, rng.standard_normal((C, 2, 3)))
    np.testing.assert_allclose(lc.item(), lt.item(), rtol=1e-12)
    lt.backward()
    lc.backward()
    np.testing.assert_allclose(pc[1].grad.numpy(), pt[1].grad.numpy(), atol=1e-12)
    W2 = rng.standard_normal((C, IN))
    probs = rng.random((B, C))
    probs /= probs.sum(1, keepdims=True)
    (lt, *_), (lc, *_) = _both(None, x, W2, probs, label_smoothing=0.1)
    np.testing.assert_allclose(lc.item(), lt.item(), rtol=1e-12)
    with warnings.catch_warnings():  # options with label smoothing: both warn and take the reference path
        warnings.simplefilter("ignore")
        (lt, *_), (lc, *_) = _both(dict(), x, W2, rng.integers(0, C, B), label_smoothing=0.2)
    np.testing.assert_allclose(lc.item(), lt.item(), rtol=1e-12)
    with pytest.warns(UserWarning, match="options.. ignored"):
        F.linear_cross_entropy(tc.tensor(x), tc.tensor(W2), tc.tensor(rng.integers(0, C, B)), label_smoothing=0.2,
                               options=nn.LinearCrossEntropyOptions())
    for opts in (None, dict()):  # one sample
        (lt, *_), (lc, *_) = _both(opts, x[0], W2, np.array(3), reduction="none")
        assert tuple(lc.shape) == tuple(lt.shape) == ()
        np.testing.assert_allclose(lc.item(), lt.item(), rtol=1e-12)


def test_gradcheck_both_paths():
    rng = np.random.default_rng(3)
    x = tc.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    W = tc.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = tc.tensor(rng.standard_normal(4), requires_grad=True)
    t = tc.tensor(rng.integers(0, 4, 5))
    for opts in (None, nn.LinearCrossEntropyOptions(batch_chunk_size=2, chunking_method=None,
                                                    allow_retain_graph=True)):
        for red in ("mean", "none"):
            assert tc.gradcheck(lambda x, W, b, red=red, opts=opts: F.linear_cross_entropy(
                x, W, t, linear_bias=b, reduction=red, options=opts), (x, W, b))


def test_module_matches_torch():
    torch.manual_seed(0)
    for kw in (dict(), dict(bias=True), dict(out_features=(2, 3)),
               dict(bias=True, options=dict(batch_chunk_size=3, chunking_method=None))):
        kw_t, kw_c = dict(kw), dict(kw)
        if "options" in kw:
            kw_t["options"] = torch.nn.LinearCrossEntropyOptions(**kw["options"])
            kw_c["options"] = nn.LinearCrossEntropyOptions(**kw["options"])
        mt = torch.nn.LinearCrossEntropyLoss(IN, C, **kw_t).double()
        mc = nn.LinearCrossEntropyLoss(IN, C, dtype=tc.float64, **kw_c)
        assert repr(mc) == repr(mt)
        assert list(mc.state_dict()) == list(mt.state_dict())
        mc.load_state_dict({k: tc.tensor(v.numpy()) for k, v in mt.state_dict().items()})
        x = np.random.default_rng(4).standard_normal((B, IN))
        t = np.random.default_rng(5).integers(0, C, (B, *kw.get("out_features", ())))
        lt, lc = mt(torch.tensor(x), torch.tensor(t)), mc(tc.tensor(x), tc.tensor(t))
        np.testing.assert_allclose(lc.item(), lt.item(), rtol=1e-12)
        lt.backward()
        lc.backward()
        np.testing.assert_allclose(mc.linear.weight.grad.numpy(), mt.linear.weight.grad.numpy(), atol=1e-12)
    w = torch.ones(C, dtype=torch.float64)
    assert list(nn.LinearCrossEntropyLoss(IN, C, weight=tc.ones(C)).state_dict()) == \
        list(torch.nn.LinearCrossEntropyLoss(IN, C, weight=w).state_dict())


def test_errors():
    x, W, t = tc.randn(3, 4), tc.randn(5, 4), tc.tensor([1, 2, 3])
    cases = [(lambda: F.linear_cross_entropy(tc.randn(2, 3, 4), W, t), "dimensionality 1 or 2"),
             (lambda: F.linear_cross_entropy(x, tc.randn(5, 3), t), "in_features"),
             (lambda: F.linear_cross_entropy(x, W, t, linear_bias=tc.randn(4)), "linear_bias shape"),
             (lambda: F.linear_cross_entropy(x, W, tc.randn(3, 5).softmax(1), ignore_index=0), "ignore_index"),
             (lambda: F.linear_cross_entropy(x, W, tc.tensor([1, 2, 9]), options=nn.LinearCrossEntropyOptions()),
              "out of bounds"),
             (lambda: nn.LinearCrossEntropyOptions(acc_policy="fast"), "acc_policy"),
             (lambda: nn.LinearCrossEntropyOptions(chunking_method="rows"), "chunking_method"),
             (lambda: nn.LinearCrossEntropyOptions(batch_chunk_size=0), "batch_chunk_size"),
             (lambda: F.linear_cross_entropy(x, W, t, options=nn.LinearCrossEntropyOptions(
                 batch_chunk_size=1, chunking_method="aspect_ratio")), "pass only one"),
             (lambda: nn.LinearCrossEntropyLoss(4, 5, weight=tc.ones(3)), "weight shape"),
             (lambda: nn.LinearCrossEntropyLoss(4, 5, label_smoothing=2.0), "label_smoothing")]
    for fn, words in cases:
        with pytest.raises(tc.TensorcoreError) as info:
            fn()
        assert words in str(info.value)
    with pytest.raises(ValueError, match="pass only one"):
        TF.linear_cross_entropy(torch.randn(3, 4), torch.randn(5, 4), torch.tensor([1, 2, 3]),
                                options=torch.nn.LinearCrossEntropyOptions(batch_chunk_size=1,
                                                                          chunking_method="aspect_ratio"))
