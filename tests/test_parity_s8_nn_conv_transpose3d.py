"""nn.ConvTranspose3d / F.conv_transpose3d against PyTorch: values and gradients for stride, padding,
output_padding, groups and dilation, float64 gradcheck, state_dict keys, output_size, bad input."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.nn import functional as F

torch = pytest.importorskip("torch")

GEOMETRIES = [
    dict(),
    dict(stride=2),
    dict(stride=(2, 1, 3), padding=(1, 0, 1), output_padding=(1, 0, 2)),
    dict(stride=2, padding=1, dilation=(2, 1, 2), output_padding=1),
    dict(groups=2, stride=(1, 2, 2), padding=(0, 1, 0)),
    dict(dilation=3, padding=2),
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=[str(g) for g in GEOMETRIES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_and_grads_match_torch(geometry, dtype):
    rng = np.random.default_rng(0)
    groups = geometry.get("groups", 1)
    x = rng.standard_normal((2, 4, 3, 4, 3)).astype(dtype)
    w = rng.standard_normal((4, 6 // groups, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv_transpose3d(tx, tw, tb, **geometry)
    cx, cw, cb = (tc.tensor(a, requires_grad=True) for a in (x, w, b))
    yc = F.conv_transpose3d(cx, cw, cb, **geometry)
    assert tuple(yc.shape) == tuple(yt.shape) and yc.dtype == np.dtype(dtype)
    tol = 1e-10 if dtype is np.float64 else 2e-5
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    go = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(go))
    yc.backward(tc.tensor(go))
    for c, t in ((cx, tx), (cw, tw), (cb, tb)):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("geometry", GEOMETRIES[1:4], ids=[str(g) for g in GEOMETRIES[1:4]])
def test_gradcheck(geometry):
    rng = np.random.default_rng(1)
    x = tc.tensor(rng.standard_normal((1, 2, 2, 3, 2)), requires_grad=True)
    w = tc.tensor(rng.standard_normal((2, 2, 2, 2, 2)), requires_grad=True)
    b = tc.tensor(rng.standard_normal(2), requires_grad=True)
    assert tc.gradcheck(lambda x, w, b: F.conv_transpose3d(x, w, b, **geometry), (x, w, b))


def test_gradgradcheck():
    rng = np.random.default_rng(2)
    x = tc.tensor(rng.standard_normal((1, 2, 2, 2, 2)), requires_grad=True)
    w = tc.tensor(rng.standard_normal((2, 1, 2, 2, 2)), requires_grad=True)
    assert tc.gradgradcheck(lambda x, w: F.conv_transpose3d(x, w, stride=2, padding=1, output_padding=1), (x, w))


def test_unbatched():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal((2, 3, 2, 2, 2))
    yt = torch.nn.functional.conv_transpose3d(torch.tensor(x), torch.tensor(w), stride=2)
    yc = F.conv_transpose3d(tc.tensor(x), tc.tensor(w), stride=2)
    assert tuple(yc.shape) == tuple(yt.shape) == (3, 6, 6, 6)
    np.testing.assert_allclose(yc.numpy(), yt.numpy(), atol=1e-12)


def test_module_state_dict_repr_and_output_size():
    torch.manual_seed(0)
    mt = torch.nn.ConvTranspose3d(4, 6, (3, 2, 2), stride=2, padding=1, groups=2, dilation=(1, 2, 1)).double()
    mc = nn.ConvTranspose3d(4, 6, (3, 2, 2), stride=2, padding=1, groups=2, dilation=(1, 2, 1), dtype=tc.float64)
    assert repr(mc) == repr(mt)
    sd = {k: v.detach().numpy() for k, v in mt.state_dict().items()}
    assert list(mc.state_dict()) == list(sd) == ["weight", "bias"]
    assert {k: tuple(v.shape) for k, v in mc.state_dict().items()} == {k: v.shape for k, v in sd.items()}
    mc.load_state_dict({k: tc.tensor(v) for k, v in sd.items()})
    x = np.random.default_rng(4).standard_normal((1, 4, 3, 4, 3))
    for size in (None, (6, 8, 5), (1, 6, 6, 7, 4)):
        yt = mt(torch.tensor(x), output_size=size)
        yc = mc(tc.tensor(x), output_size=size)
        assert tuple(yc.shape) == tuple(yt.shape)
        np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    # default init: the same bounds as torch's (kaiming_uniform with a=sqrt(5) over fan_in = out/groups * k)
    fan_in = 3 * 3 * 2 * 2
    assert float(mc.bias.abs().max()) <= 1 / np.sqrt(fan_in)
    assert float(mc.weight.abs().max()) <= 1 / np.sqrt(fan_in)


def test_bad_input_raises_naming_the_op():
    x, w = tc.randn(1, 2, 3, 3, 3), tc.randn(2, 2, 2, 2, 2)
    cases = [
        (lambda: F.conv_transpose3d(x, tc.randn(2, 2, 2, 2)), "5-D"),
        (lambda: F.conv_transpose3d(tc.randn(2, 3, 3), w), "5-D"),
        (lambda: F.conv_transpose3d(x, tc.randn(3, 2, 2, 2, 2)), "channels"),
        (lambda: F.conv_transpose3d(x, w, output_padding=1), "output_padding"),
        (lambda: F.conv_transpose3d(x, w, stride=(1, 2)), "stride"),
        (lambda: F.conv_transpose3d(x, w, tc.randn(3)), "bias"),
        (lambda: F.conv_transpose3d(x, w, padding=3), "empty"),
        (lambda: F.conv_transpose3d(x, w, groups=3), "groups"),
    ]
    for fn, words in cases:
        with pytest.raises(tc.TensorcoreError, match="conv_transpose") as info:
            fn()
        assert words in str(info.value)
    with pytest.raises(tc.TensorcoreError, match="ConvTranspose3d: requested an output size"):
        nn.ConvTranspose3d(2, 2, 2, stride=2)(x, output_size=(9, 6, 6))
    with pytest.raises(tc.TensorcoreError, match="ConvTranspose3d"):
        nn.ConvTranspose3d(4, 6, 2, groups=4)
    with pytest.raises(tc.TensorcoreError, match="ConvTranspose3d"):
        nn.ConvTranspose3d(4, 6, 2, padding_mode="reflect")
