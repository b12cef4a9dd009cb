"""Transitional re-exports: the elementwise ops now live in arithmetic, unary, activations and compare."""

from .activations import elu, gelu, leaky_relu, relu, sigmoid, softplus, tanh  # noqa: F401
from .arithmetic import add, div, mul, neg, pow, sub  # noqa: F401
from .compare import (  # noqa: F401
    astype,
    clip,
    clone,
    logical_not,
    maximum,
    minimum,
    sign,
    to_device,
    where,
)
from .unary import abs, cos, erf, exp, log, log1p, sin, sqrt  # noqa: F401
