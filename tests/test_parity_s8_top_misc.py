"""torch's top-level predicates, switches, creation functions, window functions and sampling
(tensorcore/torch_top.py, torch_windows.py) and the Tensor methods of tensorcore/torch_methods.py, against torch."""

import array
import warnings

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")


def _dt(torch_dtype):
    return str(torch_dtype).split(".")[1]


# --- predicates and aliases -------------------------------------------------------------------------------------------
def test_predicates_match_torch():
    for make in (lambda m: m.ones(2, 3), lambda m: m.tensor([1, 2]), lambda m: m.tensor([True]),
                 lambda m: m.tensor([3], dtype=m.uint8), lambda m: m.tensor(2.5, dtype=m.float64)):
        a, b = make(tc), make(torch)
        assert tc.is_complex(a) is torch.is_complex(b) is False
        assert tc.is_signed(a) == torch.is_signed(b)
        assert tc.is_inference(a) == torch.is_inference(b) == a.is_inference()
        assert tc.get_device(a) == torch.get_device(b) == -1
        assert tc.is_same_size(a, a) and not tc.is_same_size(a, tc.ones(7))
    assert tc.is_nonzero(tc.tensor([2.0])) and not tc.is_nonzero(tc.tensor(0))
    with pytest.raises(tc.TensorcoreError, match="is_nonzero"):
        tc.is_nonzero(tc.ones(2))
    with pytest.raises(tc.TensorcoreError, match="is_complex"):
        tc.is_complex(3)
    with pytest.raises(TypeError):
        torch.is_complex(3)


def test_absolute_and_arctan2_are_the_aliases():
    x = np.array([[-1.5, 2.0], [0.0, -3.0]])
    np.testing.assert_array_equal(tc.absolute(tc.tensor(x)).numpy(), torch.absolute(torch.tensor(x)).numpy())
    y = np.array([[1.0, -2.0], [0.5, 0.25]])
    np.testing.assert_allclose(tc.arctan2(tc.tensor(x), tc.tensor(y)).numpy(),
                               torch.arctan2(torch.tensor(x), torch.tensor(y)).numpy(), rtol=1e-12)
    a = tc.tensor(x, requires_grad=True)
    assert tc.gradcheck(lambda a, b: tc.arctan2(a, b), (a, tc.tensor(y, requires_grad=True)))
    assert tc.gradcheck(lambda a: tc.absolute(a), (a,))


def test_typename_and_can_cast():
    assert tc.typename(tc.ones(2)) == "tensorcore.FloatTensor" and torch.typename(torch.ones(2)) == "torch.FloatTensor"
    assert tc.typename(tc.ones(2, dtype=tc.int64)) == "tensorcore.LongTensor"
    for obj in (3, "s", 2.5, [1], np.float64(1)):
        assert tc.typename(obj) == torch.typename(obj)
    assert tc.typename(tc.nn.Linear) == "tensorcore.nn.modules.linear.Linear" or \
        tc.typename(tc.nn.Linear).endswith(".Linear")
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
    for a in names:
        for b in names:
            assert tc.can_cast(getattr(tc, a), getattr(tc, b)) == torch.can_cast(getattr(torch, a),
                                                                                   getattr(torch, b)), (a, b)


def test_unsafe_split_with_sizes():
    x = np.arange(10.0).reshape(5, 2)
    got = tc.unsafe_split_with_sizes(tc.tensor(x), [2, 3])
    want = torch.unsafe_split_with_sizes(torch.tensor(x), [2, 3])
    assert [tuple(g.shape) for g in got] == [tuple(w.shape) for w in want]
    got = tc.tensor(x).unsafe_split_with_sizes([1, 1], 1)
    np.testing.assert_array_equal(got[1].numpy(), torch.tensor(x).unsafe_split_with_sizes([1, 1], 1)[1].numpy())


# --- switches -------------------------------------------------------------------------------------------------------
def test_process_switches():
    assert tc.is_warn_always_enabled() == torch.is_warn_always_enabled() is False
    tc.set_warn_always(True)
    assert tc.is_warn_always_enabled()
    tc.set_warn_always(False)
    assert tc.get_num_interop_threads() >= 1
    before = tc.get_num_interop_threads()
    tc.set_num_interop_threads(3)
    assert tc.get_num_interop_threads() == 3
    tc.set_num_interop_threads(before)
    with pytest.raises(tc.TensorcoreError, match="set_num_interop_threads"):
        tc.set_num_interop_threads(0)
    assert tc.set_flush_denormal(False) is True and tc.set_flush_denormal(True) is False
    assert tc.is_anomaly_check_nan_enabled() is torch.is_anomaly_check_nan_enabled() is True
    tc.set_anomaly_enabled(True)
    assert tc.is_anomaly_enabled()
    tc.set_anomaly_enabled(False)
    assert not tc.is_anomaly_enabled() and tc.is_anomaly_check_nan_enabled()


def test_set_default_tensor_type():
    try:
        with pytest.warns(UserWarning, match="deprecated"):
            tc.set_default_tensor_type(tc.DoubleTensor)
        assert tc.get_default_dtype() == tc.float64 and tc.tensor([1.5]).dtype == tc.float64
        with pytest.warns(UserWarning):
            tc.set_default_tensor_type("torch.FloatTensor")
        assert tc.get_default_dtype() == tc.float32
        with pytest.raises(tc.TensorcoreError, match="floating-point"):
            tc.set_default_tensor_type(tc.LongTensor)
    finally:
        tc.set_default_dtype(tc.float32)


def test_autocast_getters_and_setters():
    assert tc.get_autocast_cpu_dtype() == tc.bfloat16 and torch.get_autocast_cpu_dtype() == torch.bfloat16
    assert tc.get_autocast_gpu_dtype() == tc.float16
    assert not tc.is_autocast_cpu_enabled()
    assert tc.is_autocast_cache_enabled() is torch.is_autocast_cache_enabled() is True
    try:
        tc.set_autocast_enabled("cpu", True)
        assert tc.is_autocast_cpu_enabled() and tc.is_autocast_enabled("cpu")
        a, b = tc.randn(4, 4), tc.randn(4, 4)
        assert (a @ b).dtype == tc.bfloat16
        tc.set_autocast_dtype("cpu", tc.float16)
        assert tc.get_autocast_cpu_dtype() == tc.float16 and (a @ b).dtype == tc.float16
    finally:
        tc.set_autocast_enabled("cpu", False)
        tc.set_autocast_cpu_dtype(tc.bfloat16)
    assert not tc.is_autocast_cpu_enabled() and (tc.randn(2, 2) @ tc.randn(2, 2)).dtype == tc.float32
    try:  # a dtype set while off: reported, and used by the next region that names none (as torch's)
        tc.set_autocast_dtype("cpu", tc.float16)
        torch.set_autocast_dtype("cpu", torch.float16)
        assert tc.get_autocast_dtype("cpu") == tc.float16 and torch.get_autocast_dtype("cpu") == torch.float16
        with tc.autocast("cpu"):
            assert (tc.randn(2, 2) @ tc.randn(2, 2)).dtype == tc.float16
        with torch.autocast("cpu"):
            assert (torch.randn(2, 2) @ torch.randn(2, 2)).dtype == torch.float16
    finally:
        tc.set_autocast_dtype("cpu", tc.bfloat16)
        torch.set_autocast_dtype("cpu", torch.bfloat16)
    assert tc.get_autocast_dtype("cpu") == tc.bfloat16
    with tc.autocast("cpu"):
        assert tc.is_autocast_cpu_enabled()
    assert not tc.is_autocast_cpu_enabled()
    tc.set_autocast_cache_enabled(False)
    assert not tc.is_autocast_cache_enabled()
    tc.set_autocast_cache_enabled(True)
    tc.clear_autocast_cache()
    with pytest.raises(tc.TensorcoreError, match="device_type"):
        tc.set_autocast_enabled("tpu", True)


# --- creation -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,kwargs", [((1, 4), {}), ((0, 1, 0.3), {}), ((0, 5, 2), {"dtype": "int64"}),
                                         ((5, 1, -1), {}), ((0.5, 2.5, 0.5), {"dtype": "float64"}),
                                         ((2, 2), {})])
def test_range_is_end_inclusive_and_float_by_default(args, kwargs):
    with pytest.warns(UserWarning, match="deprecated"):
        got = tc.range(*args, **{k: getattr(tc, v) for k, v in kwargs.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.range(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    assert str(got.dtype) == _dt(want.dtype)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_range_errors():
    with pytest.raises(tc.TensorcoreError, match="range"):
        tc.range(0, 5, 0)
    with pytest.raises(tc.TensorcoreError, match="range"):
        tc.range(5, 0, 1)


def test_empty_strided_and_new_empty_strided():
    for size, stride in (((2, 3), (1, 2)), ((2, 3), (3, 1)), ((4,), (2,)), ((2, 0), (1, 1)), ((), ())):
        got = tc.empty_strided(size, stride, dtype=tc.float64)
        want = torch.empty_strided(size, stride, dtype=torch.float64)
        assert tuple(got.shape) == tuple(want.shape) and got.stride() == want.stride()
        assert got.is_contiguous() == want.is_contiguous()
    x = tc.ones(2, 2, dtype=tc.int32).new_empty_strided((3, 2), (1, 3))
    assert x.dtype == tc.int32 and x.stride() == (1, 3)
    assert tc.empty_strided((2,), (1,), requires_grad=True).requires_grad
    with pytest.raises(tc.TensorcoreError, match="empty_strided"):
        tc.empty_strided((2, 3), (1,))


def test_frombuffer_shares_memory():
    buf = bytearray(np.arange(6, dtype=np.float32).tobytes())
    got = tc.frombuffer(buf, dtype=tc.float32)
    want = torch.frombuffer(bytearray(buf), dtype=torch.float32)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    got[0] = 42.0
    assert np.frombuffer(buf, dtype=np.float32)[0] == 42.0
    part = tc.frombuffer(buf, dtype=tc.float32, count=2, offset=8)
    np.testing.assert_array_equal(part.numpy(), torch.frombuffer(bytearray(buf), dtype=torch.float32, count=2,
                                                                 offset=8).numpy())
    ints = tc.frombuffer(array.array("i", [1, 2, 3]), dtype=tc.int32)
    assert ints.tolist() == [1, 2, 3]
    with pytest.raises(tc.TensorcoreError, match="frombuffer"):
        tc.frombuffer(bytearray(b"abc"), dtype=tc.float32)
    with pytest.raises(tc.TensorcoreError, match="frombuffer"):
        tc.frombuffer(buf, dtype=tc.float32, count=10)
    with pytest.raises(tc.TensorcoreError, match="buffer protocol"):
        tc.frombuffer([1, 2], dtype=tc.float32)


# --- windows --------------------------------------------------------------------------------------------------------
_ULP = {"float64": 1e-14, "float32": 2e-7, "float16": 2.5e-3, "bfloat16": 1.6e-2}


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
                                  "kaiser_window"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_window_functions_match_torch(name, dtype):
    for length in (0, 1, 2, 5, 8, 17):
        for periodic in (True, False):
            got = getattr(tc, name)(length, periodic, dtype=getattr(tc, dtype))
            want = getattr(torch, name)(length, periodic, dtype=getattr(torch, dtype))
            assert str(got.dtype) == _dt(want.dtype) and tuple(got.shape) == tuple(want.shape)
            np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), atol=_ULP[dtype] * 4,
                                       err_msg=f"{name}({length}, {periodic})")
    assert getattr(tc, name)(6).dtype == tc.float32  # periodic and the default dtype


def test_window_parameters_and_errors():
    for got, want in ((tc.hamming_window(9, True, 0.6, 0.3), torch.hamming_window(9, True, 0.6, 0.3)),
                      (tc.kaiser_window(9, False, 5.0), torch.kaiser_window(9, False, 5.0)),
                      (tc.kaiser_window(10, True, 3.0, dtype=tc.float64),
                       torch.kaiser_window(10, True, 3.0, dtype=torch.float64))):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)
    assert tc.hann_window(4, requires_grad=True).requires_grad
    with pytest.raises(tc.TensorcoreError, match="floating point"):
        tc.hann_window(5, dtype=tc.int64)
    with pytest.raises(tc.TensorcoreError, match="non-negative"):
        tc.blackman_window(-1)


# --- sampling -------------------------------------------------------------------------------------------------------
def test_binomial_and_poisson_draws():
    g = tc.Generator().manual_seed(5)
    count = tc.full((20000,), 10.0, dtype=tc.float64)
    draws = tc.binomial(count, tc.full((20000,), 0.3, dtype=tc.float64), generator=g)
    assert draws.dtype == tc.float64 and abs(draws.mean().item() - 3.0) < 0.06
    assert abs(draws.var().item() - 2.1) < 0.1 and draws.min().item() >= 0 and draws.max().item() <= 10
    again = tc.binomial(count, tc.full((20000,), 0.3, dtype=tc.float64), generator=tc.Generator().manual_seed(5))
    assert bool((again == draws).all())
    b = tc.binomial(tc.tensor([[10.0], [4.0]]), tc.tensor([0.5, 0.0]))
    assert tuple(b.shape) == (2, 2) and b[:, 1].tolist() == [0.0, 0.0]
    rates = tc.tensor([0.5, 4.0, 20.0]).repeat(10000)
    p = tc.poisson(rates, generator=g)
    assert p.dtype == tc.float32
    np.testing.assert_allclose(p.numpy().reshape(10000, 3).mean(0), [0.5, 4.0, 20.0], rtol=0.05)
    for fn in (lambda: tc.binomial(tc.tensor([10]), tc.tensor([0.5])), lambda: tc.poisson(tc.tensor([1, 2]))):
        with pytest.raises(tc.TensorcoreError, match="floating-point"):
            fn()
    with pytest.raises(ValueError):
        torch.binomial(torch.tensor([10]), torch.tensor([0.5]))
    with pytest.raises(ValueError):
        tc.binomial(tc.tensor([10]), tc.tensor([0.5]))
    with pytest.raises(tc.TensorcoreError, match="non-negative"):
        tc.poisson(tc.tensor([-1.0]))
    x = tc.tensor([2.0, 3.0], requires_grad=True)
    y = tc.poisson(x)
    assert y.requires_grad == torch.poisson(torch.tensor([2.0, 3.0], requires_grad=True)).requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


# --- Tensor methods -------------------------------------------------------------------------------------------------
def test_tensor_kind_properties():
    a, b = tc.ones(2, 3), torch.ones(2, 3)
    for name in ("is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_nested", "is_mkldnn", "is_xpu",
                 "is_mps", "is_vulkan", "is_xla"):
        assert getattr(a, name) is getattr(b, name) is False, name
    assert a.name is b.name is None and a.output_nr == b.output_nr == 0
    assert str(a.layout) == str(b.layout).split(".")[1] and a.layout == tc.strided
    assert a.is_distributed() is b.is_distributed() is False


def test_adjoint_dim_order_is_set_to():
    x = np.arange(24.0).reshape(2, 3, 4)
    a, b = tc.tensor(x), torch.tensor(x)
    np.testing.assert_array_equal(a.adjoint().numpy(), b.adjoint().numpy())
    assert tc.gradcheck(lambda t: t.adjoint(), (tc.tensor(x, requires_grad=True),))
    with pytest.raises(tc.TensorcoreError, match="adjoint"):
        tc.ones(3).adjoint()
    for fn in (lambda t: t, lambda t: t.transpose(0, 2), lambda t: t.permute(1, 2, 0), lambda t: t[:, :1]):
        assert fn(a).dim_order() == fn(b).dim_order()
    assert a.is_set_to(a) and not a.is_set_to(a.clone()) and not a.is_set_to(a[:1])
    assert a.is_set_to(a.view(2, 3, 4)) == b.is_set_to(b.view(2, 3, 4))


def test_apply_map_map2():
    x = np.arange(6.0).reshape(2, 3)
    a, b = tc.tensor(x), torch.tensor(x)
    assert a.apply_(lambda v: v * v + 1) is a
    b.apply_(lambda v: v * v + 1)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    a.map_(tc.tensor([1.0, 2.0, 3.0], dtype=tc.float64), lambda u, v: u - v)
    b.map_(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), lambda u, v: u - v)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    a.map2_(tc.ones(3, dtype=tc.float64), tc.tensor([[2.0], [3.0]], dtype=tc.float64), lambda u, v, w: u * w + v)
    b.map2_(torch.ones(3, dtype=torch.float64), torch.tensor([[2.0], [3.0]], dtype=torch.float64),
            lambda u, v, w: u * w + v)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    i = tc.tensor([1, 2, 3])
    i.apply_(lambda v: v * 3)
    assert i.tolist() == [3, 6, 9] and i.dtype == tc.int64
    with pytest.raises(tc.TensorcoreError, match="requires grad"):
        tc.ones(2, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(tc.TensorcoreError, match="broadcast"):
        a.map_(tc.ones(4, dtype=tc.float64), lambda u, v: u)
    with pytest.raises(tc.TensorcoreError, match="dtype"):
        a.map_(tc.ones(3), lambda u, v: u)
    with pytest.raises(TypeError):
        b.map_(torch.ones(3), lambda u, v: u)


def test_resize_and_resize_as_out_of_place():
    x = np.arange(6.0).reshape(2, 3)
    a, b = tc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        r = a.resize(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rb = b.resize(3, 2)
        rb_as = b.resize_as(torch.ones(6))
    np.testing.assert_array_equal(r.detach().numpy(), rb.detach().numpy())
    with pytest.warns(UserWarning):
        assert tuple(a.resize_as(tc.ones(6)).shape) == tuple(rb_as.shape)
    (r * tc.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    (rb * torch.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    with pytest.warns(UserWarning), pytest.raises(tc.TensorcoreError, match="8 elements"):
        a.resize(4, 2)


def test_prelu_and_ger_methods():
    x, w = np.random.default_rng(1).normal(size=(2, 3, 4)), np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(tc.tensor(x).prelu(tc.tensor(w)).numpy(),
                               torch.tensor(x).prelu(torch.tensor(w)).numpy(), rtol=1e-12)
    u, v = np.arange(3.0), np.arange(4.0)
    np.testing.assert_array_equal(tc.tensor(u).ger(tc.tensor(v)).numpy(), torch.tensor(u).ger(torch.tensor(v)).numpy())


def test_set_as_subclass_module_load():
    for m in (tc, torch):
        x, y = m.ones(3), m.arange(4.0)
        assert x.set_(y) is x and x.data_ptr() == y.data_ptr() and tuple(x.shape) == (4,)
        y.add_(1)
        assert x.tolist() == [1.0, 2.0, 3.0, 4.0]
        assert tuple(x.set_().shape) == (0,)
    with pytest.raises(tc.TensorcoreError, match="set_"):
        tc.ones(2, requires_grad=True).set_(tc.zeros(2))
    with pytest.raises(RuntimeError):
        torch.ones(2, requires_grad=True).set_(torch.zeros(2))

    class Mine(tc.Tensor):
        pass

    a = tc.ones(3, requires_grad=True)
    b = (a * 2).as_subclass(Mine)
    assert isinstance(b, Mine) and b.requires_grad
    b.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(tc.TensorcoreError, match="as_subclass"):
        a.as_subclass(int)
    for m in (tc, torch):
        p = m.zeros(3)
        q = p.module_load(m.ones(3))
        assert p.tolist() == [1.0, 1.0, 1.0] and q.tolist() == [1.0, 1.0, 1.0] and not q.requires_grad
        r = m.zeros(2)
        assert r.module_load(m.ones(2), assign=True).tolist() == [1.0, 1.0] and r.tolist() == [0.0, 0.0]
