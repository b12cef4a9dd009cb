"""Elementwise math of two tensors as PyTorch defines it: atan2, hypot, logaddexp(2), copysign, fmax,
fmin, xlogy, float_power, heaviside, nextafter, lerp. One declaration each (see declare.py)."""

import math

import numpy as np

from ..tensor import Tensor
from .activations import sigmoid
from .compare import where
from .declare import binary, operand
from .registry import register
from .unary import log

_LN2 = math.log(2.0)

atan2 = binary("atan2", forward=lambda xp, x, y: xp.arctan2(x, y), floating=True,
               vjp=(lambda g, x, y: g * y / (x * x + y * y), lambda g, x, y: -g * x / (x * x + y * y)),
               doc="The angle of the point (y=other... x=input over other): atan(input / other) in (-pi, pi].")
hypot = binary("hypot", forward=lambda xp, x, y: xp.hypot(x, y), floating=True,
               vjp=(lambda g, x, out: g * x / out, lambda g, y, out: g * y / out),
               doc="sqrt(x^2 + y^2), without overflow.")
logaddexp = binary("logaddexp", forward=lambda xp, x, y: xp.logaddexp(x, y), floating=True,
                   vjp=(lambda g, x, y: g * sigmoid(x - y), lambda g, x, y: g * sigmoid(y - x)),
                   doc="log(exp(x) + exp(y)), without overflow.")
logaddexp2 = binary("logaddexp2", forward=lambda xp, x, y: xp.logaddexp2(x, y), floating=True,
                    vjp=(lambda g, x, y: g * sigmoid((x - y) * _LN2), lambda g, x, y: g * sigmoid((y - x) * _LN2)),
                    doc="log2(2^x + 2^y), without overflow.")
# NOTE: d copysign(x, y)/dx = copysign(x, y) / x (0 at x = 0), and PyTorch gives y no gradient (zeros).
copysign = binary("copysign", forward=lambda xp, x, y: xp.copysign(x, y), floating=True,
                  vjp=(lambda g, x, out: where(x == 0, 0.0, g * out / where(x == 0, 1.0, x)), lambda g: g * 0.0),
                  doc="|x| with the sign of y.")


def _f_grad(g, x, y, first):
    wins = (x >= y) | y.isnan()  # NOTE: fmax/fmin give a tie's whole gradient to x, as PyTorch does
    return g * wins if first else g * ~wins


def _fmin_wins(x, y):
    return (x <= y) | y.isnan()


fmax = binary("fmax", forward=lambda xp, x, y: xp.fmax(x, y),
              vjp=(lambda g, x, y: _f_grad(g, x, y, True), lambda g, x, y: _f_grad(g, x, y, False)),
              doc="The elementwise max, ignoring NaN (NaN only where both are NaN).")
fmin = binary("fmin", forward=lambda xp, x, y: xp.fmin(x, y),
              vjp=(lambda g, x, y: g * _fmin_wins(x, y), lambda g, x, y: g * ~_fmin_wins(x, y)),
              doc="The elementwise min, ignoring NaN.")


def _xlogy(xp, x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where((x == 0) & ~xp.isnan(y), 0.0, x * xp.log(y)).astype(xp.result_type(x, y), copy=False)


xlogy = binary("xlogy", forward=_xlogy, floating=True,
               vjp=(lambda g, x, y: where((x == 0) & (y <= 0), 0.0, g * log(y)), lambda g, x, y: g * x / y),
               doc="x * log(y), 0 where x == 0 (unless y is NaN).")


def _float_power(xp, x, y):
    return xp.power(xp.asarray(x, dtype=np.float64), xp.asarray(y, dtype=np.float64))


def _float_power_grad_y(g, x, out):
    if not isinstance(x, Tensor):
        return g * out * (math.log(x) if x > 0 else 0.0)
    x = x.double()
    return g * out * log(where(x > 0, x, 1.0)) * (x > 0)


float_power = binary("float_power", forward=_float_power, promote=False,
                     vjp=(lambda g, x, y: g * y * x.double() ** (y - 1) if isinstance(x, Tensor) else None,
                          _float_power_grad_y),
                     doc="x ** y computed in float64 (the result is float64).")
heaviside = binary("heaviside", forward=lambda xp, x, y: xp.heaviside(x, y).astype(xp.result_type(x, y)),
                   vjp=(None, None), doc="0 where x < 0, values where x == 0, 1 where x > 0.")
nextafter = binary("nextafter", forward=lambda xp, x, y: xp.nextafter(x, y), vjp=(lambda g: g, lambda g: g * 0.0),
                   doc="The next float after x towards y.")


@register("lerp", method=True)
def lerp(input, end, weight):
    """input + weight * (end - input) (PyTorch's form: end - (end - input) * (1 - weight) where weight >= 0.5)."""
    if not isinstance(end, Tensor):
        end = operand(end, input)
    diff = end - input
    if isinstance(weight, Tensor):
        return where(weight.abs() < 0.5, input + weight * diff, end - diff * (1 - weight))
    return input + diff * weight if abs(weight) < 0.5 else end - diff * (1 - weight)


def _attach():
    Tensor.lerp_ = lambda self, end, weight: self._inplace("lerp_", lerp(self, end, weight))
    Tensor.arctan2 = atan2


_attach()
