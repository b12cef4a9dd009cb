"""Softmax family (kernels/softmax.py) against float64 NumPy references; warp-shuffle reductions."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, poisoned, random, requires_cuda, requires_gpu, to_device, to_host

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def sm():
    from tensorcore.kernels import softmax

    return softmax


# Rows: 1, 5 (partial block of 4 warps), 9; classes: 1, 3 (< one warp), 33 (one warp + 1), 100, 301
# (several 4 x 32-column steps per lane, the last partial).
SHAPES = [(1, 1), (5, 3), (9, 33), (2, 3, 100), (3, 301)]


@requires_cuda
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_forward_backward(sm, rng, log, shape):
    dtype = np.float64
    x = random(rng, shape, dtype, -5, 5)
    g = random(rng, shape, dtype)
    y = poisoned(shape, dtype)
    (sm.log_softmax if log else sm.softmax)(to_device(x), out=y)
    assert_close(y, sm.softmax_reference(x, log), dtype, what="forward")
    y_host = to_host(y)
    dx = (sm.log_softmax_backward if log else sm.softmax_backward)(to_device(y_host), to_device(g))
    assert_close(dx, sm.softmax_backward_reference(y_host, g, log), dtype, what="backward")


@requires_cuda
def test_softmax_float32_and_huge_logits(sm, rng):
    x = random(rng, (6, 37), np.float32, -3, 3)
    x[0, 5] = 1e4
    x[1, :] = -1e4
    x[2, 7] = -1e4
    x[3, :] += 1e4
    for log in (False, True):
        y = to_host((sm.log_softmax if log else sm.softmax)(to_device(x)))
        assert np.isfinite(y).all()
        assert_close(y, sm.softmax_reference(x, log), np.float32, tol=1e-6, what=f"log={log}")


@requires_cuda
@pytest.mark.parametrize("target_dtype", [np.int32, np.int64])
def test_softmax_cross_entropy(sm, rng, target_dtype):
    R, C = 7, 135
    x = random(rng, (R, C), np.float64, -4, 4)
    x[0] *= 1e4  # logits up to 4e4: still exact
    t = rng.integers(0, C, size=R).astype(target_dtype)
    t[1], t[2], t[3] = -100, C - 1, 0
    loss_out, grad_out = poisoned((R,), np.float64), poisoned((R, C), np.float64)
    loss, grad = sm.softmax_cross_entropy(
        to_device(x), to_device(t), grad_scale=1 / R, loss_out=loss_out, grad_out=grad_out
    )
    assert loss is loss_out and grad is grad_out
    ref_loss, ref_grad = sm.softmax_cross_entropy_reference(x, t, grad_scale=1 / R)
    assert_close(loss, ref_loss, np.float64, what="loss")
    assert_close(grad, ref_grad, np.float64, what="grad")
    assert to_host(loss)[1] == 0 and not to_host(grad)[1].any()


@requires_cuda
def test_cross_entropy_float32_bad_target_and_errors(sm, rng):
    x = random(rng, (3, 4), np.float32)
    loss, grad = sm.softmax_cross_entropy(to_device(x), to_device(np.array([0, 9, 3], np.int32)))
    loss = to_host(loss)
    assert np.isnan(loss[1]) and np.isfinite(loss[[0, 2]]).all()
    ref_loss, ref_grad = sm.softmax_cross_entropy_reference(x, np.array([0, 9, 3]))
    assert_close(loss[[0, 2]], ref_loss[[0, 2]], np.float32)
    assert_close(grad, ref_grad, np.float32)
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: targets must have shape \(3,\), got \(2,\)"):
        sm.softmax_cross_entropy(to_device(x), to_device(np.zeros(2, np.int64)))
    with pytest.raises(TypeError, match="targets must have dtype int32 or int64, got float32"):
        sm.softmax_cross_entropy(to_device(x), to_device(np.zeros(3, np.float32)))
    with pytest.raises(ValueError, match=r"softmax_backward: grad must have shape \(3, 4\)"):
        sm.softmax_backward(to_device(x), to_device(x[:2]))


@requires_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(4097, 10), (1000, 1031), (3, 50257)])
def test_large_gpu(sm, rng, shape):
    x = random(rng, shape, np.float32, -20, 20)
    t = rng.integers(0, shape[1], size=shape[0])
    assert_close(sm.softmax(to_device(x)), sm.softmax_reference(x), np.float32, tol=1e-6)
    assert_close(sm.log_softmax(to_device(x)), sm.softmax_reference(x, True), np.float32, tol=1e-6)
    loss, grad = sm.softmax_cross_entropy(to_device(x), to_device(t))
    ref_loss, ref_grad = sm.softmax_cross_entropy_reference(x, t)
    assert_close(loss, ref_loss, np.float32, tol=1e-6)
    assert_close(grad, ref_grad, np.float32, tol=1e-6)
