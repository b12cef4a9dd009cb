"""conv2d / conv_transpose2d: forward and both gradients against naive loops (float64) and PyTorch,
shape rules with stride/padding/dilation/groups, double backward, errors, and the nn modules."""

import math

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn
from tensorcore.testing.cases_conv import naive_conv2d, naive_conv_transpose2d

# (N, C, H, W), (O, C/groups, kh, kw), stride, padding, dilation, groups
CONFIGS = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, 1, 1),
    ((1, 2, 6, 7), (3, 2, 3, 2), (2, 1), (1, 2), 1, 1),
    ((2, 4, 8, 8), (6, 2, 3, 3), 2, 1, 1, 2),
    ((1, 2, 9, 7), (2, 2, 2, 3), 1, (2, 1), (2, 3), 1),
    ((1, 6, 5, 5), (6, 1, 3, 3), 1, 1, 1, 6),  # depthwise
    ((3, 1, 11, 11), (2, 1, 5, 5), 4, 2, 1, 1),
    ((1, 4, 4, 4), (8, 4, 1, 1), 1, 0, 1, 1),  # 1x1
]


def _t(a, requires_grad=True):
    return tc.tensor(a, dtype=tc.float64, requires_grad=requires_grad)


def _naive_grads(x, w, g, stride, padding, dilation, groups, eps=1e-6):
    """Gradients of sum(g * naive_conv2d(x, w)) by the adjoint identities, computed naively:
    d/dx is the naive transposed convolution; d/dw by central differences (exact for a bilinear map)."""
    # the transposed convolution with a conv_transpose2d-layout weight (C_in = O, C_out/groups = C/groups),
    # output_padding chosen so that it comes out at x's size
    base = naive_conv_transpose2d(g, w, stride=stride, padding=padding, groups=groups, dilation=dilation).shape
    extra = (x.shape[2] - base[2], x.shape[3] - base[3])
    gx = naive_conv_transpose2d(g, w, stride=stride, padding=padding, output_padding=extra, groups=groups,
                                dilation=dilation)
    gw = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        d = np.zeros_like(w)
        d[idx] = eps
        plus = naive_conv2d(x, w + d, None, stride, padding, dilation, groups)
        minus = naive_conv2d(x, w - d, None, stride, padding, dilation, groups)
        gw[idx] = ((plus - minus) * g).sum() / (2 * eps)
    return gx, gw


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CONFIGS)
def test_conv2d_forward_and_gradients_match_naive_loops(xs, ws, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    xt, wt, bt = _t(x), _t(w), _t(b)
    y = F.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    want = naive_conv2d(x, w, b, stride, padding, dilation, groups)
    assert y.shape == want.shape
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(want.shape)
    y.backward(tc.tensor(g))
    gx, gw = _naive_grads(x, w, g, stride, padding, dilation, groups)
    np.testing.assert_allclose(xt.grad.numpy(), gx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wt.grad.numpy(), gw, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(bt.grad.numpy(), g.sum(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CONFIGS)
def test_conv2d_matches_torch(xs, ws, stride, padding, dilation, groups):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    xt, wt, bt = _t(x), _t(w), _t(b)
    y = F.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    Y = torch.nn.functional.conv2d(X, W, B, stride, padding, dilation, groups)
    np.testing.assert_allclose(y.numpy(), Y.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(Y.shape)
    y.backward(tc.tensor(g))
    Y.backward(torch.tensor(g))
    for ours, theirs in ((xt, X), (wt, W), (bt, B)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv2d_float32_lenet_sized_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32) * 0.1
    xt, wt = tc.tensor(x, requires_grad=True), tc.tensor(w, requires_grad=True)
    X, W = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    y, Y = F.conv2d(xt, wt), torch.nn.functional.conv2d(X, W)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), Y.detach().numpy(), rtol=1e-4, atol=1e-4)
    y.sum().backward()
    Y.sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), X.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wt.grad.numpy(), W.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("h, w, k, s, p, d", [(7, 7, 3, 1, 0, 1), (28, 28, 5, 1, 2, 1), (227, 227, 11, 4, 0, 1),
                                                (8, 9, 3, 2, 1, 2), (5, 5, 5, 1, 0, 1), (10, 6, 2, 3, 0, 1)])
def test_output_shape_rule(h, w, k, s, p, d):
    x = tc.zeros((1, 2, h, w))
    wt = tc.zeros((3, 2, k, k))
    y = F.conv2d(x, wt, stride=s, padding=p, dilation=d)
    oh = math.floor((h + 2 * p - d * (k - 1) - 1) / s) + 1
    ow = math.floor((w + 2 * p - d * (k - 1) - 1) / s) + 1
    assert y.shape == (1, 3, oh, ow)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_padding_same_and_valid():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 6, 5))
    for k, d in (((3, 3), 1), ((2, 4), 1), ((3, 2), (2, 1))):
        w = rng.standard_normal((3, 2) + k)
        y = F.conv2d(_t(x), _t(w), padding="same", dilation=d)
        assert y.shape == (2, 3, 6, 5)
        want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding="same", dilation=d)
        np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal((3, 2, 3, 3))
    np.testing.assert_allclose(F.conv2d(_t(x), _t(w), padding="valid").numpy(), naive_conv2d(x, w), atol=1e-12)
    with pytest.raises(tc.ShapeError, match="same.*stride"):
        F.conv2d(_t(x), _t(w), stride=2, padding="same")
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(_t(x), _t(w), padding="full")


def test_unbatched_input():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    y = F.conv2d(_t(x), _t(w), padding=1)
    assert y.shape == (3, 5, 5)
    np.testing.assert_allclose(y.numpy(), naive_conv2d(x[None], w, padding=1)[0], atol=1e-12)


CT_CONFIGS = [
    ((1, 2, 3, 3), (2, 3, 3, 3), 2, 1, 1, 1, 1),
    ((2, 4, 3, 4), (4, 1, 2, 2), 1, 0, 0, 2, 2),
    ((1, 3, 4, 4), (3, 2, 4, 4), 2, 1, 0, 1, 1),
    ((1, 2, 5, 3), (2, 2, 3, 1), (3, 1), (1, 0), (2, 0), 1, (1, 2)),
]


@pytest.mark.parametrize("xs, ws, stride, padding, output_padding, groups, dilation", CT_CONFIGS)
def test_conv_transpose2d_matches_naive_and_torch(xs, ws, stride, padding, output_padding, groups, dilation):
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[1] * groups)
    xt, wt, bt = _t(x), _t(w), _t(b)
    y = F.conv_transpose2d(xt, wt, bt, stride, padding, output_padding, groups, dilation)
    want = naive_conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)
    torch = pytest.importorskip("torch")
    X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    Y = torch.nn.functional.conv_transpose2d(X, W, B, stride, padding, output_padding, groups, dilation)
    np.testing.assert_allclose(y.numpy(), Y.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(Y.shape)
    y.backward(tc.tensor(g))
    Y.backward(torch.tensor(g))
    for ours, theirs in ((xt, X), (wt, W), (bt, B)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = np.random.default_rng(6)
    x, w = _t(rng.standard_normal((1, 3, 9, 9))), _t(rng.standard_normal((4, 3, 3, 3)), False)
    y = F.conv2d(x, w, stride=2, padding=1)
    g = tc.tensor(rng.standard_normal(y.shape))
    y.backward(g)
    np.testing.assert_allclose(F.conv_transpose2d(g, w, stride=2, padding=1).numpy(), x.grad.numpy(), atol=1e-12)


def test_double_backward_matches_torch():
    """d/dw of |dL/dx|^2 (a gradient penalty): the backward of conv2d's backward."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 4, 6, 6)), rng.standard_normal((6, 2, 3, 3))
    xt, wt = _t(x), _t(w)
    y = F.conv2d(xt, wt, stride=2, padding=1, groups=2)
    (gx,) = tc.grad((y * y).sum(), xt, create_graph=True)
    (gx * gx).sum().backward()
    X, W = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    Y = torch.nn.functional.conv2d(X, W, stride=2, padding=1, groups=2)
    (GX,) = torch.autograd.grad((Y * Y).sum(), X, create_graph=True)
    (GX * GX).sum().backward()
    np.testing.assert_allclose(wt.grad.numpy(), W.grad.numpy(), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(xt.grad.numpy(), X.grad.numpy(), rtol=1e-10, atol=1e-9)


def test_gradgradcheck_conv2d_and_transpose():
    rng = np.random.default_rng(8)
    x, w = _t(rng.standard_normal((1, 2, 4, 4))), _t(rng.standard_normal((2, 1, 2, 2)))
    assert tc.gradgradcheck(lambda a, b: F.conv2d(a, b, stride=2, groups=2), (x, w))
    v = _t(rng.standard_normal((1, 2, 3, 3)))
    assert tc.gradgradcheck(lambda a, b: F.conv_transpose2d(a, b, stride=2, output_padding=1), (v, w))


# --- errors ----------------------------------------------------------------------------------------


def test_kernel_larger_than_padded_input():
    with pytest.raises(tc.ShapeError, match=r"conv2d: kernel 5x5 .*larger than the padded input 4x4"):
        F.conv2d(tc.zeros((1, 1, 2, 2)), tc.zeros((1, 1, 5, 5)), padding=1)
    with pytest.raises(tc.ShapeError, match=r"dilated 5x5"):
        F.conv2d(tc.zeros((1, 1, 4, 4)), tc.zeros((1, 1, 3, 3)), dilation=2)


def test_channels_and_groups_errors():
    with pytest.raises(tc.ShapeError, match=r"conv2d: in_channels 3 .* divisible by groups=2"):
        F.conv2d(tc.zeros((1, 3, 5, 5)), tc.zeros((4, 1, 3, 3)), groups=2)
    with pytest.raises(tc.ShapeError, match=r"conv2d: input of shape \(1, 4, 5, 5\) has 4 channels"):
        F.conv2d(tc.zeros((1, 4, 5, 5)), tc.zeros((4, 3, 3, 3)))
    with pytest.raises(tc.ShapeError, match="divisible"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(tc.ShapeError, match="bias"):
        F.conv2d(tc.zeros((1, 1, 5, 5)), tc.zeros((2, 1, 3, 3)), tc.zeros(3))


def test_ndim_dtype_and_argument_errors():
    with pytest.raises(tc.ShapeError, match=r"conv2d: input must be 4-D .* got shape \(5, 5\)"):
        F.conv2d(tc.zeros((5, 5)), tc.zeros((1, 1, 3, 3)))
    with pytest.raises(tc.ShapeError, match="weight must be 4-D"):
        F.conv2d(tc.zeros((1, 1, 5, 5)), tc.zeros((1, 3, 3)))
    with pytest.raises(tc.DTypeError, match="float64"):
        F.conv2d(tc.zeros((1, 1, 5, 5)), tc.zeros((1, 1, 3, 3), dtype=tc.float64))
    with pytest.raises(tc.ShapeError, match="stride must be >= 1"):
        F.conv2d(tc.zeros((1, 1, 5, 5)), tc.zeros((1, 1, 3, 3)), stride=0)
    with pytest.raises(TypeError, match="pair"):
        F.conv2d(tc.zeros((1, 1, 5, 5)), tc.zeros((1, 1, 3, 3)), stride=(1, 2, 3))
    with pytest.raises(tc.ShapeError, match="conv_transpose2d: output_padding"):
        F.conv_transpose2d(tc.zeros((1, 1, 3, 3)), tc.zeros((1, 1, 3, 3)), stride=2, output_padding=2)
    with pytest.raises(tc.ShapeError, match="conv_transpose2d: input of shape"):
        F.conv_transpose2d(tc.zeros((1, 2, 3, 3)), tc.zeros((3, 1, 3, 3)))


# --- modules ---------------------------------------------------------------------------------------


def test_conv2d_module_shapes_init_and_repr():
    tc.manual_seed(0)
    conv = nn.Conv2d(6, 16, 5, stride=1, padding=2, groups=2)
    assert conv.weight.shape == (16, 3, 5, 5) and conv.bias.shape == (16,)
    bound = 1 / math.sqrt(3 * 25)  # kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = conv.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(conv.bias.numpy()).max() <= bound
    assert conv(tc.zeros((2, 6, 10, 10))).shape == (2, 16, 10, 10)
    assert "groups=2" in repr(conv) and "kernel_size=(5, 5)" in repr(conv)
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]


def test_conv_transpose2d_module_output_size():
    up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    assert up.weight.shape == (4, 2, 3, 3)
    x = tc.zeros((1, 4, 5, 5))
    assert up(x).shape == (1, 2, 9, 9)
    assert up(x, output_size=(10, 10)).shape == (1, 2, 10, 10)
