"""The activation modules of torch.nn not in layers.py: ReLU6, Hardtanh, SiLU, Mish, Hardswish, Hardsigmoid,
PReLU, SELU, CELU, GLU, LogSigmoid, Softmin, Softmax2d, Softsign, Softshrink, Hardshrink, Tanhshrink,
Threshold, RReLU, and the Bilinear layer. Each calls its torch.nn.functional op; reprs are PyTorch's."""

import math

from .. import _validate as check
from ..errors import ShapeError
from . import functional as F
from . import init
from .module import Module


class _Elementwise(Module):
    """An activation with only PyTorch's `inplace` flag."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = check.flag(inplace, "inplace", type(self).__name__)

    def forward(self, input):
        return self._fn(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class SiLU(_Elementwise):
    """x * sigmoid(x)."""

    _fn = staticmethod(F.silu)


class Mish(_Elementwise):
    """x * tanh(softplus(x))."""

    _fn = staticmethod(F.mish)


class Hardswish(_Elementwise):
    """x * relu6(x + 3) / 6."""

    _fn = staticmethod(F.hardswish)

    def extra_repr(self):
        return ""  # PyTorch's repr omits the flag here


class Hardsigmoid(_Elementwise):
    """relu6(x + 3) / 6."""

    _fn = staticmethod(F.hardsigmoid)

    def extra_repr(self):
        return ""  # PyTorch's repr omits the flag here


class SELU(_Elementwise):
    """scale * (max(0, x) + min(0, alpha * (exp(x) - 1))), PyTorch's constants."""

    _fn = staticmethod(F.selu)


class Hardtanh(Module):
    """clamp(x, min_val, max_val)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val = check.number(min_val, "min_val", type(self).__name__)
        self.max_val = check.number(max_val, "max_val", type(self).__name__)
        self.inplace = check.flag(inplace, "inplace", type(self).__name__)

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class CELU(Module):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = check.number(alpha, "alpha", "CELU")
        self.inplace = check.flag(inplace, "inplace", "CELU")

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Threshold(Module):
    """x if x > threshold else value."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold = check.number(threshold, "threshold", "Threshold")
        self.value = check.number(value, "value", "Threshold")
        self.inplace = check.flag(inplace, "inplace", "Threshold")

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class RReLU(Module):
    """x if x >= 0 else a x: a ~ U(lower, upper) per element in training, (lower + upper) / 2 in eval."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower = check.number(lower, "lower", "RReLU")
        self.upper = check.number(upper, "upper", "RReLU")
        self.inplace = check.flag(inplace, "inplace", "RReLU")

    def forward(self, input):
        if self.inplace:
            return F.rrelu_(input, self.lower, self.upper, self.training)
        return F.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """x if x > 0 else weight * x, weight (num_parameters,) initialised to `init` (0.25)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        from .layers import _empty_parameter

        super().__init__()
        self.num_parameters = check.size(num_parameters, "num_parameters", "PReLU")
        self.init = check.number(init, "init", "PReLU")
        self.weight = _empty_parameter((self.num_parameters,), device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class _Stateless(Module):
    """An activation without arguments."""

    def forward(self, input):
        return self._fn(input)


class LogSigmoid(_Stateless):
    """log(1 / (1 + exp(-x)))."""

    _fn = staticmethod(F.logsigmoid)


class Softsign(_Stateless):
    """x / (1 + |x|)."""

    _fn = staticmethod(F.softsign)


class Tanhshrink(_Stateless):
    """x - tanh(x)."""

    _fn = staticmethod(F.tanhshrink)


class _Shrink(Module):
    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = check.number(lambd, "lambd", type(self).__name__)

    def forward(self, input):
        return self._fn(input, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Softshrink(_Shrink):
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""

    _fn = staticmethod(F.softshrink)


class Hardshrink(_Shrink):
    """x where |x| > lambd, else 0."""

    _fn = staticmethod(F.hardshrink)


class GLU(Module):
    """a * sigmoid(b), where a and b are the two halves of the input along dim."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = check.integer(dim, "dim", "GLU")

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmin(Module):
    """softmax(-x, dim)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim if dim is None else check.integer(dim, "dim", "Softmin")

    def forward(self, input):
        return F.softmin(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax2d(Module):
    """softmax over the channels of (N, C, H, W) or (C, H, W) input (dim -3)."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ShapeError(f"Softmax2d: expected a 3-d or 4-d input, got shape {tuple(input.shape)}")
        return F.softmax(input, -3)


class Bilinear(Module):
    """y = x1^T A x2 + b, weight (out_features, in1_features, in2_features), all U(-1/sqrt(in1), 1/sqrt(in1))."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        from .layers import _empty_parameter

        super().__init__()
        self.in1_features = check.size(in1_features, "in1_features", "Bilinear")
        self.in2_features = check.size(in2_features, "in2_features", "Bilinear")
        self.out_features = check.size(out_features, "out_features", "Bilinear")
        self.weight = _empty_parameter((self.out_features, self.in1_features, self.in2_features), device, dtype)
        if bias:
            self.bias = _empty_parameter((self.out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
