"""torch's top-level in-place functions (torch.acos_, torch.xlogy_, torch.dropout_ ...) and the derived Tensor
in-place methods (addmv_, addr_, renorm_, polygamma_ ...): same values as torch, written into the input (same
object, version bumped), gradients through a non-leaf as torch's, errors as tc.TensorcoreError."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")


def _pair(array, dtype="float64"):
    return tc.tensor(np.asarray(array, dtype=dtype)), torch.tensor(np.asarray(array, dtype=dtype))


_R = np.random.default_rng(0)
_UNIT = _R.uniform(-0.9, 0.9, (3, 4))
_POS = _R.uniform(0.2, 3.0, (3, 4))
_BIG = _R.uniform(1.2, 3.0, (3, 4))
_ANY = _R.normal(size=(3, 4))
_PROB = _R.uniform(0.1, 0.9, (3, 4))

# name, the input's values, the other tensor arguments' values, scalar arguments
UNARY_CASES = [
    ("acos_", _UNIT), ("arccos_", _UNIT), ("asin_", _UNIT), ("arcsin_", _UNIT), ("atan_", _ANY), ("arctan_", _ANY),
    ("acosh_", _BIG), ("arccosh_", _BIG), ("asinh_", _ANY), ("arcsinh_", _ANY), ("atanh_", _UNIT),
    ("arctanh_", _UNIT), ("cosh_", _ANY), ("sinh_", _ANY), ("tan_", _UNIT), ("erfc_", _ANY), ("exp2_", _ANY),
    ("fix_", _ANY * 3), ("log10_", _POS), ("log2_", _POS), ("logit_", _PROB), ("negative_", _ANY),
    ("rad2deg_", _ANY), ("deg2rad_", _ANY), ("sinc_", _ANY), ("i0_", _ANY), ("relu_", _ANY), ("sigmoid_", _ANY),
    ("tanh_", _ANY), ("exp_", _ANY), ("log_", _POS), ("sqrt_", _POS), ("abs_", _ANY), ("neg_", _ANY),
    ("erf_", _ANY), ("expm1_", _ANY), ("square_", _ANY), ("reciprocal_", _POS), ("rsqrt_", _POS),
]
SCALAR_ARG_CASES = [
    ("clamp_min_", _ANY, (0.1,)), ("clamp_max_", _ANY, (0.1,)), ("threshold_", _ANY, (0.2, -5.0)),
    ("logit_", _R.uniform(0.0, 1.0, (3, 4)), (0.05,)), ("clamp_", _ANY, (-0.5, 0.5)),
    ("celu_", _ANY, (0.7,)), ("selu_", _ANY, ()), ("nan_to_num_", np.array([np.nan, np.inf, -np.inf, 1.0]), ()),
]
BINARY_CASES = [("xlogy_", _POS, _POS), ("ldexp_", _ANY, np.array([1.0, 2.0, -1.0, 0.0]))]
INT_CASES = [("gcd_", [[12, 18, 7], [0, 5, 9]], [[8, 12, 21], [4, 0, 6]]),
             ("lcm_", [[12, 18, 7], [0, 5, 9]], [[8, 12, 21], [4, 0, 6]])]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,values", UNARY_CASES, ids=[c[0] for c in UNARY_CASES])
def test_unary_in_place_matches_torch_and_writes_into_input(name, values, dtype):
    x, xt = _pair(values, dtype)
    version = x._version
    out = getattr(tc, name)(x)
    ref = getattr(torch, name)(xt)
    assert out is x and x._version > version
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)
    assert str(x.dtype) == str(ref.dtype).split(".")[1]


@pytest.mark.parametrize("name,values,args", SCALAR_ARG_CASES, ids=[c[0] + str(i) for i, c in
                                                                      enumerate(SCALAR_ARG_CASES)])
def test_in_place_with_scalar_arguments(name, values, args):
    x, xt = _pair(values)
    assert getattr(tc, name)(x, *args) is x
    getattr(torch, name)(xt, *args)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,a,b", BINARY_CASES, ids=[c[0] for c in BINARY_CASES])
def test_binary_in_place_broadcasts_the_other_operand(name, a, b):
    x, xt = _pair(a)
    y, yt = _pair(b)
    assert getattr(tc, name)(x, y) is x
    getattr(torch, name)(xt, yt)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,a,b", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_integer_in_place(name, a, b):
    x, xt = _pair(a, "int64")
    y, yt = _pair(b, "int64")
    getattr(tc, name)(x, y)
    getattr(torch, name)(xt, yt)
    assert x.dtype == tc.int64
    np.testing.assert_array_equal(x.numpy(), xt.numpy())


@pytest.mark.parametrize("name,values,args", [("acos_", _UNIT, ()), ("logit_", _PROB, ()), ("sinc_", _ANY, ()),
                                              ("clamp_min_", _ANY, (0.1,)), ("xlogy_", _POS, "other"),
                                              ("threshold_", _ANY, (0.2, -5.0)), ("rad2deg_", _ANY, ())])
def test_gradient_through_a_non_leaf_matches_torch(name, values, args):
    x, xt = _pair(values)
    x.requires_grad_(True)
    xt.requires_grad_(True)
    other = (tc.tensor(_POS, requires_grad=True), torch.tensor(_POS, requires_grad=True)) if args == "other" else None
    y, yt = x * 1.0, xt * 1.0
    getattr(tc, name)(y, *((other[0],) if other else args))
    getattr(torch, name)(yt, *((other[1],) if other else args))
    weights = _R.normal(size=values.shape)
    (y * tc.tensor(weights)).sum().backward()
    (yt * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if other:
        np.testing.assert_allclose(other[0].grad.numpy(), other[1].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_in_place_gradcheck_float64():
    def fn(name, *args):
        return lambda x: getattr(tc, name)(x * 1.0, *args)

    x = tc.tensor(_UNIT, requires_grad=True)
    for name, args in (("asin_", ()), ("atanh_", ()), ("tan_", ()), ("erfc_", ()), ("exp2_", ()),
                       ("clamp_max_", (0.2,)), ("deg2rad_", ())):
        assert tc.gradcheck(fn(name, *args), (x,))
    assert tc.gradgradcheck(fn("asin_"), (x,))


def test_leaf_that_requires_grad_is_refused():
    x = tc.tensor(_UNIT, requires_grad=True)
    with pytest.raises(tc.TensorcoreError, match="acos_"):
        tc.acos_(x)
    with pytest.raises(tc.TensorcoreError, match="expected a Tensor"):
        tc.acos_([0.5])
    with pytest.raises(tc.TensorcoreError, match="can't be cast"):
        tc.acos_(tc.tensor([0, 1]))  # an integer tensor cannot hold acos's float result (torch raises too)
    with pytest.raises(RuntimeError):
        torch.acos_(torch.tensor([0, 1]))


def test_dropout_family_in_place():
    tc.manual_seed(0)
    x = tc.ones(200, 10, dtype=tc.float64)
    assert tc.dropout_(x, 0.5, True) is x
    values = set(np.unique(x.numpy()).tolist())
    assert values <= {0.0, 2.0} and values == {0.0, 2.0}
    y = tc.ones(4, 3)
    assert tc.dropout_(y, 0.5, False) is y and bool((y == 1).all())
    z = tc.ones(300, 4, 5, dtype=tc.float64)
    assert tc.feature_dropout_(z, 0.25, True) is z
    per_channel = z.numpy().reshape(300, 4, 5)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # whole channels dropped together
    assert set(np.unique(per_channel).tolist()) == {0.0, 4.0 / 3.0}
    a = tc.randn(100, 50, dtype=tc.float64)
    before = a.numpy().copy()
    assert tc.alpha_dropout_(a, 0.2, True) is a
    alpha = 1.0 / np.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8)
    dropped = a.numpy() == -1.7580993408473766 * alpha * 0.8
    assert 0.1 < dropped.mean() < 0.3
    np.testing.assert_allclose(a.numpy()[~dropped], alpha * before[~dropped] + alpha * 1.7580993408473766 * 0.2)
    b = tc.ones(50, 6, 3, dtype=tc.float64)
    tc.feature_alpha_dropout_(b, 0.5, True)
    assert np.all(b.numpy().min(axis=2) == b.numpy().max(axis=2))
    for fn in (tc.feature_dropout, tc.feature_alpha_dropout, tc.feature_dropout_):
        with pytest.raises(tc.TensorcoreError, match="at least 2 dimensions"):
            fn(tc.ones(3), 0.5, True)
    with pytest.raises(tc.TensorcoreError, match="dropout"):
        tc.dropout_(tc.ones(3), 1.5, True)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        torch.feature_dropout(torch.ones(3), 0.5, True)


def test_feature_dropout_gradient_is_the_mask():
    tc.manual_seed(3)
    x = tc.randn(6, 4, 2, dtype=tc.float64, requires_grad=True)
    y = tc.feature_dropout(x, 0.5, True)
    y.sum().backward()
    mask = (y.detach().numpy() != 0) * 2.0
    np.testing.assert_allclose(x.grad.numpy(), mask)


def test_rrelu_in_place_eval_is_leaky_with_the_mean_slope():
    x, xt = _pair(_ANY)
    assert tc.rrelu_(x) is x
    torch.rrelu_(xt)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12)


def test_embedding_renorm_in_place_matches_torch():
    w, wt = _pair(_R.normal(size=(5, 3)) * 3)
    idx = [0, 2, 2, 4]
    assert tc.embedding_renorm_(w, tc.tensor(idx), 1.5, 2.0) is w
    torch.embedding_renorm_(wt, torch.tensor(idx), 1.5, 2.0)
    np.testing.assert_allclose(w.numpy(), wt.numpy(), rtol=1e-12)
    with pytest.raises(tc.TensorcoreError, match="embedding_renorm_"):
        tc.embedding_renorm_(tc.ones(3, 2, requires_grad=True), tc.tensor([0]), 1.0, 2.0)


def test_addmv_top_level_and_tensor_in_place_methods():
    m, v, b = _R.normal(size=(3, 4)), _R.normal(size=4), _R.normal(size=3)
    x, xt = _pair(b)
    tc.addmv_(x, tc.tensor(m), tc.tensor(v), beta=0.5, alpha=2.0)
    torch.addmv_(xt, torch.tensor(m), torch.tensor(v), beta=0.5, alpha=2.0)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12)
    cases = [
        ("addmv_", (3,), [(3, 4), (4,)], {"beta": 0.5, "alpha": 2.0}),
        ("addr_", (3, 4), [(3,), (4,)], {"alpha": -1.0}),
        ("addbmm_", (3, 5), [(2, 3, 4), (2, 4, 5)], {"beta": 2.0}),
        ("baddbmm_", (2, 3, 5), [(2, 3, 4), (2, 4, 5)], {"alpha": 0.5}),
    ]
    for name, shape, others, kwargs in cases:
        x, xt = _pair(_R.normal(size=shape))
        args = [_R.normal(size=s) for s in others]
        assert getattr(x, name)(*[tc.tensor(a) for a in args], **kwargs) is x
        getattr(xt, name)(*[torch.tensor(a) for a in args], **kwargs)
        np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12, err_msg=name)
    x, xt = _pair(_R.normal(size=(3, 4)) * 3)
    x.renorm_(2, 0, 1.0)
    xt.renorm_(2, 0, 1.0)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12)
    x, xt = _pair(_BIG + 1.0)
    x.mvlgamma_(2)
    xt.mvlgamma_(2)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12)
    x, xt = _pair(_POS)
    x.polygamma_(1)
    xt.polygamma_(1)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-8)  # (tc.polygamma's own accuracy: ~5e-10)


def test_derived_method_gradient_through_non_leaf():
    m = tc.tensor(_R.normal(size=(3, 4)), requires_grad=True)
    v = tc.tensor(_R.normal(size=4), requires_grad=True)

    def fn(m, v):
        base = m.sum(1) * 1.0
        return base.addmv_(m, v, beta=0.5, alpha=2.0)

    assert tc.gradcheck(fn, (m, v))
    assert tc.gradcheck(lambda p: (p * 1.0).polygamma_(1), (tc.tensor(_POS, requires_grad=True),))


def test_addbmm_in_place_resizes_a_broadcast_self_as_torch():
    b1, b2 = _R.normal(size=(2, 3, 4)), _R.normal(size=(2, 4, 5))
    for shape in ((1,), (), (3, 5)):
        x, xt = _pair(np.full(shape, 0.5))
        assert x.addbmm_(tc.tensor(b1), tc.tensor(b2), beta=0.6, alpha=0.2) is x
        xt.addbmm_(torch.tensor(b1), torch.tensor(b2), beta=0.6, alpha=0.2)
        assert tuple(x.shape) == tuple(xt.shape) == (3, 5)
        np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12)
