"""Session 7 parity with PyTorch: custom autograd Functions written as in PyTorch (forward and backward on
Tensors: a clamp-based ReLU, a gradient reversal layer, a straight-through estimator, two outputs, a
non-differentiable output), torch.autograd.functional (jacobian, hessian, vjp, jvp, hvp) and Variable."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.autograd_compat import TorchFunction

torch = pytest.importorskip("torch")


def _functions(lib):
    base = torch.autograd.Function if lib is torch else TorchFunction

    class MyReLU(base):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    class GradReverse(base):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.neg() * ctx.alpha, None

    class RoundSTE(base):
        @staticmethod
        def forward(ctx, x):
            return lib.round(x)

        @staticmethod
        def backward(ctx, g):
            return g

    class TwoOut(base):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            idx = lib.argmax(x)
            ctx.mark_non_differentiable(idx)
            return x * 2, x * k, idx

        @staticmethod
        def backward(ctx, g1, g2, g_idx=None):
            return g1 * 2 + g2 * ctx.k, None

    return MyReLU, GradReverse, RoundSTE, TwoOut


def test_torch_style_custom_functions_match_torch():
    results = []
    for lib in (torch, tc):
        my_relu, grad_reverse, round_ste, two_out = _functions(lib)
        out = []
        x = lib.tensor([-1.0, 2.0, 0.5], dtype=lib.float64, requires_grad=True)
        h = x * 1.5
        y = my_relu.apply(h)
        z = grad_reverse.apply(y, 0.5)
        r = round_ste.apply(z * 2)
        a, b, idx = two_out.apply(r, 3.0)
        (a + b * b).sum().backward()
        out += [y, z, r, a, b, x.grad, idx]
        results.append([t.detach().numpy() for t in out] + [idx.requires_grad, a.requires_grad])
    for t, c in zip(*results):
        np.testing.assert_allclose(c, t, rtol=1e-12)


def test_autograd_functional_matches_torch():
    def run(lib):
        F = lib.autograd.functional
        x = lib.tensor([1.0, 2.0, 0.5], dtype=lib.float64)
        v = lib.tensor([1.0, -1.0, 2.0], dtype=lib.float64)
        cube = lambda t: (t ** 3).sum()  # noqa: E731
        square = lambda t: t ** 2 * t.sum()  # noqa: E731
        two = lambda a, b: a * b.sum()  # noqa: E731
        ja, jb = F.jacobian(two, (x, v))
        return [F.jacobian(square, x), F.hessian(cube, x), *F.vjp(square, x, v), *F.jvp(square, x, v),
                *F.hvp(cube, x, v), ja, jb]
    for t, c in zip(run(torch), run(tc)):
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-12)


def test_variable_and_gradcheck_names():
    v = tc.autograd.Variable(tc.ones(2), requires_grad=True)
    assert v.requires_grad and v.is_leaf
    assert tc.autograd.gradcheck(lambda t: (t ** 2).sum(), (tc.tensor([1.0, 2.0], dtype=tc.float64,
                                                                         requires_grad=True),))


def test_user_subclass_of_autograd_function_gets_tensors():
    class Clamp(tc.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, g):
            return g

    x = tc.tensor([-1.0, 2.0], requires_grad=True)
    Clamp.apply(x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
