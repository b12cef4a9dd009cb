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
    (lambda a, b: tc.matmul(a, b, out=a), "matmul"),
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
