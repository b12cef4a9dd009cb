"""In-place changes through views while recording (tensorcore/ops/copy_slices.py), against PyTorch: values,
first and second derivatives, the views made before the change, chains of views, and the refusals."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle of in-place changes through views")

PROGRAMS = {
    "augmented slice": "y = x * 1\ny[1:] *= 2",
    "augmented column": "y = x * 1\ny[:, 0] += 5",
    "method on a slice": "y = x * 1\ny[:, 1:].relu_()",
    "chained in-place": "y = x.clone()\ny.mul_(2)[0].add_(1)",
    "view of a reshape": "y = x * 2\nv = y.view(3, 2)\nv[0] *= 10",
    "setitem through a transpose": "y = x * 1\nv = y.t()\nv[0] = v[1] * 2",
    "setitem through a reshape": "y = x * 1\nv = y.reshape(-1)\nv[2:4] = x[0, :2] ** 2",
    "copy_ into a column": "y = x.sin()\nv = y[:, 0]\nv.copy_(x[:, 1] * 3)",
    "setitem of a slice of a slice": "y = x * 1\ny[0][1] = 9",
    "view of a view": "y = x * 1\nw = y[1:]\nv = w[0]\nv.mul_(5)\ny = y + w.sum()",
    "sibling view made before": "y = x * 1\na = y[0]\nb = y[0]\nb.mul_(2)\ny = a * 1",
    "view made before a change of the base": "y = x * 1\na = y[:, 1:]\ny.add_(1)\ny = a * 3",
    "named view used after": "y = x * 1\nz = y[0]\nz.mul_(3)\ny = y + z.sum()",
    "columns in a loop": "y = x * 1\nfor i in range(3):\n    y[:, i] = y[:, i] * (i + 1)",
    "zero_ a column of a clone": "y = x.clone()\ny[:, 0].zero_()",
    "through unsqueeze/squeeze": "y = x * 1\ny.unsqueeze(0).squeeze(0)[0].sigmoid_()",
    "0-d view of one element": "y = x * 1\ny[1, 2].mul_(4)",
}


def _run(lib, program, create_graph):
    x = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3) / 3.0, requires_grad=True)
    ns = {"x": x}
    exec(program, ns)  # noqa: S102  (the programs above)
    y = ns["y"]
    (y * y).sum().backward(create_graph=create_graph)
    out = [y.detach().numpy().copy(), x.grad.detach().numpy().copy()]
    if create_graph:
        (second,) = lib.autograd.grad(x.grad.sum(), x)
        out.append(second.detach().numpy())
    return out


@pytest.mark.parametrize("create_graph", [False, True], ids=["backward", "create_graph"])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_same_values_and_gradients_as_pytorch(name, create_graph):
    got = _run(tc, PROGRAMS[name], create_graph)
    want = _run(torch, PROGRAMS[name], create_graph)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("program", [
    "y = x * 1\ny[1, 2] *= y[0, 0]",  # mul_ saved y[0, 0], whose memory (y's) the change bumped
    "y = x * 1\ny[0].mul_(y[1])",
    "y = x * 1\ny.mul_(y)",
])
def test_refused_where_pytorch_refuses(program):
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _run(torch, program, False)
    with pytest.raises(tc.GradientError, match="modified in place"):
        _run(tc, program, False)


def test_gradcheck_through_a_changed_view():
    def f(x, w):
        y = x * 1.5
        y[1:, :2] *= w  # a view of y changed by another input
        v = y.t()
        v[0] = v[1].exp()
        return y

    x = tc.randn(3, 3, dtype=tc.float64, requires_grad=True)
    w = tc.randn(2, 2, dtype=tc.float64, requires_grad=True)
    assert tc.autograd.gradcheck(f, (x, w))
    assert tc.autograd.gradgradcheck(f, (x, w))


def test_an_element_is_a_view_of_its_tensor():
    y = tc.zeros(3)
    e = y[1]
    e += 2.0  # as PyTorch: y[1] is a 0-d view, so y changes
    y[2].fill_(5.0)
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0, 5.0])


def test_a_saved_view_changed_afterwards_is_refused_at_backward():
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[:2]
    z = v * v  # saves v
    v.mul_(2)
    with pytest.raises(tc.GradientError, match="modified in place"):
        z.sum().backward()


def test_a_view_of_a_leaf_is_refused_as_pytorch_refuses():
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(tc.GradientError, match="view of a leaf"):
        x[1:].add_(1.0)
    with tc.no_grad():  # outside the graph it is a plain write
        x[1:].add_(1.0)
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 3.0, 4.0])


def test_augmented_assignment_through_a_subscript_records_one_change():
    """y[i] op= v is y[i].op_(v) then y[i] = (that view): the assignment of the view to itself adds nothing to
    the graph (the node stays copy_slices) and bumps the version as PyTorch's copy does."""
    def run(lib):
        x = lib.arange(1.0, 7.0, dtype=lib.float64).reshape(2, 3).requires_grad_()
        y = x * 1
        y[1:] *= 2
        y[:, 0] += 5
        y[1, 2] *= 3
        (y * y).sum().backward()
        return y.grad_fn.name(), y._version, x.grad.numpy()

    name, version, grad = run(tc)
    t_name, t_version, t_grad = run(torch)
    assert "CopySlices" in name and "CopySlices" in t_name
    assert version == t_version == 6
    np.testing.assert_allclose(grad, t_grad)


BUFFER_PROGRAMS = {
    "augmented column of a zeros buffer": "y = lib.zeros(2, 3, dtype=x.dtype)\ny[:, 1] += x[:, 0]",
    "columns of a buffer in a loop":
        "y = lib.zeros(2, 3, dtype=x.dtype)\nfor i in range(3):\n    y[:, i] += x[:, i] * i",
    "named view of a buffer": "y = lib.zeros(2, 3, dtype=x.dtype)\nv = y[0]\nv.mul_(0.0)\nv.add_(x[1].exp())",
    "buffer changed twice": "y = lib.zeros(2, 3, dtype=x.dtype)\ny[0] += x[0]\ny[1] += x[1] * 2\ny[:, 2] *= x[0, 0]",
}


@pytest.mark.parametrize("create_graph", [False, True], ids=["backward", "create_graph"])
@pytest.mark.parametrize("name", list(BUFFER_PROGRAMS))
def test_views_of_a_buffer_made_outside_the_graph(name, create_graph):
    """A view of a tensor that does not require grad, changed by a recorded value: the buffer joins the graph
    (PyTorch makes it require grad), its gradient reaching x through the written region."""
    def run(lib):
        x = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3) / 3.0, requires_grad=True)
        ns = {"x": x, "lib": lib}
        exec(BUFFER_PROGRAMS[name], ns)  # noqa: S102
        y = ns["y"]
        assert y.requires_grad
        (y * y).sum().backward(create_graph=create_graph)
        out = [y.detach().numpy().copy(), x.grad.detach().numpy().copy()]
        if create_graph:
            out.append(lib.autograd.grad(x.grad.sum(), x)[0].detach().numpy())
        return out

    for g, w in zip(run(tc), run(torch)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_a_view_made_under_no_grad_is_refused_as_pytorch_refuses():
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    with tc.no_grad():
        v = y[1:]
    with pytest.raises(tc.GradientError, match="no_grad"):
        v.mul_(x[1:])
    ty = torch.tensor([1.0, 2.0, 3.0], requires_grad=True) * 2
    with torch.no_grad():
        tv = ty[1:]
    with pytest.raises(RuntimeError, match="no_grad"):
        tv.mul_(ty[1:].detach().requires_grad_())


def test_more_view_kinds_against_pytorch():
    def run(lib):
        x = lib.tensor([[1.0, 2.0, 3.0]], dtype=lib.float64, requires_grad=True)
        y = (x * 1).reshape(3, 1) @ x
        y.diagonal().fill_(0)  # through a diagonal
        b = lib.zeros(4, dtype=lib.float64)
        b[::2].add_(x[0, :2])  # a strided view of a buffer
        (y.sum() + (b * b).sum()).backward()
        return y.detach().numpy(), b.detach().numpy(), x.grad.numpy()

    for g, w in zip(run(tc), run(torch)):
        np.testing.assert_allclose(g, w)


def test_a_view_that_cannot_be_made_again_is_refused_before_writing():
    x = tc.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = x * 1
    with pytest.raises(tc.GradientError, match="as_strided"):
        y.as_strided((2,), (1,), 1).add_(5.0)
    np.testing.assert_array_equal(y.detach().numpy(), [[1.0, 2.0, 3.0]])  # nothing written


@pytest.mark.parametrize("program", [
    "y = tc.ones(3, 2, dtype=x.dtype)\nt = y.t()\nt[1] *= x[0]",  # t, another view of y's memory, is alive
    "y = tc.zeros(6, dtype=x.dtype)\ny.view(2, 3)[1] += x[0] ** 2",  # so is the view(2, 3) during the statement
    "y = tc.zeros(3, dtype=x.dtype)\nv = y[1:]\ny.add_(x[0])",  # y itself changed while its view v is alive
])
def test_memory_that_views_made_outside_the_graph_still_see_is_refused(program):
    """Views made outside the graph are not followed (no node to remake them on the changed memory, where PyTorch
    remakes them): while another such view of the memory is alive, a recorded in-place change is refused by name
    rather than leave that view a constant with the new values."""
    x = tc.tensor(np.arange(1.0, 7.0).reshape(2, 3) / 3.0, requires_grad=True)
    with pytest.raises(tc.GradientError, match="other views made outside the graph"):
        exec(program, {"x": x, "tc": tc})  # noqa: S102
