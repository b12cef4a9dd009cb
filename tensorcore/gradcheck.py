"""gradcheck and gradgradcheck: analytic gradients against central finite differences.

Full mode builds the whole Jacobian both ways (one backward per output element, two forwards per
input element). Fast mode compares one random projection v^T J u: one backward, two forwards.
Use float64 inputs: in float32 the finite differences are too noisy to tell a bug from rounding.
"""

import warnings

import numpy as np

from . import autograd
from .errors import GradcheckError
from .tensor import Tensor, tensor


def _as_tuple(x):
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _outputs(fn, inputs):
    out = fn(*inputs)
    out = _as_tuple(out) if isinstance(out, (Tensor, tuple, list)) else (out,)
    for o in out:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: the function must return Tensors, got {type(o).__name__}")
    return out


def _rebuild(inputs, host, which=None, delta=None):
    """Fresh leaf copies of the inputs; input `which` gets `delta` added (host arrays)."""
    out = []
    for i, (t, h) in enumerate(zip(inputs, host)):
        if not isinstance(t, Tensor):
            out.append(t)
            continue
        data = h if i != which else h + delta
        out.append(tensor(data, dtype=t.dtype, device=t.device, requires_grad=t.requires_grad))
    return out


def _flat_outputs(fn, inputs):
    with autograd.enable_grad():
        outs = _outputs(fn, inputs)
    return np.concatenate([np.asarray(o.numpy(), dtype=np.float64).reshape(-1) for o in outs])


def _numeric_jacobian(fn, inputs, host, diff, eps):
    cols = []
    for i in diff:
        h = host[i]
        jac = []
        for j in range(h.size):
            delta = np.zeros(h.shape, dtype=h.dtype)
            delta.flat[j] = eps
            plus = _flat_outputs(fn, _rebuild(inputs, host, i, delta))
            minus = _flat_outputs(fn, _rebuild(inputs, host, i, -delta))
            jac.append((plus - minus) / (2 * eps))
        cols.append(np.stack(jac, axis=1) if jac else np.zeros((0, 0)))
    return cols  # per input: (outputs, input elements)


def _analytic_jacobian(fn, inputs, host, diff):
    leaves = _rebuild(inputs, host)
    with autograd.enable_grad():
        outs = _outputs(fn, leaves)
    targets = [leaves[i] for i in diff]
    total = sum(o.numel() for o in outs)
    jacs = [np.zeros((total, host[i].size)) for i in diff]
    row = 0
    for o in outs:
        for k in range(o.numel()):
            if o.requires_grad:
                onehot = np.zeros(o.shape, dtype=o.dtype)
                onehot.flat[k] = 1
                grads = autograd.grad(o, targets, tensor(onehot, device=o.device), retain_graph=True,
                                      allow_unused=True)
                for jac, g in zip(jacs, grads):
                    if g is not None:
                        jac[row] = np.asarray(g.numpy(), dtype=np.float64).reshape(-1)
            row += 1
    return jacs


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _compare(name, i, shape, analytic, numeric, atol, rtol, raise_exception):
    err = np.abs(analytic - numeric)
    bad = err > atol + rtol * np.abs(numeric)
    if np.isnan(analytic).any() or np.isnan(numeric).any():
        bad |= np.isnan(analytic) | np.isnan(numeric)
    if not bad.any():
        return True
    worst = np.unravel_index(np.argmax(np.where(bad, err, -1)), err.shape)
    out_index, in_index = worst if err.ndim == 2 else (None, worst[0])
    where = np.unravel_index(in_index, shape) if shape else ()
    return _fail(
        f"{name}: gradient mismatch for input {i} (shape {shape}) at element {tuple(int(v) for v in where)}"
        + (f", output element {int(out_index)}" if out_index is not None else "")
        + f": analytic {analytic[worst]:.10g}, numeric {numeric[worst]:.10g} "
        f"(|diff| {err[worst]:.3g} > atol {atol} + rtol {rtol} * |numeric|)",
        raise_exception,
    )


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=False, raise_exception=True, seed=0,
              _name="gradcheck"):
    """Check fn's analytic gradients against central differences for every input that requires grad.

    Returns True, or raises GradcheckError naming the input, the worst element and both values
    (returns False instead with raise_exception=False).

    Example:
        x = tc.randn(3, 4, dtype=tc.float64, requires_grad=True)
        tc.gradcheck(lambda x: (x.tanh() * x).sum(axis=1), (x,))
    """
    inputs = _as_tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError(f"{_name}: no input requires grad")
    for i in diff:
        if inputs[i].dtype != np.float64:
            warnings.warn(f"{_name}: input {i} is {inputs[i].dtype}; finite differences need float64 "
                          "inputs to be reliable", stacklevel=2)
    host = [np.array(t.numpy()) if isinstance(t, Tensor) else None for t in inputs]
    if fast_mode:
        return _fast_check(fn, inputs, host, diff, eps, atol, rtol, raise_exception, seed, _name)
    numeric = _numeric_jacobian(fn, inputs, host, diff, eps)
    analytic = _analytic_jacobian(fn, inputs, host, diff)
    for i, a, n in zip(diff, analytic, numeric):
        if not _compare(_name, i, host[i].shape, a, n, atol, rtol, raise_exception):
            return False
    return True


def _fast_check(fn, inputs, host, diff, eps, atol, rtol, raise_exception, seed, name):
    rng = np.random.default_rng(seed)
    leaves = _rebuild(inputs, host)
    with autograd.enable_grad():
        outs = _outputs(fn, leaves)
    vs = [rng.standard_normal(o.shape) for o in outs]
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    targets = [leaves[i] for i in diff]
    if live:
        grads = autograd.grad([o for o, _ in live], targets,
                              [tensor(v, dtype=o.dtype, device=o.device) for o, v in live], allow_unused=True)
    else:
        grads = [None] * len(diff)
    v_flat = np.concatenate([v.reshape(-1) for v in vs])
    for i, g in zip(diff, grads):
        u = rng.standard_normal(host[i].shape)
        analytic = 0.0 if g is None else float((np.asarray(g.numpy(), dtype=np.float64) * u).sum())
        plus = _flat_outputs(fn, _rebuild(inputs, host, i, eps * u))
        minus = _flat_outputs(fn, _rebuild(inputs, host, i, -eps * u))
        numeric = float(v_flat @ ((plus - minus) / (2 * eps)))
        if not _compare(name + " (fast mode, v^T J u)", i, (), np.array([analytic]), np.array([numeric]),
                        atol, rtol, raise_exception):
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=False,
                  raise_exception=True, seed=0):
    """Check second derivatives: gradcheck of (inputs, v) -> v^T J(inputs), built with create_graph.

    `grad_outputs` (random when None) are the v's; they are differentiated too.
    """
    inputs = _as_tuple(inputs)
    with autograd.enable_grad():
        outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device,
                               requires_grad=o.dtype.kind == "f") for o in outs]
    grad_outputs = list(_as_tuple(grad_outputs))
    n = len(inputs)

    def first_derivative(*args):
        xs, vs = args[:n], args[n:]
        outs = _outputs(fn, xs)
        diff = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
        if not live:
            return tuple(x * 0.0 for x in diff)
        grads = autograd.grad([o for o, _ in live], diff, [v for _, v in live], create_graph=True,
                              allow_unused=True)
        return tuple(g if g is not None else x * 0.0 for g, x in zip(grads, diff))

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     fast_mode=fast_mode, raise_exception=raise_exception, seed=seed, _name="gradgradcheck")
