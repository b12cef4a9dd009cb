"""The view-mutation matrix: every view kind x every in-place op, against PyTorch.

Two scenarios per pair, written once and run with `lib` = tensorcore and `lib` = torch:
- saved: `y = x * 2; z = y * y` saves y; then a view of y is changed in place under no_grad. PyTorch
  refuses the backward ("modified by an inplace operation"); so must tensorcore.
- recording: a view of `y = x * 2` is changed in place while recording. PyTorch rewrites the graph
  and gives a gradient; tensorcore either gives the same gradient or refuses with a GradientError,
  never a different number.
"""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle of the view-mutation matrix")

VIEWS = {
    "slice": lambda t: t[1:3],
    "reshape": lambda t: t.reshape(-1),
    "view": lambda t: t.view(12),
    "transpose": lambda t: t.transpose(0, 1),
    "permute": lambda t: t.permute(1, 0),
    ".T": lambda t: t.T,
    "detach": lambda t: t.detach(),
    ".data": lambda t: t.data,
    "squeeze": lambda t: t.unsqueeze(0).squeeze(0),
    "unsqueeze": lambda t: t.unsqueeze(1),
    "diagonal": lambda t: t.diagonal(),
    "narrow": lambda t: t.narrow(1, 0, 2),
}

INPLACE = {
    "add_": lambda v: v.add_(1.0),
    "mul_": lambda v: v.mul_(3.0),
    "sub_": lambda v: v.sub_(0.5),
    "div_": lambda v: v.div_(2.0),
    "zero_": lambda v: v.zero_(),
    "fill_": lambda v: v.fill_(7.0),
    "copy_": lambda v: v.copy_(v * 0 + 2.0),
    "setitem": lambda v: v.__setitem__(0, 5.0),
    "iadd": lambda v: v.__iadd__(1.5),
    "clamp_": lambda v: v.clamp_(-0.5, 0.5),
}

PAIRS = [(v, op) for v in VIEWS for op in INPLACE]
X = np.random.default_rng(0).standard_normal((4, 3))


def _leaf(lib):
    if lib is torch:
        return torch.tensor(X, dtype=torch.float64, requires_grad=True)
    return tc.tensor(X, dtype=tc.float64, requires_grad=True)


def _outcome(lib, fn):
    """('grad', array) or ('error', None) for a scenario run with one library."""
    x = _leaf(lib)
    try:
        fn(lib, x)
    except (RuntimeError, tc.TensorcoreError) as e:
        if lib is not torch and not isinstance(e, tc.TensorcoreError):
            raise
        return "error", None
    g = x.grad
    return "grad", (np.zeros(X.shape) if g is None else np.asarray(g.detach().numpy() if lib is torch else g.numpy()))


def _saved(view, op):
    def run(lib, x):
        y = x * 2
        z = y * y
        with lib.no_grad():
            INPLACE[op](VIEWS[view](y))
        z.sum().backward()

    return run


def _recording(view, op):
    def run(lib, x):
        y = x * 2
        INPLACE[op](VIEWS[view](y))
        (y * y).sum().backward()

    return run


@pytest.mark.parametrize("view,op", PAIRS, ids=[f"{v}-{o}" for v, o in PAIRS])
def test_change_through_a_view_of_a_saved_tensor(view, op):
    want, _ = _outcome(torch, _saved(view, op))
    got, _ = _outcome(tc, _saved(view, op))
    if view == ".data":
        # NOTE: PyTorch's .data has a version counter of its own, so PyTorch silently differentiates
        # the changed values; tensorcore's .data shares the counter (as its views do) and refuses.
        assert want == "grad"
    else:
        assert want == "error", "PyTorch refuses a backward through a tensor changed after it was saved"
    assert got == "error", f"{view} then {op}: tensorcore gave a gradient through a changed saved tensor"


@pytest.mark.parametrize("view,op", PAIRS, ids=[f"{v}-{o}" for v, o in PAIRS])
def test_change_through_a_view_while_recording(view, op):
    want, want_grad = _outcome(torch, _recording(view, op))
    got, got_grad = _outcome(tc, _recording(view, op))
    if got == "grad":
        assert want == "grad", f"{view} then {op}: PyTorch refuses, tensorcore gave a gradient"
        np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-12,
                                   err_msg=f"{view} then {op}: a different gradient from PyTorch's")


def test_refusals_name_the_problem():
    x = tc.tensor(X, requires_grad=True)
    with pytest.raises(tc.GradientError, match="view of a leaf tensor that requires grad"):
        x[1:3].mul_(2.0)  # PyTorch refuses it too
    y = x * 2
    with tc.no_grad():
        made_under_no_grad = y[1:3]
    with pytest.raises(tc.GradientError, match="no_grad"):  # PyTorch refuses it too
        made_under_no_grad.add_(x[1:3])


def test_recorded_views_are_rewritten_as_pytorch_does():
    """y[1:3] *= 2 on a non-leaf: y's node becomes copy_slices, and another view of y made before the change
    is made again on the changed y (its gradient goes through the change), both as in PyTorch."""
    def run(lib):
        x = lib.tensor(X, requires_grad=True)
        y = x * 2
        before = y[1:3]
        y[1:3] *= 3.0
        ((before * before).sum() + y.sum()).backward()
        return y.detach().numpy(), x.grad.numpy()

    (y, g), (ty, tg) = run(tc), run(torch)
    np.testing.assert_allclose(y, ty)
    np.testing.assert_allclose(g, tg)
