"""nn.CrossMapLRN2d (PyTorch's legacy cross-channel LRN over (N, C, H, W)), with PyTorch's numbers.

Forward, as torch/nn/_functions.py: the scale of channel c is k + alpha / size * (a running sum of squares),
started over channels [0, pre_pad) with pre_pad = int((size - 1) / 2 + 1), then for each next channel adding
channel c + pre_pad - 1 and removing channel c - pre_pad only once c > pre_pad (so channel 0 is never
removed: PyTorch's window, not a centred one); y = x * scale^-beta.

Backward is PyTorch's formula, which is not the derivative of that forward (its window is a centred one of
`size` channels, offset by int(size - (size - 1) / 2)): torch.autograd.gradcheck fails on torch's own
CrossMapLRN2d. Ours gives PyTorch's gradients, so a finite-difference check fails here in the same way;
nn.LocalResponseNorm is the differentiable LRN.
"""

from .. import _validate as check
from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from .module import Module


class CrossMapLRN2dFunction(Function):
    op_name = "cross_map_lrn2d"
    once_differentiable = True  # as PyTorch's

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        xp = ctx.backend.xp
        channels = x.shape[1]
        square = x * x
        scale = xp.empty_like(x)
        pre_pad = int((size - 1) / 2 + 1)
        scale[:, 0] = 0
        for c in range(min(pre_pad, channels)):
            scale[:, 0] += square[:, c]
        for c in range(1, channels):
            scale[:, c] = scale[:, c - 1]
            if c < channels - pre_pad + 1:
                scale[:, c] += square[:, c + pre_pad - 1]
            if c > pre_pad:
                scale[:, c] -= square[:, c - pre_pad]
        scale *= x.dtype.type(alpha / size)
        scale += x.dtype.type(k)
        out = scale ** x.dtype.type(-beta) * x
        ctx.scale, ctx.size, ctx.alpha, ctx.beta = scale, size, alpha, beta
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return CrossMapLRN2dFunction.backward_arrays(ctx, grad._data)

    @staticmethod
    def backward_arrays(ctx, g):
        x, out = ctx.saved_arrays
        xp = ctx.backend.xp
        size, scale = ctx.size, ctx.scale
        n, channels = x.shape[:2]
        cache = x.dtype.type(2 * ctx.alpha * ctx.beta / size)
        inverse_pre_pad = int(size - (size - 1) / 2)
        grad_input = scale ** x.dtype.type(-ctx.beta) * g
        padded = xp.zeros((n, channels + size - 1) + x.shape[2:], dtype=x.dtype)
        padded[:, inverse_pre_pad:inverse_pre_pad + channels] = g * out / scale
        accum = padded[:, :size - 1].sum(axis=1)
        for c in range(channels):
            accum += padded[:, c + size - 1]
            grad_input[:, c] -= cache * x[:, c] * accum
            accum -= padded[:, c]
        return (grad_input,)


def cross_map_lrn2d(input, size, alpha=1e-4, beta=0.75, k=1.0):
    if not isinstance(input, Tensor):
        raise ArgumentError(f"CrossMapLRN2d: input must be a Tensor, got {type(input).__name__}")
    if input.ndim != 4:
        raise ShapeError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead "
                         f"(shape {tuple(input.shape)}).")
    if input.dtype.kind != "f":
        raise ArgumentError(f"CrossMapLRN2d: input must be floating, got {input.dtype}")
    return CrossMapLRN2dFunction.apply(input, size=size, alpha=float(alpha), beta=float(beta), k=float(k))


class CrossMapLRN2d(Module):
    """torch.nn.CrossMapLRN2d(size, alpha=1e-4, beta=0.75, k=1)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size = check.integer(size, "size", "CrossMapLRN2d", minimum=1)
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input):
        return cross_map_lrn2d(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


__all__ = ["CrossMapLRN2d"]
