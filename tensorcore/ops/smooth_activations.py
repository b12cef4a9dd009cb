"""Smooth activations as torch.nn.functional defines them: silu, mish, logsigmoid, softsign, celu,
selu, tanhshrink, glu, softmin. One declaration each where elementwise (see declare.py)."""

from ..errors import ArgumentError
from .activations import sigmoid, softplus, tanh
from .compare import where
from .declare import unary
from .registry import register
from .unary import exp

# NOTE: SELU's constants, from Klambauer et al. (2017), to the digits PyTorch uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(xp, x):
    # NOTE: 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below: neither overflows.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _silu_grad(g, x, inplace=False):
    s = sigmoid(x)
    return g * s * (x * (1 - s) + 1)


silu = unary("silu", forward=lambda xp, x, inplace: x * _sigmoid(xp, x), vjp=_silu_grad, floating=True,
             params={"inplace": False}, doc="x * sigmoid(x) (swish).")


def _softplus_arr(xp, x):
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def _mish_grad(g, x, inplace=False):
    t = tanh(softplus(x))
    return g * (t + x * sigmoid(x) * (1 - t * t))


mish = unary("mish", forward=lambda xp, x, inplace: x * xp.tanh(_softplus_arr(xp, x)), vjp=_mish_grad, floating=True,
             params={"inplace": False}, doc="x * tanh(softplus(x)).")
logsigmoid = unary("logsigmoid", forward=lambda xp, x: -_softplus_arr(xp, -x), vjp=lambda g, x: g * sigmoid(-x),
                   floating=True, inplace=False, doc="log(sigmoid(x)) = -softplus(-x), without overflow.")
softsign = unary("softsign", forward=lambda xp, x: x / (1 + xp.abs(x)),
                 vjp=lambda g, x: g / ((x.abs() + 1) * (x.abs() + 1)), floating=True, inplace=False,
                 doc="x / (1 + |x|).")


def _celu(xp, x, alpha, inplace=False):
    if alpha == 0:
        raise ArgumentError("celu: alpha must not be 0")
    return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0) / alpha)).astype(x.dtype, copy=False)


celu = unary("celu", forward=_celu, params={"alpha": 1.0, "inplace": False}, floating=True,
             vjp=lambda g, x, alpha, **_: where(x > 0, g, g * exp(x / alpha)),
             doc="x if x > 0 else alpha * (exp(x / alpha) - 1).")


def _selu(xp, x, inplace=False):
    neg = SELU_ALPHA * xp.expm1(xp.minimum(x, 0))
    return (SELU_SCALE * xp.where(x > 0, x, neg)).astype(x.dtype, copy=False)


selu = unary("selu", forward=_selu, params={"inplace": False}, floating=True,
             vjp=lambda g, x, **_: where(x > 0, g * SELU_SCALE, g * (SELU_SCALE * SELU_ALPHA) * exp(x)),
             doc="scale * (x if x > 0 else alpha * (exp(x) - 1)), with SELU's fixed alpha and scale.")
tanhshrink = unary("tanhshrink", forward=lambda xp, x: x - xp.tanh(x), vjp=lambda g, x: g * tanh(x) * tanh(x),
                   floating=True, inplace=False, doc="x - tanh(x).")


@register("glu")
def glu(input, dim=-1):
    """a * sigmoid(b), where a and b are the two halves of input along dim."""
    n = input.ndim
    if n == 0:
        raise ArgumentError("glu: does not take a 0-d tensor")
    d = dim % n if -n <= dim < n else None
    if d is None:
        raise ArgumentError(f"glu: dim {dim} is out of range for a tensor of {n} dimensions")
    if input.shape[d] % 2:
        raise ArgumentError(f"glu: the size of dim {dim} must be even, got {input.shape[d]}")
    h = input.shape[d] // 2
    lead = (slice(None),) * d
    return input[lead + (slice(0, h),)] * sigmoid(input[lead + (slice(h, None),)])


@register("softmin")
def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-input, dim)."""
    from .nn import softmax

    if dim is None:
        raise ArgumentError("softmin: dim must be given (PyTorch's implicit dim is deprecated)")
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)

