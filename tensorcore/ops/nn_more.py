"""More of torch.nn.functional, composed of existing ops (their gradients are theirs): bilinear,
channel_shuffle, pdist, multi_margin_loss, multilabel_margin_loss, upsample_nearest / upsample_bilinear
(interpolate's old names)."""

import numpy as np

from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor, _make
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


def _margin_inputs(op, input, target):
    """(input as (N, C), int64 target array, whether unbatched); 0-d input is one sample of one class."""
    if not isinstance(target, Tensor) or target.dtype.kind not in "iu":
        raise DTypeError(f"{op}: target must be an integer Tensor, got {getattr(target, 'dtype', type(target))}")
    x = input.reshape(1, 1) if input.ndim == 0 else input.unsqueeze(0) if input.ndim == 1 else input
    if x.ndim != 2:
        raise ShapeError(f"{op}: input must be 0-D, 1-D or 2-D (N, C), got shape {tuple(input.shape)}")
    return x, target._data, input.ndim < 2


def _reduce(loss, reduction, op):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ArgumentError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


@register("multi_margin_loss")
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """sum_{i != y} w[y] max(0, margin - x[y] + x[i])^p / C per sample (p = 1 or 2), PyTorch's multi-class hinge."""
    from .compare import clamp

    op = "multi_margin_loss"
    if size_average is not None or reduce is not None:
        raise ArgumentError(f"{op}: size_average and reduce are deprecated; use reduction=")
    if p not in (1, 2):
        raise ArgumentError(f"{op}: only p == 1 and p == 2 supported, got {p}")
    x, t, unbatched = _margin_inputs(op, input, target)
    n, c = x.shape
    t = t.reshape(-1)
    if t.shape != (n,) or (t.size and (int(t.min()) < 0 or int(t.max()) >= c)):
        raise ShapeError(f"{op}: target {tuple(target.shape)} must hold {n} class indices in [0, {c})")
    be = x.device.backend
    pick = np.zeros((n, c), dtype=x.dtype)
    pick[np.arange(n), be.to_numpy(t)] = 1
    onehot = _make(be.from_host(pick), x.device, False, None)
    xy = (x * onehot).sum(dim=1, keepdim=True)
    z = clamp(margin - xy + x, min=0)
    z = (z * z if p == 2 else z) * (1 - onehot)
    if weight is not None:
        z = z * (weight.unsqueeze(0) * onehot).sum(dim=1, keepdim=True)
    loss = z.sum(dim=1) / c
    return _reduce(loss.reshape(()) if unbatched and reduction == "none" else loss, reduction, op)


@register("multilabel_margin_loss")
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over labels j and non-labels i of max(0, 1 - (x[j] - x[i])) / C; a row's labels are its target entries
    before the first -1 (PyTorch's)."""
    from .compare import clamp

    op = "multilabel_margin_loss"
    if size_average is not None or reduce is not None:
        raise ArgumentError(f"{op}: size_average and reduce are deprecated; use reduction=")
    x, t, unbatched = _margin_inputs(op, input, target)
    n, c = x.shape
    be = x.device.backend
    t = (be.to_numpy(t)).reshape(n, -1) if t.size else np.zeros((n, 0))
    if t.shape != (n, c):
        raise ShapeError(f"{op}: target {tuple(target.shape)} must have the input's shape {tuple(input.shape)}")
    counts, member = np.zeros((n, c)), np.zeros((n, c))
    for row in range(n):
        for j in t[row]:
            if j < 0:
                break
            if j >= c:
                raise ShapeError(f"{op}: target class {j} is out of range for {c} classes")
            counts[row, j] += 1
            member[row, j] = 1
    w = _make(be.from_host((counts[:, :, None] * (1 - member)[:, None, :]).astype(x.dtype)), x.device, False, None)
    hinge = clamp(1 - x.unsqueeze(2) + x.unsqueeze(1), min=0)  # [n, j, i]: 1 - (x[j] - x[i])
    loss = (hinge * w).sum(dim=(1, 2)) / c
    return _reduce(loss.reshape(()) if unbatched and reduction == "none" else loss, reduction, op)
