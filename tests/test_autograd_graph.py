"""tc.autograd.graph against torch.autograd.graph: saved-tensor hooks, multi-grad hooks, node hooks, Node."""

import threading

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle of autograd.graph")


def _program(lib, x):
    return ((x * x).exp() * x.sin()).sum()


@pytest.mark.parametrize("create_graph", [False, True])
def test_saved_tensors_hooks_pack_and_unpack_as_pytorch(create_graph):
    def run(lib, to_array, from_array):
        x = lib.tensor([0.5, -1.0, 0.25], dtype=lib.float64, requires_grad=True)
        log = []

        def pack(t):
            log.append(("pack", tuple(t.shape)))
            return to_array(t)

        def unpack(a):
            log.append(("unpack", a.shape))
            return from_array(a)

        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = _program(lib, x)
        (g,) = lib.autograd.grad(y, x, create_graph=create_graph)
        out = [g.detach().numpy()]
        if create_graph:
            out.append(lib.autograd.grad(g.sum(), x)[0].detach().numpy())
        return log, out

    log, got = run(tc, lambda t: t.detach().numpy().copy(), tc.from_numpy)
    t_log, want = run(torch, lambda t: t.detach().numpy().copy(), torch.from_numpy)
    assert [k for k, _ in log] == [k for k, _ in t_log]  # as many packs (one per saved tensor) and unpacks
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_the_innermost_hooks_are_used_and_only_in_their_thread():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    other = {}

    def worker():
        y = x * x  # another thread: no hooks there
        other["saved"] = y.grad_fn._saved[0][0].__class__.__name__

    with tc.autograd.graph.saved_tensors_hooks(lambda t: seen.append("outer") or t, lambda t: t):
        with tc.autograd.graph.saved_tensors_hooks(lambda t: seen.append("inner") or t, lambda t: t):
            y = x * x
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == ["inner", "inner"]  # x saved twice (for each operand), by the innermost pair
    assert other["saved"] == "Tensor"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_disable_saved_tensors_hooks_refuses_them():
    with tc.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(tc.TensorcoreError, match="no hooks here"):
            with tc.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
    with tc.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):  # allowed again after the block
        pass


def test_save_on_cpu_gives_the_same_gradients():
    x = tc.tensor([0.5, -1.0, 0.25], requires_grad=True)
    with tc.autograd.graph.save_on_cpu(pin_memory=True):
        y = _program(tc, x)
    y.backward()
    tx = torch.tensor([0.5, -1.0, 0.25], requires_grad=True)
    with torch.autograd.graph.save_on_cpu(pin_memory=False):
        ty = _program(torch, tx)
    ty.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_register_multi_grad_hook_all_and_any():
    def run(lib, mode):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0], requires_grad=True)
        unused = lib.tensor([1.0], requires_grad=True)
        got = []
        if mode == "all":
            hook = lambda grads: got.append([None if g is None else g.tolist() for g in grads])  # noqa: E731
        else:
            hook = lambda grad: got.append(grad.tolist())  # noqa: E731
        handle = lib.autograd.graph.register_multi_grad_hook((x, y, unused), hook, mode=mode)
        ((x * 2).sum() + (y * 3).sum()).backward()
        handle.remove()
        (x * 2).sum().backward()  # removed: no more calls
        return got

    assert run(tc, "all") == run(torch, "all") == [[[2.0, 2.0], [3.0], None]]
    assert len(run(tc, "any")) == len(run(torch, "any")) == 1


@pytest.mark.parametrize("create_graph", [False, True])
def test_node_prehook_and_hook_as_pytorch(create_graph):
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x * w
        log = []

        def pre(grad_outputs):
            log.append(grad_outputs[0].detach().numpy().copy())
            return (grad_outputs[0] * 2,)

        def post(grad_inputs, grad_outputs):
            log.append([g.detach().numpy().copy() for g in grad_inputs])
            return (grad_inputs[0] + 1, grad_inputs[1])

        handles = [y.grad_fn.register_prehook(pre), y.grad_fn.register_hook(post)]
        y.exp().sum().backward(create_graph=create_graph)
        grads = [x.grad.detach().numpy().copy(), w.grad.detach().numpy().copy()]
        for h in handles:
            h.remove()
        x.grad = w.grad = None
        (x * w).exp().sum().backward()
        return log, grads, x.grad.numpy()

    (log, grads, after), (t_log, t_grads, t_after) = run(tc), run(torch)
    np.testing.assert_allclose(log[0], t_log[0])
    for g, w in zip(log[1], t_log[1]):
        np.testing.assert_allclose(g, w)
    for g, w in zip(grads, t_grads):
        np.testing.assert_allclose(g, w)
    np.testing.assert_allclose(after, t_after)


def test_a_node_hook_returning_the_wrong_shape_is_named():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.grad_fn.register_prehook(lambda go: (tc.ones(5),))
    with pytest.raises(tc.GradientError, match="register_prehook"):
        y.sum().backward()


def test_node_gradient_edge_and_increment_version():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    assert isinstance(y.grad_fn, tc.autograd.graph.Node)
    edge = tc.autograd.graph.get_gradient_edge(y)
    assert edge.node is y.grad_fn and edge.output_nr == 0
    assert tc.autograd.graph.get_gradient_edge(x).node.variable is x  # a leaf's AccumulateGrad
    z = y * y
    tc.autograd.graph.increment_version(y)
    with pytest.raises(tc.GradientError, match="modified in place"):
        z.sum().backward()


def test_bad_arguments_are_named():
    graph = tc.autograd.graph
    x = tc.ones(2, requires_grad=True)
    for call, match in [(lambda: graph.get_gradient_edge(3), "get_gradient_edge"),
                        (lambda: graph.increment_version([1]), "increment_version"),
                        (lambda: graph.register_multi_grad_hook([tc.ones(2)], print), "register_multi_grad_hook"),
                        (lambda: graph.register_multi_grad_hook([x], print, mode="some"), "mode"),
                        (lambda: x.exp().grad_fn.register_hook(5), "callable")]:
        with pytest.raises(tc.TensorcoreError, match=match):
            call()
