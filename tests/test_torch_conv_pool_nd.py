"""conv1d / conv3d / conv_transpose1d, 1-D and 3-D pools and the adaptive pools against PyTorch (float64),
and their modules loading a PyTorch state_dict."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional
R = np.random.default_rng(0)


def _compare(fn, *arrays):
    ours = [tc.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = fn(F, *ours), fn(TF, *theirs)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = R.standard_normal(ty.shape)
    (y * tc.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


X1, W1, WT1 = R.standard_normal((2, 4, 9)), R.standard_normal((6, 2, 3)), R.standard_normal((4, 3, 3))
X3, W3, B3 = R.standard_normal((2, 4, 5, 6, 5)), R.standard_normal((6, 2, 3, 2, 3)), R.standard_normal(6)
XD = R.permutation(2 * 3 * 5 * 6 * 7).reshape(2, 3, 5, 6, 7) * 0.1  # distinct values: no ties


@pytest.mark.parametrize("call,arrays", [
    (lambda f, x, w: f.conv1d(x, w, stride=2, padding=1, dilation=2, groups=2), (X1, W1)),
    (lambda f, x, w: f.conv1d(x, w, padding="same", groups=2), (X1, W1)),
    (lambda f, x, w: f.conv1d(x, w, padding="valid", groups=2), (X1[0], W1)),  # unbatched
    (lambda f, x, w: f.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1), (X1, WT1)),
    (lambda f, x, w: f.conv_transpose1d(x, w, stride=1, dilation=3, output_padding=2), (X1, WT1)),
    (lambda f, x, w, b: f.conv3d(x, w, b, stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2),
     (X3, W3, B3)),
    (lambda f, x, w: f.conv3d(x, w, padding="same", groups=2), (X3, W3)),
])
def test_convolutions_match_torch(call, arrays):
    _compare(call, *arrays)


@pytest.mark.parametrize("call,x", [
    (lambda f, x: f.max_pool1d(x, 3, 2, 1, ceil_mode=True), XD[:, :, 0, 0]),
    (lambda f, x: f.max_pool1d(x, 2, dilation=2), XD[:, :, 0, 0]),
    (lambda f, x: f.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), XD[:, :, 0, 0]),
    (lambda f, x: f.avg_pool1d(x, 4, 1, 2), XD[:, :, 0, 0]),
    (lambda f, x: f.max_pool3d(x, (2, 3, 3), (2, 2, 1), (1, 1, 0), ceil_mode=True), XD),
    (lambda f, x: f.max_pool3d(x, 2, dilation=(2, 1, 1)), XD),
    (lambda f, x: f.avg_pool3d(x, 3, 2, 1, ceil_mode=True), XD),
    (lambda f, x: f.avg_pool3d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), XD),
    (lambda f, x: f.avg_pool3d(x, (1, 2, 3)), XD[0]),  # unbatched
    (lambda f, x: f.adaptive_avg_pool1d(x, 4), XD[:, :, 0, 0]),
    (lambda f, x: f.adaptive_avg_pool3d(x, (2, 4, None)), XD),
    (lambda f, x: f.adaptive_avg_pool3d(x, 1), XD),
    (lambda f, x: f.adaptive_max_pool1d(x, 4), XD[:, :, 0, 0]),
    (lambda f, x: f.adaptive_max_pool2d(x, (4, 3)), XD[:, :, 0]),
    (lambda f, x: f.adaptive_max_pool2d(x, (None, 5)), XD[:, :, 0]),
    (lambda f, x: f.adaptive_max_pool3d(x, (3, 4, 5)), XD),
])
def test_pools_match_torch(call, x):
    _compare(call, x)


def test_max_pool1d_indices_match_torch():
    x = XD[:, :, 0, 0]
    ours = F.max_pool1d(tc.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)[1]
    theirs = TF.max_pool1d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)[1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = F.max_pool3d(tc.tensor(XD), 2, return_indices=True)[1]  # flat d H W + h W + w, as PyTorch
    np.testing.assert_array_equal(ours.numpy(), TF.max_pool3d(torch.tensor(XD), 2, return_indices=True)[1].numpy())
    with pytest.raises(tc.TensorcoreError, match="conv3d"):
        F.conv3d(tc.tensor(X3), tc.tensor(W3[:, :, :, :, 0]))


@pytest.mark.parametrize("name,args,kwargs,x", [
    ("Conv1d", (4, 6, 3), {"stride": 2, "groups": 2}, X1), ("Conv3d", (4, 6, (3, 2, 3)), {"padding": 1}, X3),
    ("ConvTranspose1d", (4, 3, 3), {"stride": 2, "output_padding": 1}, X1),
])
def test_conv_modules_load_torch_state_dicts(name, args, kwargs, x):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs).double()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    bound = 1 / np.sqrt(np.prod(ours.weight.shape[1:]))  # PyTorch's default init: U(-1/sqrt(fan_in), ...)
    assert float(abs(ours.bias.numpy()).max()) <= bound and float(abs(ours.weight.numpy()).max()) <= bound
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(ours.double()(tc.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,args,x", [
    ("MaxPool1d", (3, 2, 1), XD[:, :, 0, 0]), ("AvgPool1d", (3, 2), XD[:, :, 0, 0]), ("MaxPool3d", (2,), XD),
    ("AvgPool3d", (2, 1), XD), ("AdaptiveAvgPool1d", (3,), XD[:, :, 0, 0]), ("AdaptiveAvgPool3d", ((2, 3, 4),), XD),
    ("AdaptiveMaxPool1d", (3,), XD[:, :, 0, 0]), ("AdaptiveMaxPool2d", ((3, 4),), XD[:, :, 0]),
    ("AdaptiveMaxPool3d", (2,), XD),
])
def test_pool_modules_match_torch(name, args, x):
    ours, theirs = getattr(nn, name)(*args)(tc.tensor(x)), getattr(torch.nn, name)(*args)(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
