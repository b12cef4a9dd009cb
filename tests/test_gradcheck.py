"""gradcheck itself: it passes right gradients and catches wrong ones, naming the element."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.autograd import Function


class WrongSquare(Function):
    """Forward x^2 with a deliberately wrong backward (3x instead of 2x) at one element."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bump = np.zeros(x.shape)
        bump[1] = 1.0
        return g * x * 2 + g * x * tc.tensor(bump)


def x64(*shape, seed=0):
    return tc.tensor(np.random.default_rng(seed).standard_normal(shape) + 3, dtype=tc.float64, requires_grad=True)


def test_gradcheck_passes_correct_gradients():
    assert tc.gradcheck(lambda x: (x * x).sum(), (x64(3),))
    assert tc.gradcheck(lambda x: (x * x).sum(), (x64(3),), fast_mode=True)


def test_gradcheck_catches_a_wrong_gradient_and_names_the_element():
    with pytest.raises(tc.GradcheckError, match=r"input 0 \(shape \(3,\)\) at element \(1,\).*analytic .* numeric"):
        tc.gradcheck(WrongSquare.apply, (x64(3),))
    assert tc.gradcheck(WrongSquare.apply, (x64(3),), raise_exception=False) is False


def test_fast_mode_catches_a_wrong_gradient():
    with pytest.raises(tc.GradcheckError, match="fast mode"):
        tc.gradcheck(lambda x: WrongSquare.apply(x).sum(), (x64(3),), fast_mode=True)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class WrongSecond(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x.detach() ** 2  # detached: first derivative right, second wrong

    x = x64(3)
    assert tc.gradcheck(WrongSecond.apply, (x,))
    with pytest.raises(tc.GradcheckError):
        tc.gradgradcheck(WrongSecond.apply, (x,))


def test_float32_inputs_warn():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        tc.gradcheck(lambda x: (x * x).sum(), (x,), atol=1e-2, rtol=1e-2, eps=1e-3)


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        tc.gradcheck(lambda x: x * 2, (tc.tensor([1.0], dtype=tc.float64),))


def test_multiple_outputs_and_inputs():
    a, b = x64(2, 3), x64(3, seed=1)
    assert tc.gradcheck(lambda a, b: (a * b, (a - b).exp()), (a, b))
    assert tc.gradgradcheck(lambda a, b: (a * b).tanh(), (a, b))
