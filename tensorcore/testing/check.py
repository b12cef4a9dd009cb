"""check_op: one case on one device and layout: the forward against the NumPy reference (float64 and
float32), gradcheck and gradgradcheck in float64, and the gradients of strided inputs against those
of contiguous ones. `gradients(...)` gives the vector-Jacobian products the sweep compares between
the engine's raw-array backward and the Tensor rules.
"""

import numpy as np

import tensorcore as tc

from .. import autograd


def strided(t):
    """The same values in non-contiguous memory: every other element of a buffer twice as wide."""
    if t._data.ndim == 0 or t._data.size == 0:
        return t
    xp = t.device.backend.xp
    buf = xp.zeros(t._data.shape + (2,), dtype=t._data.dtype)
    buf[..., 0] = t._data
    out = tc.tensor(t._data, device=t.device)  # a fresh leaf, then its storage swapped for the strided view
    out._data = buf[..., 0]
    assert not out.is_contiguous()
    out.requires_grad = t.requires_grad
    return out


def make_inputs(case, device="cpu", dtype=tc.float64, layout="contiguous", seed=0):
    rng = np.random.default_rng(seed)
    arrays = case.make(rng)
    flags = case.requires_grad or (case.differentiable,) * len(arrays)
    tensors = []
    for a, f in zip(arrays, flags):
        kind = np.asarray(a).dtype.kind
        t = tc.tensor(a, dtype=dtype if kind == "f" else None, device=device)
        if layout == "strided":
            t = strided(t)
        tensors.append(t.requires_grad_(bool(f) and kind == "f"))
    return arrays, tensors


def _outputs(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def forward_values(case, tensors):
    outs = _outputs(case.fn(*tensors))
    return np.concatenate([np.asarray(o.numpy(), dtype=np.float64).reshape(-1) for o in outs]), outs


def gradients(case, tensors, seed=1):
    """v^T J for a fixed random v, per differentiable input (as float64 NumPy arrays)."""
    outs = [o for o in _outputs(case.fn(*tensors)) if o.requires_grad]
    inputs = [t for t in tensors if t.requires_grad]
    if not outs or not inputs:
        return []
    rng = np.random.default_rng(seed)
    vs = [tc.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, device=o.device) for o in outs]
    grads = tc.grad(outs, inputs, vs, allow_unused=True)
    return [np.zeros(tuple(t.shape)) if g is None else np.asarray(g.numpy(), dtype=np.float64) for g, t in
            zip(grads, inputs)]


def check_op(case, device="cpu", layout="contiguous", fast_mode=False, with_gradients=True):
    arrays, tensors = make_inputs(case, device, layout=layout)
    got, outs = forward_values(case, tensors)
    for o in outs:
        assert o.device == tc.device(device), f"{case.name}: output on {o.device}, expected {device}"
    if case.differentiable:
        assert np.all(np.isfinite(got)), f"{case.name}: non-finite forward"
    if case.ref is not None:
        want = np.concatenate([np.asarray(r, dtype=np.float64).reshape(-1) for r in _outputs(case.ref(*arrays))])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"{case.name}: forward ({layout})")
        if case.float32:
            _, t32 = make_inputs(case, device, dtype=tc.float32, layout=layout)
            got32, outs32 = forward_values(case, t32)
            for o in outs32:
                if o.dtype.kind == "f":
                    assert o.dtype == np.float32, f"{case.name}: float32 inputs gave {o.dtype}"
            scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
            np.testing.assert_allclose(got32, want, rtol=1e-4, atol=1e-4 * scale, err_msg=f"{case.name}: float32")
    if not case.differentiable or not with_gradients:
        return
    if layout == "strided":
        _, contiguous = make_inputs(case, device)
        for a, b in zip(gradients(case, tensors), gradients(case, contiguous)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"{case.name}: strided gradient")
        return
    assert tc.gradcheck(case.fn, tensors, atol=case.atol, rtol=case.rtol, fast_mode=fast_mode)
    if case.gradgrad:
        assert tc.gradgradcheck(case.fn, tensors, atol=case.atol, rtol=case.rtol, fast_mode=fast_mode)


def check_both_backwards(case, device="cpu"):
    """The engine's raw-array backward and the Tensor rules give the same gradients."""
    if not case.differentiable:
        return
    _, tensors = make_inputs(case, device)
    fast = gradients(case, tensors)
    autograd.set_fast_backward(False)
    try:
        slow = gradients(case, tensors)
    finally:
        autograd.set_fast_backward(True)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"{case.name}: fast vs Tensor-rule backward")


def has_array_backward(case):
    """Whether the op of this case has a raw-array backward (so the two backward paths can differ)."""
    from ..ops.registry import OPS

    op = OPS.get(case.op)
    fn = getattr(op, "Function", None)
    return fn is None or fn.backward_arrays is not None
