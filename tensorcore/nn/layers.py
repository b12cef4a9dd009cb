"""Layers and containers: Linear, activations, Dropout, Flatten, BatchNorm1d, Sequential, ModuleList.

Defaults follow PyTorch. Linear: weight (out, in) and bias both U(-1/sqrt(in), 1/sqrt(in))
(torch's kaiming_uniform_(a=sqrt(5))). BatchNorm1d: weight ones, bias zeros, running mean 0,
running variance 1, momentum 0.1, eps 1e-5.
"""

import math
from collections import OrderedDict

from .. import _validate as check
from .. import ops
from ..dtypes import as_dtype, get_default_dtype
from ..errors import ArgumentError, ShapeError
from ..tensor import _make
from . import containers, init
from . import functional as F
from .module import Module, Parameter


def _empty_parameter(shape, device=None, dtype=None):
    from ..device import device as as_device

    dev = as_device(device)
    dt = as_dtype(dtype) or get_default_dtype()
    if dt.kind not in "fV":
        from ..errors import DTypeError

        raise DTypeError(f"parameters must be floating, got dtype {dt}")
    check.fits_in_memory(shape, dt, "parameter")
    return Parameter(_make(dev.backend.xp.zeros(shape, dtype=dt), dev, False, None))


# --- containers -------------------------------------------------------------------------------


class Sequential(Module):
    """Modules called one after the other; indexable, sliceable, and iterable like a list.

    Example:
        model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
        model = nn.Sequential(OrderedDict(fc1=nn.Linear(784, 64), act=nn.ReLU()))
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        containers.insert(self, index, module)
        return self

    def pop(self, index=-1):
        return containers.pop(self, index)

    def __setitem__(self, index, module):
        self.add_module(list(self._modules)[containers._index(self, index)], module)

    def __delitem__(self, index):
        containers.delete(self, index)

    def __iadd__(self, other):
        return self.extend(other)

    def forward(self, x):
        for m in self._modules.values():
            if m is not None:
                x = m(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        mods = list(self._modules.values())
        return mods[containers._index(self, index)]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules whose parameters the parent module sees."""

    def __init__(self, modules=()):
        super().__init__()
        if isinstance(modules, Module) or not hasattr(modules, "__iter__"):
            raise ArgumentError(f"ModuleList: expected an iterable of Modules, got {type(modules).__name__}")
        for m in modules:
            self.append(m)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, index):
        mods = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(mods[index])
        return mods[index]

    def __setitem__(self, index, module):
        key = list(self._modules)[containers._index(self, index)]
        self.add_module(key, module)

    def insert(self, index, module):
        containers.insert(self, index, module)

    def pop(self, index=-1):
        return containers.pop(self, index)

    def __delitem__(self, index):
        containers.delete(self, index)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __repr__(self):
        return containers.repeated_repr(self)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Identity(Module):
    """Returns its input; any constructor arguments are ignored (as PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


# --- dense -----------------------------------------------------------------------------------


class Linear(Module):
    """y = x @ weight.T + bias, weight (out_features, in_features), applied to the last axis.

    Init (PyTorch's): weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).

    Example:
        fc = nn.Linear(784, 64)
        fc(tc.zeros((32, 784))).shape      # (32, 64)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = check.size(in_features, "in_features", "Linear")
        self.out_features = check.size(out_features, "out_features", "Linear")
        self.weight = _empty_parameter((self.out_features, self.in_features), device, dtype)
        if bias:
            self.bias = _empty_parameter((self.out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return ops.matmul.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


# --- activations ------------------------------------------------------------------------------


class ReLU(Module):
    """max(x, 0); inplace=True writes into the input (PyTorch's flag)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = check.flag(inplace, "inplace", "ReLU")

    def forward(self, x):
        return F.relu(x, True) if self.inplace else ops.activations.relu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = check.number(negative_slope, "negative_slope", "LeakyReLU")
        self.inplace = check.flag(inplace, "inplace", "LeakyReLU")

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    def forward(self, x):
        return ops.activations.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return ops.activations.tanh(x)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = check.choice(approximate, "approximate", "GELU", ("none", "tanh"))

    def forward(self, x):
        return ops.activations.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = check.number(alpha, "alpha", "ELU")
        self.inplace = check.flag(inplace, "inplace", "ELU")

    def forward(self, x):
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        # NOTE: beta = 0 would divide by zero (log(1 + exp(0 x)) / 0); refused.
        self.beta = check.number(beta, "beta", "Softplus")
        if self.beta == 0:
            raise ArgumentError("Softplus: beta must be nonzero")
        self.threshold = check.number(threshold, "threshold", "Softplus")

    def forward(self, x):
        return ops.activations.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """softmax along `dim` (PyTorch's argument name)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim if dim is None else check.integer(dim, "dim", "Softmax")

    def forward(self, x):
        return ops.nn.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim if dim is None else check.integer(dim, "dim", "LogSoftmax")

    def forward(self, x):
        return ops.nn.log_softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


# --- regularisation and reshaping ----------------------------------------------------------------


class Dropout(Module):
    """Zero elements with probability p in training mode (scaling the rest by 1/(1-p)); identity in eval."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = check.number(p, "dropout probability p", "Dropout", low=0, high=1)
        self.inplace = check.flag(inplace, "inplace", "Dropout")

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        return F.dropout(x, self.p, True, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Flatten(Module):
    """Merge axes start_dim..end_dim (default: all but the batch axis). A no-op on an already flat batch."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = check.integer(start_dim, "start_dim", "Flatten")
        self.end_dim = check.integer(end_dim, "end_dim", "Flatten")

    def forward(self, x):
        if x.ndim == 2 and self.start_dim == 1 and self.end_dim == -1:
            return x
        return ops.shape.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class BatchNorm1d(Module):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C.

    Training: normalize with the batch mean and (biased) variance; update the running statistics
    with `momentum` (running = (1 - momentum) running + momentum batch; the unbiased variance goes
    into running_var). Eval: normalize with the running statistics. weight ones, bias zeros.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        super().__init__()
        op = type(self).__name__
        self.num_features = check.size(num_features, "num_features", op)
        # NOTE: eps > 0 keeps 1 / sqrt(var + eps) finite for a constant channel (var = 0).
        self.eps = check.number(eps, "eps", op, low=0, low_open=True)
        self.momentum = momentum if momentum is None else check.number(momentum, "momentum", op, low=0, high=1)
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        num_features = self.num_features
        if affine:
            self.weight = _empty_parameter((num_features,), device, dtype)
            self.bias = _empty_parameter((num_features,), device, dtype)
            init.ones_(self.weight)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _empty_parameter((num_features,), device, dtype).detach())
            self.register_buffer("running_var", _empty_parameter((num_features,), device, dtype).detach())
            init.ones_(self.running_var)
            from ..tensor import tensor

            self.register_buffer("num_batches_tracked", tensor(0, dtype="int64", device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def _check_input(self, x):
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ShapeError(f"BatchNorm1d({self.num_features}): expected input (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {x.shape}")

    def forward(self, x):
        self._check_input(x)
        use_batch = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            self.num_batches_tracked._version += 1
            if momentum is None:  # a cumulative moving average, as PyTorch's momentum=None
                momentum = 1.0 / float(self.num_batches_tracked._data)
        return F.batch_norm(x, self.running_mean if self.track_running_stats else None,
                            self.running_var if self.track_running_stats else None, self.weight, self.bias,
                            training=use_batch, momentum=0.0 if momentum is None else momentum, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.affine}, track_running_stats={self.track_running_stats}")
