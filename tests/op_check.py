"""check_op: forward against a NumPy reference, gradcheck and gradgradcheck, on any device."""

import numpy as np

import tensorcore as tc


def make_inputs(case, device="cpu", seed=0):
    rng = np.random.default_rng(seed)
    arrays = case.make(rng)
    flags = case.requires_grad or (True,) * len(arrays)
    tensors = [tc.tensor(a, dtype=tc.float64, device=device, requires_grad=f) for a, f in zip(arrays, flags)]
    return arrays, tensors


def check_op(case, device="cpu", gradgrad=True):
    arrays, tensors = make_inputs(case, device)
    out = case.fn(*tensors)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for o in outs:
        assert o.device == tc.device(device), f"{case.name}: output on {o.device}, expected {device}"
        assert np.all(np.isfinite(o.numpy())), f"{case.name}: non-finite forward"
    if case.ref is not None:
        got = np.concatenate([np.asarray(o.numpy()).reshape(-1) for o in outs])
        want = np.asarray(case.ref(*arrays), dtype=np.float64).reshape(-1)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"{case.name}: forward")
    assert tc.gradcheck(case.fn, tensors, atol=case.atol, rtol=case.rtol)
    if gradgrad and case.gradgrad:
        assert tc.gradgradcheck(case.fn, tensors, atol=case.atol, rtol=case.rtol)
