"""torch.autograd.forward_ad (dual_level, make_dual, unpack_dual: tangents against torch's forward mode) and
torch.autograd's small names (multithreading flag, view replay, function / variable modules) against torch."""

import threading

import numpy as np
import pytest
import tensorcore.autograd.forward_ad as fwAD

import tensorcore as tc

torch = pytest.importorskip("torch")
tfwAD = torch.autograd.forward_ad

rng = np.random.default_rng(0)
X, T = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
W, WT = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))

FUNCS = {
    "mul_add": lambda m, x: x * x + 3 * x - 1,
    "exp_sin": lambda m, x: m.exp(x).sin() / (1 + x * x),
    "tanh_sigmoid": lambda m, x: m.tanh(x) * m.sigmoid(x),
    "sum": lambda m, x: x.sum(),
    "mean_dim": lambda m, x: x.mean(dim=1),
    "max_dim": lambda m, x: x.amax(dim=0),
    "norm": lambda m, x: (x * x).sum().sqrt(),
    "softmax": lambda m, x: m.softmax(x, dim=-1),
    "logsumexp": lambda m, x: m.logsumexp(x, dim=1),
    "reshape_transpose": lambda m, x: x.reshape(4, 3).t()[1:],
    "cumsum": lambda m, x: m.cumsum(x, dim=1),
    "pow_abs": lambda m, x: x.abs() ** 1.5,
}


def _tangent_pair(fn):
    with fwAD.dual_level():
        out = fn(tc, fwAD.make_dual(tc.tensor(X), tc.tensor(T)))
        p, t = fwAD.unpack_dual(out)
    with tfwAD.dual_level():
        tout = fn(torch, tfwAD.make_dual(torch.tensor(X), torch.tensor(T)))
        tp, tt = tfwAD.unpack_dual(tout)
    return p, t, tp, tt


@pytest.mark.parametrize("name", list(FUNCS))
def test_tangents_match_torch(name):
    p, t, tp, tt = _tangent_pair(FUNCS[name])
    np.testing.assert_allclose(p.numpy(), tp.numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.numpy(), tt.numpy(), rtol=1e-10, atol=1e-12)
    assert t.dtype == tc.float64 and tuple(t.shape) == tuple(tt.shape)


def test_matmul_with_two_duals_and_a_plain_operand():
    with fwAD.dual_level():
        x = fwAD.make_dual(tc.tensor(X), tc.tensor(T))
        w = fwAD.make_dual(tc.tensor(W), tc.tensor(WT))
        out = fwAD.unpack_dual((x @ w).relu() @ tc.ones(2, 1, dtype=tc.float64))
    with tfwAD.dual_level():
        tx = tfwAD.make_dual(torch.tensor(X), torch.tensor(T))
        tw = tfwAD.make_dual(torch.tensor(W), torch.tensor(WT))
        tout = tfwAD.unpack_dual((tx @ tw).relu() @ torch.ones(2, 1, dtype=torch.float64))
    np.testing.assert_allclose(out.tangent.numpy(), tout.tangent.numpy(), rtol=1e-10, atol=1e-12)


def test_unpack_dual_namedtuple_none_tangents_and_level_exit():
    assert fwAD.UnpackedDualTensor._fields == tfwAD.UnpackedDualTensor._fields == ("primal", "tangent")
    with fwAD.dual_level() as level, tfwAD.dual_level() as tlevel:
        assert level == tlevel == 0
        x = fwAD.make_dual(tc.tensor([1.0, 2.0]), tc.tensor([3.0, 4.0]))
        plain = fwAD.unpack_dual(tc.ones(2))
        assert plain.tangent is None and tfwAD.unpack_dual(torch.ones(2)).tangent is None
        np.testing.assert_array_equal(fwAD.unpack_dual(x).tangent.numpy(), [3.0, 4.0])
        y = x * 2
        assert isinstance(fwAD.unpack_dual(y), fwAD.UnpackedDualTensor)
        idx = fwAD.unpack_dual(x.argmax())  # integer outputs carry no tangent, as torch's
        assert idx.tangent is None and tfwAD.unpack_dual(torch.tensor([1.0, 2.0]).argmax()).tangent is None
        assert not fwAD.unpack_dual(y).primal.requires_grad
    assert fwAD.unpack_dual(y).tangent is None  # the level is gone


def test_make_dual_refusals_like_torch():
    with pytest.raises(RuntimeError, match="no level exists"):
        tfwAD.make_dual(torch.ones(2), torch.ones(2))
    with pytest.raises(tc.TensorcoreError, match="no level exists"):
        fwAD.make_dual(tc.ones(2), tc.ones(2))
    with fwAD.dual_level(), tfwAD.dual_level():
        with pytest.raises(RuntimeError, match="different size"):
            tfwAD.make_dual(torch.ones(2), torch.ones(3))
        with pytest.raises(tc.ShapeError, match="different size"):
            fwAD.make_dual(tc.ones(2), tc.ones(3))
        with pytest.raises(ValueError, match="floating point"):
            tfwAD.make_dual(torch.ones(2, dtype=torch.int64), torch.ones(2, dtype=torch.int64))
        with pytest.raises(tc.DTypeError, match="floating point"):
            fwAD.make_dual(tc.ones(2, dtype=tc.int64), tc.ones(2, dtype=tc.int64))
        with pytest.raises(RuntimeError, match="Nested"):
            tfwAD.enter_dual_level()
        with pytest.raises(tc.TensorcoreError, match="Nested"):
            fwAD.enter_dual_level()


def test_dual_of_a_requires_grad_primal_keeps_reverse_mode():
    x = tc.tensor(X, requires_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    with fwAD.dual_level(), tfwAD.dual_level():
        d, td = fwAD.make_dual(x, tc.tensor(T)), tfwAD.make_dual(tx, torch.tensor(T))
        p, t = fwAD.unpack_dual((d * d).sum())
        tp, tt = tfwAD.unpack_dual((td * td).sum())
        np.testing.assert_allclose(t.item(), tt.item(), rtol=1e-12)
        p.backward()
        tp.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_tangent_matches_a_finite_difference():
    f = FUNCS["exp_sin"]
    _, t, _, _ = _tangent_pair(f)
    eps = 1e-6
    fd = ((np.sin(np.exp(X + eps * T)) / (1 + (X + eps * T) ** 2))
          - (np.sin(np.exp(X - eps * T)) / (1 + (X - eps * T) ** 2))) / (2 * eps)
    np.testing.assert_allclose(t.numpy(), fd, rtol=1e-6, atol=1e-8)


def test_multithreading_flag_like_torch():
    assert tc.autograd.is_multithreading_enabled() is torch.autograd.is_multithreading_enabled() is True
    with tc.autograd.set_multithreading_enabled(False), torch.autograd.set_multithreading_enabled(False):
        assert tc.autograd.is_multithreading_enabled() is torch.autograd.is_multithreading_enabled() is False
        seen = []
        thread = threading.Thread(target=lambda: seen.append(tc.autograd.is_multithreading_enabled()))
        thread.start()
        thread.join()
        assert seen == [True]  # thread-local, as torch's
    assert tc.autograd.is_multithreading_enabled() is True
    tc.autograd.set_multithreading_enabled(False)  # a plain call sets it
    assert not tc.autograd.is_multithreading_enabled()
    tc.autograd.set_multithreading_enabled(True)

    @tc.autograd.set_multithreading_enabled(False)
    def inside():
        return tc.autograd.is_multithreading_enabled()

    @torch.autograd.set_multithreading_enabled(False)
    def tinside():
        return torch.autograd.is_multithreading_enabled()

    # as torch's: decorating sets the mode (and leaves it), the call runs with it
    assert inside() is tinside() is False
    assert tc.autograd.is_multithreading_enabled() is torch.autograd.is_multithreading_enabled() is False
    tc.autograd.set_multithreading_enabled(True)
    torch.autograd.set_multithreading_enabled(True)
    assert tc.autograd.is_view_replay_enabled() is torch.autograd.is_view_replay_enabled() is False


def test_function_and_variable_modules_like_torch():
    from tensorcore.autograd.function import Function, FunctionCtx, InplaceFunction, once_differentiable
    from tensorcore.autograd.variable import Variable

    for name in ("Function", "FunctionCtx", "InplaceFunction", "once_differentiable"):
        assert hasattr(torch.autograd.function, name)
    assert Function is tc.autograd.Function and FunctionCtx is not None
    assert Variable is tc.autograd.Variable
    assert isinstance(tc.ones(1), Variable) and isinstance(torch.ones(1), torch.autograd.Variable)
    v = Variable(tc.ones(2), requires_grad=True)
    assert isinstance(v, tc.Tensor) and v.requires_grad

    class Double(InplaceFunction):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            return g * 2

    x = tc.ones(3, requires_grad=True)
    Double.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    assert tc.autograd.forward_ad is fwAD
