"""Pooling: max (values, PyTorch indices, gradients, ties, NaN), average, adaptive, unpool; errors; modules."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn
from tensorcore.testing.cases_conv import naive_adaptive_avg_pool2d, naive_avg_pool2d, naive_max_pool2d

MAX_CONFIGS = [  # kernel, stride, padding, dilation, input shape
    (2, None, 0, 1, (2, 3, 8, 8)),
    (3, 2, 0, 1, (2, 2, 13, 13)),      # AlexNet's overlapping pooling
    (3, 2, 1, 1, (1, 2, 9, 10)),
    ((2, 3), (1, 2), (1, 1), 1, (1, 2, 5, 7)),
    (2, 1, 0, 2, (1, 1, 6, 6)),
    (2, 2, 0, 1, (1, 1, 7, 5)),        # odd sizes: the last row/column is dropped
]


def _t(a, requires_grad=True):
    return tc.tensor(a, dtype=tc.float64, requires_grad=requires_grad)


@pytest.mark.parametrize("k, s, p, d, shape", MAX_CONFIGS)
def test_max_pool2d_matches_naive_and_torch(k, s, p, d, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    xt = _t(x)
    y, idx = F.max_pool2d(xt, k, s, p, d, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), naive_max_pool2d(x, k, s, p, d))
    assert idx.dtype == np.int64 and idx.shape == y.shape
    torch = pytest.importorskip("torch")
    X = torch.tensor(x, requires_grad=True)
    Y, I = torch.nn.functional.max_pool2d(X, k, s, p, d, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), I.numpy())
    g = rng.standard_normal(Y.shape)
    y.backward(tc.tensor(g))
    Y.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), X.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool2d_ties_send_the_gradient_to_the_first_maximum():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 1, 5, 5))  # like a ReLU output: all ties at zero
    x[0, 0, 2, 2] = 1.0
    for k, s in ((2, 2), (3, 2), (3, 1)):
        xt, X = _t(x), torch.tensor(x, requires_grad=True)
        y, idx = F.max_pool2d(xt, k, s, return_indices=True)
        Y, I = torch.nn.functional.max_pool2d(X, k, s, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), I.numpy())
        y.sum().backward()
        Y.sum().backward()
        np.testing.assert_array_equal(xt.grad.numpy(), X.grad.numpy())


def test_max_pool2d_propagates_nan_like_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(32, dtype=np.float64).reshape(1, 2, 4, 4)
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 0, 0] = np.nan
    x[0, 1, 1, 1] = np.nan
    y, idx = F.max_pool2d(_t(x), 2, return_indices=True)
    Y, I = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), Y.numpy())  # NaN == NaN for assert_array_equal
    np.testing.assert_array_equal(idx.numpy(), I.numpy())


def test_max_pool2d_float32_and_default_stride():
    x = tc.randn(4, 6, 28, 28)
    y = F.max_pool2d(x, 2)
    assert y.shape == (4, 6, 14, 14) and y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(4, 6, 14, 2, 14, 2).max(axis=(3, 5)))


@pytest.mark.parametrize("k, s, p, cip", [(2, None, 0, True), (3, 2, 1, True), (3, 2, 1, False),
                                          ((2, 3), (2, 1), (1, 1), False), (3, 3, 0, True)])
def test_avg_pool2d_matches_naive_and_torch(k, s, p, cip):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 8))
    xt = _t(x)
    y = F.avg_pool2d(xt, k, s, p, count_include_pad=cip)
    np.testing.assert_allclose(y.numpy(), naive_avg_pool2d(x, k, s, p, cip), rtol=1e-12)
    torch = pytest.importorskip("torch")
    X = torch.tensor(x, requires_grad=True)
    Y = torch.nn.functional.avg_pool2d(X, k, s, p, count_include_pad=cip)
    np.testing.assert_allclose(y.numpy(), Y.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(Y.shape)
    y.backward(tc.tensor(g))
    Y.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), X.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape, size", [((2, 3, 7, 7), 1), ((1, 2, 6, 6), 3), ((1, 2, 5, 7), (2, 3)),
                                         ((1, 1, 13, 13), 6), ((1, 2, 4, 4), (None, 3)), ((1, 1, 3, 3), 5)])
def test_adaptive_avg_pool2d_matches_torch(shape, size):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    xt = _t(x)
    y = F.adaptive_avg_pool2d(xt, size)
    full = (shape[2] if size[0] is None else size[0], size[1]) if isinstance(size, tuple) else (size, size)
    np.testing.assert_allclose(y.numpy(), naive_adaptive_avg_pool2d(x, full), rtol=1e-12)
    torch = pytest.importorskip("torch")
    X = torch.tensor(x, requires_grad=True)
    Y = torch.nn.functional.adaptive_avg_pool2d(X, size)
    np.testing.assert_allclose(y.numpy(), Y.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(Y.shape)
    y.backward(tc.tensor(g))
    Y.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), X.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_max_unpool2d_matches_torch_and_inverts_the_pool():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 7))
    y, idx = F.max_pool2d(_t(x, False), 2, return_indices=True)
    yt = _t(y.numpy())
    up = F.max_unpool2d(yt, idx, 2, output_size=(6, 7))
    Y, I = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    Yr = Y.clone().requires_grad_(True)
    UP = torch.nn.functional.max_unpool2d(Yr, I, 2, output_size=(6, 7))
    np.testing.assert_array_equal(up.numpy(), UP.detach().numpy())
    kept = up.numpy() != 0
    np.testing.assert_array_equal(up.numpy()[kept], x[kept])  # the maxima are back in place
    g = rng.standard_normal(UP.shape)
    up.backward(tc.tensor(g))
    UP.backward(torch.tensor(g))
    np.testing.assert_array_equal(yt.grad.numpy(), Yr.grad.numpy())
    with pytest.raises(tc.ShapeError, match="out of range for the output size"):
        F.max_unpool2d(y, idx, 2)  # the default size (6, 6) cannot hold switches into 6x7 planes
    y2, idx2 = F.max_pool2d(_t(x[..., :6], False), 2, return_indices=True)
    assert F.max_unpool2d(y2, idx2, 2).shape == (2, 3, 6, 6)


def test_pool_errors():
    with pytest.raises(tc.ShapeError, match=r"max_pool2d: kernel 5x5 .*larger than the padded input 4x4"):
        F.max_pool2d(tc.zeros((1, 1, 4, 4)), 5)
    with pytest.raises(tc.ShapeError, match="max_pool2d: padding .* half the kernel"):
        F.max_pool2d(tc.zeros((1, 1, 8, 8)), 2, padding=2)
    with pytest.raises(tc.ShapeError, match="avg_pool2d: input must be 4-D"):
        F.avg_pool2d(tc.zeros((4, 4)), 2)
    assert F.max_pool2d(tc.zeros((1, 1, 5, 5)), 2, ceil_mode=True).shape == (1, 1, 3, 3)  # PyTorch's ceil mode
    with pytest.raises(tc.DTypeError):
        F.max_pool2d(tc.zeros((1, 1, 4, 4), dtype=tc.int64), 2)
    with pytest.raises(tc.ShapeError, match="max_unpool2d: indices of shape"):
        F.max_unpool2d(tc.zeros((1, 1, 2, 2)), tc.zeros((1, 1, 3, 3), dtype=tc.int64), 2)
    with pytest.raises(tc.ShapeError, match="out of range"):
        F.max_unpool2d(tc.zeros((1, 1, 2, 2)), tc.full((1, 1, 2, 2), 99, dtype=tc.int64), 2)


def test_max_pool_double_backward():
    rng = np.random.default_rng(4)
    x = _t(rng.permutation(50).reshape(1, 2, 5, 5) * 0.3)
    assert tc.gradgradcheck(lambda a: F.max_pool2d(a, 3, 2, padding=1), (x,))


def test_pool_modules():
    x = tc.randn(2, 4, 55, 55)
    assert nn.MaxPool2d(3, stride=2)(x).shape == (2, 4, 27, 27)
    y, idx = nn.MaxPool2d(2, return_indices=True)(x)
    assert y.shape == idx.shape == (2, 4, 27, 27)
    assert nn.MaxUnpool2d(2)(y, idx, output_size=x.shape).shape == x.shape
    assert nn.AvgPool2d(5)(x).shape == (2, 4, 11, 11)
    assert nn.AdaptiveAvgPool2d((6, 6))(x).shape == (2, 4, 6, 6)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 4, 1, 1)
    assert "kernel_size=3" in repr(nn.MaxPool2d(3, 2))
