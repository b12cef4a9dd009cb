"""pixel_shuffle, interpolate, dropout1d/3d, alpha dropout and instance_norm against PyTorch (values, gradients,
modules); random masks are checked for their distribution, as their streams differ from PyTorch's."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional
R = np.random.default_rng(0)
X = R.standard_normal((2, 8, 3, 5))


def _compare(fn, x, rtol=1e-10):
    a, b = tc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = fn(F, a), fn(TF, b)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=1e-12)
    g = R.standard_normal(ty.shape)
    (y * tc.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("call,x", [
    (lambda f, t: f.pixel_shuffle(t, 2), X), (lambda f, t: f.pixel_unshuffle(t, 2), R.standard_normal((2, 3, 4, 6))),
    (lambda f, t: f.pixel_shuffle(t, 2), X[0]),
    (lambda f, t: f.interpolate(t, size=(7, 4)), X), (lambda f, t: f.interpolate(t, scale_factor=(1.5, 0.7)), X),
    (lambda f, t: f.interpolate(t, scale_factor=2, mode="bilinear"), X),
    (lambda f, t: f.interpolate(t, size=(2, 9), mode="bilinear", align_corners=True), X),
    (lambda f, t: f.interpolate(t, size=(5, 8), mode="bilinear", align_corners=False), X),
    (lambda f, t: f.interpolate(t, scale_factor=2.5, mode="linear"), X[:, :, 0]),
    (lambda f, t: f.interpolate(t, size=(3, 4, 5), mode="trilinear", align_corners=True),
     R.standard_normal((1, 2, 2, 3, 4))),
    (lambda f, t: f.interpolate(t, scale_factor=(2, 1, 3)), R.standard_normal((1, 2, 2, 3, 4))),
    (lambda f, t: f.interpolate(t, size=(7, 3), mode="nearest-exact"), X),
    (lambda f, t: f.interpolate(t, scale_factor=(1.7, 0.6), mode="nearest-exact"), X),
    (lambda f, t: f.interpolate(t, size=(2, 3), mode="area"), X),
    (lambda f, t: f.interpolate(t, scale_factor=0.5, mode="area"), X[:, :, :, :4]),
    (lambda f, t: f.interpolate(t, size=3, mode="area"), X[:, :, 0]),
    (lambda f, t: f.interpolate(t, size=(7, 9), mode="bicubic"), X),
    (lambda f, t: f.interpolate(t, scale_factor=(0.7, 1.5), mode="bicubic", align_corners=True), X),
    (lambda f, t: f.interpolate(t, size=(2, 2), mode="bicubic"), X),
])
def test_resampling_matches_torch(call, x):
    _compare(call, x)


def test_instance_norm_matches_torch_with_running_stats():
    w, b = R.standard_normal(8), R.standard_normal(8)
    rm, rv = tc.zeros(8, dtype=tc.float64), tc.ones(8, dtype=tc.float64)
    trm, trv = torch.zeros(8, dtype=torch.float64), torch.ones(8, dtype=torch.float64)
    _compare(lambda f, t: f.instance_norm(t, *((rm, rv, tc.tensor(w), tc.tensor(b)) if f is F else
                                               (trm, trv, torch.tensor(w), torch.tensor(b))), momentum=0.3), X)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)
    _compare(lambda f, t: f.instance_norm(t, *((rm, rv) if f is F else (trm, trv)), use_input_stats=False), X)
    ours, theirs = nn.InstanceNorm2d(8, affine=True, track_running_stats=True).double(), \
        torch.nn.InstanceNorm2d(8, affine=True, track_running_stats=True).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        np.testing.assert_allclose(ours(tc.tensor(X)).numpy(), theirs(torch.tensor(X)).detach().numpy(), rtol=1e-10)


def test_modules_match_torch():
    for name, args, x in [("PixelShuffle", (2,), X), ("PixelUnshuffle", (1,), X), ("Upsample", ((4, 6),), X),
                          ("UpsamplingBilinear2d", (None, 2), X), ("UpsamplingNearest2d", ((5, 5),), X)]:
        ours, theirs = getattr(nn, name)(*args)(tc.tensor(x)), getattr(torch.nn, name)(*args)(torch.tensor(x))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, err_msg=name)
    for name, x in [("Dropout1d", X[:, :, 0]), ("Dropout3d", X[None]), ("AlphaDropout", X),
                    ("FeatureAlphaDropout", X)]:
        assert np.array_equal(getattr(nn, name)(0.3).eval()(tc.tensor(x)).numpy(), x)


def test_channel_dropout_drops_whole_channels():
    tc.manual_seed(0)
    y = F.dropout1d(tc.ones(400, 50, 6, dtype=tc.float64), 0.3).numpy()
    assert np.allclose(np.unique(y), [0.0, 1 / 0.7])
    assert (y.min(axis=2) == y.max(axis=2)).all() and 0.25 < (y[:, :, 0] == 0).mean() < 0.35
    y3 = F.dropout3d(tc.ones(300, 20, 2, 2, 2), 0.5).numpy()
    assert (y3.reshape(300, 20, -1).min(2) == y3.reshape(300, 20, -1).max(2)).all()
    assert np.array_equal(F.dropout1d(tc.tensor(X[:, :, 0]), 0.5, training=False).numpy(), X[:, :, 0])
    with pytest.raises(tc.TensorcoreError, match="dropout1d"):
        F.dropout1d(tc.ones(2, 3, 4, 5), 0.5)
    with pytest.raises(tc.TensorcoreError, match="between 0 and 1"):
        F.dropout3d(tc.ones(2, 3, 4, 5, 6), 1.5)


def test_alpha_dropout_keeps_selu_statistics_as_torch():
    tc.manual_seed(0)
    z = np.random.default_rng(1).standard_normal(400_000)
    ours = F.alpha_dropout(tc.tensor(z), 0.2, training=True).numpy()
    theirs = TF.alpha_dropout(torch.tensor(z), 0.2, training=True).numpy()
    for stat in (np.mean, np.std):
        assert abs(stat(ours) - stat(theirs)) < 0.01
    assert np.array_equal(F.alpha_dropout(tc.tensor(z), 0.2).numpy(), z)  # training=False by default, as PyTorch
    # kept values are a z + b and every dropped one is the same constant a alpha' + b, as in torch
    alpha = -1.7580993408473766
    a = ((1 - 0.2) * (1 + 0.2 * alpha**2)) ** -0.5
    b = -a * alpha * 0.2
    for out in (ours, theirs):
        kept = np.isclose(out, a * z + b, rtol=0, atol=1e-12)
        assert 0.19 < 1 - kept.mean() < 0.21
        assert np.allclose(out[~kept], a * alpha + b, rtol=0, atol=1e-12)
    f = F.feature_alpha_dropout(tc.ones(200, 30, 4), 0.5, training=True).numpy()
    assert (f.min(axis=2) == f.max(axis=2)).all()


def test_interpolate_errors_are_named():
    with pytest.raises(tc.TensorcoreError, match="interpolate"):
        F.interpolate(tc.tensor(X), size=4, scale_factor=2)
    with pytest.raises(tc.TensorcoreError, match="not supported"):
        F.interpolate(tc.tensor(X), scale_factor=2, mode="lanczos")
    with pytest.raises(tc.TensorcoreError, match="align_corners"):
        F.interpolate(tc.tensor(X), scale_factor=2, align_corners=True)
    with pytest.raises(tc.TensorcoreError, match="pixel_shuffle"):
        F.pixel_shuffle(tc.tensor(X[:, :7]), 2)


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=2, stride=2),
                                dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(2, 1))])
def test_unfold_and_fold_match_torch(kw):
    x = R.standard_normal((2, 3, 7, 6))
    _compare(lambda f, t: f.unfold(t, **kw), x)
    cols = R.standard_normal(tuple(TF.unfold(torch.tensor(x), **kw).shape))
    _compare(lambda f, t: f.fold(t, (7, 6), **kw), cols)
    ours = nn.Fold((7, 6), **kw)(nn.Unfold(**kw)(tc.tensor(x)))
    theirs = torch.nn.Fold((7, 6), **kw)(torch.nn.Unfold(**kw)(torch.tensor(x)))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    with pytest.raises(tc.TensorcoreError, match="fold"):
        F.fold(tc.tensor(cols[:, :, :-1]), (7, 6), **kw)
