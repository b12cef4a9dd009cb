"""torch.autograd's user-facing pieces that public code writes against: a Function whose forward and backward
both see Tensors (TorchFunction: PyTorch's semantics for user subclasses), autograd.functional (jacobian,
hessian, vjp, jvp, hvp, vhp) and Variable.

tensorcore's own ops subclass tensorcore.autograd.Function, whose forward gets backend arrays. A user's
torch-style Function gets Tensors instead: forward runs under no_grad on detached inputs, and one node (_Bridge)
of the ordinary engine joins its outputs to its inputs; its backward calls the user's backward on Tensors.
Several outputs are recorded as slices of one flat output, so the engine hands the user all their gradients
at once.
"""

import numpy as np

from .autograd import Function as _ArrayFunction
from .errors import ArgumentError, GradientError
from .grad_mode import no_grad
from .tensor import Tensor, _make


class FunctionCtx:
    """The ctx a TorchFunction's forward and backward share (PyTorch's names)."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors = ()
        self.non_differentiable = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self.saved_tensors = tuple(tensors)

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        pass

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class _Bridge(_ArrayFunction):
    """The node of one TorchFunction call: forward hands over the outputs computed already (flat)."""

    @staticmethod
    def forward(ctx, *arrays, flat=None, call=None):
        ctx.call = call
        return flat

    @staticmethod
    def backward(ctx, grad):
        cls, user_ctx, shapes, tensor_positions, n_args = ctx.call
        grads, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape)) if shape else 1
            grads.append(grad[start:start + size].reshape(shape))
            start += size
        out = cls.backward(user_ctx, *grads)
        out = out if isinstance(out, tuple) else (out,)
        if len(out) < n_args:
            raise GradientError(f"{cls.__name__}.backward: returned {len(out)} gradients for {n_args} inputs")
        return tuple(out[i] for i in tensor_positions)


class TorchFunction:
    """A custom op written as in PyTorch: forward(ctx, *args) and backward(ctx, *grads) on Tensors.

    Example:
        class MyReLU(tc.autograd_compat.TorchFunction):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.clamp(min=0)
            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * (x > 0)
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        from .grad_mode import modes

        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        detached = [a.detach() if isinstance(a, Tensor) else a for a in args]
        with no_grad():
            outputs = cls.forward(ctx, *detached, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        if not all(isinstance(o, Tensor) for o in outs):
            raise ArgumentError(f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors")
        if not (modes.grad_enabled and any(needs)):
            return outputs
        differentiable = [o for o in outs if id(o) not in ctx.non_differentiable and o.dtype.kind in "fV"]
        if not differentiable:
            return outputs
        dtype = np.result_type(*[o.dtype for o in differentiable])
        xp = outs[0].device.backend.xp
        flat = xp.concatenate([xp.asarray(o._data, dtype=dtype).reshape(-1) for o in differentiable])
        shapes = [tuple(o.shape) for o in differentiable]
        node_out = _Bridge.apply(*[args[i] for i in positions], flat=flat,
                                 call=(cls, ctx, shapes, positions, len(args)))
        results, start = [], 0
        pieces = iter(shapes)
        for o in outs:
            if id(o) in ctx.non_differentiable or o.dtype.kind not in "fV":
                results.append(o)
                continue
            shape = next(pieces)
            size = int(np.prod(shape)) if shape else 1
            piece = node_out[start:start + size].reshape(shape)
            start += size
            results.append(piece if piece.dtype == o.dtype else piece.to(dtype=o.dtype))
        return results[0] if single else tuple(results)


def once_differentiable(fn):
    """Accepted for PyTorch's decorator of a backward: the backward runs as written."""
    return fn


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """torch.autograd.grad's whole signature over the engine's tc.grad (WGAN-GP passes only_inputs=True):
    only_inputs is ignored (with torch's FutureWarning when False), materialize_grads gives zeros for the
    inputs the outputs do not depend on, is_grads_batched is refused (use tc.func.vmap)."""
    import warnings

    from .creation import zeros_like
    from .engine import grad as engine_grad

    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.", FutureWarning,
                      stacklevel=2)
    if is_grads_batched:
        raise ArgumentError("autograd.grad: is_grads_batched=True is not supported; use tc.func.vmap over grad")
    if materialize_grads and allow_unused is False:
        raise ArgumentError("autograd.grad: Expected allow_unused to be True or not passed when "
                            "materialize_grads=True, but got: allow_unused=False.")
    allow = bool(materialize_grads) if allow_unused is None else bool(allow_unused)
    result = engine_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow)
    if materialize_grads:
        ins = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        result = tuple(zeros_like(t) if g is None else g for g, t in zip(result, ins))
    return result


def Variable(data, requires_grad=False, volatile=False):
    """The old torch.autograd.Variable: a Tensor (detached) with requires_grad."""
    out = data.detach() if isinstance(data, Tensor) else Tensor(data)
    return out.requires_grad_(requires_grad) if requires_grad else out


# --- torch.autograd.functional -------------------------------------------------------------------------
def _tuple(x):
    return x if isinstance(x, tuple) else (x,)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the outputs and the vector-Jacobian product with v (ones for a scalar output)."""
    from .engine import grad

    ins = tuple(x.detach().requires_grad_(True) for x in _tuple(inputs))
    out = func(*ins)
    v = v if v is not None else _make(out._data * 0 + 1, out.device, False, None)
    g = grad(out, ins, grad_outputs=v, create_graph=create_graph, allow_unused=True)
    g = tuple(gi if gi is not None else x * 0 for gi, x in zip(g, ins))
    return (out if create_graph else out.detach()), (g if isinstance(inputs, tuple) else g[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func(inputs) / d inputs, shaped output.shape + input.shape (a tuple per input for several)."""
    from .engine import grad
    from .ops.joins import stack

    ins = tuple(x.detach().requires_grad_(True) for x in _tuple(inputs))
    out = func(*ins)
    outs = _tuple(out)
    result = []
    for o in outs:
        flat = o.reshape(-1)
        rows = [[] for _ in ins]
        for k in range(flat.numel()):
            g = grad(flat[k], ins, retain_graph=True, create_graph=create_graph, allow_unused=True)
            for r, gi, x in zip(rows, g, ins):
                r.append(gi if gi is not None else x * 0)
        per_input = tuple(stack(r, 0).reshape(tuple(o.shape) + tuple(x.shape)) if r else
                          _make(x._data.reshape((0,) + tuple(x.shape)), x.device, False, None)
                          for r, x in zip(rows, ins))
        result.append(per_input if isinstance(inputs, tuple) else per_input[0])
    return tuple(result) if isinstance(out, tuple) else result[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The matrix of second derivatives of a scalar func at inputs."""
    from .engine import grad

    def gradient(*xs):
        out = func(*xs)
        g = grad(out, xs, create_graph=True, allow_unused=True)
        g = tuple(gi if gi is not None else x * 0 for gi, x in zip(g, xs))
        return g if isinstance(inputs, tuple) else g[0]

    return jacobian(gradient, inputs, create_graph=create_graph)


def hvp(func, inputs, v, create_graph=False, strict=False):
    """(func(inputs), H v)."""
    from .engine import grad

    ins = tuple(x.detach().requires_grad_(True) for x in _tuple(inputs))
    out = func(*ins)
    g = grad(out, ins, create_graph=True)
    dot = sum((gi * vi).sum() for gi, vi in zip(g, _tuple(v)))
    h = grad(dot, ins, create_graph=create_graph, allow_unused=True)
    h = tuple(hi if hi is not None else x * 0 for hi, x in zip(h, ins))
    return out.detach(), (h if isinstance(inputs, tuple) else h[0])


vhp = hvp  # the Hessian is symmetric


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v), by the double-vjp trick."""
    from .engine import grad

    ins = tuple(x.detach().requires_grad_(True) for x in _tuple(inputs))
    out = func(*ins)
    u = (out * 0).detach().requires_grad_(True)
    g = grad(out, ins, grad_outputs=u, create_graph=True, allow_unused=True)
    vs = _tuple(v) if v is not None else tuple(_make(x._data * 0 + 1, x.device, False, None) for x in ins)
    dot = sum((gi * vi).sum() for gi, vi in zip(g, vs) if gi is not None)
    (jv,) = grad(dot, (u,), create_graph=create_graph)
    return out.detach(), jv


class functional:  # noqa: N801  (the torch.autograd.functional namespace)
    jacobian, hessian, vjp, jvp, hvp, vhp = (staticmethod(f) for f in (jacobian, hessian, vjp, jvp, hvp, vhp))
