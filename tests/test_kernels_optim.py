"""Fused Adam/AdamW (kernels/optim.py) against the float64 NumPy reference."""

import numpy as np
import pytest

from .kernel_helpers import assert_close, random, requires_cuda, to_device, to_host

pytestmark = pytest.mark.kernels


@requires_cuda
@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("shape,dtype", [((1,), np.float64), ((7, 37), np.float64), ((300,), np.float32)])
def test_adam_update_three_steps(rng, decoupled, shape, dtype):
    from tensorcore.kernels import optim

    p, m, v = random(rng, shape, dtype), np.zeros(shape, dtype), np.zeros(shape, dtype)
    dp, dm, dv = to_device(p.copy()), to_device(m.copy()), to_device(v.copy())
    hp, hm, hv = p, m, v
    kw = dict(lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, decoupled=decoupled)
    for step in (1, 2, 3):
        g = random(rng, shape, dtype)
        assert optim.adam_update(dp, to_device(g), dm, dv, step=step, **kw) is dp
        hp, hm, hv = optim.adam_update_reference(hp, g, hm, hv, step=step, **kw)
    assert_close(dp, hp, dtype, what="param")
    assert_close(dm, hm, dtype, what="m")
    assert_close(dv, hv, dtype, what="v")


@requires_cuda
def test_adam_errors(rng):
    from tensorcore.kernels import optim

    p = to_device(np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"adam_update: m must have shape \(4,\), got \(3,\)"):
        optim.adam_update(p, p, to_device(np.zeros(3, np.float32)), p, lr=0.1)
    with pytest.raises(TypeError, match="adam_update: grad must have dtype float32, got float64"):
        optim.adam_update(p, to_device(np.zeros(4)), p, p, lr=0.1)
    with pytest.raises(ValueError, match="step counts from 1"):
        optim.adam_update(p, p, p, p, lr=0.1, step=0)
    assert to_host(p).tolist() == [1, 1, 1, 1]
