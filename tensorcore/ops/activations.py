"""Activations: relu, leaky_relu, sigmoid, tanh, elu, gelu, softplus. One declaration each.

Those with a fused cuda kernel take their forward from the backend table (`backend="relu"`), and
relu and leaky_relu add a raw-array backward (`vjp_arrays`) that the engine uses under plain backward().
"""

import math

from ..errors import ArgumentError
from .compare import where
from .declare import unary
from .unary import erf, exp

_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

# NOTE: relu's gradient at exactly 0 is taken as 0, as in PyTorch.
relu = unary("relu", backend="relu", vjp=lambda g, x: g * (x > 0),
             vjp_arrays=lambda be, g, x: (be.relu_backward(x, g),), doc="max(x, 0).")
leaky_relu = unary("leaky_relu", backend="leaky_relu", params={"negative_slope": 0.01},
                   vjp=lambda g, x, negative_slope: where(x > 0, g, g * negative_slope),
                   vjp_arrays=lambda be, g, x, negative_slope: (be.leaky_relu_backward(x, g, negative_slope),),
                   doc="x if x > 0 else negative_slope * x.")
sigmoid = unary("sigmoid", backend="sigmoid", vjp=lambda g, out: g * out * (1 - out),
                vjp_arrays=lambda be, g, out: (be.sigmoid_backward(out, g),), floating=True,
                doc="1 / (1 + exp(-x)), computed without overflow.")
tanh = unary("tanh", backend="tanh", vjp=lambda g, out: g * (1 - out * out), vjp_arrays=True, floating=True,
             doc="tanh(x).")


def _elu(xp, x, alpha):
    return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0))).astype(x.dtype, copy=False)


elu = unary("elu", forward=_elu, params={"alpha": 1.0},
            vjp=lambda g, x, out, alpha: where(x > 0, g, g * (out + alpha)),
            doc="x if x > 0 else alpha * (exp(x) - 1).")


def _gelu_grad(g, x, approximate):
    if approximate == "tanh":
        from .activations import tanh as tanh_

        u = tanh_((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI)
        du = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
        return g * ((u + 1) * 0.5 + x * 0.5 * (1 - u * u) * du)
    # NOTE: d/dx [x Phi(x)] = Phi(x) + x phi(x)
    return g * ((erf(x * _INV_SQRT_2) + 1) * 0.5 + x * exp(x * x * -0.5) * _INV_SQRT_2PI)


def _check_gelu(approximate):
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


gelu = unary("gelu", backend="gelu", params={"approximate": "none"}, check=_check_gelu, vjp=_gelu_grad,
             vjp_arrays=lambda be, g, x, approximate: (be.gelu_backward(x, g, approximate),), floating=True,
             doc="x * Phi(x) (exact, with erf) or its tanh approximation (approximate='tanh').")


def _softplus(xp, x, beta, threshold):
    bx = x * beta
    # NOTE: log(1 + e^z) = max(z, 0) + log1p(e^-|z|) never overflows; linear above threshold.
    soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta
    return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)


def _softplus_grad(g, x, beta, threshold):
    # NOTE: above the threshold softplus is the identity, so its gradient is exactly 1 there.
    return where(x * beta > threshold, g, g * sigmoid(x * beta))


softplus = unary("softplus", forward=_softplus, params={"beta": 1.0, "threshold": 20.0}, vjp=_softplus_grad,
                 floating=True, doc="log(1 + exp(beta x)) / beta, linear where beta x > threshold.")
