"""LayerNorm, RMSNorm and GroupNorm modules (PyTorch's names, arguments and initialization)."""

from .. import _validate as check
from ..errors import ArgumentError
from . import functional as F
from . import init
from .layers import _empty_parameter
from .module import Module


def _shape(normalized_shape, op="LayerNorm"):
    if not isinstance(normalized_shape, (tuple, list)):
        return (check.size(normalized_shape, "normalized_shape", op),)
    return check.shape((tuple(normalized_shape),), op, name="normalized_shape")


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing normalized_shape.

    weight starts at ones, bias at zeros (elementwise_affine=True).

    Example:
        ln = nn.LayerNorm(128)
        ln(tc.randn(16, 64, 128)).shape      # (16, 64, 128)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = check.number(eps, "eps", "LayerNorm", low=0, low_open=True)
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = _empty_parameter(self.normalized_shape, device, dtype)
            if bias:
                self.bias = _empty_parameter(self.normalized_shape, device, dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={getattr(self, 'bias', None) is not None}")


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight over the trailing normalized_shape (eps=None: finfo eps)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape, self.elementwise_affine = _shape(normalized_shape, "RMSNorm"), elementwise_affine
        self.eps = eps if eps is None else check.number(eps, "eps", "RMSNorm", low=0, low_open=True)
        if elementwise_affine:
            self.weight = _empty_parameter(self.normalized_shape, device, dtype)
            init.ones_(self.weight)
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalize (N, C, ...) over num_groups groups of channels, then a per-channel affine (ones, zeros)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        num_groups = check.integer(num_groups, "num_groups", "GroupNorm", minimum=1)
        num_channels = check.size(num_channels, "num_channels", "GroupNorm")
        if num_channels % num_groups:
            raise ArgumentError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                                f"({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = check.number(eps, "eps", "GroupNorm", low=0, low_open=True), affine
        if affine:
            self.weight = _empty_parameter((num_channels,), device, dtype)
            self.bias = _empty_parameter((num_channels,), device, dtype)
            init.ones_(self.weight)
            init.zeros_(self.bias)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={getattr(self, 'bias', None) is not None}")
