"""Against PyTorch: FractionalMaxPool2d / 3d (given _random_samples), LPPool3d, F.max_pool3d_with_indices,
F.adaptive_max_pool3d_with_indices, RNNCellBase, AdaptiveLogSoftmaxWithLoss, CrossMapLRN2d."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.nn import functional as F

torch = pytest.importorskip("torch")

FRACTIONAL = [((2, 3, 9, 11), (2, 3), dict(output_size=(4, 5))),
              ((3, 10, 7), 3, dict(output_size=(5, 3))),
              ((2, 2, 10, 8), 2, dict(output_ratio=(0.5, 0.7))),
              ((2, 2, 7, 9, 8), (2, 3, 2), dict(output_size=(3, 4, 5))),
              ((2, 6, 6, 5), 2, dict(output_ratio=(0.6, 0.6)))]


@pytest.mark.parametrize("shape,kernel,size", FRACTIONAL, ids=[str(f[0]) for f in FRACTIONAL])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fractional_max_pool_matches_torch(shape, kernel, size, dtype):
    n = 3 if len(shape) == 5 else 2
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    batch = shape[0] if len(shape) == n + 2 else 1
    samples = rng.random((batch, shape[-n - 1], n)).astype(dtype)
    ft = getattr(torch.nn.functional, f"fractional_max_pool{n}d")
    fc = getattr(F, f"fractional_max_pool{n}d")
    xt, xc = torch.tensor(x, requires_grad=True), tc.tensor(x, requires_grad=True)
    yt, it = ft(xt, kernel, return_indices=True, _random_samples=torch.tensor(samples), **size)
    yc, ic = fc(xc, kernel, return_indices=True, _random_samples=tc.tensor(samples), **size)
    np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(ic.numpy(), it.numpy())
    assert ic.dtype == np.int64
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(g))
    yc.backward(tc.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-6)
    # the module, with the same fixed samples
    mt = getattr(torch.nn, f"FractionalMaxPool{n}d")(kernel, _random_samples=torch.tensor(samples), **size)
    mc = getattr(nn, f"FractionalMaxPool{n}d")(kernel, _random_samples=tc.tensor(samples), **size)
    assert repr(mc) == repr(mt) and list(mc.state_dict()) == list(mt.state_dict()) == ["_random_samples"]
    np.testing.assert_array_equal(mc(tc.tensor(x)).numpy(), mt(torch.tensor(x)).numpy())
    with_idx = getattr(F, f"fractional_max_pool{n}d_with_indices")(tc.tensor(x), kernel,
                                                                    _random_samples=tc.tensor(samples), **size)
    np.testing.assert_array_equal(with_idx[1].numpy(), it.numpy())


def test_fractional_max_pool_random_samples_and_gradcheck():
    x = tc.randn(2, 3, 8, 8, dtype=tc.float64, requires_grad=True)
    y = nn.FractionalMaxPool2d(2, output_size=5)(x)  # samples drawn per call
    assert tuple(y.shape) == (2, 3, 5, 5)
    vals = x.detach().numpy().reshape(2, 3, -1)
    assert np.isin(y.detach().numpy().reshape(2, 3, -1), vals).all()
    samples = tc.rand(2, 3, 2, dtype=tc.float64)
    st = torch.tensor(samples.numpy())  # the module takes one ratio for both axes, as torch's
    np.testing.assert_array_equal(
        nn.FractionalMaxPool2d(2, output_ratio=0.6, _random_samples=samples)(x).detach().numpy(),
        torch.nn.FractionalMaxPool2d(2, output_ratio=0.6, _random_samples=st)(torch.tensor(x.detach().numpy())).numpy())
    assert tc.gradcheck(lambda v: F.fractional_max_pool2d(v, 2, output_size=5, _random_samples=samples), (x,))
    assert tc.gradgradcheck(lambda v: F.fractional_max_pool2d(v, 2, output_size=5, _random_samples=samples), (x,))
    x3 = tc.randn(1, 2, 5, 5, 5, dtype=tc.float64, requires_grad=True)
    s3 = tc.rand(1, 2, 3, dtype=tc.float64)
    assert tc.gradcheck(lambda v: F.fractional_max_pool3d(v, 2, output_size=3, _random_samples=s3), (x3,))


def test_fractional_max_pool_errors():
    x = tc.randn(1, 2, 6, 6)
    cases = [(lambda: F.fractional_max_pool2d(x, 2), "output_size or an output_ratio"),
             (lambda: F.fractional_max_pool2d(x, 3, output_size=5), "too large"),
             (lambda: F.fractional_max_pool2d(tc.randn(6, 6), 2, output_size=3), "3-D"),
             (lambda: F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=tc.rand(1, 3, 2)),
              "_random_samples"),
             (lambda: nn.FractionalMaxPool2d(2), "either an output size"),
             (lambda: nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5), "only one"),
             (lambda: nn.FractionalMaxPool2d(2, output_ratio=1.5), "between 0 and 1")]
    for fn, words in cases:
        with pytest.raises(tc.TensorcoreError, match="ractional") as info:
            fn()
        assert words in str(info.value)


def test_lp_pool3d_matches_torch():
    rng = np.random.default_rng(1)
    x = np.abs(rng.standard_normal((2, 3, 5, 6, 4))) + 0.1
    for norm_type, kernel, stride in ((2, 2, None), (3, (2, 3, 2), 1), (1.5, 2, (1, 2, 1))):
        xt, xc = torch.tensor(x, requires_grad=True), tc.tensor(x, requires_grad=True)
        yt = torch.nn.functional.lp_pool3d(xt, norm_type, kernel, stride)
        yc = F.lp_pool3d(xc, norm_type, kernel, stride)
        np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
        yt.sum().backward()
        yc.sum().backward()
        np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
        mt, mc = torch.nn.LPPool3d(norm_type, kernel, stride), nn.LPPool3d(norm_type, kernel, stride)
        assert repr(mc) == repr(mt)
        np.testing.assert_allclose(mc(tc.tensor(x)).numpy(), mt(torch.tensor(x)).numpy(), rtol=1e-12)
    small = tc.tensor(x[:1, :1, :3, :3, :3], requires_grad=True)
    assert tc.gradcheck(lambda v: F.lp_pool3d(v, 2, 2, 1), (small,))


def test_pool3d_with_indices():
    x = np.random.default_rng(2).standard_normal((1, 2, 5, 6, 4))
    yt, it = torch.nn.functional.max_pool3d_with_indices(torch.tensor(x), 2, 2)
    yc, ic = F.max_pool3d_with_indices(tc.tensor(x), 2, 2)
    np.testing.assert_array_equal(yc.numpy(), yt.numpy())
    np.testing.assert_array_equal(ic.numpy(), it.numpy())
    yt, it = torch.nn.functional.adaptive_max_pool3d_with_indices(torch.tensor(x), (2, 3, 2))
    yc, ic = F.adaptive_max_pool3d_with_indices(tc.tensor(x), (2, 3, 2))
    np.testing.assert_array_equal(yc.numpy(), yt.numpy())
    np.testing.assert_array_equal(ic.numpy(), it.numpy())


def test_rnn_cell_base():
    for cell in (nn.RNNCell(3, 4), nn.LSTMCell(3, 4), nn.GRUCell(3, 4)):
        assert isinstance(cell, nn.RNNCellBase)
    base_t, base_c = torch.nn.RNNCellBase(3, 4, True, 2), nn.RNNCellBase(3, 4, True, 2)
    assert {k: tuple(v.shape) for k, v in base_c.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in base_t.state_dict().items()}
    bound = 1 / np.sqrt(4)
    assert all(np.abs(p.numpy()).max() <= bound for p in base_c.parameters())


def test_adaptive_log_softmax_matches_torch():
    torch.manual_seed(0)
    mt = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 10, 15], div_value=2.0, head_bias=True).double()
    mc = nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 10, 15], div_value=2.0, head_bias=True, dtype=tc.float64)
    assert repr(mc) == repr(mt) and list(mc.state_dict()) == list(mt.state_dict())
    mc.load_state_dict({k: tc.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, 8))
    t = np.array([0, 3, 4, 9, 10, 14, 15, 19, 1, 5, 11, 16])
    xt, xc = torch.tensor(x, requires_grad=True), tc.tensor(x, requires_grad=True)
    ot, oc = mt(xt, torch.tensor(t)), mc(xc, tc.tensor(t))
    assert oc._fields == ("output", "loss")
    np.testing.assert_allclose(oc.output.detach().numpy(), ot.output.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(oc.loss.item(), ot.loss.item(), rtol=1e-12)
    ot.loss.backward()
    oc.loss.backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    for (k, p), q in zip(mt.named_parameters(), mc.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), atol=1e-12, err_msg=k)
    many = rng.standard_normal((64, 8)) * 3
    np.testing.assert_allclose(mc.log_prob(tc.tensor(many)).numpy(), mt.log_prob(torch.tensor(many)).detach().numpy(),
                               rtol=1e-12)
    pred_t = mt.predict(torch.tensor(many)).numpy()
    assert (pred_t >= 4).any()  # some predictions outside the shortlist: that path is exercised
    np.testing.assert_array_equal(mc.predict(tc.tensor(many)).numpy(), pred_t)
    one = mc(tc.tensor(x[0]), tc.tensor(7))
    assert tuple(one.output.shape) == () and abs(one.output.item() - mt(torch.tensor(x[0]),
                                                                          torch.tensor(7)).output.item()) < 1e-12
    xs = tc.tensor(x[:4], requires_grad=True)
    assert tc.gradcheck(lambda v: mc(v, tc.tensor(t[[1, 4, 6, 7]])).output, (xs,))


def test_adaptive_log_softmax_errors():
    with pytest.raises(tc.TensorcoreError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3])
    with pytest.raises(tc.TensorcoreError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [])
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5])
    with pytest.raises(tc.TensorcoreError, match="Target values should be in"):
        m(tc.randn(2, 8), tc.tensor([1, 10]))
    with pytest.raises(tc.TensorcoreError, match="same size in the batch"):
        m(tc.randn(3, 8), tc.tensor([1, 2]))
    with pytest.raises(tc.TensorcoreError, match="multi-target"):
        m(tc.randn(3, 8), tc.tensor([[1, 2]]))


@pytest.mark.parametrize("size", [2, 3, 4, 5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_map_lrn2d_matches_torch(size, dtype):
    rng = np.random.default_rng(size)
    x = rng.standard_normal((2, 6, 3, 4)).astype(dtype)
    mt, mc = torch.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.75, k=1.5), nn.CrossMapLRN2d(size, 0.3, 0.75, 1.5)
    assert repr(mc) == repr(mt)
    xt, xc = torch.tensor(x, requires_grad=True), tc.tensor(x, requires_grad=True)
    yt, yc = mt(xt), mc(xc)
    tol = 1e-12 if dtype is np.float64 else 1e-6
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(x.shape).astype(dtype)
    yt.backward(torch.tensor(g))
    yc.backward(tc.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


def test_cross_map_lrn2d_gradient_is_torchs_not_finite_differences():
    # PyTorch's backward does not differentiate its own forward (see nn/cross_map_lrn.py): neither passes
    x = np.random.default_rng(7).standard_normal((1, 5, 2, 2))
    assert not torch.autograd.gradcheck(torch.nn.CrossMapLRN2d(3, alpha=0.5), (torch.tensor(x, requires_grad=True),),
                                        raise_exception=False)
    with pytest.raises(tc.GradcheckError):
        tc.gradcheck(nn.CrossMapLRN2d(3, alpha=0.5), (tc.tensor(x, requires_grad=True),))
    with pytest.raises(tc.TensorcoreError, match="CrossMapLRN2d: Expected input to be 4D"):
        nn.CrossMapLRN2d(3)(tc.randn(2, 3, 4))


def test_rnn_cell_reprs_match_torch():
    for args in (dict(), dict(bias=False), dict(nonlinearity="relu"), dict(bias=False, nonlinearity="relu")):
        assert repr(nn.RNNCell(3, 4, **args)) == repr(torch.nn.RNNCell(3, 4, **args))
    assert repr(nn.LSTMCell(3, 4, bias=False)) == repr(torch.nn.LSTMCell(3, 4, bias=False))
    assert repr(nn.RNNCellBase(3, 4, True, num_chunks=3)) == repr(torch.nn.RNNCellBase(3, 4, True, num_chunks=3))
    with pytest.raises(tc.TensorcoreError, match="num_chunks"):
        nn.RNNCellBase(3, 4, True, 0)


def test_deprecated_nll_loss2d_and_container():
    rng = np.random.default_rng(8)
    x, t = rng.standard_normal((2, 3, 4, 4)), rng.integers(0, 3, (2, 4, 4))
    for kw in (dict(), dict(reduction="sum"), dict(size_average=False), dict(reduce=False)):
        with pytest.warns(FutureWarning, match="NLLLoss2d"):
            mc = nn.NLLLoss2d(**kw)
        with pytest.warns(FutureWarning):
            mt = torch.nn.NLLLoss2d(**kw)
        assert mc.reduction == mt.reduction and repr(mc) == repr(mt)
        np.testing.assert_allclose(mc(tc.tensor(x), tc.tensor(t)).numpy(), mt(torch.tensor(x), torch.tensor(t)).numpy(),
                                   rtol=1e-12)
    with pytest.warns(FutureWarning, match="nn.Container"):
        box = nn.Container(a=nn.Linear(2, 3), b=nn.ReLU())
    assert list(box.state_dict()) == ["a.weight", "a.bias"] and isinstance(box.b, nn.ReLU)


def test_parameter_namespace():
    import tensorcore.nn.parameter as P

    assert P.Parameter is nn.Parameter and P.UninitializedParameter is nn.UninitializedParameter
    assert P.is_lazy(nn.UninitializedBuffer()) and not P.is_lazy(nn.Parameter(tc.ones(2)))
    assert P.Buffer is nn.Buffer


def test_modules_import_paths_and_factory_kwargs():
    import torch.nn.modules.utils as tu
    from tensorcore.nn.modules.batchnorm import _BatchNorm
    from tensorcore.nn.modules.conv import _ConvNd
    from tensorcore.nn.modules.lazy import LazyModuleMixin
    from tensorcore.nn.modules.utils import _list_with_default, _pair, _quadruple, _reverse_repeat_tuple, _single

    for value in (3, (1, 2), [4, 5]):
        assert _pair(value) == tu._pair(value) and _single(value) == tu._single(value)
        assert _quadruple(value) == tu._quadruple(value)
    assert _reverse_repeat_tuple((1, 2, 3), 2) == tu._reverse_repeat_tuple((1, 2, 3), 2)
    assert _list_with_default([None, 3], [5, 6, 7]) == tu._list_with_default([None, 3], [5, 6, 7])
    assert LazyModuleMixin is nn.LazyModuleMixin and issubclass(nn.LazyConv2d, LazyModuleMixin)
    assert all(isinstance(m, _ConvNd) for m in (nn.Conv1d(2, 2, 1), nn.Conv2d(2, 2, 1), nn.ConvTranspose3d(2, 2, 1)))
    assert all(isinstance(m, _BatchNorm) for m in (nn.BatchNorm1d(2), nn.BatchNorm2d(2), nn.BatchNorm3d(2)))
    import tensorcore.nn.modules as modules

    assert modules.Linear is nn.Linear and modules.CTCLoss is nn.CTCLoss
    kw = dict(device="cpu", factory_kwargs=dict(dtype="float64"))
    assert nn.factory_kwargs(kw) == torch.nn.factory_kwargs(kw) and nn.factory_kwargs(None) == {}
    with pytest.raises(tc.TensorcoreError, match="unexpected kwargs"):
        nn.factory_kwargs(dict(bias=True))
    with pytest.raises(tc.TensorcoreError, match="specified twice"):
        nn.factory_kwargs(dict(dtype="float32", factory_kwargs=dict(dtype="float64")))
