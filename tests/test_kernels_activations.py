"""Activation kernels (kernels/activations.py) against float64 NumPy references."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, requires_gpu, to_device, to_host

pytestmark = pytest.mark.kernels

NAMES = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]


@pytest.fixture(scope="module")
def act():
    from tensorcore.kernels import activations

    return activations


def _forward(act, name, x, out=None):
    if name == "leaky_relu":
        return act.leaky_relu(x, 0.1, out=out)
    if name == "gelu_tanh":
        return act.gelu(x, approximate="tanh", out=out)
    return getattr(act, name)(x, out=out)


def _backward(act, name, x, g, out=None):
    if name == "leaky_relu":
        return act.leaky_relu_backward(x, g, 0.1, out=out)
    if name == "gelu_tanh":
        return act.gelu_backward(x, g, approximate="tanh", out=out)
    return getattr(act, name + "_backward")(x, g, out=out)


@requires_cuda
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape,dtype", [((1,), np.float64), ((3, 5, 7), np.float64), ((1031,), np.float32)])
def test_forward_backward(act, rng, name, shape, dtype):
    x = random(rng, shape, dtype, -4, 4)
    g = random(rng, shape, dtype)
    y, dx = poisoned(shape, dtype), poisoned(shape, dtype)
    assert _forward(act, name, to_device(x), out=y) is y
    _backward(act, name, to_device(x), to_device(g), out=dx)
    assert_close(y, act.forward_reference(name, x, 0.1), dtype, what=f"{name} forward")
    assert_close(dx, act.backward_reference(name, x, g, 0.1), dtype, what=f"{name} backward")


@requires_cuda
def test_large_inputs_stay_finite_and_kinks(act):
    x = np.array([-1e4, -50.0, -0.0, 0.0, 50.0, 1e4, np.nan], dtype=np.float32)
    s = to_host(act.sigmoid(to_device(x)))
    np.testing.assert_array_equal(s[:6], [0.0, np.float32(1.9287499e-22), 0.5, 0.5, 1.0, 1.0])
    assert np.isnan(s[6])
    assert np.isnan(to_host(act.relu(to_device(x)))[6]), "relu must propagate NaN"
    d = to_host(act.relu_backward(to_device(x[:6]), to_device(np.ones(6, np.float32))))
    np.testing.assert_array_equal(d, [0, 0, 0, 0, 1, 1])  # NOTE: 0 at the kink
    for name in ("tanh", "gelu", "gelu_tanh"):
        y = to_host(_forward(act, name, to_device(x[:6])))
        assert np.isfinite(y).all(), name


@requires_cuda
def test_in_place_and_errors(act, rng):
    x = to_device(random(rng, (4, 5), np.float64))
    ref = act.forward_reference("tanh", to_host(x))
    assert act.tanh(x, out=x) is x
    assert_close(x, ref, np.float64)
    with pytest.raises(ValueError, match=r"relu_backward: grad must have shape \(4, 5\), got \(5, 4\)"):
        act.relu_backward(x, to_device(np.ones((5, 4))))
    with pytest.raises(TypeError, match="relu: x must have dtype float32 or float64 or float16, got int64"):
        act.relu(to_device(np.ones(3, dtype=np.int64)))
    with pytest.raises(ValueError, match="sigmoid: x .* must be C-contiguous"):
        act.sigmoid(to_device(np.ones((3, 4))).T)
    with pytest.raises(ValueError, match="approximate"):
        act.gelu(x, approximate="fast")
    assert act.relu(to_device(np.ones((0, 3)))).shape == (0, 3)


@requires_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("name", NAMES)
def test_large_gpu(act, rng, name):
    x = random(rng, (1 << 20) + 7, np.float32, -4, 4)
    g = random(rng, x.shape, np.float32)
    assert_close(_forward(act, name, to_device(x)), act.forward_reference(name, x, 0.1), np.float32)
    assert_close(_backward(act, name, to_device(x), to_device(g)), act.backward_reference(name, x, g, 0.1), np.float32)


@requires_cuda
def test_grid_stride_covers_more_than_one_grid(act, rng):
    from tensorcore.kernels import _launch

    n = _launch.grid_1d(10**9) * _launch.THREADS_1D * act.UNROLL + 37  # > one full grid of elements
    if n > 200_000:
        pytest.skip("only meaningful where the grid is small (the simulator)")
    x, g = random(rng, (n,), np.float32), random(rng, (n,), np.float32)
    assert_close(act.leaky_relu(to_device(x), 0.2), act.forward_reference("leaky_relu", x, 0.2), np.float32)
    assert_close(act.relu_backward(to_device(x), to_device(g)), act.backward_reference("relu", x, g), np.float32)
