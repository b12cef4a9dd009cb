"""torch.testing.make_tensor and assert_close (defaults, checks, failure messages) against torch."""

import warnings

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.testing import assert_close, make_tensor

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def _range(dtype):
    if dtype == "bool":
        return 0, 1
    if dtype == "uint8":
        return 0, 9
    if dtype.startswith("int"):
        return -9, 9
    return -9, 9


@pytest.mark.parametrize("dtype", DTYPES)
def test_make_tensor_default_ranges_dtype_and_shape(dtype):
    tc.manual_seed(0)
    x = make_tensor(50, 40, dtype=getattr(tc, dtype), device="cpu")
    t = torch.testing.make_tensor(50, 40, dtype=getattr(torch, dtype), device="cpu")
    assert tuple(x.shape) == tuple(t.shape) == (50, 40)
    assert str(x.dtype) == str(t.dtype).replace("torch.", "")
    lo, hi = _range(dtype)
    xv, tv = x.float().numpy(), t.float().numpy()
    assert xv.min() >= lo and xv.max() <= hi and tv.min() >= lo and tv.max() <= hi
    if dtype not in ("bool",):  # 2000 draws reach near both ends, as torch's do
        assert xv.min() < lo + 2 and xv.max() > hi - 2
    assert len(np.unique(xv)) > 1 and not x.requires_grad


@pytest.mark.parametrize("shape", [(), (0,), (3,), ((2, 3),), ([4, 1, 2],), (tc.Size((2, 2)),)])
def test_make_tensor_shape_forms(shape):
    tshape = tuple(torch.Size(s) if isinstance(s, tc.Size) else s for s in shape)
    x = make_tensor(*shape, dtype=tc.float32, device="cpu")
    t = torch.testing.make_tensor(*tshape, dtype=torch.float32, device="cpu")
    assert tuple(x.shape) == tuple(t.shape)


def test_make_tensor_low_high_and_clamping_like_torch():
    x = make_tensor(1000, dtype=tc.float32, device="cpu", low=2, high=3)
    assert x.numpy().min() >= 2 and x.numpy().max() < 3
    i = make_tensor(1000, dtype=tc.int64, device="cpu", low=-1.5, high=1.5)  # torch ceils both: [-1, 2)
    t = torch.testing.make_tensor(1000, dtype=torch.int64, device="cpu", low=-1.5, high=1.5)
    assert set(np.unique(i.numpy())) == set(np.unique(t.numpy())) == {-1, 0, 1}
    u = make_tensor(500, dtype=tc.uint8, device="cpu", low=-100, high=3)  # clamped to 0
    assert set(np.unique(u.numpy())) == {0, 1, 2}
    big = make_tensor(100, dtype=tc.float16, device="cpu", low=-1e9, high=1e9)
    assert np.isfinite(big.numpy()).all() and np.abs(big.numpy()).max() > 1000
    huge = make_tensor(100, dtype=tc.float64, device="cpu", low=-1e308, high=1e308)
    assert np.isfinite(huge.numpy()).all()


@pytest.mark.parametrize("kwargs,exc", [
    ({"low": 3, "high": 2}, ValueError),
    ({"low": float("nan")}, ValueError),
    ({"low": 300, "high": 400, "dt": "uint8"}, ValueError),
    ({"requires_grad": True, "dt": "int32"}, ValueError),
    ({"requires_grad": True, "dt": "bool"}, ValueError),
    ({"noncontiguous": True, "memory_format": "contiguous_format"}, ValueError),
])
def test_make_tensor_refuses_like_torch(kwargs, exc):
    kwargs = dict(kwargs)
    dt = kwargs.pop("dt", "float32")
    tkw = dict(kwargs)
    if "memory_format" in kwargs:
        kwargs["memory_format"], tkw["memory_format"] = tc.contiguous_format, torch.contiguous_format
    with pytest.raises(exc):
        torch.testing.make_tensor(3, dtype=getattr(torch, dt), device="cpu", **tkw)
    with pytest.raises(exc):
        make_tensor(3, dtype=getattr(tc, dt), device="cpu", **kwargs)


def test_make_tensor_needs_dtype_and_device_keywords():
    with pytest.raises(TypeError):
        torch.testing.make_tensor(3, dtype=torch.float32)
    with pytest.raises(TypeError):
        make_tensor(3, dtype=tc.float32)
    with pytest.raises(TypeError):
        make_tensor(3, device="cpu")


def test_make_tensor_low_equals_high_warns_for_floats():
    with pytest.warns(FutureWarning):
        torch.testing.make_tensor(3, dtype=torch.float32, device="cpu", low=1, high=1)
    with pytest.warns(FutureWarning, match="low==high"):
        x = make_tensor(3, dtype=tc.float32, device="cpu", low=1, high=1)
    assert (x.numpy() == 1).all()


def test_make_tensor_noncontiguous_requires_grad_leaf():
    x = make_tensor(3, 4, dtype=tc.float64, device="cpu", noncontiguous=True, requires_grad=True)
    t = torch.testing.make_tensor(3, 4, dtype=torch.float64, device="cpu", noncontiguous=True, requires_grad=True)
    assert tuple(x.shape) == tuple(t.shape) == (3, 4)
    assert not x.is_contiguous() and not t.is_contiguous()
    assert x.is_leaf and x.requires_grad and t.is_leaf and t.requires_grad
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())
    one = make_tensor(1, dtype=tc.float32, device="cpu", noncontiguous=True)  # ignored below two elements
    assert one.is_contiguous() and torch.testing.make_tensor(1, dtype=torch.float32, device="cpu",
                                                             noncontiguous=True).is_contiguous()


@pytest.mark.parametrize("dtype", ["bool", "int8", "float32", "float64"])
def test_make_tensor_exclude_zero(dtype):
    x = make_tensor(4000, dtype=getattr(tc, dtype), device="cpu", exclude_zero=True, low=0 if dtype != "bool" else None,
                    high=2 if dtype != "bool" else None)
    assert (x.numpy() != 0).all()
    if dtype == "float32":
        x = make_tensor(10, dtype=tc.float32, device="cpu", low=0, high=1e-40, exclude_zero=True)
        assert (x.numpy() != 0).all()


def test_make_tensor_follows_manual_seed():
    tc.manual_seed(5)
    a = make_tensor(6, dtype=tc.float32, device="cpu").numpy()
    tc.manual_seed(5)
    assert (make_tensor(6, dtype=tc.float32, device="cpu").numpy() == a).all()
    assert tc.testing.make_tensor is make_tensor


CASES = [
    ([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], {}),
    ([[1.0, 2.0], [3.0, 0.0]], [[1.0, 2.5], [3.0, 1e-9]], {}),
    ([1, 2], [1, 3], {}),
    ([True], [False], {}),
    ([float("nan")], [float("nan")], {}),
    ([1.0, 5.0], [1.1, 5.0], {"rtol": 1e-3, "atol": 1e-3}),
    ([1.0, 2.0], [1.0, 2.0000001], {}),
]


def _message(fn):
    try:
        fn()
    except AssertionError as e:
        return str(e)
    return None


@pytest.mark.parametrize("a,b,kw", CASES)
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_assert_close_messages_match_torch(a, b, kw, dtype):
    na, nb = np.array(a), np.array(b)
    if dtype and na.dtype.kind == "f":
        na, nb = na.astype(dtype), nb.astype(dtype)
    elif na.dtype == np.float64:
        na, nb = na.astype(np.float32), nb.astype(np.float32)
    mine = _message(lambda: assert_close(tc.tensor(na), tc.tensor(nb), **kw))
    theirs = _message(lambda: torch.testing.assert_close(torch.tensor(na), torch.tensor(nb), **kw))
    assert mine == theirs


@pytest.mark.parametrize("a,b", [(1.0, 1.5), (2, 3), (1.0, 1.0 + 1e-9)])
def test_assert_close_scalar_messages_match_torch(a, b):
    assert _message(lambda: assert_close(a, b)) == _message(lambda: torch.testing.assert_close(a, b))
    mine = _message(lambda: assert_close(tc.tensor(float(a)), tc.tensor(float(b))))
    theirs = _message(lambda: torch.testing.assert_close(torch.tensor(float(a)), torch.tensor(float(b))))
    assert mine == theirs


def test_assert_close_containers_and_msg_like_torch():
    pairs = [
        (lambda m: m.testing.assert_close([m.tensor([1.0])], [m.tensor([2.0])])),
        (lambda m: m.testing.assert_close({"a": m.tensor([1.0])}, {"a": m.tensor([2.0])})),
        (lambda m: m.testing.assert_close({"a": m.tensor([1.0])}, {"b": m.tensor([1.0])})),
        (lambda m: m.testing.assert_close(m.tensor([1.0]), m.tensor([2.0]), msg="custom")),
        (lambda m: m.testing.assert_close(m.tensor([1.0]), m.tensor([2.0]), msg=lambda s: "X" + s[:12])),
        (lambda m: m.testing.assert_close([m.tensor([1.0]), [m.tensor([3.0])]], [m.tensor([1.0]), [m.tensor([4.0])]])),
    ]
    for fn in pairs:
        assert _message(lambda f=fn: f(tc)) == _message(lambda f=fn: f(torch))
    assert _message(lambda: assert_close(tc.tensor([1.0]), tc.tensor([1.0]))) is None


def test_assert_close_tolerance_arguments_like_torch():
    for kw in ({"rtol": 1e-3}, {"atol": 1e-3}):
        with pytest.raises(ValueError) as mine:
            assert_close(tc.tensor([1.0]), tc.tensor([1.0]), **kw)
        with pytest.raises(ValueError) as theirs:
            torch.testing.assert_close(torch.tensor([1.0]), torch.tensor([1.0]), **kw)
        assert str(mine.value) == str(theirs.value)
    # float16 vs float32 without the dtype check: the larger default rtol and atol of the two, as torch's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(tc.tensor([1.0005], dtype=tc.float16), tc.tensor([1.0]), check_dtype=False)
    torch.testing.assert_close(torch.tensor([1.0005], dtype=torch.float16), torch.tensor([1.0]), check_dtype=False)
    with pytest.raises(AssertionError, match="dtype"):
        assert_close(tc.tensor([1.0]), tc.tensor([1.0], dtype=tc.float64))
