"""The tape: recording rules, traversal, accumulation, freeing, create_graph, version counters."""

import gc
import warnings
import weakref

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.autograd import Function


def leaf(*shape, seed=0):
    return tc.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=tc.float64, requires_grad=True)


def test_records_only_when_grad_mode_on_and_an_input_requires_grad():
    x = leaf(3)
    c = tc.tensor([1.0, 2.0, 3.0], dtype=tc.float64)
    assert (x * c).grad_fn is not None
    assert (c * c).grad_fn is None and not (c * c).requires_grad
    with tc.no_grad():
        y = x * c
    assert y.grad_fn is None and not y.requires_grad


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf(2)

    @tc.no_grad()
    def f(t):
        return t * 2

    @tc.enable_grad()
    def g(t):
        return t * 2

    assert not f(x).requires_grad
    with tc.no_grad():
        assert g(x).requires_grad
    assert tc.is_grad_enabled()


def test_long_chain_backprops_without_recursion_error():
    x = tc.tensor(1.0, dtype=tc.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_diamond_sums_gradients():
    x = leaf(4)
    a = x * 2.0
    b = x * 3.0
    (a + b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 5.0))


def test_shared_subexpression_diamond_with_reuse():
    x = leaf(3)
    h = x.exp()
    y = (h * h + h).sum()
    y.backward()
    e = np.exp(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * e * e + e)


def test_leaf_gradients_accumulate_until_zeroed():
    x = leaf(3)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 5.0))
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 3.0))


def test_leaf_grads_never_alias_each_other():
    x, y = leaf(3), leaf(3, seed=1)
    (x + y).sum().backward()
    x.grad.data[...] = 7
    np.testing.assert_allclose(y.grad.numpy(), np.ones(3))


def test_second_backward_through_freed_graph_raises():
    x = leaf(3)
    y = (x.exp()).sum()
    y.backward()
    with pytest.raises(tc.GradientError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf(3)
    y = (x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.numpy()))


def test_saved_array_memory_is_freed_weakref():
    class Keep(Function):
        @staticmethod
        def forward(ctx, x):
            big = x * 2
            ctx.save_for_backward(big)
            return big.sum(keepdims=True).reshape(())

        @staticmethod
        def backward(ctx, g):
            (big,) = ctx.saved_tensors
            return g * (big * 0 + 2)

    x = tc.tensor(np.ones(1000), dtype=tc.float64, requires_grad=True)
    y = Keep.apply(x)
    saved_array = y.grad_fn._saved[0][0]
    probe = weakref.ref(_Holder(saved_array))  # arrays cannot be weak-referenced: hold it in a probe object
    del saved_array
    y.backward()
    assert y.grad_fn._saved is None
    gc.collect()
    assert probe() is None


class _Holder:
    def __init__(self, a):
        self.a = a


def test_backward_on_non_scalar_needs_a_gradient():
    x = leaf(3)
    with pytest.raises(tc.GradientError, match="scalar outputs"):
        (x * 2.0).backward()
    (x * 2.0).backward(tc.ones(3, dtype=tc.float64))
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2.0))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(tc.GradientError, match="does not require grad"):
        tc.ones(3).sum().backward()


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(tc.DTypeError, match="int64"):
        tc.tensor([1, 2, 3], requires_grad=True)


def test_grad_returns_gradients_without_touching_dot_grad():
    x = leaf(3)
    y = (x**3).sum()
    (g,) = tc.grad(y, x)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    assert x.grad is None


def test_grad_of_non_leaf_input():
    x = leaf(3)
    h = x * 2.0
    y = (h * h).sum()
    gh, gx = tc.grad(y, [h, x])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    np.testing.assert_allclose(gx.numpy(), 8 * x.numpy())


def test_grad_unused_input():
    x, z = leaf(3), leaf(2, seed=1)
    y = (x * 2.0).sum()
    with pytest.raises(tc.GradientError, match="not reached"):
        tc.grad(y, [x, z], retain_graph=True)
    gx, gz = tc.grad(y, [x, z], allow_unused=True)
    assert gz is None


def test_hessian_vector_product_matches_analytic_hessian():
    # f(x) = sum(x_i^3) + (a . x)^2 -> H = diag(6 x) + 2 a a^T
    rng = np.random.default_rng(3)
    a = rng.standard_normal(5)
    v = rng.standard_normal(5)
    x = tc.tensor(rng.standard_normal(5), dtype=tc.float64, requires_grad=True)
    at = tc.tensor(a, dtype=tc.float64)
    f = (x**3).sum() + (at * x).sum() ** 2
    (g,) = tc.grad(f, x, create_graph=True)
    (hv,) = tc.grad((g * tc.tensor(v, dtype=tc.float64)).sum(), x)
    hessian = np.diag(6 * x.numpy()) + 2 * np.outer(a, a)
    np.testing.assert_allclose(hv.numpy(), hessian @ v, rtol=1e-12)


def test_hessian_of_small_relu_tanh_network_matches_finite_differences():
    rng = np.random.default_rng(4)
    w1 = tc.tensor(rng.standard_normal((4, 3)), dtype=tc.float64)
    w2 = tc.tensor(rng.standard_normal((1, 4)), dtype=tc.float64)
    x = tc.tensor(rng.standard_normal(3), dtype=tc.float64, requires_grad=True)

    def f(x):
        return tc.linear(tc.tanh(tc.linear(x, w1)), w2).sum()

    (g,) = tc.grad(f(x), x, create_graph=True)
    rows = [tc.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(3)]
    eps = 1e-5
    fd = []
    for i in range(3):
        d = np.zeros(3)
        d[i] = eps
        xp = tc.tensor(x.numpy() + d, dtype=tc.float64, requires_grad=True)
        xm = tc.tensor(x.numpy() - d, dtype=tc.float64, requires_grad=True)
        fd.append((tc.grad(f(xp), xp)[0].numpy() - tc.grad(f(xm), xm)[0].numpy()) / (2 * eps))
    np.testing.assert_allclose(np.array(rows), np.array(fd), atol=1e-7)


def test_gradient_penalty_backprops_to_parameters():
    w = leaf(3)
    x = leaf(3, seed=1)
    y = (w * x).tanh().sum()
    (gx,) = tc.grad(y, x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    assert w.grad is not None and np.all(np.isfinite(w.grad.numpy()))
    assert tc.gradcheck(lambda w: (tc.grad((w * x).tanh().sum(), x, create_graph=True)[0] ** 2).sum(), (w,))


def test_once_differentiable_op_raises_on_double_backward_not_a_wrong_number():
    class Cube(Function):
        once_differentiable = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return tc.tensor(3 * x.data**2 * g.data, dtype=x.dtype)

    x = leaf(3)
    (g,) = tc.grad(Cube.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    with pytest.raises(tc.GradientError, match="not differentiable"):
        tc.grad(g.sum(), x)


def test_inplace_change_of_saved_tensor_raises_naming_the_op():
    x = leaf(3)
    h = x * 1.0
    y = h.exp()  # saves its output
    with tc.no_grad():
        y += 1
    with pytest.raises(tc.GradientError, match="exp.*modified in place"):
        y.sum().backward()

    a = leaf(3)
    b = a * 1.0
    c = b * b  # saves b
    b.data[...] = 0
    b._version += 1
    with pytest.raises(tc.GradientError, match="mul.*version"):
        c.sum().backward()


@pytest.mark.parametrize("update", ["iadd", "isub", "imul", "idiv", "setitem", "zero_", "fill_", "copy_"])
def test_every_inplace_op_bumps_the_version(update):
    x = tc.tensor(np.ones(3))
    before = x._version
    with tc.no_grad():
        if update == "iadd":
            x += 1
        elif update == "isub":
            x -= 1
        elif update == "imul":
            x *= 2
        elif update == "idiv":
            x /= 2
        elif update == "setitem":
            x[0] = 5
        elif update == "zero_":
            x.zero_()
        elif update == "fill_":
            x.fill_(2)
        elif update == "copy_":
            x.copy_(tc.tensor(np.zeros(3)))
    assert x._version == before + 1


def test_inplace_on_leaf_requiring_grad_while_recording_raises():
    x = leaf(3)
    with pytest.raises(tc.GradientError, match="leaf"):
        x += 1
    with tc.no_grad():
        x += 1  # fine: optimizers do this


def test_inplace_on_non_leaf_is_recorded():
    x = leaf(3)
    y = x * 2.0
    y += x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 3.0))
    z = x * 1.0
    z[1] = 0.0
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 3.0, 4.0])


def test_custom_function_is_usable_like_builtin_ops():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = leaf(4)
    assert tc.gradcheck(Square.apply, (x,))
    assert tc.gradgradcheck(Square.apply, (x,))


def test_backward_returning_wrong_shape_is_caught_in_one_place():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return tc.ones(5, dtype=tc.float64)

    with pytest.raises(tc.GradientError, match="bad: backward returned a gradient of shape \\(5,\\)"):
        Bad.apply(leaf(3)).backward()


def test_post_accumulate_grad_hook_fires_once_per_backward():
    x = leaf(3)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (x * 2.0).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], np.full(3, 2.0))


def test_detect_anomaly_names_the_op_and_the_line():
    x = tc.tensor([-1.0, 1.0], dtype=tc.float64, requires_grad=True)
    with tc.detect_anomaly():
        with pytest.raises(tc.AnomalyError, match=r"log \(forward, called at .*test_autograd.py:\d+\).*NaN"):
            tc.log(x)
        z = tc.tensor([0.0], dtype=tc.float64, requires_grad=True)
        w = tc.sqrt(z).sum()  # forward 0, backward divides by 0 -> inf
        with pytest.raises(tc.AnomalyError, match="sqrt \\(backward of the op called at .*test_autograd.py"):
            w.backward()
    assert not tc.is_anomaly_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert not np.isfinite(tc.log(tc.tensor([-1.0])).numpy()).all()  # off: no error


def test_retain_graph_twice_through_fused_cross_entropy_gives_the_same_gradient():
    import tensorcore.ops.nn as F

    x = leaf(3, 4)
    loss = F.cross_entropy(x, np.array([0, 3, 1]))
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), first)


def test_leaf_grad_never_aliases_the_callers_gradient():
    # (a + b).backward(g): both gradients are g itself; each .grad must be its own copy, as in PyTorch
    a, b, g = tc.ones(2, requires_grad=True), tc.ones(2, requires_grad=True), tc.ones(2)
    (a + b).backward(g)
    a.grad.zero_()
    assert g.tolist() == [1.0, 1.0] and b.grad.tolist() == [1.0, 1.0]
    (a * 1).backward(g)
    a.grad.add_(5)
    assert g.tolist() == [1.0, 1.0]


def test_matmul_refuses_mixed_dtypes_like_pytorch():
    with pytest.raises(tc.DTypeError, match="matmul.*float32, float64"):
        tc.ones(2, 3) @ tc.ones(3, 2, dtype=tc.float64)
    with pytest.raises(tc.DTypeError, match="matmul"):
        tc.matmul(tc.ones(2, 3, requires_grad=True), tc.ones(3, 2, dtype=tc.float64))


def test_linear_and_dot_refuse_mixed_dtypes_like_pytorch():
    with pytest.raises(tc.DTypeError, match="linear"):
        tc.nn.functional.linear(tc.ones(2, 2), tc.ones(3, 2, dtype=tc.float64))
    with pytest.raises(tc.DTypeError, match="linear"):
        tc.nn.functional.linear(tc.ones(2, 2), tc.ones(3, 2), tc.ones(3, dtype=tc.float64))
    with pytest.raises(tc.DTypeError, match="dot"):
        tc.dot(tc.ones(3), tc.ones(3, dtype=tc.float64))


def test_backward_accumulates_into_the_existing_grad_in_place_as_pytorch():
    # PyTorch's AccumulateGrad adds into the existing .grad: a reference to it (or its array) sees the sum.
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    first = x.grad
    view = first.numpy()
    (x * x).sum().backward()
    assert x.grad is first
    np.testing.assert_allclose(view, [3 + 2, 3 + 4])
    assert first._version >= 1


def test_in_place_accumulation_never_touches_a_gradient_still_in_flight():
    # (a + c) + a with c = 3a: the first delivery to `a` keeps an array that is also the gradient of the
    # inner add; summing the later deliveries into it in place would change what reaches c.
    a = tc.tensor([1.0, -2.0], requires_grad=True)
    c = a * 3
    ((a + c) + a).mul(2.0).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [2 * (1 + 3 + 1)] * 2)
    x = tc.tensor([0.5], requires_grad=True)
    y = x.reshape(1)
    (y + x + y).sum().backward(tc.tensor(2.0))
    np.testing.assert_allclose(x.grad.numpy(), [6.0])


def test_a_read_only_grad_is_replaced_not_written():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    x.grad = tc.zeros(1).expand(2)  # a broadcast view: read-only
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_grad_fn_name_and_next_functions_walk_the_graph_as_pytorchs():
    """The 60-minute blitz walks loss.grad_fn.next_functions[0][0]...; leaves end in AccumulateGrad."""
    w = tc.tensor([1.0, 2.0], requires_grad=True)
    c = tc.tensor([3.0, 4.0])
    y = (w * c).exp().sum()
    assert y.grad_fn.name() == "SumBackward" and repr(y.grad_fn) == "<SumBackward>"
    (exp_node, zero), = y.grad_fn.next_functions
    assert zero == 0 and exp_node.name() == "ExpBackward"
    mul_node = exp_node.next_functions[0][0]
    (leaf, _), (const, _) = mul_node.next_functions
    assert leaf.variable is w and leaf.next_functions == () and const is None
    assert "AccumulateGrad" in leaf.name()


def test_backward_inputs_accumulates_only_into_those_tensors():
    a = tc.tensor([1.0, 2.0], requires_grad=True)
    b = tc.tensor([3.0, 4.0], requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [3.0, 4.0] and b.grad is None
    (a * b).sum().backward(inputs=a)  # a lone tensor; the sum adds to the gradient there
    assert a.grad.tolist() == [6.0, 8.0]
    h = a * 2
    (h * b).sum().backward(inputs=[h])  # a non-leaf input gets its .grad too, as in PyTorch
    assert h.grad.tolist() == [3.0, 4.0]


def test_torch_style_function_ctx_methods_with_and_without_recording():
    class Double(tc.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.mark_dirty(x)
            ctx.set_materialize_grads(False)
            out = x * 2
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = tc.ones(2, requires_grad=True)
    assert not Double.apply(x).requires_grad  # marked: a plain result, as torch's
    with tc.no_grad():
        assert Double.apply(x).tolist() == [2.0, 2.0]


def test_grad_runs_hooks_only_on_the_inputs_asked_for():
    a = tc.tensor([1.0], requires_grad=True)
    b = tc.tensor([2.0], requires_grad=True)
    seen = []
    b.register_hook(lambda g: seen.append("b"))
    a.register_hook(lambda g: seen.append("a") or g * 3)
    (g,) = tc.autograd.grad((a * b).sum(), a)
    assert g.tolist() == [6.0] and seen == ["a"]


def test_legacy_tensor_constructor_refuses_bad_sizes_by_name():
    with pytest.raises(tc.TensorcoreError, match=r"Tensor\(\): negative dimension"):
        tc.Tensor(-1)
    with pytest.raises(tc.TensorcoreError, match="Tensor: expected data"):
        tc.Tensor(tc.ones(2).numpy(), 3)
