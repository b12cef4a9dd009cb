"""The lean registered ops (sum, matmul: registry.register(..., lean=True)) behave as every other op:
PyTorch's argument names, errors that name the op, autocast's dispatch, recording when inputs need grad."""

import inspect

import numpy as np
import pytest

import tensorcore as tc


def test_signatures_are_pytorchs():
    assert list(inspect.signature(tc.matmul).parameters) == ["input", "other"]
    assert list(inspect.signature(tc.sum).parameters)[:3] == ["input", "dim", "keepdim"]
    a, b = tc.ones((2, 3)), tc.ones((3, 4))
    assert tc.matmul(input=a, other=b).shape == (2, 4)
    assert a.matmul(other=b).shape == (2, 4)
    assert tc.sum(input=a, dim=1).shape == (2,)
    assert tc.matmul.__name__ == "matmul" and tc.sum.__name__ == "sum"


@pytest.mark.parametrize("call, name", [
    (lambda a, b: tc.matmul(a, b, out=[1]), "matmul"),  # (out= itself is supported, as in torch)
    (lambda a, b: tc.matmul(a), "matmul"),
    (lambda a, b: a.sum(out=a), "sum"),
    (lambda a, b: tc.sum(a, 0, False, 7), "sum"),
])
def test_bad_arguments_raise_errors_naming_the_op(call, name):
    a, b = tc.ones((2, 2)), tc.ones((2, 2))
    with pytest.raises(tc.TensorcoreError, match=name):
        call(a, b)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(tc.ShapeError, match=r"\(2, 3\).*\(4, 5\)"):
        tc.ones((2, 3)) @ tc.ones((4, 5))


def test_autocast_reaches_the_lean_ops():
    a, b = tc.ones((2, 3)), tc.ones((3, 4))
    with tc.autocast("cpu", dtype=tc.bfloat16):
        assert (a @ b).dtype == tc.bfloat16  # matmul is a "lower" op on the cpu
    assert (a @ b).dtype == tc.float32


def test_the_common_calls_record_and_differentiate():
    rng = np.random.default_rng(0)
    x = tc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = tc.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    (x @ w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((3, 2)) @ w.numpy().T)
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().T @ np.ones((3, 2)))
    with tc.no_grad():
        assert (x @ w).sum().grad_fn is None


def test_engine_order_runs_each_node_once_all_its_consumers_ran():
    # A node reused at different depths (x -> a -> b, and a, b both into the output): the reverse-recording order
    # must still sum both of a's gradients before running a's rule.
    x = tc.tensor([1.5, -2.0], dtype=tc.float64, requires_grad=True)
    a = x * x
    b = a.exp()
    y = (a * b + a).sum()
    y.backward()
    xv = x.detach().numpy()
    av = xv * xv
    dy_da = np.exp(av) + av * np.exp(av) + 1.0
    np.testing.assert_allclose(x.grad.numpy(), dy_da * 2 * xv)


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (2,)])
@pytest.mark.parametrize("dtype", [tc.float32, tc.float64, tc.float16])
def test_gradients_accumulate_in_place_for_one_element_leaves_too(shape, dtype):
    # The engine adds one-element gradients through NumPy's scalars (its in-place add of one element is slow):
    # still in place (the same array, views see it), the version counter bumped, the values those of `+=`.
    a = tc.ones(shape, dtype=dtype, requires_grad=True)
    (a * 3).sum().backward()
    grad = a.grad
    view = grad.reshape(-1)
    version = grad._version
    (a * 2.5).sum().backward()
    assert a.grad is grad and grad._version == version + 1
    expected = np.full(int(np.prod(shape)), 5.5, dtype=grad.numpy().dtype)
    np.testing.assert_array_equal(view.numpy(), expected)


def test_a_read_only_one_element_grad_is_replaced_not_written():
    a = tc.ones((1,), requires_grad=True)
    a.grad = tc.tensor(np.broadcast_to(np.float32(1.0), (1,)))  # read-only
    (a * 2).sum().backward()
    assert a.grad.numpy().tolist() == [3.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [-0.0, 3.25, np.nan, np.inf])
@pytest.mark.parametrize("shape", [(1,), (1, 1), ()])
def test_a_full_sum_of_one_element_is_that_element_as_a_sum_gives_it(shape, value, dtype):
    x = np.full(shape, value, dtype)
    got = tc.tensor(x).sum()
    want = np.add.reduce(x, axis=None)  # -0.0 sums to 0.0, as in PyTorch
    assert got.shape == () and got.dtype == dtype
    np.testing.assert_array_equal(got.numpy(), want)
    assert np.signbit(got.numpy()) == np.signbit(want)
    kept = tc.tensor(x).sum(dim=tuple(range(len(shape))), keepdim=True)
    assert kept.shape == shape and kept.dtype == dtype
