"""Arithmetic with broadcasting: add, sub, mul, div, pow, neg. One declaration each (see declare.py)."""

import math

import numpy as np

from .declare import binary, unary
from .rounding import check_rounding_mode, divide_rounded
from .unary import log


def _pow_grad_x(g, x, y):
    # NOTE: 0 where y == 0 (x ** 0 is constant), as PyTorch's: not 0 * 0 ** -1 = NaN at x = 0.
    from .compare import where

    if not hasattr(y, "shape"):
        return g * 0.0 if y == 0 else g * y * x ** (y - 1)
    return where(y == 0, 0.0, g * y * x ** (y - 1))


def _pow_grad_y(g, x, out):
    # NOTE: d(x^y)/dy = x^y log x; taken as 0 where x == 0 (as PyTorch does), so 0 ** y stays finite.
    from .compare import where

    if not hasattr(x, "shape"):  # scalar ** tensor
        return g * out * (math.log(x) if x > 0 else 0.0 if x == 0 else math.nan)
    # NaN where x < 0 (the log of a negative base), as PyTorch's
    return where(x < 0, math.nan, g * out * log(where(x > 0, x, 1.0)))


def _add(xp, x, y, alpha=1):
    if alpha == 1:
        return x + y
    if getattr(x, "dtype", None) == np.bool_ and getattr(y, "dtype", None) == np.bool_ and type(alpha) in (int, bool):
        return x | y if alpha else x.copy()  # bools stay bool, as in PyTorch (NumPy's y * 2 is int64)
    return x + y * alpha


add = binary("add", forward=_add, params={"alpha": 1},
             vjp=(lambda g, alpha=1: g, lambda g, alpha=1: g if alpha == 1 else g * alpha), vjp_arrays=True,
             doc="x + alpha * y with broadcasting.")
def _no_bool_sub(x, y):
    from ..errors import DTypeError

    if any(v.dtype.kind == "b" if hasattr(v, "dtype") else isinstance(v, bool) for v in (x, y)):
        raise DTypeError("sub: subtraction with a bool tensor is not supported, as in PyTorch (to invert a mask "
                         "use ~ or logical_not())")


def _sub(xp, x, y, alpha=1):
    _no_bool_sub(x, y)
    return x - y if alpha == 1 else x - y * alpha


sub = binary("sub", forward=_sub, params={"alpha": 1}, refuse=_no_bool_sub,
             vjp=(lambda g, alpha=1: g, lambda g, alpha=1: -g if alpha == 1 else g * -alpha), vjp_arrays=True,
             doc="x - alpha * y with broadcasting.")
mul = binary("mul", forward=lambda xp, x, y: x * y, vjp=(lambda g, y: g * y, lambda g, x: g * x), vjp_arrays=True,
             doc="x * y with broadcasting.")


def _div_grad_x(g, y, rounding_mode=None):
    return g / y if rounding_mode is None else g * 0.0  # NOTE: a rounded quotient has zero gradient


def _div_grad_y(g, x, y, rounding_mode=None):
    return -g * x / (y * y) if rounding_mode is None else g * 0.0


div = binary("div", forward=divide_rounded, params={"rounding_mode": None}, check=check_rounding_mode,
             floating=lambda rounding_mode=None: rounding_mode is None,
             vjp=(_div_grad_x, _div_grad_y), vjp_arrays=True,
             doc="x / y with broadcasting; true division (integers give floats) or rounding_mode 'trunc' / 'floor'.")


def _bool_pow(x, y):
    from ..errors import DTypeError

    if (all(v.dtype.kind == "b" if hasattr(v, "dtype") else isinstance(v, bool) for v in (x, y))
            and not (hasattr(x, "dtype") and isinstance(y, bool))):
        raise DTypeError("pow: not implemented for bool ** bool, as in PyTorch (a bool tensor ** True/False is)")


def _pow(xp, x, y):
    """x ** y; an integer tensor exponent may be negative (PyTorch's integer results: 1 ** -n = 1,
    (-1) ** -n = +-1, any other base 0), a negative Python int exponent of an integer tensor is refused."""
    _bool_pow(x, y)
    if isinstance(y, bool) and x.dtype.kind == "b":  # a bool tensor ** True/False stays bool (NumPy's: int8)
        return x.copy() if y else xp.ones_like(x)
    if (getattr(x, "dtype", np.dtype(type(x))).kind in "iub" and hasattr(y, "dtype") and y.dtype.kind == "i"
            and getattr(y, "ndim", 0) >= 0 and bool((y < 0).any())):
        neg = y < 0
        out = x ** xp.where(neg, 0, y)
        at_neg = xp.where(x == 1, 1, xp.where(x == -1, xp.where(y % 2 != 0, -1, 1), 0))
        return xp.where(neg, xp.asarray(at_neg).astype(out.dtype), out)
    return x**y


pow = binary("pow", forward=_pow, refuse=_bool_pow,
             vjp=(_pow_grad_x, _pow_grad_y),
             doc="x ** y with broadcasting (the gradient in y is 0 where x <= 0).")
neg = unary("neg", forward=lambda xp, x: -x, vjp=lambda g: -g, vjp_arrays=True, doc="-x.")


def _refuse_bool_pos():
    from ..errors import DTypeError

    raise DTypeError("the + operator on a bool tensor is not supported, as in PyTorch")


def _attach_operators():
    from ..tensor import Tensor

    for name, fn in (("add", add), ("sub", sub), ("mul", mul), ("truediv", div), ("pow", pow)):
        setattr(Tensor, f"__{name}__", fn)
        setattr(Tensor, f"__r{name}__", lambda self, other, fn=fn: fn(other, self))
        # x op= y is the in-place method (x.mul_(y)): it keeps a copy of x when the gradient needs x's old value
        setattr(Tensor, f"__i{name}__", lambda self, other, method=f"{'div' if name == 'truediv' else name}_":
                getattr(self, method)(other))
    Tensor.__neg__ = neg
    Tensor.__pos__ = lambda self: self if self.dtype.kind != "b" else _refuse_bool_pos()
    Tensor.__abs__ = lambda self: self.abs()
    Tensor.__rdiv__ = Tensor.__rtruediv__
    Tensor.__idiv__ = Tensor.__itruediv__
    for alias, fn in (("multiply", mul), ("divide", div), ("subtract", sub), ("true_divide", div),
                      ("negative", neg)):
        setattr(Tensor, alias, fn)
        setattr(Tensor, alias + "_", getattr(Tensor, fn.__name__ + "_"))
    Tensor.rsub = lambda self, other, alpha=1: rsub(self, other, alpha)


def rsub(input, other, alpha=1):
    """other - alpha * input (sub with the operands swapped)."""
    return sub(other, input, alpha=alpha)


multiply, divide, subtract, true_divide, negative = mul, div, sub, div, neg


_attach_operators()
