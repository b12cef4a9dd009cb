"""torch.nn.utils.parametrize / parametrizations against PyTorch: registration, the parametrized class,
state_dict keys, `original` kept as the same object, assignment through right_inverse, cached(), removal,
several parametrizations, orthogonal (every map and shape), spectral_norm, weight_norm; gradcheck in float64."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.nn.utils import parametrizations as PZ
from tensorcore.nn.utils import parametrize as P

torch = pytest.importorskip("torch")
TP, TPZ = torch.nn.utils.parametrize, torch.nn.utils.parametrizations


def _pair(lib, *args):
    return lib.nn.Linear(*args).double()


def _copy(src, dst):
    dst.load_state_dict({k: tc.tensor(v.detach().numpy()) for k, v in src.state_dict().items()})


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    return Symmetric()


def _scale(lib, factor):
    class Scale(lib.nn.Module):
        def forward(self, X):
            return X * factor

        def right_inverse(self, X):
            return X / factor

    return Scale()


def test_register_symmetric_like_torch():
    lt, lc = _pair(torch, 3, 3), _pair(tc, 3, 3)
    _copy(lt, lc)
    w = lc.weight
    opt = tc.optim.SGD(lc.parameters(), lr=0.1)
    TP.register_parametrization(lt, "weight", _symmetric(torch))
    P.register_parametrization(lc, "weight", _symmetric(tc))
    assert type(lc).__name__ == "ParametrizedLinear" and isinstance(lc, nn.Linear)
    assert P.type_before_parametrizations(lc) is nn.Linear and P.type_before_parametrizations(nn.ReLU()) is nn.ReLU
    assert P.is_parametrized(lc) and P.is_parametrized(lc, "weight") and not P.is_parametrized(lc, "bias")
    assert repr(lc).replace("tensorcore", "torch") == repr(lt)
    assert list(lc.state_dict()) == list(lt.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert lc.parametrizations.weight.original is w  # the same Parameter: the optimizer made before has it
    np.testing.assert_allclose(lc.weight.detach().numpy(), lt.weight.detach().numpy())
    x = np.random.default_rng(0).standard_normal((4, 3))
    yt, yc = lt(torch.tensor(x)), lc(tc.tensor(x))
    (yt ** 2).sum().backward()
    (yc ** 2).sum().backward()
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), lt.parametrizations.weight.original.grad.numpy(), atol=1e-12)
    opt.step()
    w_sym = lc.weight.detach().numpy()
    np.testing.assert_allclose(w_sym, w_sym.T)
    # assignment goes through right_inverse
    target = np.arange(9.0).reshape(3, 3)
    lt.weight = torch.tensor(target + target.T)
    lc.weight = tc.tensor(target + target.T)
    np.testing.assert_allclose(lc.parametrizations.weight.original.detach().numpy(),
                               lt.parametrizations.weight.original.detach().numpy())
    np.testing.assert_allclose(lc.weight.detach().numpy(), target + target.T)


def test_several_parametrizations_cached_and_removal():
    lt, lc = _pair(torch, 3, 2), _pair(tc, 3, 2)
    _copy(lt, lc)
    for lib, m, reg in ((torch, lt, TP), (tc, lc, P)):
        reg.register_parametrization(m, "weight", _scale(lib, 2.0))
        reg.register_parametrization(m, "weight", _scale(lib, 3.0))
        reg.register_parametrization(m, "bias", _scale(lib, 0.5))
    assert repr(lc).replace("tensorcore", "torch") == repr(lt)
    assert list(lc.state_dict()) == list(lt.state_dict())
    np.testing.assert_allclose(lc.weight.detach().numpy(), lt.weight.detach().numpy())
    calls = []

    class Counting(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X

    P.register_parametrization(lc, "weight", Counting())
    calls.clear()  # (registration checked the new parametrization once)
    with P.cached():
        a, b = lc.weight, lc.weight
        assert a is b and len(calls) == 1
    _ = lc.weight
    assert len(calls) == 2
    original = lc.parametrizations.weight.original
    value = lc.weight.detach().numpy()
    P.remove_parametrizations(lc, "weight")
    assert lc.weight is original and isinstance(lc.weight, nn.Parameter)  # the same object, now the value
    np.testing.assert_allclose(lc.weight.detach().numpy(), value)
    assert type(lc).__name__ == "ParametrizedLinear"  # bias is still parametrized
    P.remove_parametrizations(lc, "bias", leave_parametrized=False)
    TP.remove_parametrizations(lt, "bias", leave_parametrized=False)
    np.testing.assert_allclose(lc.bias.detach().numpy(), lt.bias.detach().numpy())
    assert type(lc) is nn.Linear and not hasattr(lc, "parametrizations") and list(lc.state_dict()) == ["weight",
                                                                                                      "bias"]


def test_parametrized_buffer():
    bt, bc = torch.nn.BatchNorm1d(3).double(), nn.BatchNorm1d(3, dtype=tc.float64)
    TP.register_parametrization(bt, "running_var", _scale(torch, 2.0))
    P.register_parametrization(bc, "running_var", _scale(tc, 2.0))
    assert list(bc.state_dict()) == list(bt.state_dict())
    assert "parametrizations.running_var.original" in bc.state_dict()
    np.testing.assert_allclose(bc.running_var.numpy(), bt.running_var.numpy())


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder", None])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_matches_torch(orthogonal_map, shape):
    torch.manual_seed(0)
    mt, mc = _pair(torch, shape[1], shape[0]), _pair(tc, shape[1], shape[0])
    _copy(mt, mc)
    TPZ.orthogonal(mt, orthogonal_map=orthogonal_map)
    PZ.orthogonal(mc, orthogonal_map=orthogonal_map)
    assert list(mc.state_dict()) == list(mt.state_dict())
    assert "parametrizations.weight.0.base" in mc.state_dict()
    w = mc.weight.detach().numpy()
    small = min(shape)
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    if shape[0] == shape[1]:  # no random completion: the same weight without copying anything
        np.testing.assert_allclose(w, mt.weight.detach().numpy(), atol=1e-12)
    with torch.no_grad():
        mt.parametrizations.weight.original.add_(0.1 * torch.randn(shape, dtype=torch.float64))
    _copy(mt, mc)
    x = np.random.default_rng(1).standard_normal((2, shape[1]))
    yt, yc = mt(torch.tensor(x)), mc(tc.tensor(x))
    (yt ** 2).sum().backward()
    (yc ** 2).sum().backward()
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(mc.parametrizations.weight.original.grad.numpy(),
                               mt.parametrizations.weight.original.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_householder_without_trivialization(shape):
    torch.manual_seed(0)
    mt, mc = _pair(torch, shape[1], shape[0]), _pair(tc, shape[1], shape[0])
    _copy(mt, mc)
    TPZ.orthogonal(mt, orthogonal_map="householder", use_trivialization=False)
    PZ.orthogonal(mc, orthogonal_map="householder", use_trivialization=False)
    assert list(mc.state_dict()) == list(mt.state_dict())
    np.testing.assert_allclose(mc.parametrizations.weight.original.detach().numpy(),
                               mt.parametrizations.weight.original.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(mc.weight.detach().numpy(), mt.weight.detach().numpy(), atol=1e-12)
    # cayley / matrix_exp without trivialization: registered (the original kept), assigning refuses, as torch
    for lib, orth in ((torch, TPZ.orthogonal), (tc, PZ.orthogonal)):
        m = orth(_pair(lib, 3, 3), orthogonal_map="cayley", use_trivialization=False)
        with pytest.raises(NotImplementedError):
            m.weight = lib.eye(3, dtype=lib.float64)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_gradcheck(orthogonal_map):
    m = _pair(tc, 3, 4)
    PZ.orthogonal(m, orthogonal_map=orthogonal_map)
    plist = m.parametrizations.weight
    x = tc.tensor(np.random.default_rng(2).standard_normal((4, 3)) * 0.3, requires_grad=True)
    assert tc.gradcheck(lambda v: plist[0](v), (x,))


def test_weight_norm_matches_torch():
    for dim in (0, 1, None):
        ct, cc = torch.nn.Conv1d(2, 3, 3).double(), nn.Conv1d(2, 3, 3, dtype=tc.float64)
        _copy(ct, cc)
        TPZ.weight_norm(ct, dim=dim)
        PZ.weight_norm(cc, dim=dim)
        assert list(cc.state_dict()) == list(ct.state_dict()) == ["bias", "parametrizations.weight.original0",
                                                                  "parametrizations.weight.original1"]
        for k, v in ct.state_dict().items():
            np.testing.assert_allclose(cc.state_dict()[k].numpy(), v.numpy(), atol=1e-12, err_msg=k)
        x = np.random.default_rng(3).standard_normal((2, 2, 5))
        yt, yc = ct(torch.tensor(x)), cc(tc.tensor(x))
        (yt ** 2).sum().backward()
        (yc ** 2).sum().backward()
        np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12)
        for i in (0, 1):
            np.testing.assert_allclose(getattr(cc.parametrizations.weight, f"original{i}").grad.numpy(),
                                       getattr(ct.parametrizations.weight, f"original{i}").grad.numpy(), atol=1e-10)
    g = tc.tensor(np.random.default_rng(4).standard_normal((3, 1, 1)), requires_grad=True)
    v = tc.tensor(np.random.default_rng(5).standard_normal((3, 2, 3)), requires_grad=True)
    assert tc.gradcheck(lambda g, v: cc.parametrizations.weight[0](g, v), (g, v))
    with pytest.raises(tc.TensorcoreError, match="remove_parametrizations"):
        P.remove_parametrizations(cc, "weight", leave_parametrized=False)
    P.remove_parametrizations(cc, "weight")
    TP.remove_parametrizations(ct, "weight")
    assert type(cc) is nn.Conv1d and list(cc.state_dict()) == list(ct.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(cc.weight.detach().numpy(), ct.weight.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("kind", ["Linear", "ConvTranspose2d"])
def test_spectral_norm_matches_torch(kind):
    args = (4, 3) if kind == "Linear" else (3, 2, 2)
    mt, mc = getattr(torch.nn, kind)(*args).double(), getattr(nn, kind)(*args, dtype=tc.float64)
    _copy(mt, mc)
    TPZ.spectral_norm(mt)
    PZ.spectral_norm(mc)
    keys = ["bias", "parametrizations.weight.original", "parametrizations.weight.0._u", "parametrizations.weight.0._v"]
    assert list(mc.state_dict()) == list(mt.state_dict()) == keys
    assert mc.parametrizations.weight[0].dim == mt.parametrizations.weight[0].dim == (1 if "Transpose" in kind else 0)
    _copy(mt, mc)  # the random start vectors of u and v
    shape = (2, 4) if kind == "Linear" else (1, 3, 3, 3)
    x = np.random.default_rng(6).standard_normal(shape)
    for mode in ("train", "eval"):
        getattr(mt, mode)(), getattr(mc, mode)()
        yt, yc = mt(torch.tensor(x)), mc(tc.tensor(x))
        np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12)
        for k, v in mt.state_dict().items():
            np.testing.assert_allclose(mc.state_dict()[k].numpy(), v.numpy(), atol=1e-12, err_msg=k)
    mt.zero_grad(), mc.zero_grad()
    (mt(torch.tensor(x)) ** 2).sum().backward()
    (mc(tc.tensor(x)) ** 2).sum().backward()
    np.testing.assert_allclose(mc.parametrizations.weight.original.grad.numpy(),
                               mt.parametrizations.weight.original.grad.numpy(), atol=1e-10)
    sn = mc.parametrizations.weight[0]  # eval: u, v fixed, so W / sigma(W) is a plain function of W
    w = tc.tensor(mc.parametrizations.weight.original.detach().numpy(), requires_grad=True)
    assert tc.gradcheck(sn, (w,))
    sigma = np.linalg.svd(mc.weight.detach().numpy().reshape(mc.weight.shape[sn.dim], -1) if sn.dim == 0 else
                          np.moveaxis(mc.weight.detach().numpy(), 1, 0).reshape(mc.weight.shape[1], -1),
                          compute_uv=False)
    assert abs(sigma[0] - 1) < 0.2  # close to spectral norm 1 after 16 power iterations


def test_bad_input_raises():
    lin = _pair(tc, 3, 3)
    with pytest.raises(tc.TensorcoreError, match="register_parametrization.*'missing'"):
        P.register_parametrization(lin, "missing", _scale(tc, 2.0))

    class Shape(nn.Module):
        def forward(self, X):
            return X[:2]

    with pytest.raises(tc.TensorcoreError, match="may not change the shape"):
        P.register_parametrization(lin, "weight", Shape())
    assert type(lin) is nn.Linear and "weight" in lin._parameters  # nothing changed
    with pytest.raises(tc.TensorcoreError, match="remove_parametrizations"):
        P.remove_parametrizations(lin, "weight")
    with pytest.raises(tc.TensorcoreError, match="orthogonal_map"):
        PZ.orthogonal(lin, orthogonal_map="qr")
    with pytest.raises(tc.TensorcoreError, match="orthogonal: expected a matrix"):
        PZ.orthogonal(lin, "bias")
    with pytest.raises(tc.TensorcoreError, match="spectral_norm.*n_power_iterations"):
        PZ.spectral_norm(_pair(tc, 3, 3), n_power_iterations=0)
    with pytest.raises(tc.TensorcoreError, match="weight_norm.*'nope'"):
        PZ.weight_norm(lin, "nope")
    PZ.orthogonal(lin)
    with pytest.raises(tc.TensorcoreError, match="orthogonal: expected"):
        lin.weight = tc.zeros(2, 2, dtype=tc.float64)


def test_old_weight_norm_warns_as_torch():
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        torch.nn.utils.weight_norm(torch.nn.Linear(2, 3))
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        nn.utils.weight_norm(nn.Linear(2, 3))
