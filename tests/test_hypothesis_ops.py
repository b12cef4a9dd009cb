"""Property tests: forward values and result shapes match NumPy over random shapes and broadcasting."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tensorcore as tc

shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=5)
floats = st.floats(-10, 10, allow_nan=False, width=64)


@st.composite
def broadcastable_pair(draw):
    a_shape, b_shape = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4)).input_shapes
    a = draw(hnp.arrays(np.float64, a_shape, elements=floats))
    b = draw(hnp.arrays(np.float64, b_shape, elements=floats))
    return a, b


BINARY = [(lambda a, b: a + b, np.add), (lambda a, b: a - b, np.subtract), (lambda a, b: a * b, np.multiply),
          (tc.maximum, np.maximum), (tc.minimum, np.minimum)]


@pytest.mark.parametrize("op,ref", BINARY)
@settings(max_examples=40, deadline=None)
@given(pair=broadcastable_pair())
def test_binary_ops_broadcast_like_numpy(op, ref, pair):
    a, b = pair
    out = op(tc.tensor(a), tc.tensor(b))
    expected = ref(a, b)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected)


@settings(max_examples=40, deadline=None)
@given(pair=broadcastable_pair())
def test_broadcast_gradients_have_input_shapes(pair):
    a, b = pair
    x, y = tc.tensor(a, requires_grad=True), tc.tensor(b, requires_grad=True)
    (x * y).sum().backward()
    assert x.grad.shape == a.shape and y.grad.shape == b.shape
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_allclose(x.grad.numpy(), _reduce_to(np.broadcast_to(b, out_shape), a.shape), rtol=1e-10)
    np.testing.assert_allclose(y.grad.numpy(), _reduce_to(np.broadcast_to(a, out_shape), b.shape), rtol=1e-10)


def _reduce_to(g, shape):
    """Sum a broadcast array back to `shape` (the reference for unbroadcast)."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


@st.composite
def array_and_axis(draw):
    a = draw(hnp.arrays(np.float64, shapes, elements=floats))
    axis = draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1))) if a.ndim else None
    return a, axis, draw(st.booleans())


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "var"])
@settings(max_examples=40, deadline=None)
@given(case=array_and_axis())
def test_reductions_match_numpy(name, case):
    a, axis, keepdims = case
    # PyTorch's names: NumPy's max/min over an axis are amax/amin, NumPy's var is correction=0
    tc_name, extra = {"max": ("amax", {}), "min": ("amin", {}), "var": ("var", {"correction": 0})}.get(name, (name, {}))
    out = getattr(tc.tensor(a), tc_name)(axis=axis, keepdims=keepdims, **extra)
    expected = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(a=hnp.arrays(np.float64, shapes, elements=floats), data=st.data())
def test_reshape_transpose_match_numpy(a, data):
    perm = data.draw(st.permutations(range(a.ndim)))
    np.testing.assert_array_equal(tc.tensor(a).permute(*perm).numpy() if a.ndim else a, np.transpose(a, perm))
    np.testing.assert_array_equal(tc.tensor(a).reshape(-1).numpy(), a.reshape(-1))


@settings(max_examples=40, deadline=None)
@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), elements=floats),
       data=st.data())
def test_basic_indexing_matches_numpy(a, data):
    index = data.draw(hnp.basic_indices(a.shape, allow_ellipsis=True, allow_newaxis=True))
    out = tc.tensor(a)[index]
    np.testing.assert_array_equal(out.numpy(), np.asarray(a[index]))


@settings(max_examples=30, deadline=None)
@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.floats(-1e4, 1e4, allow_nan=False)))
def test_softmax_is_stable_and_normalized(a):
    s = tc.softmax(tc.tensor(a), axis=-1).numpy()
    ls = tc.log_softmax(tc.tensor(a), axis=-1).numpy()
    assert np.isfinite(s).all() and np.isfinite(ls).all()
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-9)
