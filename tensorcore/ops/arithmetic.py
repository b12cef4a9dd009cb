"""Arithmetic with broadcasting: add, sub, mul, div, pow, neg. One declaration each (see declare.py)."""

import math

from .declare import binary, unary
from .rounding import check_rounding_mode, divide_rounded
from .unary import log


def _pow_grad_y(g, x, out):
    # NOTE: d(x^y)/dy = x^y log x; taken as 0 where x == 0 (as PyTorch does), so 0 ** y stays finite.
    from .compare import where

    if not hasattr(x, "shape"):  # scalar ** tensor
        return g * out * (math.log(x) if x > 0 else 0.0)
    return g * out * log(where(x > 0, x, 1.0))


add = binary("add", forward=lambda xp, x, y, alpha=1: x + y if alpha == 1 else x + y * alpha, params={"alpha": 1},
             vjp=(lambda g, alpha=1: g, lambda g, alpha=1: g if alpha == 1 else g * alpha), vjp_arrays=True,
             doc="x + alpha * y with broadcasting.")
sub = binary("sub", forward=lambda xp, x, y, alpha=1: x - y if alpha == 1 else x - y * alpha, params={"alpha": 1},
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
pow = binary("pow", forward=lambda xp, x, y: x**y,
             vjp=(lambda g, x, y: g * y * x ** (y - 1), _pow_grad_y),
             doc="x ** y with broadcasting (the gradient in y is 0 where x <= 0).")
neg = unary("neg", forward=lambda xp, x: -x, vjp=lambda g: -g, vjp_arrays=True, doc="-x.")


def _attach_operators():
    from ..tensor import Tensor

    for name, fn in (("add", add), ("sub", sub), ("mul", mul), ("truediv", div), ("pow", pow)):
        setattr(Tensor, f"__{name}__", fn)
        setattr(Tensor, f"__r{name}__", lambda self, other, fn=fn: fn(other, self))
        setattr(Tensor, f"__i{name}__",
                lambda self, other, fn=fn, name=name: self._inplace(f"{name}_", fn(self, other)))
    Tensor.__neg__ = neg
    Tensor.__pos__ = lambda self: self
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
