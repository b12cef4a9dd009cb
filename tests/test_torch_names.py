"""PyTorch's names mean what they mean in PyTorch: dtype names, type promotion, the Tensor API
(format, new_*, in-place variants, memory formats), random sampling with generator=, and the errors
for what is not supported. PyTorch is the oracle where it is installed."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F

torch = pytest.importorskip("torch", reason="PyTorch is not installed: these checks compare with it")


def _tc_dtype(t):
    return getattr(tc, str(t).split(".")[1])


def test_dtype_names_are_pytorchs():
    pairs = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
             "short": "int16", "bool": "bool"}
    for name, numpy_name in pairs.items():
        assert getattr(tc, name) == np.dtype(numpy_name)
        assert str(getattr(tc, name)) == str(getattr(torch, name)).split(".")[1]
    x = tc.ones(2)
    assert x.dtype == tc.float32 and x.double().dtype == tc.double and x.type(tc.long).dtype == tc.int64
    assert x.type() == "tensorcore.FloatTensor" and tc.get_default_dtype() == tc.float


OPERANDS = [
    ("int64 vector", lambda m: m.tensor([1, 2, 3])),
    ("int32 vector", lambda m: m.tensor([1, 2, 3], dtype=m.int32)),
    ("bool vector", lambda m: m.tensor([True, False, True])),
    ("float32 vector", lambda m: m.tensor([1.5, 2.0, 3.0])),
    ("float64 vector", lambda m: m.tensor([1.5, 2.0, 3.0], dtype=m.float64)),
    ("float16 vector", lambda m: m.tensor([1.5, 2.0, 3.0], dtype=m.float16)),
    ("uint8 vector", lambda m: m.tensor([1, 2, 3], dtype=m.uint8)),
    ("int64 0-d", lambda m: m.tensor(2)),
    ("float64 0-d", lambda m: m.tensor(2.5, dtype=m.float64)),
    ("bool 0-d", lambda m: m.tensor(True)),
    ("python int", lambda m: 2),
    ("python float", lambda m: 0.5),
    ("python bool", lambda m: True),
]


@pytest.mark.parametrize("op", ["add", "mul", "sub", "div", "maximum", "atan2", "remainder"])
def test_type_promotion_matches_pytorch(op):
    checked = 0
    for xname, xmake in OPERANDS:
        for yname, ymake in OPERANDS:
            a, b = xmake(torch), ymake(torch)
            if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
                continue
            try:
                want = getattr(torch, op)(a, b)
            except (RuntimeError, TypeError):
                continue
            got = getattr(tc, op)(xmake(tc), ymake(tc))
            assert str(got.dtype) == str(want.dtype).split(".")[1], f"{op}({xname}, {yname})"
            np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64),
                                       rtol=1e-3, err_msg=f"{op}({xname}, {yname})")
            checked += 1
    assert checked > 60


def test_div_rounding_modes_and_alpha_match_pytorch():
    a = np.array([-7, -6, 5, 7, 0])
    b = np.array([2, -4, 3, -2, 5])
    for mode in (None, "trunc", "floor"):
        for x, y in ((a, b), (a * 0.75, b * 1.5)):
            got = tc.div(tc.tensor(x), tc.tensor(y), rounding_mode=mode)
            want = torch.div(torch.tensor(x), torch.tensor(y), rounding_mode=mode)
            assert str(got.dtype) == str(want.dtype).split(".")[1]
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(tc.ArgumentError, match="rounding_mode"):
        tc.div(tc.tensor(a), 2, rounding_mode="round")
    with pytest.raises(tc.ArgumentError, match="division by zero"):
        tc.div(tc.tensor([1]), tc.tensor([0]), rounding_mode="floor")
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    tc.add(x, x, alpha=3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])
    np.testing.assert_array_equal(tc.sub(tc.tensor([5, 5]), tc.tensor([1, 2]), alpha=2).numpy(), [3, 1])
    with pytest.raises(tc.ArgumentError, match="out"):
        tc.add(x, x, out=x)


def test_clamp_with_tensor_bounds_and_gradients_match_pytorch():
    rng = np.random.default_rng(0)
    x, lo, hi = rng.standard_normal((3, 4)), rng.standard_normal(4) - 0.5, rng.standard_normal((3, 1)) + 0.5
    ours = [tc.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    g = rng.standard_normal((3, 4))
    y, yt = tc.clamp(*ours), torch.clamp(*theirs)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy())
    y.backward(tc.tensor(g))
    yt.backward(torch.tensor(g))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy())
    z = tc.tensor([-2.0, 0.5, 3.0])
    z.clamp_(min=-1, max=1)
    np.testing.assert_array_equal(z.numpy(), [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(tc.clamp_min(tc.tensor([1, 5]), 3).numpy(), [3, 5])
    assert tc.clip is tc.clamp
    with pytest.raises(tc.ArgumentError, match="at least one"):
        tc.clamp(z)


def test_fixed_differences_scalar_pow_softplus_erf_sign():
    x = tc.tensor([0.5, 30.0, -2.0], dtype=tc.float64, requires_grad=True)
    xt = torch.tensor([0.5, 30.0, -2.0], dtype=torch.float64, requires_grad=True)
    for ours, theirs in ((lambda v: 2.0 ** v, lambda v: 2.0 ** v), (F.softplus, torch.nn.functional.softplus),
                         (lambda v: F.softplus(v, beta=2, threshold=5), lambda v: torch.nn.functional.softplus(
                             v, beta=2, threshold=5)), (tc.sign, torch.sign)):
        (g,) = tc.grad(ours(x).sum(), x)
        (gt,) = torch.autograd.grad(theirs(xt).sum(), xt)
        np.testing.assert_allclose(g.numpy(), gt.numpy())
    assert np.isnan(tc.erf(tc.tensor([np.nan, 1.0])).numpy()[0])


def test_format_and_introspection():
    t = tc.tensor(3.14159)
    assert "{:.2f}".format(t) == "3.14" and f"{tc.tensor([2.5]):.1f}" == "2.5"  # noqa: UP032
    with pytest.raises(tc.ArgumentError):
        "{:.2f}".format(tc.ones(2))  # noqa: UP032
    x = tc.zeros(2, 3, dtype=tc.float64)
    assert x.nelement() == 6 and x.element_size() == 8 and x.dim() == 2 and x.stride() == (3, 1)
    assert x.is_contiguous() and x.tolist() == [[0.0] * 3] * 2
    assert tc.is_tensor(x) and not tc.is_tensor(np.zeros(2)) and tc.is_floating_point(x) and tc.numel(x) == 6


def test_new_constructors_and_like_dtype():
    x = tc.ones(2, dtype=tc.float64)
    assert x.new_zeros(2, 3).shape == (2, 3) and x.new_zeros((2, 3)).dtype == tc.float64
    assert x.new_ones(1, dtype=tc.int64).dtype == tc.int64
    np.testing.assert_array_equal(x.new_full((2,), 7).numpy(), [7.0, 7.0])
    assert x.new_tensor([1, 2]).dtype == tc.float64 and x.new_empty(4).shape == (4,)
    assert tc.zeros_like(x, dtype=tc.int32).dtype == tc.int32
    assert x.to(memory_format=tc.contiguous_format) is x
    with pytest.raises(tc.ArgumentError, match="not supported"):
        tc.zeros_like(x, layout="sparse_coo")
    img = tc.ones(2, 3, 4, 4)
    assert img.to(memory_format=tc.channels_last).shape == (2, 3, 4, 4)  # a layout hint: values unchanged
    for t in (img, tc.ones(2, 1, 4, 4), tc.ones(2, 3, 1, 1)):
        tt = torch.ones(*t.shape).to(memory_format=torch.channels_last)
        assert t.is_contiguous(memory_format=tc.channels_last) == torch.ones(*t.shape).is_contiguous(
            memory_format=torch.channels_last)
        assert tt.is_contiguous(memory_format=torch.channels_last)


def test_in_place_variants_bump_the_version_and_refuse_leaves():
    x = tc.tensor([0.25, 1.5, -2.0])
    before = x._version
    x.floor_().mul_(2).exp2_()
    np.testing.assert_allclose(x.numpy(), 2.0 ** (np.floor([0.25, 1.5, -2.0]) * 2))
    assert x._version == before + 3
    leaf = tc.ones(2, requires_grad=True)
    with pytest.raises(tc.GradientError):
        leaf.sin_()
    y = tc.tensor([-1.0, 2.0])
    F.relu6(y, inplace=True)
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0])


def test_bitwise_ops_on_integers_and_refused_on_floats():
    a, b = np.array([5, -3, 12]), np.array([3, 6, 10])
    for op in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"):
        np.testing.assert_array_equal(getattr(tc, op)(tc.tensor(a), tc.tensor(b % 4)).numpy(),
                                      getattr(torch, op)(torch.tensor(a), torch.tensor(b % 4)).numpy())
    assert ((tc.tensor(a) ^ 1) | 2).tolist() == ((torch.tensor(a) ^ 1) | 2).tolist()
    assert (~tc.tensor([True, False])).tolist() == [False, True]
    with pytest.raises(tc.DTypeError, match="bitwise_and"):
        tc.bitwise_and(tc.ones(2), tc.ones(2))


def test_sampling_takes_a_generator_and_is_reproducible():
    def draws(seed):
        g = tc.Generator(seed)
        w = tc.tensor([[0.1, 0.0, 0.9], [0.5, 0.5, 0.0]])
        out = [tc.multinomial(w, 2, generator=g), tc.randperm(6, generator=g), tc.normal(tc.zeros(3), 2.0, generator=g),
               tc.bernoulli(tc.full((4,), 0.5), generator=g), tc.rand(3, generator=g), tc.randn(2, generator=g),
               tc.empty(3).uniform_(-1, 1, generator=g), tc.empty(3).normal_(generator=g)]
        return [o.numpy() for o in out]

    for a, b in zip(draws(3), draws(3)):
        np.testing.assert_array_equal(a, b)
    m = tc.multinomial(tc.tensor([0.0, 1.0, 0.0]), 4, replacement=True)
    assert m.dtype == tc.int64 and m.tolist() == [1, 1, 1, 1]
    assert sorted(tc.randperm(5).tolist()) == list(range(5))
    u = tc.empty(1000).uniform_(2, 3)
    assert 2 <= u.numpy().min() and u.numpy().max() < 3
    with pytest.raises(tc.ArgumentError, match="without replacement"):
        tc.multinomial(tc.tensor([1.0, 0.0]), 2)
    assert tc.accelerator.is_available() in (True, False)
    assert (tc.accelerator.current_accelerator() is None) == (not tc.accelerator.is_available())


def test_type_conversions_and_to_flags():
    x = tc.tensor([1.7, -2.2])
    assert x.to(tc.float64, copy=True).dtype == tc.float64
    y = x.to("cpu", tc.float32, False, True)
    assert y is not x and np.array_equal(y.numpy(), x.numpy())
    assert x.long().tolist() == [1, -2] and x.int().dtype == tc.int32 and x.bool().tolist() == [True, True]


def test_from_numpy_shares_memory_and_refuses_object_arrays():
    a = np.arange(4.0)
    t = tc.from_numpy(a)
    a[0] = 9.0
    assert t[0].item() == 9.0 and t.dtype == tc.float64
    for bad in (np.array(["a", "b"]), np.array([{}, 1], dtype=object)):
        with pytest.raises(tc.DTypeError):
            tc.from_numpy(bad)
    assert tc.bfloat16.name == "bfloat16" and tc.tensor([1.5]).bfloat16().dtype == tc.bfloat16
    with pytest.raises(AttributeError, match="no complex64 dtype"):
        tc.complex64  # noqa: B018


def test_special_functions_in_their_tails_match_pytorch():
    x = np.array([-30.0, -8.0, -1.5, -0.2, 0.0, 0.4, 2.0, 6.0, 12.0, 27.0])
    for ours, theirs in ((tc.erfc, torch.erfc), (tc.special.erfcx, torch.special.erfcx),
                         (tc.special.log_ndtr, torch.special.log_ndtr), (tc.special.ndtr, torch.special.ndtr)):
        np.testing.assert_allclose(ours(tc.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12, atol=0)
    g = np.array([0.2, 1.0, 3.5, 11.0, -0.7, -2.5])
    for n in range(4):
        np.testing.assert_allclose(tc.polygamma(n, tc.tensor(g)).numpy(), torch.polygamma(n, torch.tensor(g)).numpy(),
                                   rtol=1e-8)
    np.testing.assert_allclose(tc.lgamma(tc.tensor(g)).numpy(), torch.lgamma(torch.tensor(g)).numpy(), rtol=1e-12)
    u = np.array([-0.999, -0.3, 0.0, 0.5, 0.99999])
    np.testing.assert_allclose(tc.erfinv(tc.tensor(u)).numpy(), torch.erfinv(torch.tensor(u)).numpy(), rtol=1e-9)
