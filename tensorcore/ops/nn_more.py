"""More of torch.nn.functional, composed of existing ops (their gradients are theirs): bilinear,
channel_shuffle, pdist, upsample_nearest / upsample_bilinear (interpolate's old names)."""

import numpy as np

from ..errors import ArgumentError, ShapeError
from ..tensor import _make
from .registry import register


@register("bilinear")
def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    from .products import einsum

    if weight.ndim != 3 or input1.shape[-1:] != weight.shape[1:2] or input2.shape[-1:] != weight.shape[2:3]:
        raise ShapeError(f"bilinear: input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)} and weight "
                         f"{tuple(weight.shape)} do not fit (weight (out, in1, in2))")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise ShapeError(f"bilinear: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} differ before "
                         "their last dims")
    lead = tuple(input1.shape[:-1])
    y = einsum("bi,oij,bj->bo", input1.reshape(-1, input1.shape[-1]), weight, input2.reshape(-1, input2.shape[-1]))
    y = y.reshape(*lead, weight.shape[0])
    return y if bias is None else y + bias


@register("channel_shuffle")
def channel_shuffle(input, groups):
    """(N, g * k, ...) -> channels reordered as (k, g) from (g, k): ShuffleNet's shuffle."""
    if input.ndim < 3:
        raise ShapeError(f"channel_shuffle: input must be (N, C, *), got shape {tuple(input.shape)}")
    c = input.shape[1]
    if groups < 1 or c % groups:
        raise ArgumentError(f"channel_shuffle: {c} channels do not split into {groups} groups")
    n, rest = input.shape[0], tuple(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


@register("pdist")
def pdist(input, p=2.0):
    """The p-norm distances between the rows of an (N, M) input, for i < j in row-major order: N (N - 1) / 2."""
    from .stats import vector_norm

    if input.ndim != 2:
        raise ShapeError(f"pdist: input must be 2-D (N, M), got shape {tuple(input.shape)}")
    if p < 0:
        raise ArgumentError(f"pdist: p must be non-negative, got {p}")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    be = input.device.backend
    rows = [_make(be.from_host(k.astype(np.int64)), input.device, False, None) for k in (i, j)]
    return vector_norm(input[rows[0]] - input[rows[1]], p, dim=-1)


def upsample_nearest(input, size=None, scale_factor=None):
    """interpolate(mode='nearest') (PyTorch's deprecated name)."""
    from .resample import interpolate

    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """interpolate(mode='bilinear', align_corners=True) (PyTorch's deprecated name)."""
    from .resample import interpolate

    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
