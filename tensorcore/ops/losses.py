"""Losses, distances and normalization of torch.nn.functional, composed of differentiable Tensor ops
(so their gradients, and gradients of gradients, are those of the formulas). Each takes reduction=
('mean', 'sum', 'none'; kl_div also 'batchmean') and PyTorch's legacy size_average / reduce."""

import math

from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor, _make
from .registry import register

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(op, reduction, size_average=None, reduce=None, allowed=_REDUCTIONS):
    """PyTorch's reduction, from the legacy size_average / reduce flags when either is given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in allowed:
        raise ArgumentError(f"{op}: {reduction!r} is not a valid value for reduction (one of {allowed})")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _tensor_like(value, like, op, name):
    if isinstance(value, Tensor):
        if value.device is not like.device:
            from ..errors import DeviceError

            raise DeviceError(f"{op}: {name} on {value.device}, input on {like.device}")
        return value
    return _make(like.device.backend.asarray(value, dtype=like.dtype), like.device, False, None)


def _same_shape(op, input, target, name="target"):
    target = _tensor_like(target, input, op, name)
    if tuple(input.shape) != tuple(target.shape):
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} and {name} of shape {tuple(target.shape)} "
                         "differ (tensorcore does not broadcast a loss's target)")
    return target


def _weighted(loss, weight, op):
    return loss if weight is None else loss * _tensor_like(weight, loss, op, "weight")


@register("l1_loss")
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """l = |input - target| (times weight, of input's shape: then 'mean' is sum(w l) / sum(w), as PyTorch)."""
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    target = _same_shape("l1_loss", input, target)
    loss = (input - target).abs()
    if weight is None:
        return _reduce(loss, reduction)
    weight = _same_shape("l1_loss", input, weight, "weight")
    return (loss * weight).sum() / weight.sum() if reduction == "mean" else _reduce(loss * weight, reduction)


@register("smooth_l1_loss")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """l = 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target; beta = 0: l1)."""
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if not beta >= 0:
        raise ArgumentError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    target = _same_shape("smooth_l1_loss", input, target)
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    from .masked import where

    return _reduce(where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


@register("huber_loss")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """l = 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)."""
    from .masked import where

    reduction = _reduction("huber_loss", reduction)
    if not delta > 0:
        raise ArgumentError(f"huber_loss does not support non-positive values for delta, got {delta}")
    target = _same_shape("huber_loss", input, target)
    d = (input - target).abs()
    loss = where(d <= delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _reduce(_weighted(loss, weight, "huber_loss"), reduction)


@register("kl_div")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise: target (log target - input) (0 where target = 0), or with
    log_target exp(target) (target - input); 'batchmean' divides the sum by input.size(0)."""
    from .binary_math import xlogy
    from .unary import exp

    reduction = _reduction("kl_div", reduction, size_average, reduce, _REDUCTIONS + ("batchmean",))
    target = _same_shape("kl_div", input, target)
    loss = exp(target) * (target - input) if log_target else xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


@register("binary_cross_entropy")
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """l = -(t log p + (1 - t) log(1 - p)), each log clamped at -100 (as PyTorch), times weight."""
    from .compare import clamp
    from .unary import log

    reduction = _reduction("binary_cross_entropy", reduction, size_average, reduce)
    target = _same_shape("binary_cross_entropy", input, target)
    data = input._data
    if data.size and bool(((data < 0) | (data > 1)).any()):
        raise ArgumentError("binary_cross_entropy: all elements of input should be between 0 and 1")
    loss = -(target * clamp(log(input), min=-100) + (1 - target) * clamp(log(1 - input), min=-100))
    return _reduce(_weighted(loss, weight, "binary_cross_entropy"), reduction)


@register("soft_margin_loss")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """l = log(1 + exp(-target input)) (target in {-1, 1})."""
    from .activations import softplus

    reduction = _reduction("soft_margin_loss", reduction, size_average, reduce)
    target = _same_shape("soft_margin_loss", input, target)
    return _reduce(softplus(-target * input), reduction)


@register("multilabel_soft_margin_loss")
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """l_n = -mean_c [w_c (y log sigmoid(x) + (1 - y) log sigmoid(-x))] over the C classes of (N, C) input."""
    from .smooth_activations import logsigmoid

    reduction = _reduction("multilabel_soft_margin_loss", reduction, size_average, reduce)
    target = _same_shape("multilabel_soft_margin_loss", input, target)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    loss = _weighted(loss, weight, "multilabel_soft_margin_loss")
    loss = loss.sum(dim=input.ndim - 1) / input.shape[-1] if input.ndim else loss
    return _reduce(loss, reduction)


@register("margin_ranking_loss")
def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """l = max(0, -target (input1 - input2) + margin)."""
    from .compare import clamp

    reduction = _reduction("margin_ranking_loss", reduction, size_average, reduce)
    input2 = _same_shape("margin_ranking_loss", input1, input2, "input2")
    target = _same_shape("margin_ranking_loss", input1, target)
    return _reduce(clamp(-target * (input1 - input2) + margin, min=0), reduction)


@register("hinge_embedding_loss")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """l = input where target = 1, max(0, margin - input) where target = -1 (both terms where neither)."""
    from .compare import clamp
    from .masked import where

    reduction = _reduction("hinge_embedding_loss", reduction, size_average, reduce)
    target = _same_shape("hinge_embedding_loss", input, target)
    zero = input * 0
    loss = where(target != 1, clamp(margin - input, min=0), zero) + where(target != -1, input, zero)
    return _reduce(loss, reduction)


@register("cosine_embedding_loss")
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """l = 1 - cos(x1, x2) where target = 1, max(0, cos(x1, x2) - margin) where target = -1;
    cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) along the last dimension."""
    from .compare import clamp
    from .masked import where
    from .unary import sqrt

    reduction = _reduction("cosine_embedding_loss", reduction, size_average, reduce)
    input2 = _same_shape("cosine_embedding_loss", input1, input2, "input2")
    if input1.ndim not in (1, 2):
        raise ShapeError(f"cosine_embedding_loss: inputs must be 1-D or 2-D, got shape {tuple(input1.shape)}")
    dim = input1.ndim - 1
    cos = (input1 * input2).sum(dim=dim) / sqrt(((input1 * input1).sum(dim=dim) + 1e-12)
                                                 * ((input2 * input2).sum(dim=dim) + 1e-12))
    target = _same_shape("cosine_embedding_loss", cos, target)
    zero = cos * 0
    loss = where(target == 1, 1 - cos, zero) + where(target == -1, clamp(cos - margin, min=0), zero)
    return _reduce(loss, reduction)


@register("pairwise_distance")
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dimension (x1 and x2 broadcast)."""
    from .stats import vector_norm

    dim = max(x1.ndim, x2.ndim) - 1
    return vector_norm(x1 - x2 + eps, p, dim=dim, keepdim=keepdim) if dim >= 0 else (x1 - x2 + eps).abs()


@register("triplet_margin_loss")
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """l = max(d(a, p) - d(a, n) + margin, 0), d = pairwise_distance (swap: d(a, n) := min(d(a, n), d(p, n)))."""
    from .compare import clamp, minimum

    reduction = _reduction("triplet_margin_loss", reduction, size_average, reduce)
    if not margin > 0:
        raise ArgumentError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise ShapeError(f"triplet_margin_loss: anchor, positive and negative must have the same number of "
                         f"dimensions, got {anchor.ndim}, {positive.ndim}, {negative.ndim}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(clamp(margin + d_pos - d_neg, min=0), reduction)


@register("poisson_nll_loss")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """l = exp(input) - target input (log_input), or input - target log(input + eps); full adds Stirling's
    target log target - target + log(2 pi target) / 2 where target > 1."""
    from .masked import where
    from .unary import exp, log

    reduction = _reduction("poisson_nll_loss", reduction, size_average, reduce)
    target = _same_shape("poisson_nll_loss", input, target)
    loss = exp(input) - target * input if log_input else input - target * log(input + eps)
    if full:
        safe = where(target > 1, target, target * 0 + 1)
        stirling = safe * log(safe) - safe + 0.5 * log(2 * math.pi * safe)
        loss = loss + where(target > 1, stirling, stirling * 0)
    return _reduce(loss, reduction)


@register("gaussian_nll_loss")
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """l = (log max(var, eps) + (input - target)^2 / max(var, eps)) / 2 (+ log(2 pi) / 2 with full); the clamp
    passes var's gradient through unchanged, as PyTorch's. var: input's shape, or one dimension fewer / of
    size 1 at the end (one variance per sample)."""
    from .compare import clamp
    from .unary import log

    reduction = _reduction("gaussian_nll_loss", reduction)
    target = _same_shape("gaussian_nll_loss", input, target)
    var = _tensor_like(var, input, "gaussian_nll_loss", "var")
    if var.ndim == 0:
        var = var.reshape(1)
    shape, vshape = tuple(input.shape), tuple(var.shape)
    if vshape != shape:
        if shape[:-1] == vshape:
            var = var.unsqueeze(-1)
        elif not (shape[:-1] == vshape[:-1] and vshape[-1:] == (1,)) and vshape != (1,):
            raise ShapeError(f"gaussian_nll_loss: var of shape {vshape} does not fit input of shape {shape}")
    if bool((var._data < 0).any()):
        raise ArgumentError("gaussian_nll_loss: var has negative entry/entries")
    var = var + (clamp(var, min=eps) - var).detach()
    loss = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


@register("normalize")
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps)."""
    from .compare import clamp
    from .stats import vector_norm

    if out is not None:
        raise ArgumentError("normalize: out= is not supported (tensorcore returns a new tensor)")
    return input / clamp(vector_norm(input, p, dim=dim, keepdim=True), min=eps)


@register("cosine_similarity")
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) along dim, x1 and x2 broadcast first (as PyTorch).

    # NOTE: as PyTorch, the clamp to eps changes the norms' values only: their gradient is the norm's.
    """
    from .compare import clamp
    from .layout import broadcast_tensors
    from .stats import vector_norm

    x1, x2 = broadcast_tensors(x1, x2)
    n1, n2 = vector_norm(x1, 2, dim=dim, keepdim=True), vector_norm(x2, 2, dim=dim, keepdim=True)
    n1 = n1 + (clamp(n1, min=eps) - n1).detach()
    n2 = n2 + (clamp(n2, min=eps) - n2).detach()
    return ((x1 / n1) * (x2 / n2)).sum(dim=dim)
