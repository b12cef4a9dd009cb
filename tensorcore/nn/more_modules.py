"""More of torch.nn's modules over existing functional ops: BatchNorm3d, SyncBatchNorm (one process: a
BatchNorm), LazyLinear, ChannelShuffle, MaxUnpool1d/3d, MultiMarginLoss, MultiLabelMarginLoss."""

from ..errors import ShapeError
from . import functional as F
from .layers import BatchNorm1d, Linear, _empty_parameter
from .loss_modules import _Criterion
from .module import Module


class BatchNorm3d(BatchNorm1d):
    """Batch normalization over (N, C, D, H, W), per channel."""

    def _check_input(self, x):
        if x.ndim != 5 or x.shape[1] != self.num_features:
            raise ShapeError(f"BatchNorm3d({self.num_features}): expected input (N, {self.num_features}, D, H, W), "
                             f"got {x.shape}")


class SyncBatchNorm(BatchNorm1d):
    """In one process, a BatchNorm over (N, C, ...) (the statistics of this process's batch)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def _check_input(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ShapeError(f"SyncBatchNorm({self.num_features}): expected input (N, {self.num_features}, ...), "
                             f"got {x.shape}")

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """The module itself: one process needs no synchronized statistics."""
        return module


class LazyLinear(Linear):
    """A Linear whose in_features comes from its first input (the weight is created then)."""

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self._lazy = (bias, device, dtype)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)

    def forward(self, x):
        if self.weight is None:
            bias, device, dtype = self._lazy
            self.in_features = x.shape[-1]
            self.weight = _empty_parameter((self.out_features, self.in_features), device or x.device,
                                           dtype or x.dtype)
            if bias:
                self.bias = _empty_parameter((self.out_features,), device or x.device, dtype or x.dtype)
            self.reset_parameters()
        return super().forward(x)


class ChannelShuffle(Module):
    """(N, g * k, ...) -> channels regrouped as (N, k * g, ...)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class _MaxUnpool(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride if stride is not None else kernel_size, \
            padding

    def forward(self, input, indices, output_size=None):
        return self._fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    _fn = staticmethod(F.max_unpool1d)


class MaxUnpool3d(_MaxUnpool):
    _fn = staticmethod(F.max_unpool3d)


class MultiMarginLoss(_Criterion):
    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction, p=p, margin=margin)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                   reduction=self.reduction)


class MultiLabelMarginLoss(_Criterion):
    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class LPPool1d(Module):
    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):
        return F.lp_pool1d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool2d(LPPool1d):
    def forward(self, input):
        return F.lp_pool2d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class TripletMarginWithDistanceLoss(Module):
    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__()
        self.distance_function, self.margin, self.swap, self.reduction = distance_function, margin, swap, reduction

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                   margin=self.margin, swap=self.swap, reduction=self.reduction)


class DataParallel(Module):
    """torch.nn.DataParallel's surface on one device: module(*inputs) runs the wrapped module (tensorcore
    drives one device per process; for several, tensorcore.nn.parallel.DistributedDataParallel)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        from ..errors import ArgumentError

        super().__init__()
        if not isinstance(module, Module):
            raise ArgumentError(f"DataParallel: module must be an nn.Module, got {type(module).__name__}")
        if device_ids is not None and not isinstance(device_ids, (list, tuple)):
            raise ArgumentError(f"DataParallel: device_ids must be a list of device indices, got "
                                f"{type(device_ids).__name__}")
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device, self.dim = output_device, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


class Buffer:
    """torch.nn.Buffer: assigning Buffer(tensor, persistent=True) to a module attribute registers the tensor
    as a buffer (Module.__setattr__ unwraps it)."""

    def __new__(cls, data=None, *, persistent=True):
        from ..tensor import Tensor, tensor

        value = data if isinstance(data, Tensor) else tensor([] if data is None else data)
        out = object.__new__(cls)
        out.data, out.persistent = value.detach(), persistent
        return out
