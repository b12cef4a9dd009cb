"""Tensor creation, properties, dtypes, conversion, repr."""

import numpy as np
import pytest

import tensorcore as tc


def test_tensor_from_lists_scalars_and_arrays():
    assert tc.tensor([[1.0, 2.0], [3.0, 4.0]]).dtype == tc.float32  # Python floats -> default float
    assert tc.tensor([1, 2]).dtype == tc.int64
    assert tc.tensor(3.5).shape == () and tc.tensor(3.5).item() == 3.5
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = tc.tensor(a)
    assert t.dtype == tc.float64 and t.shape == (2, 3)
    a[0, 0] = 100  # tc.tensor copies
    assert t.numpy()[0, 0] == 0
    assert tc.tensor([True, False]).dtype == tc.bool


@pytest.mark.parametrize("spec", [tc.float64, np.float64, "float64", "f8"])
def test_dtype_accepts_tc_numpy_and_names(spec):
    assert tc.tensor([1, 2], dtype=spec).dtype == np.float64


def test_default_dtype_switch():
    try:
        tc.set_default_dtype(tc.float64)
        assert tc.tensor([1.0]).dtype == tc.float64
        assert tc.zeros(2).dtype == tc.float64
        with pytest.raises(tc.DTypeError):
            tc.set_default_dtype(tc.int64)
    finally:
        tc.set_default_dtype(tc.float32)
    assert tc.get_default_dtype() == tc.float32


def test_creation_functions():
    assert tc.zeros(2, 3).shape == (2, 3) and tc.zeros((2, 3)).numpy().sum() == 0
    assert tc.ones(4).numpy().sum() == 4
    assert tc.full((2, 2), 7.0).numpy().tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert tc.empty(3).shape == (3,)
    assert tc.arange(5).dtype == tc.int64 and tc.arange(0, 1, 0.25).numpy().tolist() == [0, 0.25, 0.5, 0.75]
    assert tc.linspace(0, 1, 5).numpy()[-1] == 1.0
    np.testing.assert_array_equal(tc.eye(3).numpy(), np.eye(3))
    x = tc.randn(2, 3, dtype=tc.float64)
    assert tc.zeros_like(x).dtype == tc.float64 and tc.ones_like(x).shape == (2, 3)
    assert tc.full_like(x, 2.0).numpy().max() == 2.0


def test_random_is_seedable():
    tc.manual_seed(42)
    a = tc.randn(5).numpy()
    b = tc.rand(3).numpy()
    c = tc.randint(0, 10, size=(4,)).numpy()
    tc.manual_seed(42)
    np.testing.assert_array_equal(a, tc.randn(5).numpy())
    np.testing.assert_array_equal(b, tc.rand(3).numpy())
    np.testing.assert_array_equal(c, tc.randint(0, 10, size=(4,)).numpy())
    assert ((b >= 0) & (b < 1)).all() and ((c >= 0) & (c < 10)).all()
    state = tc.get_rng_state()
    d = tc.randn(3).numpy()
    tc.set_rng_state(state)
    np.testing.assert_array_equal(d, tc.randn(3).numpy())


def test_properties():
    x = tc.tensor(np.zeros((2, 3, 4)), requires_grad=True)
    assert (x.shape, x.ndim, x.numel(), x.size(), x.size(1), len(x)) == ((2, 3, 4), 3, 24, (2, 3, 4), 3, 2)
    # .shape is a Size as in PyTorch (torch.Size): a tuple with numel(), shown as Size([...]) at the prompt
    assert isinstance(x.shape, tc.Size) and x.shape.numel() == 24 and repr(x.shape) == "tensorcore.Size([2, 3, 4])"
    assert x.is_leaf and x.requires_grad and x.grad is None
    y = x * 2.0
    assert not y.is_leaf and y.grad_fn is not None
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    assert np.asarray(x).shape == (2, 3, 4)
    assert x.T.shape == (4, 3, 2)
    assert x.permute(1, 0, 2).shape == (3, 2, 4) and x.transpose(0, 2).shape == (4, 3, 2)
    assert x.astype(tc.float32).dtype == tc.float32
    assert str(x.device) == "cpu" and x.device == tc.device("cpu")


def test_requires_grad_():
    x = tc.ones(3)
    assert x.requires_grad_() is x and x.requires_grad
    with pytest.raises(tc.DTypeError):
        tc.arange(3).requires_grad_()


def test_repr_is_readable():
    r = repr(tc.tensor([1.0, 2.0], requires_grad=True))
    assert r.startswith("tensor([1., 2.]") and "requires_grad=True" in r
    assert "grad_fn=<MulBackward>" in repr(tc.tensor([1.0], requires_grad=True) * 2.0)
    # PyTorch's suffixes: no dtype for the defaults (float32, int64, bool), the size of an empty tensor
    assert repr(tc.tensor([1, 2])) == "tensor([1, 2])" and repr(tc.tensor([True, False])) == "tensor([ True, False])"
    assert repr(tc.tensor([1], dtype=tc.int32)) == "tensor([1], dtype=int32)"
    r64 = repr(tc.tensor([1.0], dtype=tc.float64, requires_grad=True))
    assert r64 == "tensor([1.], dtype=float64, requires_grad=True)"
    assert repr(tc.zeros(0, 3)) == "tensor([], size=(0, 3))" and repr(tc.zeros(0)) == "tensor([])"
    # and its number style: 4 fixed decimals unless every finite value is whole, scientific for wide ranges
    assert repr(tc.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"
    assert repr(tc.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tc.tensor([1e5, 0.1])) == "tensor([1.0000e+05, 1.0000e-01])"


@pytest.mark.parametrize("make", [
    lambda m: m.tensor([1, 2]), lambda m: m.tensor([True, False]), lambda m: m.tensor([1.5, 2.0]),
    lambda m: m.tensor([1.0, 2.0]), lambda m: m.tensor([1e5, 0.1]), lambda m: m.tensor(3.5),
    lambda m: m.tensor([1], dtype=m.int32), lambda m: m.tensor([[1.25, -2.0]], dtype=m.float64),
    lambda m: m.tensor([1.0, float("nan"), float("inf")]), lambda m: m.zeros(0, 3), lambda m: m.zeros(0),
    lambda m: m.tensor([0.5], dtype=m.float64, requires_grad=True),
    # the layout: per line as many as fit in 80 columns after PyTorch's indent, blank lines between 3-D blocks,
    # suffixes wrapped onto a new line past 80 columns, empty tensors of any rank as []
    lambda m: m.arange(10.0).reshape(1, 10) / 7, lambda m: m.arange(60.0).reshape(3, 4, 5) / 3,
    lambda m: m.arange(27, dtype=m.int32).reshape(3, 9) * 1000, lambda m: m.arange(9.0, dtype=m.float64) * 1e9 - 7,
    lambda m: m.tensor([[1e-6, 2e-6, 3e-6, 4e-6, 5e-6, 6e-6]], requires_grad=True) * 2, lambda m: m.zeros(2, 0, 3),
    lambda m: m.zeros(0, dtype=m.int64), lambda m: m.arange(3000.0).reshape(3, 1000) / 3,
    lambda m: m.arange(2400).reshape(4, 6, 100),
])
def test_repr_matches_pytorchs(make):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: no oracle for repr")
    assert repr(make(tc)) == repr(make(torch)).replace("torch.", "").replace("Backward0", "Backward")


def test_item_and_bool():
    assert tc.tensor([3.0]).item() == 3.0
    with pytest.raises(ValueError):
        tc.tensor([1.0, 2.0]).item()
    assert bool(tc.tensor(1.0)) and not bool(tc.tensor(0.0))


def test_comparisons_return_bool_tensors_without_grad():
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == tc.bool and not m.requires_grad
    assert m.numpy().tolist() == [False, True, True]
    assert (x == 2.0).numpy().tolist() == [False, True, False]
    assert x.argmax().item() == 2


def test_dlpack_round_trip_with_numpy():
    x = tc.tensor(np.arange(6.0).reshape(2, 3))
    y = np.from_dlpack(x)
    np.testing.assert_array_equal(y, x.numpy())
    z = tc.from_dlpack(y)
    assert z.shape == (2, 3) and z.device == tc.device("cpu")
    z.data[0, 0] = 42.0  # zero copy: shared memory
    assert x.numpy()[0, 0] == 42.0


def test_device_parsing_and_errors():
    assert tc.device("cpu") is tc.device("cpu")
    with pytest.raises(tc.DeviceError, match="unknown device"):
        tc.device("tpu")
    with pytest.raises(tc.DeviceError):
        tc.device("cuda:x")


def test_dlpack_exchange_with_pytorch_without_copies():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to exchange with")
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    x = tc.from_dlpack(t)
    assert x.shape == (2, 3) and x.dtype == tc.float32
    t[0, 0] = 42.0
    assert x.numpy()[0, 0] == 42.0  # shared memory
    back = torch.from_dlpack(x)
    x.data[1, 2] = -1.0
    assert back[1, 2].item() == -1.0


def test_zero_dim_results_share_memory_with_their_views_like_pytorch():
    # a full reduction or a ufunc on 0-d arrays gives NumPy a scalar: the tensor keeps a real 0-d array
    x = tc.ones(3)
    s = x.sum()
    v = s.view(1)
    v[0] = 5.0
    assert s.item() == 5.0
    loss = (x * 2).mean()
    loss.data.add_(1)
    assert loss.item() == 3.0
    assert (loss * 2).numpy().shape == ()


def test_fill_and_zero_keep_the_tensor_in_the_graph_like_pytorch():
    x = tc.ones(3, requires_grad=True)
    y = x * 2
    y.fill_(5.0)
    assert y.requires_grad and y.tolist() == [5.0, 5.0, 5.0]
    (y * y).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]  # the old values get a zero gradient, as PyTorch's FillBackward
    z = x * 3
    z.zero_()
    assert z.requires_grad and z.tolist() == [0.0, 0.0, 0.0]


def test_numpy_scalars_are_python_numbers_to_the_operators_like_pytorch():
    x = tc.ones(2)
    assert (x * np.float64(0.5)).dtype == tc.float32 and (np.float64(0.5) * x).dtype == tc.float32
    assert (tc.ones(2, dtype=tc.int64) * np.float32(2)).dtype == tc.float32
    assert (tc.ones(2, dtype=tc.int32) * np.int64(3)).dtype == tc.int32
    mha = tc.nn.MultiheadAttention(4, 2)
    q = tc.randn(3, 1, 4)
    out, weights = mha(q, q, q, need_weights=True)
    assert out.dtype == weights.dtype == tc.float32


def test_repr_matches_pytorchs_over_shapes_and_dtypes():
    """306 cases: ranks 0-4, summarized and empty shapes, floats (whole, scientific, inf/nan), ints, bools."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: no oracle for repr")
    rng = np.random.default_rng(1)
    kinds = {"f32": lambda a: a.astype(np.float32), "f64": lambda a: a, "i64": lambda a: (a * 50).astype(np.int64),
             "i32": lambda a: (a * 50).astype(np.int32), "b": lambda a: a > 0,
             "whole": lambda a: np.round(a * 10).astype(np.float32), "big": lambda a: (a * 1e9).astype(np.float32),
             "tiny": lambda a: (a * 1e-6).astype(np.float32), "f16": lambda a: a.astype(np.float16),
             "u8": lambda a: (np.abs(a) * 50).astype(np.uint8),
             "mixed": lambda a: np.where(a > 1, np.inf, np.where(a < -1, np.nan, a)).astype(np.float32)}
    shapes = [(), (1,), (5,), (9,), (1, 9), (2, 9), (3, 4, 5), (2, 2, 2, 2), (7, 8), (1001,), (2, 501), (11, 11, 11),
              (0,), (0, 4), (2, 0, 3), (4, 1), (1, 1, 1)]
    count = 0
    for shape in shapes:
        for kind, make in kinds.items():
            a = make(rng.standard_normal(shape))
            for grad in ((False, True) if a.dtype.kind == "f" else (False,)):
                ours, theirs = tc.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)
                if grad:
                    ours, theirs = ours * 2, theirs * 2
                expected = repr(theirs).replace("torch.", "").replace("Backward0", "Backward")
                assert repr(ours) == expected, (shape, kind, grad)
                count += 1
    assert count == 306


@pytest.mark.parametrize("options", [dict(precision=2), dict(sci_mode=True), dict(sci_mode=False),
                                     dict(precision=6, sci_mode=True), dict(profile="short"), dict(linewidth=40)])
def test_set_printoptions_change_reprs_as_torchs(options):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: no oracle for repr")
    values = ([1.23456, 2.5], [1e-8, 3.0], [100000.0, 1.0], [1.0, 2.0], [[0.5] * 12, [-1.5] * 12])
    try:
        tc.set_printoptions(**options)
        torch.set_printoptions(**options)
        for v in values:
            assert repr(tc.tensor(v)) == repr(torch.tensor(v)), v
    finally:
        tc.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(tc.tensor([1.23456])) == "tensor([1.2346])"
