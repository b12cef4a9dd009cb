"""Unary math: exp, log, log1p, sqrt, sin, cos, abs, erf. One declaration each (see declare.py)."""

import math

from .declare import unary

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

exp = unary("exp", forward=lambda xp, x: xp.exp(x), vjp=lambda g, out: g * out, vjp_arrays=True, floating=True,
            doc="e ** x.")
log = unary("log", forward=lambda xp, x: xp.log(x), vjp=lambda g, x: g / x, vjp_arrays=True, floating=True,
            doc="The natural logarithm (x > 0).")
log1p = unary("log1p", forward=lambda xp, x: xp.log1p(x), vjp=lambda g, x: g / (x + 1), vjp_arrays=True, floating=True,
              doc="log(1 + x), accurate for small x.")
sqrt = unary("sqrt", forward=lambda xp, x: xp.sqrt(x), vjp=lambda g, out: g / (out * 2), vjp_arrays=True, floating=True,
             doc="The square root.")
sin = unary("sin", forward=lambda xp, x: xp.sin(x), vjp=lambda g, x: g * cos(x), floating=True, doc="sin(x).")
cos = unary("cos", forward=lambda xp, x: xp.cos(x), vjp=lambda g, x: -g * sin(x), floating=True, doc="cos(x).")
# NOTE: the subgradient of |x| at 0 is 0, as in PyTorch (sign(0) = 0).
def _abs(xp, x):
    if x.dtype.kind == "b":
        raise TypeError("not implemented for bool tensors, as in PyTorch")
    return xp.abs(x)


abs = unary("abs", forward=_abs, vjp=lambda g, x: g * x.sign(), doc="|x|.")
erf = unary("erf", backend="erf", vjp=lambda g, x: g * exp(-(x * x)) * _TWO_OVER_SQRT_PI, floating=True,
            doc="The error function, 2/sqrt(pi) * integral_0^x exp(-t^2) dt.")
