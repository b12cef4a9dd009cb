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


SGD_CASES = [
    dict(momentum=0.0, weight_decay=0.0),
    dict(momentum=0.9, dampening=0.1, weight_decay=0.05),
    dict(momentum=0.9, nesterov=True, maximize=True, weight_decay=0.05),
]


@requires_cuda
@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_update_three_steps(rng, kw):
    from tensorcore.kernels import optim

    shape, dtype = (7, 37), np.float64
    p = random(rng, shape, dtype)
    dp, db = to_device(p.copy()), to_device(np.full(shape, np.nan))  # the first step must not read the buffer
    hp, hb = p, None
    for step in (1, 2, 3):
        g = random(rng, shape, dtype)
        assert optim.sgd_update(dp, to_device(g), db, 0.1, first=step == 1, **kw) is dp
        hp, hb = optim.sgd_update_reference(hp, g, hb, 0.1, first=step == 1, **kw)
        assert_close(dp, hp, dtype, what=f"param, step {step}")
        if kw["momentum"]:
            assert_close(db, hb, dtype, what=f"buffer, step {step}")
    assert np.isnan(to_host(db)).all() == (not kw["momentum"])  # untouched without momentum


@requires_cuda
def test_cuda_sgd_is_one_kernel_per_parameter_and_matches_the_cpu(monkeypatch):
    from tensorcore.kernels import optim

    import tensorcore as tc
    from tensorcore import nn
    from tensorcore import optim as tc_optim

    calls = []
    real = optim.sgd_update
    monkeypatch.setattr(optim, "sgd_update", lambda p, *a, **k: calls.append(p.shape) or real(p, *a, **k))
    rng = np.random.default_rng(4)
    w0, x = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    out = {}
    for dev in ("cpu", "cuda"):
        w = nn.Parameter(tc.tensor(w0, device=dev))
        opt = tc_optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
        for _ in range(3):
            opt.zero_grad()
            ((tc.tensor(x, device=dev) @ w) ** 2).sum().backward()
            opt.step()
        out[dev] = w.numpy()
    assert calls == [(3, 4)] * 3
    np.testing.assert_allclose(out["cuda"], out["cpu"], rtol=1e-5, atol=1e-6)
