"""Fuzzing the public ops: random shapes, dtypes, NaN/Inf, empty tensors, wrong argument types and
out-of-range axes. Every failure must be a tensorcore exception naming the op, never a bare NumPy or
Python error from deep inside, and never a crash."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tensorcore as tc
import tensorcore.ops.nn as F

dtypes = st.sampled_from([np.float32, np.float64, np.int64, np.bool_])
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
values = st.sampled_from([0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e30, -2.5])


@st.composite
def tensors(draw):
    dtype = draw(dtypes)
    shape = draw(shapes)
    fill = draw(values)
    a = np.full(shape, fill)
    if a.size:
        a.flat[0] = draw(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tc.tensor(a.astype(dtype) if dtype != np.bool_ else a != 0)


axes = st.one_of(st.none(), st.integers(-5, 5), st.tuples(st.integers(-4, 4), st.integers(-4, 4)),
                 st.just("x"), st.just(1.5))
junk = st.one_of(st.none(), st.just("text"), st.just([1, "a"]), st.just({}), st.integers(-3, 3), st.floats(-2, 2))

UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "gelu", "softplus", "elu", "sin", "log1p"]
REDUCE = ["sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "argmax"]


def _call(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy's RuntimeWarnings on NaN/Inf/empty are fine
        try:
            fn()
        except tc.TensorcoreError:
            pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=tensors(), op=st.sampled_from(UNARY))
def test_unary(x, op):
    _call(lambda: getattr(tc, op)(x))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=tensors(), op=st.sampled_from(REDUCE), axis=axes, keepdims=st.booleans())
def test_reductions(x, op, axis, keepdims):
    _call(lambda: getattr(tc, op)(x, axis=axis, keepdims=keepdims))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=tensors(), y=tensors(), op=st.sampled_from(["add", "sub", "mul", "div", "pow", "maximum", "matmul"]))
def test_binary(x, y, op):
    _call(lambda: getattr(tc, op)(x, y))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=tensors(), arg=junk, op=st.sampled_from(["reshape", "transpose", "squeeze", "unsqueeze", "flatten",
                                                 "softmax", "log_softmax", "repeat", "tile", "split", "pad"]))
def test_shape_ops_with_junk_arguments(x, arg, op):
    _call(lambda: getattr(tc, op)(x, arg))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=tensors(), t=tensors(), op=st.sampled_from(["cross_entropy", "nll_loss", "mse_loss",
                                                    "binary_cross_entropy_with_logits"]))
def test_losses(x, t, op):
    _call(lambda: getattr(F, op)(x, t))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=tensors(), index=st.one_of(junk, st.tuples(junk, junk), st.just(slice(None, None, 0))))
def test_indexing(x, index):
    _call(lambda: x[index])


@pytest.mark.parametrize("bad", ["text", [1, "a"], {"a": 1}, object()])
def test_tensor_from_bad_data(bad):
    with pytest.raises(tc.TensorcoreError):
        tc.tensor(bad)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reductions_take_one_axis(op):
    with pytest.raises(tc.ArgumentError, match=f"{op}: dim must be an int"):
        getattr(tc, op)(tc.zeros((1, 1)), axis=(0, 1))


def test_empty_tensors_work_through_ops_and_backward():
    x = tc.zeros((0, 3), requires_grad=True)
    y = (x * 2.0).sum()
    y.backward()
    assert y.item() == 0.0 and x.grad.shape == (0, 3)
    with pytest.raises(tc.ShapeError, match="max: reduction of an empty tensor"):
        tc.zeros((0, 3)).max()
