"""The engine's plain backward() walk (_plain) against its general walk (_run, taken under create_graph) and
against PyTorch, on graph shapes where the order of the nodes matters: chains, diamonds, a node reached from
several depths, several roots, an output used twice."""

import numpy as np
import pytest

import tensorcore as tc


def _chain(x, w):
    return ((x @ w).relu() * 2.0).tanh().sum()


def _diamond(x, w):
    h = x @ w
    return (h.relu() + h.sigmoid() * h).sum()


def _deep_and_shallow(x, w):
    h = (x * 3.0).exp()  # reached directly and through a chain of three nodes
    deep = ((h * 0.5).tanh() + 1.0).log()
    return (deep * h).sum() + h.sum()


def _same_input_twice(x, w):
    h = x.tanh()
    return (h * h + h).sum()


GRAPHS = [_chain, _diamond, _deep_and_shallow, _same_input_twice]


def _grads(lib, fn, x_np, w_np, create_graph):
    x = lib.tensor(x_np, requires_grad=True)
    w = lib.tensor(w_np, requires_grad=True)
    fn(x, w).backward(create_graph=create_graph)
    return [t.grad.detach().numpy() if t.grad is not None else None for t in (x, w)]


@pytest.mark.parametrize("fn", GRAPHS, ids=lambda f: f.__name__)
def test_plain_walk_matches_general_walk_and_torch(fn):
    rng = np.random.default_rng(0)
    x_np, w_np = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)) * 0.3
    plain = _grads(tc, fn, x_np, w_np, create_graph=False)
    general = _grads(tc, fn, x_np, w_np, create_graph=True)
    for p, g in zip(plain, general):
        assert (p is None) == (g is None)
        if p is not None:
            np.testing.assert_allclose(p, g, rtol=1e-12, atol=1e-12)
    torch = pytest.importorskip("torch")
    expected = _grads(torch, fn, x_np, w_np, create_graph=False)
    for p, e in zip(plain, expected):
        if e is None:
            assert p is None or not p.any()
        else:
            np.testing.assert_allclose(p, e, rtol=1e-10, atol=1e-12)


def test_several_roots_sharing_nodes():
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal(5)
    x = tc.tensor(x_np, requires_grad=True)
    h = x.exp()
    a, b = (h * 2.0).sum(), (h.sin() * h).sum()
    tc.autograd.backward([a, b, a])  # `a` twice: its gradient counted twice
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x_np, requires_grad=True)
    th = tx.exp()
    ta, tb = (th * 2.0).sum(), (th.sin() * th).sum()
    torch.autograd.backward([ta, tb, ta])
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_chain_frees_saved_arrays_and_refuses_a_second_backward():
    x = tc.tensor([0.5, -1.0], requires_grad=True)
    y = ((x * x).exp() * 3.0).sum()
    y.backward()
    with pytest.raises(tc.TensorcoreError, match="second time"):
        y.backward()


def test_retain_graph_keeps_a_chain_for_a_second_backward():
    x = tc.tensor([0.5, -1.0], requires_grad=True)
    y = ((x * x).exp() * 3.0).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_hook_on_a_chain_node_sees_its_whole_gradient():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    (h.exp() + h).sum().backward()  # h reached twice: the hook runs once, on the sum
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], np.exp([2.0, 4.0]) + 1.0, rtol=1e-6)
