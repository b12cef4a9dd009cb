"""The serial Numba kernels (tensorcore/backends/cpu_parallel_small.py) against their NumPy references.

cpu.py sends them full float32 sums of 256..65536 elements and ReLU backwards below the parallel kernels'
size; everything else (other dtypes, non-contiguous arrays, Numba switched off) stays on NumPy.
"""

import math

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.backends import cpu
from tensorcore.backends import cpu_parallel as parallel

pytest.importorskip("numba", reason="the serial kernels need numba (tensorcore[train])")

SHAPES = [(256,), (257,), (3, 5, 31), (2048,), (32, 64), (7, 11, 13, 17), (65536,)]


@pytest.fixture
def numpy_only():
    """cpu.py with every Numba kernel off: the NumPy reference."""
    before = parallel.enabled
    parallel.enabled = False
    yield
    parallel.enabled = before


def _reference_sum(x):
    return math.fsum(x.astype(np.float64).ravel())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_full_float32_sum_is_the_exactly_rounded_sum(shape, keepdims):
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    got = cpu.sum(x, tuple(range(x.ndim)), keepdims)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    assert got.shape == ((1,) * x.ndim if keepdims else ())
    exact = _reference_sum(x)
    # float64 accumulation, one rounding: within one float32 ulp of the exact sum (NumPy's pairwise float32 sum
    # is allowed its usual error, the reference the kernel is checked against).
    assert abs(float(got.ravel()[0]) - exact) <= float(np.spacing(np.float32(abs(exact))))
    ref = np.add.reduce(x, axis=None, keepdims=keepdims)
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-7 * float(np.abs(x).sum()))


def test_sum_is_deterministic_and_matches_numpy_reference(numpy_only):
    x = np.random.default_rng(1).standard_normal((64, 129)).astype(np.float32)
    ref = cpu.sum(x, (0, 1), False)  # NumPy: the kernels are off
    parallel.enabled = True
    first = cpu.sum(x, (0, 1), False)
    assert all(cpu.sum(x, (0, 1), False) == first for _ in range(5))
    np.testing.assert_allclose(first, ref, rtol=1e-5)


@pytest.mark.parametrize("make", [
    lambda x: x.T,  # non-contiguous: NumPy's reduce
    lambda x: x.astype(np.float64),  # float64: NumPy's pairwise sum
    lambda x: x[:10],  # below the kernel's size
    lambda x: x.astype(np.float16),  # float16: float32 accumulation in NumPy
])
def test_sums_the_kernel_does_not_take_stay_numpy(make):
    x = make(np.random.default_rng(2).standard_normal((40, 33)).astype(np.float32))
    got = cpu.sum(x, tuple(range(x.ndim)), False)
    assert got.dtype == x.dtype
    np.testing.assert_allclose(np.float64(got), _reference_sum(x), rtol=1e-3 if x.dtype == np.float16 else 1e-6)


def test_partial_sums_are_not_taken():
    x = np.random.default_rng(3).standard_normal((16, 64)).astype(np.float32)
    np.testing.assert_array_equal(cpu.sum(x, (1,), False), np.add.reduce(x, axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (5,), (3, 7), (32, 64), (2, 3, 5, 7), (32767,)])
def test_relu_backward_equals_the_numpy_rule(dtype, shape):
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[: min(3, flat.size)] = [0.0, -0.0, np.nan][: min(3, flat.size)]  # the kink, signed zero, NaN
    got = cpu.relu_backward(x, g)
    assert got.dtype == x.dtype and got.shape == x.shape
    np.testing.assert_array_equal(got, g * (x > 0))


def test_relu_backward_with_strided_gradient_stays_numpy():
    x = np.random.default_rng(4).standard_normal((33, 17)).astype(np.float32)
    g = np.random.default_rng(5).standard_normal((17, 33)).astype(np.float32).T
    np.testing.assert_array_equal(cpu.relu_backward(x, g), g * (x > 0))


def test_tensor_level_sum_and_relu_gradient_match_the_numpy_reference(numpy_only):
    data = np.random.default_rng(6).standard_normal((32, 64)).astype(np.float32)

    def run():
        x = tc.tensor(data, requires_grad=True)
        y = tc.relu(x).sum()
        y.backward()
        return y.item(), x.grad.numpy().copy()

    ref_value, ref_grad = run()  # NumPy
    parallel.enabled = True
    value, grad = run()  # the kernels
    assert value == pytest.approx(ref_value, rel=1e-6)
    np.testing.assert_array_equal(grad, ref_grad)


def test_relu_keeps_negative_zero_and_nan_as_pytorch():
    x = tc.tensor([-0.0, float("nan"), -1.0, 2.0])
    y = tc.relu(x).numpy()
    assert math.copysign(1.0, y[0]) == -1.0 and math.isnan(y[1]) and y[2] == 0.0 and y[3] == 2.0
