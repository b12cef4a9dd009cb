"""matmul (NumPy semantics: 1-D, 2-D, batched with broadcast batch dimensions) and linear."""

import functools

from .. import grad_mode
from ..amp import policy as amp_policy
from ..autograd import Function, _record
from ..errors import DTypeError, ShapeError, TensorcoreError
from ..grad_mode import modes
from ..tensor import Tensor, _make, tensor
from .registry import BOUNDARY, boundary_error, guard, register


class Matmul(Function):
    op_name = "matmul"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.backend.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        # Promote 1-D operands as NumPy does: a (k,) is (1, k), b (k,) is (k, 1); g gets the axis back.
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:
            g2 = g.reshape(1, 1)
        elif a.ndim == 1:
            g2 = g.unsqueeze(-2)
        elif b.ndim == 1:
            g2 = g.unsqueeze(-1)
        else:
            g2 = g
        # Batch axes that broadcast are summed back by the engine; the 1-D axes are dropped here.
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = g2 @ b2.mT
            ga = ga.reshape(ga.shape[:-2] + a.shape) if a.ndim == 1 else ga
        if ctx.needs_input_grad[1]:
            gb = a2.mT @ g2
            gb = gb.reshape(gb.shape[:-2] + b.shape) if b.ndim == 1 else gb
        return ga, gb

    @staticmethod
    def backward_arrays(ctx, g):
        a, b = ctx.saved_arrays
        if a.ndim != 2 or b.ndim != 2:
            return Matmul.backward(ctx, _make(g, ctx.device, False, None))  # batched: the Tensor rule
        # A 2-D product: two BLAS calls on the arrays.
        be, needs = ctx.backend, ctx.needs_input_grad
        return (be.matmul(g, b.T) if needs[0] else None, be.matmul(a.T, g) if needs[1] else None)


def _check_matmul(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
    k1 = a.shape[-1]
    k2 = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k1 != k2:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} are not aligned ({k1} != {k2})")
    ba, bb = a.shape[:-2], b.shape[:-2]
    for m, n in zip(reversed(ba), reversed(bb)):
        if m != n and m != 1 and n != 1:
            raise ShapeError(f"matmul: batch dimensions of {a.shape} and {b.shape} cannot be broadcast")


def same_dtype(op, *tensors):
    """The products (matmul, linear, dot) never promote, as in PyTorch: every operand has one dtype."""
    dtypes = [t.dtype for t in tensors if t is not None]
    if any(d != dtypes[0] for d in dtypes):
        raise DTypeError(f"{op}: expected all operands to have the same dtype, got {', '.join(map(str, dtypes))}")


def matmul(input, other):
    """input @ other with NumPy's matmul rules.

    Example:
        tc.matmul(tc.ones((2, 3)), tc.ones((3, 4))).shape == (2, 4)
    """
    a, b = input, other
    if not isinstance(a, Tensor):
        a = tensor(a, dtype=b.dtype)
    if not isinstance(b, Tensor):
        b = tensor(b, dtype=a.dtype)
    same_dtype("matmul", a, b)
    try:
        return Matmul.apply(a, b)
    except ShapeError:
        _check_matmul(a, b)  # the clearer message: which dimensions disagree
        raise


_matmul = guard("matmul", matmul)  # the general call, behind the boundary
_NO_PARAMS = {}


@register("matmul", method=True, lean=True)
@functools.wraps(matmul)
def matmul(*args, **kwargs):  # the public op: its common call inline, behind the op's error boundary
    try:
        if len(args) == 2 and not kwargs and not amp_policy.active:
            a, b = args
            if type(a) is Tensor and type(b) is Tensor:
                x, y = a._data, b._data
                device = a.device
                if (x.dtype is y.dtype and b.device is device
                        and not (grad_mode.anomaly_threads and modes.anomaly_forward)):
                    # two tensors of one dtype, one device; shapes that do not fit fall through to the clear error
                    if (a.requires_grad or b.requires_grad) and modes.grad_enabled:
                        if x.ndim == 2 and y.ndim == 2 and x.shape[1] == y.shape[0]:
                            return _record(Matmul, args, _NO_PARAMS, device)
                    else:
                        try:
                            out = device.backend.matmul(x, y)  # Matmul.forward, inline
                        except ValueError:
                            pass
                        else:
                            return _make(out, device, False, None)
        return _matmul(*args, **kwargs)
    except TensorcoreError:
        raise
    except BOUNDARY as e:  # (a result too large: NumPy's MemoryError)
        raise boundary_error("matmul", e) from e


class Linear(Function):
    """y = x @ w.T + b: one node for a dense layer, dispatched to the backend's fused GEMM."""

    op_name = "linear"

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return ctx.backend.linear(x, w, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gx = g @ w if needs[0] else None
        gw = gb = None
        if needs[1]:
            if x.ndim == 2:
                gw = g.T @ x
            else:
                gw = g.reshape(-1, g.shape[-1]).T @ x.reshape(-1, x.shape[-1])
        if ctx.has_bias and needs[2]:
            gb = g.sum(axis=tuple(range(g.ndim - 1)))
        return gx, gw, gb

    @staticmethod
    def backward_arrays(ctx, gd):
        """Plain backward: three BLAS calls on the arrays."""
        x, w = ctx.saved_arrays
        be, needs = ctx.backend, ctx.needs_input_grad
        gx = gw = gb = None
        if needs[0]:  # one 2-D GEMM whatever the leading dims
            gx = be.matmul(gd.reshape(-1, gd.shape[-1]), w).reshape(gd.shape[:-1] + (w.shape[1],))
        if needs[1]:
            gw = be.matmul(gd.reshape(-1, gd.shape[-1]).T, x.reshape(-1, x.shape[-1]))
        if ctx.has_bias and needs[2]:  # the backend's sum: float32 accumulation for float16/bfloat16
            gb = be.sum(gd, tuple(range(gd.ndim - 1)), False)
        return gx, gw, gb


@register("linear")
def linear(x, weight, bias=None):
    """x @ weight.T + bias, with weight of shape (out_features, in_features) as in PyTorch."""
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {x.shape} does not match weight of shape {weight.shape} "
                         f"(expected last dimension {weight.shape[1]})")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear: bias of shape {bias.shape} for weight of shape {weight.shape}")
    same_dtype("linear", x, weight, bias)
    return Linear.apply(x, weight, bias)



Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
