"""Arithmetic with broadcasting: add, sub, mul, div, pow, neg. One declaration each (see declare.py)."""

import math

from .declare import binary, unary
from .unary import log


def _pow_grad_y(g, x, out):
    # NOTE: d(x^y)/dy = x^y log x; taken as 0 where x == 0 (as PyTorch does), so 0 ** y stays finite.
    from .compare import where

    if not hasattr(x, "shape"):  # scalar ** tensor
        return g * out * (math.log(x) if x > 0 else 0.0)
    return g * out * log(where(x > 0, x, 1.0))


add = binary("add", forward=lambda xp, x, y: x + y, vjp=(lambda g: g, lambda g: g), vjp_arrays=True,
             doc="x + y with broadcasting.")
sub = binary("sub", forward=lambda xp, x, y: x - y, vjp=(lambda g: g, lambda g: -g), vjp_arrays=True,
             doc="x - y with broadcasting.")
mul = binary("mul", forward=lambda xp, x, y: x * y, vjp=(lambda g, y: g * y, lambda g, x: g * x), vjp_arrays=True,
             doc="x * y with broadcasting.")
div = binary("div", forward=lambda xp, x, y: x / y, floating=True,
             vjp=(lambda g, y: g / y, lambda g, x, y: -g * x / (y * y)), vjp_arrays=True,
             doc="x / y with broadcasting (true division: integer inputs give floats).")
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
    Tensor.add_ = lambda self, other, alpha=1: self._inplace("add_", add(self, other if alpha == 1 else other * alpha))
    Tensor.sub_ = lambda self, other, alpha=1: self._inplace("sub_", sub(self, other if alpha == 1 else other * alpha))


_attach_operators()
