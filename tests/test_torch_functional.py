"""torch.nn.functional's losses, distances and normalization: values and gradients against PyTorch (float64)."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional
R = np.random.default_rng(0)
X, Y, Z = R.standard_normal((4, 5)), R.standard_normal((4, 5)), R.standard_normal((4, 5))
P = R.uniform(0.02, 0.98, (4, 5))
SIGNS = np.where(R.standard_normal((4, 5)) > 0, 1.0, -1.0)
SIGN4 = np.array([1.0, -1.0, -1.0, 1.0])
COUNTS = R.poisson(2.0, (4, 5)).astype(np.float64)


def _compare(fn, inputs, consts=(), kwargs=None, rtol=1e-10):
    """fn(lib_functional, *inputs, *consts, **kwargs) in both libraries: values and input gradients agree."""
    kwargs = kwargs or {}
    ours = [tc.tensor(a, requires_grad=True) for a in inputs]
    theirs = [torch.tensor(a, requires_grad=True) for a in inputs]
    out = fn(F, *ours, *[tc.tensor(c) for c in consts], **kwargs)
    tout = fn(TF, *theirs, *[torch.tensor(c) for c in consts], **kwargs)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=rtol, atol=1e-12)
    weights = R.standard_normal(tout.shape)
    (out * tc.tensor(weights)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        assert (a.grad is None) == (b.grad is None)
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-12)


REDUCTIONS = ["mean", "sum", "none"]
CASES = {
    "l1_loss": (lambda f, x, y, **k: f.l1_loss(x, y, **k), (X, Y), ()),
    "l1_loss-weight": (lambda f, x, y, w, **k: f.l1_loss(x, y, weight=w, **k), (X, Y), (P,)),
    "smooth_l1_loss": (lambda f, x, y, **k: f.smooth_l1_loss(x, y, beta=0.6, **k), (X, Y), ()),
    "smooth_l1_loss-beta0": (lambda f, x, y, **k: f.smooth_l1_loss(x, y, beta=0.0, **k), (X, Y), ()),
    "huber_loss": (lambda f, x, y, **k: f.huber_loss(x, y, delta=0.7, **k), (X, Y), ()),
    "huber_loss-weight": (lambda f, x, y, w, **k: f.huber_loss(x, y, delta=0.7, weight=w, **k), (X, Y), (P,)),
    "kl_div": (lambda f, x, t, **k: f.kl_div(x, t, **k), (np.log(P),), (np.where(P > 0.3, P, 0.0),)),
    "kl_div-log_target": (lambda f, x, t, **k: f.kl_div(x, t, log_target=True, **k), (X, Y), ()),
    "binary_cross_entropy": (lambda f, p, t, **k: f.binary_cross_entropy(p, t, **k), (P,), ((P > 0.5) * 1.0,)),
    "binary_cross_entropy-weight": (lambda f, p, t, w, **k: f.binary_cross_entropy(p, t, weight=w, **k), (P,),
                                    (P[::-1].copy(), np.arange(1.0, 6.0))),
    "binary_cross_entropy_with_logits": (lambda f, x, t, w, **k: f.binary_cross_entropy_with_logits(
        x, t, pos_weight=w, **k), (3 * X,), (P, np.arange(1.0, 6.0))),
    "soft_margin_loss": (lambda f, x, t, **k: f.soft_margin_loss(x, t, **k), (X,), (SIGNS,)),
    "multilabel_soft_margin_loss": (lambda f, x, t, w, **k: f.multilabel_soft_margin_loss(x, t, weight=w, **k), (X,),
                                    ((SIGNS > 0) * 1.0, np.arange(1.0, 6.0))),
    "margin_ranking_loss": (lambda f, a, b, t, **k: f.margin_ranking_loss(a, b, t, margin=0.3, **k), (X[0], Y[0]),
                            (SIGNS[0],)),
    "hinge_embedding_loss": (lambda f, x, t, **k: f.hinge_embedding_loss(x, t, margin=0.8, **k), (X,), (SIGNS,)),
    "cosine_embedding_loss": (lambda f, a, b, t, **k: f.cosine_embedding_loss(a, b, t, margin=0.1, **k), (X, Y),
                              (SIGN4,)),
    "triplet_margin_loss": (lambda f, a, p, n, **k: f.triplet_margin_loss(a, p, n, margin=1.5, **k), (X, Y, Z), ()),
    "triplet_margin_loss-swap-p1": (lambda f, a, p, n, **k: f.triplet_margin_loss(a, p, n, p=1, swap=True, **k),
                                    (X, Y, Z), ()),
    "poisson_nll_loss": (lambda f, x, t, **k: f.poisson_nll_loss(x, t, **k), (X,), (COUNTS,)),
    "poisson_nll_loss-full": (lambda f, x, t, **k: f.poisson_nll_loss(x, t, full=True, **k), (X,), (COUNTS,)),
    "poisson_nll_loss-rate": (lambda f, x, t, **k: f.poisson_nll_loss(x, t, log_input=False, **k), (P,), (COUNTS,)),
    "gaussian_nll_loss": (lambda f, x, t, v, **k: f.gaussian_nll_loss(x, t, v, **k), (X, Y, P), ()),
    "gaussian_nll_loss-per-sample-var-full": (lambda f, x, t, v, **k: f.gaussian_nll_loss(x, t, v, full=True, **k),
                                              (X, Y, P[:, 0]), ()),
    "gaussian_nll_loss-clamped": (lambda f, x, t, v, **k: f.gaussian_nll_loss(x, t, v, eps=0.5, **k), (X, Y, P), ()),
    "cross_entropy-label_smoothing-ignore_index": (lambda f, x, t, **k: f.cross_entropy(
        x, t, label_smoothing=0.2, ignore_index=2, **k), (X,), (np.array([0, 2, 4, 1]),)),
    "cross_entropy-probabilities-smoothing": (lambda f, x, t, **k: f.cross_entropy(x, t, label_smoothing=0.1, **k),
                                              (X,), (P / P.sum(1, keepdims=True),)),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label", sorted(CASES))
def test_loss_matches_torch(label, reduction):
    fn, inputs, consts = CASES[label]
    _compare(fn, inputs, consts, {"reduction": reduction})


def test_kl_div_batchmean_and_legacy_flags_match_torch():
    _compare(lambda f, x, t: f.kl_div(x, t, reduction="batchmean"), (np.log(P),), (P[::-1].copy(),))
    for sa, red in [(False, None), (None, False), (True, True)]:
        legacy = {"size_average": sa, "reduce": red}
        _compare(lambda f, x, y, **k: f.l1_loss(x, y, **k), (X, Y), (), legacy)
        _compare(lambda f, x, t, **k: f.soft_margin_loss(x, t, **k), (X,), (SIGNS,), legacy)


@pytest.mark.parametrize("call", [
    lambda f, x, y: f.normalize(x),
    lambda f, x, y: f.normalize(x, p=1.0, dim=0, eps=0.5),
    lambda f, x, y: f.cosine_similarity(x, y),
    lambda f, x, y: f.cosine_similarity(x, y[:1], dim=1, eps=1e-3),
    lambda f, x, y: f.cosine_similarity(x, y, dim=0),
    lambda f, x, y: f.pairwise_distance(x, y),
    lambda f, x, y: f.pairwise_distance(x, y, p=3.0, keepdim=True),
])
def test_distances_match_torch(call):
    _compare(call, (X, Y))


def test_zero_vectors_are_clamped_as_torch():
    zero = np.zeros((2, 3))
    _compare(lambda f, x, y: f.cosine_similarity(x, y), (zero, X[:2, :3]))
    _compare(lambda f, x: f.normalize(x), (zero,))


def test_bad_arguments_are_named():
    x = tc.tensor(X)
    with pytest.raises(tc.TensorcoreError, match="reduction"):
        F.huber_loss(x, x, reduction="average")
    with pytest.raises(tc.TensorcoreError, match="smooth_l1_loss"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(tc.TensorcoreError, match="between 0 and 1"):
        F.binary_cross_entropy(x, x)
    with pytest.raises(tc.TensorcoreError, match="l1_loss.*shape"):
        F.l1_loss(x, tc.tensor(X[0]))
    with pytest.raises(tc.TensorcoreError, match="negative"):
        F.gaussian_nll_loss(x, x, tc.tensor(-P))
    with pytest.raises(tc.TensorcoreError, match="out="):
        F.normalize(x, out=x)


MODULES = [
    ("SmoothL1Loss", {"beta": 0.5}, (X, Y)), ("HuberLoss", {"delta": 0.3, "reduction": "sum"}, (X, Y)),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, (X, Y)), ("SoftMarginLoss", {}, (X, SIGNS)),
    ("MultiLabelSoftMarginLoss", {}, (X, (SIGNS > 0) * 1.0)), ("MarginRankingLoss", {"margin": 0.2},
                                                               (X[0], Y[0], SIGNS[0])),
    ("HingeEmbeddingLoss", {"margin": 2.0}, (X, SIGNS)), ("CosineEmbeddingLoss", {"margin": 0.2}, (X, Y, SIGN4)),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0}, (X, Y, Z)), ("PoissonNLLLoss", {"full": True}, (X, COUNTS)),
    ("GaussianNLLLoss", {"full": True}, (X, Y, P)), ("CosineSimilarity", {"dim": 0}, (X, Y)),
    ("PairwiseDistance", {"p": 1.5}, (X, Y)), ("BCELoss", {"weight": np.arange(1.0, 6.0)}, (P, (P > 0.4) * 1.0)),
    ("L1Loss", {"reduction": "none"}, (X, Y)),
]


@pytest.mark.parametrize("name,kw,args", MODULES, ids=[m[0] for m in MODULES])
def test_loss_modules_match_torch(name, kw, args):
    def build(lib, tensor):
        return getattr(lib.nn, name)(**{k: tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})

    ours = build(tc, tc.tensor)(*[tc.tensor(a) for a in args])
    theirs = build(torch, torch.tensor)(*[torch.tensor(a) for a in args])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)
    assert isinstance(build(tc, tc.tensor), nn.Module)


PADS = [((1, 2), "constant", 3, 0.5), ((1, -1, -2, 2), "constant", 4, None), ((0, 0, 1, 1, 2, 0), "constant", 3, None),
        ((2, 1), "reflect", 3, None), ((1, 2), "reflect", 2, None), ((1, 1, 2, 0), "reflect", 4, None),
        ((1, 1, 2, 0), "reflect", 3, None), ((1, 0, 0, 1, 1, 1), "reflect", 4, None),
        ((3, 1), "replicate", 3, None), ((0, 2, 1, 3), "replicate", 4, None), ((1, 1, 1, 1, 1, 1), "replicate", 5,
                                                                                None),
        ((4, 1), "circular", 3, None), ((1, 2, 3, 0), "circular", 4, None), ((2, 0, 1, 1, 0, 1), "circular", 5, None)]


@pytest.mark.parametrize("pad,mode,ndim,value", PADS)
def test_pad_matches_torch(pad, mode, ndim, value):
    x = R.standard_normal((2, 3, 4, 5, 4)[:ndim])
    _compare(lambda f, t: f.pad(t, pad, mode=mode, value=value), (x,))
    name = {"constant": "ConstantPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad",
            "circular": "CircularPad"}[mode] + f"{len(pad) // 2}d"
    args = (pad,) if mode != "constant" else (pad, 0.0 if value is None else value)
    ours, theirs = getattr(nn, name)(*args)(tc.tensor(x)), getattr(torch.nn, name)(*args)(torch.tensor(x))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_pad_errors_are_named():
    x = tc.tensor(R.standard_normal((2, 3, 4)))
    for bad in [((1,), {}), ((5, 0), {"mode": "reflect"}), ((1, 1), {"mode": "wrap"}), ((1, 1, 1, 1, 1, 1, 1, 1), {}),
                ((1, 1), {"mode": "reflect", "value": 2.0}), ((1, 1, 1, 1, 1, 1), {"mode": "replicate"})]:
        with pytest.raises(tc.TensorcoreError, match="pad"):
            F.pad(x, bad[0], **bad[1])


def test_one_hot_is_int64_as_torch():
    labels = np.array([[0, 3], [2, 1]])
    for k in ({}, {"num_classes": 6}):
        ours, theirs = F.one_hot(tc.tensor(labels), **k), TF.one_hot(torch.tensor(labels), **k)
        assert ours.dtype == tc.int64 and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(tc.TensorcoreError, match="one_hot"):
        F.one_hot(tc.tensor(labels), 3)
    with pytest.raises(tc.TensorcoreError, match="one_hot"):
        F.one_hot(tc.tensor([0.0, 1.0]))


POOLS = [((3, 2, 0), (7, 6)), ((3, 2, 1), (8, 5)), ((2, 2, 0), (5, 5)), ((3, 3, 1), (7, 8)), ((2, 3, 1), (4, 7)),
         (((3, 2), (2, 3), (1, 0)), (6, 8))]


@pytest.mark.parametrize("geometry,size", POOLS)
@pytest.mark.parametrize("ceil_mode", [True, False])
def test_max_and_avg_pool_ceil_mode_match_torch(geometry, size, ceil_mode):
    k, s, p = geometry
    x = R.permutation(2 * 3 * size[0] * size[1]).reshape(2, 3, *size) * 0.1  # distinct: no ties
    _compare(lambda f, t: f.max_pool2d(t, k, s, p, ceil_mode=ceil_mode), (x,))
    ours = F.max_pool2d(tc.tensor(x), k, s, p, ceil_mode=ceil_mode, return_indices=True)[1]
    theirs = TF.max_pool2d(torch.tensor(x), k, s, p, ceil_mode=ceil_mode, return_indices=True)[1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for include in (True, False):
        _compare(lambda f, t, **kw: f.avg_pool2d(t, k, s, p, ceil_mode=ceil_mode, **kw), (x,), (),
                 {"count_include_pad": include})
    mod = nn.MaxPool2d(k, s, p, ceil_mode=ceil_mode)(tc.tensor(x))
    assert mod.shape == tuple(torch.nn.MaxPool2d(k, s, p, ceil_mode=ceil_mode)(torch.tensor(x)).shape)


@pytest.mark.parametrize("kw", [dict(stride=1, dilation=2, output_padding=1),
                                dict(stride=2, dilation=3, output_padding=2),
                                dict(stride=(1, 2), dilation=(2, 1), output_padding=(1, 1), padding=1),
                                dict(stride=1, dilation=3, output_padding=2, padding=2)])
def test_conv_transpose2d_backward_with_output_padding_at_least_stride(kw):
    x, w = R.standard_normal((2, 2, 4, 3)), R.standard_normal((2, 3, 3, 2))
    _compare(lambda f, a, b: f.conv_transpose2d(a, b, **kw), (x, w))
    a, b = tc.tensor(x[:1, :, :3], requires_grad=True), tc.tensor(w, requires_grad=True)
    assert tc.gradgradcheck(lambda a, b: F.conv_transpose2d(a, b, **kw), (a, b))
