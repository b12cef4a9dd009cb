"""Modules over nn.functional ops (torch.nn's): PixelShuffle/Unshuffle, Upsample, Dropout1d/3d, AlphaDropout,
FeatureAlphaDropout, InstanceNorm1d/2d/3d (parameters and buffers named and initialized as PyTorch's)."""

from .. import _validate as check
from ..ops import dropout_nd, resample
from .layers import _empty_parameter
from .module import Module


class PixelShuffle(Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return resample.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return resample.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class Upsample(Module):
    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return resample.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                                    self.recompute_scale_factor)

    def extra_repr(self):
        """PyTorch's: the scale factor (as floats) or the size, then the mode."""
        if self.scale_factor is not None:
            sf = self.scale_factor
            info = "scale_factor=" + repr(tuple(float(s) for s in sf) if isinstance(sf, (tuple, list)) else float(sf))
        else:
            info = "size=" + repr(self.size)
        return info + ", mode=" + repr(self.mode)


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "bilinear", align_corners=True)


class _DropoutNd(Module):
    fn = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = dropout_nd._p(type(self).__name__, p)
        self.inplace = inplace

    def forward(self, input):
        return type(self).fn(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    fn = staticmethod(dropout_nd.dropout1d)


class Dropout3d(_DropoutNd):
    fn = staticmethod(dropout_nd.dropout3d)


class AlphaDropout(_DropoutNd):
    fn = staticmethod(dropout_nd.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    fn = staticmethod(dropout_nd.feature_alpha_dropout)


class _InstanceNorm(Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None):
        super().__init__()
        op = type(self).__name__
        self.num_features = check.integer(num_features, "num_features", op, minimum=1)
        self.eps, self.momentum = eps, momentum
        self.affine = check.flag(affine, "affine", op)
        self.track_running_stats = check.flag(track_running_stats, "track_running_stats", op)
        if self.affine:
            self.weight = _empty_parameter((num_features,), device, dtype)
            self.bias = _empty_parameter((num_features,), device, dtype)
            self.weight._data[...] = 1
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            from ..creation import ones, zeros
            from ..tensor import tensor

            dt = self.weight.dtype if self.affine else dtype
            self.register_buffer("running_mean", zeros(num_features, dtype=dt, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dt, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, input):
        use_input_stats = self.training or not self.track_running_stats
        return dropout_nd.instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                                        use_input_stats, self.momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.affine}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    pass


class InstanceNorm2d(_InstanceNorm):
    pass


class InstanceNorm3d(_InstanceNorm):
    pass


class Unfold(Module):
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):
        from ..ops.fold import unfold

        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        from ..ops.fold import fold

        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
