"""Elementwise ops: arithmetic with NumPy broadcasting, unary math, activations, casts.

Each gradient is reduced back to its input's shape by `unbroadcast`.
"""

import math

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor, _make, tensor
from .registry import register


def unbroadcast(grad, shape):
    """Sum `grad` over the axes NumPy broadcasting added or stretched, so it has `shape`.

    Example: a (3, 4) gradient for an input of shape (4,) is summed over axis 0.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(shape)
    return grad


def _operand(value, other):
    """A binary op's non-Tensor operand: Python numbers stay constants, arrays become Tensors."""
    if isinstance(value, (int, float)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, np.generic):
        return value.item()
    return tensor(value, dtype=getattr(value, "dtype", None) or (other.dtype if isinstance(other, Tensor) else None),
                  device=other.device if not isinstance(value, np.ndarray) else None)


def _binary(cls, x, y):
    if not isinstance(x, Tensor):
        x = _operand(x, y)
    if not isinstance(y, Tensor):
        y = _operand(y, x)
    return cls.apply(x, y)  # a broadcasting error is reported by Function.apply, naming the op


def _check_broadcast(op, a, b):
    for m, n in zip(reversed(a), reversed(b)):
        if m != n and m != 1 and n != 1:
            raise ShapeError(f"{op}: shapes {a} and {b} cannot be broadcast together")


def _needs(ctx, i):
    return ctx.needs_input_grad[i]


def _shape(ctx, i):
    """Shape of input i (a Tensor input: only those get gradients)."""
    return ctx.input_meta[i][0]


# --- arithmetic ---------------------------------------------------------------------------------------


class Add(Function):
    op_name = "add"

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, g):
        return (unbroadcast(g, _shape(ctx, 0)) if _needs(ctx, 0) else None,
                unbroadcast(g, _shape(ctx, 1)) if _needs(ctx, 1) else None)


class Sub(Function):
    op_name = "sub"

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, g):
        return (unbroadcast(g, _shape(ctx, 0)) if _needs(ctx, 0) else None,
                unbroadcast(-g, _shape(ctx, 1)) if _needs(ctx, 1) else None)


class Mul(Function):
    op_name = "mul"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return (unbroadcast(g * y, _shape(ctx, 0)) if _needs(ctx, 0) else None,
                unbroadcast(g * x, _shape(ctx, 1)) if _needs(ctx, 1) else None)


class Div(Function):
    op_name = "div"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = g / y
        return (unbroadcast(gx, _shape(ctx, 0)) if _needs(ctx, 0) else None,
                unbroadcast(-gx * x / y, _shape(ctx, 1)) if _needs(ctx, 1) else None)


class Pow(Function):
    op_name = "pow"

    @staticmethod
    def forward(ctx, x, y):
        out = x**y
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        gx = gy = None
        if _needs(ctx, 0):
            gx = unbroadcast(g * y * x ** (y - 1), _shape(ctx, 0))
        if _needs(ctx, 1):
            # NOTE: d(x^y)/dy = x^y log x; taken as 0 where x == 0 (as PyTorch does).
            safe = where(x > 0, x, 1.0)
            gy = unbroadcast(g * out * log(safe), _shape(ctx, 1))
        return gx, gy


class Neg(Function):
    op_name = "neg"

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


@register("add")
def add(x, y):
    """x + y with NumPy broadcasting."""
    return _binary(Add, x, y)


@register("sub")
def sub(x, y):
    """x - y with NumPy broadcasting."""
    return _binary(Sub, x, y)


@register("mul")
def mul(x, y):
    """x * y with NumPy broadcasting."""
    return _binary(Mul, x, y)


@register("div")
def div(x, y):
    """x / y with NumPy broadcasting."""
    return _binary(Div, x, y)


@register("pow")
def pow(x, y):
    """x ** y with NumPy broadcasting (the gradient in y needs x > 0)."""
    return _binary(Pow, x, y)


@register("neg")
def neg(x):
    return Neg.apply(x)


# --- unary math -------------------------------------------------------------------------------------------


class Exp(Function):
    op_name = "exp"

    @staticmethod
    def forward(ctx, x):
        out = ctx.backend.xp.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    op_name = "log"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.xp.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Log1p(Function):
    op_name = "log1p"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.xp.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x + 1)


class Sqrt(Function):
    op_name = "sqrt"

    @staticmethod
    def forward(ctx, x):
        out = ctx.backend.xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (out * 2)


class Sin(Function):
    op_name = "sin"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.xp.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * cos(x)


class Cos(Function):
    op_name = "cos"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.xp.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * sin(x)


class Abs(Function):
    op_name = "abs"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(ctx.backend.xp.sign(x))  # NOTE: the subgradient at 0 is 0, as in PyTorch
        return ctx.backend.xp.abs(x)

    @staticmethod
    def backward(ctx, g):
        (sign,) = ctx.saved_tensors
        return g * sign


class Erf(Function):
    op_name = "erf"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.erf(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * exp(-(x * x)) * (2.0 / math.sqrt(math.pi))


@register("exp")
def exp(x):
    """Elementwise e ** x."""
    return Exp.apply(x)


@register("log")
def log(x):
    """Elementwise natural logarithm (x > 0)."""
    return Log.apply(x)


@register("log1p")
def log1p(x):
    """Elementwise log(1 + x), accurate for small x."""
    return Log1p.apply(x)


@register("sqrt")
def sqrt(x):
    """Elementwise square root (x > 0 for the gradient)."""
    return Sqrt.apply(x)


@register("sin")
def sin(x):
    """Elementwise sine."""
    return Sin.apply(x)


@register("cos")
def cos(x):
    """Elementwise cosine."""
    return Cos.apply(x)


@register("abs")
def abs(x):
    """Elementwise absolute value; the gradient at 0 is 0."""
    return Abs.apply(x)


@register("erf")
def erf(x):
    """Elementwise the error function."""
    return Erf.apply(x)


# --- activations ---------------------------------------------------------------------------------------


class ReLU(Function):
    op_name = "relu"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.relu(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if not is_grad_enabled():  # plain backward: one backend call, nothing to record
            return _make(ctx.backend.relu_backward(x.data, g.data), g.device, False, None)
        return ReLUBackward.apply(x, g)


class ReLUBackward(Function):
    """g * (x > 0): relu's backward as an op of its own, so it is differentiable in g."""

    op_name = "relu_backward"

    @staticmethod
    def forward(ctx, x, g):
        ctx.save_for_backward(x)
        return ctx.backend.relu_backward(x, g)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return None, ReLUBackward.apply(x, gg)


class LeakyReLU(Function):
    op_name = "leaky_relu"

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return ctx.backend.leaky_relu(x, slope)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return LeakyReLUBackward.apply(x, g, slope=ctx.slope)


class LeakyReLUBackward(Function):
    op_name = "leaky_relu_backward"

    @staticmethod
    def forward(ctx, x, g, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return ctx.backend.leaky_relu_backward(x, g, slope)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return None, LeakyReLUBackward.apply(x, gg, slope=ctx.slope)


class Sigmoid(Function):
    op_name = "sigmoid"

    @staticmethod
    def forward(ctx, x):
        out = ctx.backend.sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)


class Tanh(Function):
    op_name = "tanh"

    @staticmethod
    def forward(ctx, x):
        out = ctx.backend.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class ELU(Function):
    op_name = "elu"

    @staticmethod
    def forward(ctx, x, alpha):
        xp = ctx.backend.xp
        pos = x > 0
        out = xp.where(pos, x, alpha * xp.expm1(xp.minimum(x, 0))).astype(x.dtype, copy=False)
        ctx.alpha = alpha
        ctx.save_for_backward(out, pos)
        return out

    @staticmethod
    def backward(ctx, g):
        y, pos = ctx.saved_tensors
        return where(pos, g, g * (y + ctx.alpha))


_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Function):
    op_name = "gelu"

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return ctx.backend.gelu(x, approximate)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            u = tanh((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI)
            du = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
            d = (u + 1) * 0.5 + x * 0.5 * (1 - u * u) * du
        else:
            # NOTE: d/dx [x Phi(x)] = Phi(x) + x phi(x)
            d = (erf(x * _INV_SQRT_2) + 1) * 0.5 + x * exp(x * x * -0.5) * _INV_SQRT_2PI
        return g * d


class Softplus(Function):
    op_name = "softplus"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = ctx.backend.xp
        ctx.save_for_backward(x)
        ctx.beta = beta
        bx = x * beta
        # NOTE: log(1 + e^z) = max(z, 0) + log1p(e^-|z|) never overflows; linear above threshold.
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta
        return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sigmoid(x * ctx.beta)


@register("relu")
def relu(x):
    """max(x, 0). # NOTE: the gradient at exactly 0 is 0."""
    return ReLU.apply(x)


@register("leaky_relu")
def leaky_relu(x, negative_slope=0.01):
    """x if x > 0 else negative_slope * x."""
    return LeakyReLU.apply(x, slope=negative_slope)


@register("sigmoid")
def sigmoid(x):
    """1 / (1 + exp(-x)), computed without overflow."""
    return Sigmoid.apply(x)


@register("tanh")
def tanh(x):
    return Tanh.apply(x)


@register("elu")
def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return ELU.apply(x, alpha=alpha)


@register("gelu")
def gelu(x, approximate="none"):
    """x * Phi(x) (exact, with erf) or its tanh approximation (approximate="tanh")."""
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


@register("softplus")
def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""
    return Softplus.apply(x, beta=beta, threshold=threshold)


# --- clip, maximum, minimum, where ---------------------------------------------------------------------------


class Clip(Function):
    op_name = "clip"

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = ctx.backend.xp
        inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        ctx.save_for_backward(inside)
        return xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (inside,) = ctx.saved_tensors
        return g * inside


class Maximum(Function):
    op_name = "maximum"

    @staticmethod
    def forward(ctx, x, y):
        xp = ctx.backend.xp
        # NOTE: at ties the gradient is split evenly between x and y (as PyTorch does).
        ctx.save_for_backward(((x > y) + (x == y) * 0.5).astype(np.result_type(x, y), copy=False))
        return xp.maximum(x, y)

    @staticmethod
    def backward(ctx, g):
        (wx,) = ctx.saved_tensors
        return (unbroadcast(g * wx, _shape(ctx, 0)) if _needs(ctx, 0) else None,
                unbroadcast(g * (1 - wx), _shape(ctx, 1)) if _needs(ctx, 1) else None)


class Minimum(Function):
    op_name = "minimum"

    @staticmethod
    def forward(ctx, x, y):
        xp = ctx.backend.xp
        ctx.save_for_backward(((x < y) + (x == y) * 0.5).astype(np.result_type(x, y), copy=False))
        return xp.minimum(x, y)

    backward = Maximum.backward


class Where(Function):
    op_name = "where"

    @staticmethod
    def forward(ctx, cond, x, y):
        ctx.save_for_backward(cond)
        return ctx.backend.xp.where(cond, x, y)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        gx = unbroadcast(where(cond, g, 0.0), _shape(ctx, 1)) if _needs(ctx, 1) else None
        gy = unbroadcast(where(cond, 0.0, g), _shape(ctx, 2)) if _needs(ctx, 2) else None
        return None, gx, gy


@register("clip")
def clip(x, min=None, max=None):
    """x limited to [min, max]; the gradient is 1 inside (bounds included) and 0 outside."""
    if min is None and max is None:
        raise ArgumentError("clip: at least one of min and max must be given")
    return Clip.apply(x, lo=min, hi=max)


@register("maximum")
def maximum(x, y):
    """Elementwise max with broadcasting; ties share the gradient."""
    return _binary(Maximum, x, y)


@register("minimum")
def minimum(x, y):
    return _binary(Minimum, x, y)


@register("where")
def where(cond, x, y):
    """x where cond else y (NumPy broadcasting); no gradient flows to cond."""
    ref = x if isinstance(x, Tensor) else y
    if not isinstance(ref, Tensor):
        raise ArgumentError("where: x or y must be a Tensor")
    if isinstance(cond, Tensor):
        cond = cond.data
    if getattr(cond, "dtype", None) is not None and cond.dtype != np.bool_:
        cond = cond.astype(bool)
    if not isinstance(x, Tensor):
        x = _operand(x, ref)
    if not isinstance(y, Tensor):
        y = _operand(y, ref)
    cond_t = _make(ref.device.backend.asarray(cond), ref.device, False, None)
    return Where.apply(cond_t, x, y)


# --- casts, copies, devices -----------------------------------------------------------------------------------


class Cast(Function):
    op_name = "astype"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.src) if ctx.src.kind == "f" else None


class Clone(Function):
    op_name = "clone"

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class ToDevice(Function):
    op_name = "to"

    changes_device = True

    @staticmethod
    def forward(ctx, x, device, source):
        ctx.source = source
        ctx.out_device = device
        return device.backend.from_host(source.backend.to_numpy(x))

    @staticmethod
    def backward(ctx, g):
        return to_device(g, ctx.source)


def astype(x, dtype):
    from ..dtypes import as_dtype

    dtype = as_dtype(dtype)
    if x.dtype == dtype:
        return x
    if x.requires_grad and dtype.kind != "f":
        return x.detach().astype(dtype)
    return Cast.apply(x, dtype=dtype)


def clone(x):
    return Clone.apply(x)


def to_device(x, device):
    if x.device is device:
        return x
    return ToDevice.apply(x, device=device, source=x.device)


# --- comparisons (no gradient) ---------------------------------------------------------------------------------

_COMPARE = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
            "ge": np.greater_equal, "and": np.logical_and, "or": np.logical_or}


def compare(op, x, y):
    """Elementwise comparison -> a bool tensor that does not require grad."""
    ref = x if isinstance(x, Tensor) else y
    a = x.data if isinstance(x, Tensor) else x
    b = y.data if isinstance(y, Tensor) else y
    if isinstance(x, Tensor) and isinstance(y, Tensor):
        if x.device is not y.device:
            from ..errors import DeviceError

            raise DeviceError(f"{op}: tensors on {x.device} and {y.device}")
        if x.shape != y.shape:
            _check_broadcast(op, x.shape, y.shape)
    xp = ref.device.backend.xp
    fn = getattr(xp, _COMPARE[op].__name__)
    return _make(fn(a, b), ref.device, False, None)


def logical_not(x):
    if x.dtype != np.bool_:
        raise DTypeError(f"logical_not (~): expected a bool tensor, got {x.dtype}")
    return _make(~x.data, x.device, False, None)


def sign(x):
    """Elementwise sign (no gradient)."""
    return _make(x.device.backend.xp.sign(x.data), x.device, False, None)
