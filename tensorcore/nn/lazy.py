"""Lazy modules (PyTorch's): parameters whose shape comes from the first input.

`UninitializedParameter` / `UninitializedBuffer` hold no data yet (their shape raises); `materialize(shape)`
gives them storage in place, on the device and dtype they carry (`module.to(...)` before the first call
moves and casts them), and turns the same object into a Parameter / Tensor. A lazy module
(`LazyModuleMixin`) infers its sizes on its first call, materializes its parameters, initializes them as the
ordinary module does, and then becomes that module: `type(m)` changes to `cls_to_become` (LazyLinear ->
Linear, LazyConv2d -> Conv2d, LazyBatchNorm2d -> BatchNorm2d, ...).

Optimizers, as in PyTorch: an optimizer made before the first call holds the very objects that get
materialized, so it updates them afterwards (stateful optimizers create their state at their first step).
PyTorch's documentation still recommends the dry run before building the optimizer.

`load_state_dict` (on a lazy module or any module holding one) materializes the uninitialized entries from the
loaded shapes first (the module stays lazy until its first call, as PyTorch's does).
"""

import operator

from ..device import device as as_device
from ..dtypes import as_dtype, get_default_dtype
from ..errors import ArgumentError, ShapeError, TensorcoreError
from ..tensor import Tensor
from .conv import Conv2d, ConvTranspose2d
from .conv_nd import Conv1d, Conv3d, ConvTranspose1d
from .conv_transpose3d import ConvTranspose3d
from .functional_modules import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .layers import BatchNorm1d, Linear
from .module import Module, Parameter

__all__ = ["UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]


def _placeholder(device, dtype):
    from ..creation import empty

    dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
    return empty(0, dtype=dt, device=as_device(device) if device is not None else None)


class UninitializedTensorMixin:
    __slots__ = ()
    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        """Give this object storage of `shape` (on its device and dtype, or the ones given); it becomes a
        `cls_to_become` (Parameter / Tensor)."""
        from ..creation import empty

        shape = (operator.index(shape),) if not isinstance(shape, (tuple, list)) else tuple(shape)
        dev = as_device(device) if device is not None else self.device
        dt = as_dtype(dtype) if dtype is not None else self._data.dtype
        data = empty(*shape, dtype=dt, device=dev)._data
        self._data, self.device = data, dev
        self._version += 1
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise TensorcoreError(
            f"{type(self).__name__}: can't access the shape of an uninitialized parameter or buffer. This error "
            "usually happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their attributes.")

    def detach(self):
        out = type(self).__new__(type(self), False, self.device, self._data.dtype)
        return out

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo):
        return type(self).__new__(type(self), self.requires_grad, self.device, self._data.dtype)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """torch.nn.UninitializedParameter(requires_grad=True, device=None, dtype=None)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return Parameter.__new__(cls, _placeholder(device, dtype), requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """torch.nn.UninitializedBuffer(requires_grad=False, device=None, dtype=None)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        t = Tensor.__new__(cls)
        p = _placeholder(device, dtype)
        t._data, t.device = p._data, p.device
        t._grad, t._node, t._hooks, t._vcounter = None, None, None, None
        t.requires_grad = bool(requires_grad)
        return t

    def __init__(self, requires_grad=False, device=None, dtype=None):
        pass


def is_lazy(value):
    return isinstance(value, UninitializedTensorMixin)


class LazyModuleMixin:
    """Sizes inferred on the first call (`initialize_parameters(*args, **kwargs)`), then the module becomes
    `cls_to_become`."""

    cls_to_become = None

    def has_uninitialized_params(self):
        if self.__dict__.get("_lazy_building"):
            return True  # inside the base constructor: its reset_parameters does nothing (draws no random numbers)
        return any(is_lazy(v) for v in list(self._parameters.values()) + list(self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: a lazy module defines initialize_parameters")

    def __call__(self, *args, **kwargs):
        from ..autograd import no_grad

        with no_grad():
            self.initialize_parameters(*args, **kwargs)
        if self.has_uninitialized_params():
            raise TensorcoreError(f"module {type(self).__name__} has not been fully initialized")
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become
        return Module.__call__(self, *args, **kwargs)

    def _lazy_load_hook(self, state_dict, prefix):
        """Module.load_state_dict calls this first: uninitialized entries take the loaded shapes."""
        for name, value in list(self._parameters.items()) + list(self._buffers.items()):
            loaded = state_dict.get(prefix + name)
            if is_lazy(value) and loaded is not None and not is_lazy(loaded) and hasattr(loaded, "shape"):
                value.materialize(tuple(loaded.shape))


def _building(module, init, *args):
    """The ordinary module's constructor on placeholder sizes, its reset_parameters a no-op meanwhile."""
    module.__dict__["_lazy_building"] = True
    try:
        init(module, *args)
    finally:
        module.__dict__.pop("_lazy_building", None)


def _lazy_params(module, names, factory, buffers=()):
    device, dtype = factory
    for name in names:
        if module._parameters.get(name) is not None:
            setattr(module, name, UninitializedParameter(device=device, dtype=dtype))
    for name in buffers:
        if module._buffers.get(name) is not None:
            module.register_buffer(name, UninitializedBuffer(device=device, dtype=dtype))


class LazyLinear(LazyModuleMixin, Linear):
    """torch.nn.LazyLinear(out_features, bias=True): in_features from the input's last axis."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        _building(self, Linear.__init__, 1, out_features, bias, device, dtype)
        self.in_features = 0
        _lazy_params(self, ("weight", "bias"), (device, dtype))

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            Linear.reset_parameters(self)

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            if not isinstance(input, Tensor) or input.ndim < 1:
                raise ShapeError(f"LazyLinear: expected an input Tensor with at least 1 dimension, got "
                                 f"{getattr(input, 'shape', type(input).__name__)}")
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        if self.in_features == 0:  # loaded before the first call: as torch, in_features from the input
            if input.shape[-1] != self.weight.shape[-1]:
                raise ShapeError(f"LazyLinear: The in_features inferred from input: {input.shape[-1]} is not equal "
                                 f"to in_features from self.weight: {self.weight.shape[-1]}")
            self.in_features = input.shape[-1]


class _LazyConvMixin(LazyModuleMixin):
    dims, transposed = 2, False

    def _lazy_init(self, base, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                   device, dtype, output_padding=None):
        g = operator.index(groups) if isinstance(groups, int) and groups >= 1 else groups
        if self.transposed:
            _building(self, base.__init__, g, out_channels, kernel_size, stride, padding, output_padding, groups,
                      bias, dilation, padding_mode, device, dtype)
        else:
            _building(self, base.__init__, g, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                      padding_mode, device, dtype)
        self.in_channels = 0
        _lazy_params(self, ("weight", "bias"), (device, dtype))

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _get_in_channels(self, input):
        n = self.dims + 1
        if not isinstance(input, Tensor) or input.ndim not in (n, n + 1):
            raise ShapeError(f"{type(self).__name__}: expected {n}D (unbatched) or {n + 1}D (batched) input, but got "
                             f"input of size: {getattr(input, 'shape', type(input).__name__)}")
        return input.shape[1] if input.ndim == n + 1 else input.shape[0]

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups:
                raise ArgumentError(f"{type(self).__name__}: in_channels {self.in_channels} must be divisible by "
                                    f"groups={self.groups}")
            k = tuple(self.kernel_size)
            if self.transposed:
                self.weight.materialize((self.in_channels, self.out_channels // self.groups) + k)
            else:
                self.weight.materialize((self.out_channels, self.in_channels // self.groups) + k)
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


def _lazy_conv(name, base, dims):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        self._lazy_init(base, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                        device, dtype)

    doc = f"torch.nn.{name}(out_channels, kernel_size, ...): in_channels from the input; becomes {base.__name__}."
    return type(name, (_LazyConvMixin, base), {"__init__": __init__, "cls_to_become": base, "dims": dims,
                                               "transposed": False, "__doc__": doc, "__module__": __name__})


def _lazy_conv_transpose(name, base, dims):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        self._lazy_init(base, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                        device, dtype, output_padding)

    doc = f"torch.nn.{name}(out_channels, kernel_size, ...): in_channels from the input; becomes {base.__name__}."
    return type(name, (_LazyConvMixin, base), {"__init__": __init__, "cls_to_become": base, "dims": dims,
                                               "transposed": True, "__doc__": doc, "__module__": __name__})


LazyConv1d = _lazy_conv("LazyConv1d", Conv1d, 1)
LazyConv2d = _lazy_conv("LazyConv2d", Conv2d, 2)
LazyConv3d = _lazy_conv("LazyConv3d", Conv3d, 3)
LazyConvTranspose1d = _lazy_conv_transpose("LazyConvTranspose1d", ConvTranspose1d, 1)
LazyConvTranspose2d = _lazy_conv_transpose("LazyConvTranspose2d", ConvTranspose2d, 2)
LazyConvTranspose3d = _lazy_conv_transpose("LazyConvTranspose3d", ConvTranspose3d, 3)


class _LazyNormMixin(LazyModuleMixin):
    def _lazy_init(self, base, eps, momentum, affine, track_running_stats, device, dtype):
        base.__init__(self, 1, eps, momentum, affine, track_running_stats, device, dtype)
        self.num_features = 0
        _lazy_params(self, ("weight", "bias"), (device, dtype), ("running_mean", "running_var"))

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            if self.running_mean is not None:
                self.running_mean._data[...] = 0
                self.running_var._data[...] = 1
                self.num_batches_tracked._data[...] = 0
            if self.weight is not None:
                self.weight._data[...] = 1
                self.bias._data[...] = 0

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            if not isinstance(input, Tensor) or input.ndim < 2:
                raise ShapeError(f"{type(self).__name__}: expected an input with a channel axis 1, got "
                                 f"{getattr(input, 'shape', type(input).__name__)}")
            self.num_features = input.shape[1]
            for t in (self.weight, self.bias, self.running_mean, self.running_var):
                if t is not None:
                    t.materialize((self.num_features,))
            self.reset_parameters()
        if self.num_features == 0 and isinstance(input, Tensor) and input.ndim >= 2:
            # loaded before the first call: PyTorch leaves num_features 0 (its norms never read it); tensorcore's
            # check their input against it, so it is set from the input here (as torch's LazyLinear does)
            self.num_features = input.shape[1]


def _lazy_norm(name, base, defaults):
    affine_default, track_default = defaults

    def __init__(self, eps=1e-5, momentum=0.1, affine=affine_default, track_running_stats=track_default,
                 device=None, dtype=None):
        self._lazy_init(base, eps, momentum, affine, track_running_stats, device, dtype)

    doc = f"torch.nn.{name}(eps, momentum, affine, track_running_stats): num_features from the input's axis 1."
    return type(name, (_LazyNormMixin, base), {"__init__": __init__, "cls_to_become": base, "__doc__": doc,
                                               "__module__": __name__})


def _batch_norms():
    from .conv import BatchNorm2d
    from .more_modules import BatchNorm3d

    return BatchNorm2d, BatchNorm3d


_BN2, _BN3 = _batch_norms()
LazyBatchNorm1d = _lazy_norm("LazyBatchNorm1d", BatchNorm1d, (True, True))
LazyBatchNorm2d = _lazy_norm("LazyBatchNorm2d", _BN2, (True, True))
LazyBatchNorm3d = _lazy_norm("LazyBatchNorm3d", _BN3, (True, True))
# PyTorch's lazy instance norms default to affine=True, track_running_stats=True (the eager ones to False)
LazyInstanceNorm1d = _lazy_norm("LazyInstanceNorm1d", InstanceNorm1d, (True, True))
LazyInstanceNorm2d = _lazy_norm("LazyInstanceNorm2d", InstanceNorm2d, (True, True))
LazyInstanceNorm3d = _lazy_norm("LazyInstanceNorm3d", InstanceNorm3d, (True, True))
