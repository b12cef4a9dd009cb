"""The row kernels' three layouts (kernels/_rows.py): a warp per row and a block per row with the row in
registers, and the streaming kernels for long rows, each forced on tiny odd shapes against float64
references (softmax, log-softmax, their backward, cross-entropy; layer norm forward and backward)."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, to_device, to_host

pytestmark = pytest.mark.kernels

LAYOUTS = ["warp", "block", "stream"]


@pytest.fixture
def layout(request, monkeypatch):
    """Force every row kernel onto one layout, whatever the row length. The block layout runs with 64
    threads (two warps: the shared-memory step of its reductions) to keep the simulator quick; its
    512-thread build is the same code, compiled in kernels/RESOURCES.md."""
    from tensorcore.kernels import _rows

    tpr = {"warp": _rows.WARP, "block": 64, "stream": None}[request.param]
    monkeypatch.setattr(_rows, "choose", lambda C, dtype, arrays: tpr)
    return request.param


@requires_cuda
@pytest.mark.parametrize("layout", LAYOUTS, indirect=True)
def test_softmax_family_in_each_layout(layout, rng):
    from tensorcore.kernels import softmax as sm

    R, C = 3, 37  # 3 rows: a partial 4-row block (warp layout), several grid-stride rows (block)
    x = random(rng, (R, C), np.float64, -5, 5)
    g = random(rng, (R, C), np.float64)
    for log in (False, True):
        y = poisoned((R, C), np.float64)
        (sm.log_softmax if log else sm.softmax)(to_device(x), out=y)
        assert_close(y, sm.softmax_reference(x, log), np.float64, what=f"{layout} forward log={log}")
        y_host = to_host(y)
        dx = (sm.log_softmax_backward if log else sm.softmax_backward)(to_device(y_host), to_device(g))
        assert_close(dx, sm.softmax_backward_reference(y_host, g, log), np.float64, what=f"{layout} backward")
    t = np.array([4, -100, C + 2], np.int64)  # a class, an ignored row, an out-of-range target
    x32 = x.astype(np.float32)
    x32[0, 4] = -1e4  # the target's probability underflows: the loss is still its exact 1e4 + lse
    loss, grad = sm.softmax_cross_entropy(to_device(x32), to_device(t), grad_scale=0.5)
    ref_loss, ref_grad = sm.softmax_cross_entropy_reference(x32, t, grad_scale=0.5)
    loss = to_host(loss)
    assert np.isnan(loss[2]) and loss[1] == 0
    assert_close(loss[:1], ref_loss[:1], np.float32, tol=1e-6, what=f"{layout} loss")
    assert_close(grad, ref_grad, np.float32, what=f"{layout} grad")


@requires_cuda
@pytest.mark.parametrize("layout", LAYOUTS, indirect=True)
def test_layer_norm_in_each_layout(layout, rng):
    from tensorcore.kernels import layernorm as ln

    R, C = 3, 37
    x = random(rng, (R, C), np.float64) + 100.0  # a large mean: no digits lost
    w, b, g = random(rng, (C,), np.float64), random(rng, (C,), np.float64), random(rng, (R, C), np.float64)
    y, mean, rstd = ln.layer_norm_forward(to_device(x), to_device(w), to_device(b), eps=1e-5)
    ref_y, ref_mean, ref_rstd = ln.layer_norm_reference(x, w, b, eps=1e-5)
    assert_close(y, ref_y, np.float64, tol=1e-10, what=f"{layout} y")
    assert_close(rstd, ref_rstd, np.float64, tol=1e-10, what=f"{layout} rstd")
    dx, dw, db = ln.layer_norm_backward(to_device(g), to_device(x), to_device(w), mean, rstd)
    ref_dx, ref_dw, ref_db = ln.layer_norm_backward_reference(g, x, w, eps=1e-5)
    assert_close(dx, ref_dx, np.float64, tol=1e-9, what=f"{layout} dx")
    assert_close(dw, ref_dw, np.float64, tol=1e-9, what=f"{layout} dw")
    assert_close(db, ref_db, np.float64, what=f"{layout} db")


def test_layouts_are_chosen_by_row_length():
    from tensorcore.kernels import _rows

    assert _rows.choose(1024, np.float32, 1) == _rows.WARP
    assert _rows.choose(1025, np.float32, 1) == _rows.BLOCK
    assert _rows.choose(16384, np.float32, 1) == _rows.BLOCK and _rows.choose(16385, np.float32, 1) is None
    assert _rows.choose(8193, np.float32, 2) is None and _rows.choose(513, np.float64, 1) == _rows.BLOCK
