"""Piecewise activations as torch.nn.functional defines them: hardtanh, relu6, hardsigmoid, hardswish,
threshold, softshrink, hardshrink, prelu, rrelu (the evaluation form). Gradients at the kinks are
PyTorch's (the inner side of a closed interval counts as inside, as PyTorch's kernels do)."""

from ..errors import ArgumentError
from ..tensor import Tensor, _make
from .compare import where
from .declare import unary
from .registry import register


def _check_hardtanh(min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ArgumentError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")


hardtanh = unary("hardtanh", forward=lambda xp, x, min_val, max_val, inplace: xp.clip(x, min_val, max_val)
                 .astype(x.dtype, copy=False),  # (bfloat16 stays bfloat16)
                 params={"min_val": -1.0, "max_val": 1.0, "inplace": False}, check=_check_hardtanh,
                 vjp=lambda g, x, min_val, max_val, **_: where((x > min_val) & (x < max_val), g, 0.0),
                 doc="x clamped to [min_val, max_val] (gradient 0 at and beyond the bounds).")
relu6 = unary("relu6", forward=lambda xp, x, inplace: xp.clip(x, 0, 6).astype(x.dtype, copy=False),
              params={"inplace": False},
              vjp=lambda g, x, **_: where((x > 0) & (x < 6), g, 0.0), doc="min(max(x, 0), 6).")
hardsigmoid = unary("hardsigmoid", forward=lambda xp, x, inplace: xp.clip(x / 6 + 0.5, 0, 1).astype(x.dtype),
                    params={"inplace": False}, floating=True,
                    vjp=lambda g, x, **_: where((x > -3) & (x < 3), g / 6, 0.0),
                    doc="0 below -3, 1 above 3, x / 6 + 1/2 between.")


def _hardswish_grad(g, x, **_):
    inner = where(x < 3, g * (x / 3 + 0.5), g)
    return where(x > -3, inner, 0.0)


hardswish = unary("hardswish", forward=lambda xp, x, inplace: (x * xp.clip(x + 3, 0, 6) / 6).astype(x.dtype),
                  params={"inplace": False}, floating=True, vjp=_hardswish_grad,
                  doc="x * relu6(x + 3) / 6.")
threshold = unary("threshold", forward=lambda xp, x, threshold, value, inplace: xp.where(x > threshold, x, value)
                  .astype(x.dtype), params={"threshold": None, "value": None, "inplace": False},
                  check=lambda threshold, value, inplace: _need("threshold", threshold=threshold, value=value),
                  vjp=lambda g, x, threshold, **_: where(x > threshold, g, 0.0),
                  doc="x where x > threshold, else value.")


def _need(op, **values):
    for k, v in values.items():
        if v is None:
            raise ArgumentError(f"{op}: missing the argument {k!r}")


softshrink = unary("softshrink",
                   forward=lambda xp, x, lambd: xp.where((x >= -lambd) & (x <= lambd), 0, x - xp.sign(x) * lambd)
                   .astype(x.dtype), params={"lambd": 0.5}, floating=True, inplace=False,  # (NaN stays NaN)
                   vjp=lambda g, x, lambd: where((x > lambd) | (x < -lambd), g, 0.0),
                   doc="x - lambd above lambd, x + lambd below -lambd, 0 between.")
hardshrink = unary("hardshrink", forward=lambda xp, x, lambd: xp.where((x >= -lambd) & (x <= lambd), 0, x)
                   .astype(x.dtype),  # (NaN stays NaN, as PyTorch's)
                   params={"lambd": 0.5}, floating=True, inplace=False,
                   vjp=lambda g, x, lambd: where((x > lambd) | (x < -lambd), g, 0.0),
                   doc="x where |x| > lambd, else 0.")


@register("prelu")
def prelu(input, weight):
    """x if x > 0 else weight * x, with one weight per channel (dim 1) or one shared weight."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise ArgumentError("prelu: input and weight must be Tensors")
    if weight.ndim > 1:
        raise ArgumentError(f"prelu: weight must be 0-d or 1-d, got shape {tuple(weight.shape)}")
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim == 1 else 1)
        if n != channels:
            raise ArgumentError(f"prelu: weight has {n} elements but the input has {channels} channels "
                                f"(input shape {tuple(input.shape)})")
        if input.ndim >= 2:
            weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    elif weight.ndim == 1:
        weight = weight.reshape(())
    return where(input > 0, input, weight * input)


@register("rrelu")
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, *, generator=None):
    """x if x >= 0 else a * x: a = (lower + upper) / 2 in evaluation, a ~ U(lower, upper) per element in training."""
    from .activations import leaky_relu

    if training:
        from ..random import _gen

        slopes = _gen(generator).uniform(lower, upper, tuple(input.shape)).astype(input.dtype)
        a = input.device.backend.from_host(slopes, copy=False)
        out = where(input >= 0, input, input * _make(a, input.device, False, None))
    else:
        out = leaky_relu(input, (lower + upper) / 2)
    return input._inplace("rrelu_", out) if inplace else out
