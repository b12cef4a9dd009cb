"""float16 and vector-load activation kernels (kernels/activations.py, kernels/_vector_f16.py) against
float64 NumPy references, in the simulator or on a GPU (their SASS: tests/test_kernels_f16_sass.py)."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, requires_cuda, to_device, to_host

pytestmark = pytest.mark.kernels

NAMES = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]


@pytest.fixture(scope="module")
def act():
    from tensorcore.kernels import activations

    return activations


def _forward(act, name, x, out):
    if name == "leaky_relu":
        return act.leaky_relu(x, 0.1, out=out)
    if name == "gelu_tanh":
        return act.gelu(x, approximate="tanh", out=out)
    return getattr(act, name)(x, out=out)


def _backward(act, name, x, g, out):
    if name == "leaky_relu":
        return act.leaky_relu_backward(x, g, 0.1, out=out)
    if name == "gelu_tanh":
        return act.gelu_backward(x, g, approximate="tanh", out=out)
    return getattr(act, name + "_backward")(x, g, out=out)


def check_half(out, ref, what):
    """Each float16 output is the rounding of the float64 result, give or take float32 arithmetic."""
    out = to_host(out)
    assert out.dtype == np.float16, f"{what}: dtype {out.dtype}"
    out = out.astype(np.float64)
    assert not np.isnan(out).any(), f"{what}: NaN (an element was not written)"
    ulp = np.spacing(np.abs(ref).astype(np.float16)).astype(np.float64)
    err = np.abs(out - ref)
    assert (err <= 0.5 * ulp + 1e-6 * (1 + np.abs(ref))).all(), f"{what}: max error {err.max()} at {err.argmax()}"


def _operands(rng, n, dtype, offset):
    """Device arrays of n elements starting ``offset`` elements into their allocation (1: misaligned)."""
    x = to_device(rng.uniform(-4, 4, n + offset).astype(dtype))[offset:]
    g = to_device(rng.uniform(-2, 2, n + offset).astype(dtype))[offset:]
    out = poisoned(n + offset, dtype)[offset:]
    return x, g, out


@requires_cuda
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("offset", [0, 1], ids=["vector", "scalar"])
def test_half_and_vector_paths(act, name, dtype, offset):
    from tensorcore.kernels import _vector_f16

    rng = np.random.default_rng(NAMES.index(name))
    n = 4 * 9 * 2 + 3  # full vectors over two unrolled steps, a partial step and a 3-element tail
    x, g, out = _operands(rng, n, dtype, offset)
    assert _vector_f16.aligned(x, g, out) == (offset == 0)
    xh = to_host(x).astype(np.float64)
    gh = to_host(g).astype(np.float64)
    a = 0.1 if name == "leaky_relu" else 0.0
    y = _forward(act, name, x, out)
    ref = act.forward_reference(name, xh, a)
    if dtype == np.float16:
        check_half(y, ref, f"{name} forward")
    else:
        assert_close(y, ref, dtype, what=f"{name} forward")
    dx = _backward(act, name, x, g, poisoned(n + offset, dtype)[offset:])
    dref = act.backward_reference(name, xh, gh, a)
    if dtype == np.float16:
        check_half(dx, dref, f"{name} backward")
    else:
        assert_close(dx, dref, dtype, what=f"{name} backward")


@requires_cuda
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_backward_from_output(act, name, dtype):
    rng = np.random.default_rng(3)
    n = 4 * 5 + 1
    y = getattr(act, name)(to_device(rng.uniform(-3, 3, n).astype(dtype)))
    g = to_device(rng.uniform(-2, 2, n).astype(dtype))
    dx = getattr(act, f"{name}_backward_from_output")(y, g, out=poisoned(n, dtype))
    ref = act.backward_reference(f"{name}_output", to_host(y).astype(np.float64), to_host(g).astype(np.float64))
    if dtype == np.float16:
        check_half(dx, ref, f"{name} from output")
    else:
        assert_close(dx, ref, dtype, what=f"{name} from output")


@requires_cuda
def test_half_in_place_vector(act):
    rng = np.random.default_rng(7)
    x = to_device(rng.uniform(-3, 3, 45).astype(np.float16))
    ref = act.forward_reference("sigmoid", to_host(x).astype(np.float64))
    check_half(act.sigmoid(x, out=x), ref, "sigmoid in place")


@requires_cuda
def test_half_rejects_mixed_dtypes(act):
    x = to_device(np.ones(8, np.float16))
    with pytest.raises(TypeError, match="grad"):
        act.relu_backward(x, to_device(np.ones(8, np.float32)))
