"""float16 rows and 4-wide vector loads in the row kernels (kernels/softmax.py, kernels/layernorm.py, their
streaming kernels), and cross-entropy's in-kernel reduction (kernels/_ce_f16.py), each layout forced on
tiny odd shapes against float64 references computed from the same (float16-rounded) inputs."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, to_device, to_host
from .test_kernels_f16_activations import check_half

pytestmark = pytest.mark.kernels

LAYOUTS = ["warp", "block", "stream"]
#: float16 rows with scalar loads (37 columns) and vector loads (40), float32 with vector loads (float32
#: scalar rows: tests/test_kernels_rows.py)
CASES = [(np.float16, 37), (np.float16, 40), (np.float32, 40)]
CASE_IDS = ["f16-scalar", "f16-vector", "f32-vector"]


@pytest.fixture
def layout(request, monkeypatch):
    """Every row kernel on one layout (the block layout with 64 threads, as tests/test_kernels_rows.py)."""
    from tensorcore.kernels import _rows

    tpr = {"warp": _rows.WARP, "block": 64, "stream": None}[request.param]
    monkeypatch.setattr(_rows, "choose", lambda C, dtype, arrays: tpr)
    return request.param


def check(out, ref, dtype, what, tol=None):
    if dtype == np.float16:
        check_half(out, ref, what)
    else:
        assert to_host(out).dtype == dtype, what
        assert_close(out, ref, dtype, tol=tol, what=what)


@requires_cuda
@pytest.mark.parametrize("layout", LAYOUTS, indirect=True)
@pytest.mark.parametrize("dtype, C", CASES, ids=CASE_IDS)
def test_softmax_family_half_and_vector(layout, rng, dtype, C):
    from tensorcore.kernels import _vector_f16
    from tensorcore.kernels import softmax as sm

    R = 3  # a partial 4-row block (warp layout), several grid-stride rows (block)
    x = random(rng, (R, C), dtype, -5, 5)
    g = random(rng, (R, C), dtype)
    assert _vector_f16.aligned(to_device(x), last=C) == (C == 40)
    for log in (False, True):
        y = poisoned((R, C), dtype)
        (sm.log_softmax if log else sm.softmax)(to_device(x), out=y)
        check(y, sm.softmax_reference(x.astype(np.float64), log), dtype, f"{layout} forward log={log}")
        y_host = to_host(y)
        dx = (sm.log_softmax_backward if log else sm.softmax_backward)(to_device(y_host), to_device(g))
        ref = sm.softmax_backward_reference(y_host.astype(np.float64), g.astype(np.float64), log)
        check(dx, ref, dtype, f"{layout} backward log={log}")


@requires_cuda
@pytest.mark.parametrize("layout", LAYOUTS, indirect=True)
@pytest.mark.parametrize("dtype, C", CASES, ids=CASE_IDS)
def test_cross_entropy_half_vector_and_in_kernel_mean(layout, rng, dtype, C):
    from tensorcore.kernels import softmax as sm

    R = 4
    x = random(rng, (R, C), dtype, -4, 4)
    x[0, 4] = -1e4 if dtype == np.float32 else -6e4  # the target's probability underflows: the loss stays exact
    t = np.array([4, -100, C - 1, 0], np.int64)
    loss, grad, stats = sm.softmax_cross_entropy(to_device(x), to_device(t), grad_scale=0.5,
                                                 grad_out=poisoned((R, C), dtype), return_stats=True)
    ref_loss, ref_grad = sm.softmax_cross_entropy_reference(x.astype(np.float64), t, grad_scale=0.5)
    loss, stats = to_host(loss), to_host(stats)
    assert loss.dtype == stats.dtype == np.float32  # float16 logits: a float32 loss, as PyTorch's autocast
    assert loss[1] == 0
    assert_close(loss, ref_loss, np.float32, tol=1e-6, what=f"{layout} loss")
    check(grad, ref_grad, dtype, f"{layout} grad")
    valid = t != -100
    assert stats[1] == valid.sum() and stats[3] == valid.sum()
    assert_close(stats[:1], [ref_loss[valid].sum()], np.float32, tol=1e-6, what="sum")
    assert_close(stats[2:3], [ref_loss[valid].mean()], np.float32, tol=1e-6, what="mean")
    if dtype != np.float16 or C != 40 or layout != "warp":
        return
    # the ticket was reset: a second launch reduces again; all rows ignored gives PyTorch's NaN mean
    _, _, stats2 = sm.softmax_cross_entropy(to_device(x), to_device(np.full(R, -100)), return_stats=True)
    stats2 = to_host(stats2)
    assert stats2[0] == stats2[1] == 0 and np.isnan(stats2[2]) and stats2[3] == 1


@requires_cuda
def test_cross_entropy_bad_target_poisons_the_mean(rng):
    from tensorcore.kernels import softmax as sm

    x = random(rng, (3, 8), np.float16)
    _, _, stats = sm.softmax_cross_entropy(to_device(x), to_device(np.array([1, 9, 2])), return_stats=True)
    stats = to_host(stats)
    assert stats[1] == 3 and np.isnan(stats[0]) and np.isnan(stats[2])


@requires_cuda
@pytest.mark.parametrize("layout", LAYOUTS, indirect=True)
@pytest.mark.parametrize("dtype, C", CASES, ids=CASE_IDS)
def test_layer_norm_half_and_vector(layout, rng, dtype, C):
    from tensorcore.kernels import layernorm as ln

    R = 3
    x = (random(rng, (R, C), np.float64) + 10.0).astype(dtype)  # a mean of 10: no digits lost
    w, b = random(rng, (C,), dtype), random(rng, (C,), dtype)
    g = random(rng, (R, C), dtype)
    y, mean, rstd = ln.layer_norm_forward(to_device(x), to_device(w), to_device(b), eps=1e-5,
                                          out=poisoned((R, C), dtype))
    x64, w64, b64, g64 = (a.astype(np.float64) for a in (x, w, b, g))
    ref_y, ref_mean, ref_rstd = ln.layer_norm_reference(x64, w64, b64, eps=1e-5)
    assert to_host(mean).dtype == to_host(rstd).dtype == np.float32  # float32 statistics for float16 rows
    check(y, ref_y, dtype, f"{layout} y", tol=1e-5)
    assert_close(rstd, ref_rstd, np.float32, tol=1e-5, what=f"{layout} rstd")
    dx, dw, db = ln.layer_norm_backward(to_device(g), to_device(x), to_device(w), mean, rstd)
    ref_dx, ref_dw, ref_db = ln.layer_norm_backward_reference(g64, x64, w64, eps=1e-5)
    check(dx, ref_dx, dtype, f"{layout} dx", tol=1e-5)
    check(dw, ref_dw, dtype, f"{layout} dw", tol=1e-5)
    check(db, ref_db, dtype, f"{layout} db", tol=1e-5)
