"""Softmax, log-softmax, the losses and dropout: the ops a classifier's head and loss are made of."""

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from ..random import _gen
from ..tensor import Tensor, _make
from .activations import relu, sigmoid
from .dims import one_dim
from .reduce import mean, normalize_axis, sum
from .registry import register
from .unary import abs as tc_abs
from .unary import exp, log1p

_REDUCTIONS = ("mean", "sum", "none")


class Softmax(Function):
    op_name = "softmax"

    @staticmethod
    def forward(ctx, x, axis):
        out = ctx.backend.softmax(x, axis)
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    op_name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis):
        out = ctx.backend.log_softmax(x, axis)
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - exp(y) * g.sum(axis=ctx.axis, keepdims=True)


def _softmax_dim(op, x, dim, axis, dtype):
    """PyTorch's dim (or NumPy's axis); without either, PyTorch's implicit choice: 0 for 0-, 1- and
    3-d inputs, else 1. dtype= casts the input first."""
    if dim is not None and axis is not None:
        raise ArgumentError(f"{op}: got both dim= and its alias axis=")
    dim = axis if dim is None else dim
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind not in "fV":
        raise DTypeError(f"{op}: input must be floating point, got {x.dtype} (PyTorch has no integer {op}; "
                         f"pass dtype=tc.float32 or cast with .float())")
    return x, normalize_axis(op, dim, x.ndim)[0] if x.ndim else one_dim(op, dim, 0)  # 0-d: dim 0 or -1


@register("softmax", method=True)
def softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """exp(x) / sum(exp(x)) along `dim`; the max is subtracted first, so logits of 1e4 are fine."""
    x, d = _softmax_dim("softmax", input, dim, axis, dtype)
    if x.numel() == 0:
        return x * 1.0
    return Softmax.apply(x, axis=d)


@register("log_softmax", method=True)
def log_softmax(input, dim=None, _stacklevel=3, dtype=None, *, axis=None):
    """x - logsumexp(x) along `dim`, computed stably."""
    x, d = _softmax_dim("log_softmax", input, dim, axis, dtype)
    if x.numel() == 0:
        return x * 1.0
    return LogSoftmax.apply(x, axis=d)


class SoftmaxCrossEntropy(Function):
    """Mean or summed cross-entropy of logits (N, C) against integer targets (N,), in one node.

    Forward runs the backend's fused softmax + cross-entropy once (loss rows and softmax - onehot);
    backward scales that saved gradient. Rows with target == ignore_index count for nothing, and
    'mean' divides by the number of the others (computed on the device: no host synchronization; a
    mean over no rows is NaN, as PyTorch's). Where the backend reduces inside its kernel
    (``softmax_cross_entropy_reduced``: cuda), the sum, count and mean come from it, with no reduction ops.
    """

    op_name = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, targets, reduction, ignore_index):
        xp = ctx.backend.xp
        ctx.targets, ctx.reduction, ctx.ignore_index = targets, reduction, ignore_index
        reduced = getattr(ctx.backend, "softmax_cross_entropy_reduced", None)
        if reduced is not None and reduction != "none":
            # stats: (sum, count, sum / count, max(count, 1)), all from inside the kernel
            loss, dlogits, stats = reduced(logits, targets, ignore_index)
            divisor = stats[3] if stats.dtype == logits.dtype else stats[3].astype(logits.dtype)
            ctx.save_for_backward(logits, dlogits, None, divisor)
            out = stats[2] if reduction == "mean" else stats[0]
            return out if out.dtype == logits.dtype else out.astype(logits.dtype)
        loss, dlogits = ctx.backend.softmax_cross_entropy(logits, targets, ignore_index)
        valid = (targets != ignore_index).astype(logits.dtype)
        n = valid.sum()
        count = xp.maximum(n, 1).astype(logits.dtype)  # the gradient's divisor: no rows give a zero gradient
        ctx.save_for_backward(logits, dlogits, valid, count)
        if reduction == "none":
            return loss
        total = loss.sum()
        if reduction == "sum":
            return total
        with np.errstate(invalid="ignore"):  # 0 / 0: NaN, as PyTorch's mean over no rows
            return (total / n).astype(logits.dtype)

    @staticmethod
    def backward(ctx, g):
        logits, _, valid, count = ctx.saved_tensors
        xp = ctx.backend.xp
        if valid is None:
            valid = _make((ctx.targets != ctx.ignore_index).astype(logits.dtype), g.device, False, None)
        if ctx.reduction == "none":
            scale = g.reshape(-1, 1)
        elif ctx.reduction == "mean":
            scale = g / count
        else:
            scale = g
        # softmax - onehot rebuilt from ops, so the gradient is itself differentiable.
        safe = xp.where(ctx.targets == ctx.ignore_index, 0, ctx.targets)
        onehot = _one_hot_array(safe, logits.shape[1], logits.dtype, xp)
        d = (softmax(logits, axis=1) - _make(onehot, g.device, False, None)) * valid.reshape(-1, 1)
        return d * scale, None

    @staticmethod
    def backward_arrays(ctx, g):
        _, dlogits, _, count = ctx.saved_arrays
        if ctx.reduction == "none":
            scale = g.reshape(-1, 1)
        else:
            scale = (g / count) if ctx.reduction == "mean" else g
        return dlogits * scale, None


def _one_hot_array(targets, num_classes, dtype, xp):
    out = xp.zeros((targets.shape[0], num_classes), dtype=dtype)
    out[xp.arange(targets.shape[0]), targets] = 1
    return out


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ArgumentError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def _as_targets(targets, device):
    if isinstance(targets, Tensor):
        if targets.device is not device:
            from ..errors import DeviceError

            raise DeviceError(f"cross_entropy: targets on {targets.device}, logits on {device}")
        return targets
    return _make(device.backend.asarray(targets), device, False, None)


@register("cross_entropy")
def cross_entropy(logits, targets, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of raw logits (N, C) (or (N, C, d1, ...)) against targets.

    Targets are class indices (N,) of an integer dtype, or probabilities / one-hot rows of the
    logits' shape. Same arguments and meaning as torch.nn.functional.cross_entropy.

    Example:
        loss = tc.nn.functional.cross_entropy(model(x), y)   # y: int64 labels
    """
    _check_reduction("cross_entropy", reduction)
    if logits.ndim == 1 and isinstance(targets, Tensor) and targets.ndim in (0, 1) and \
            (targets.ndim == 0 or targets.shape == logits.shape):  # one unbatched sample, as PyTorch takes it
        loss = cross_entropy(logits.unsqueeze(0), targets.unsqueeze(0), weight, ignore_index, reduction,
                             label_smoothing)
        return loss.squeeze(0) if reduction == "none" else loss
    if logits.ndim < 2:
        raise ShapeError(f"cross_entropy: logits must be (N, C) or (N, C, d1, ...), got shape {logits.shape}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    targets = _as_targets(targets, logits.device)
    num_classes = logits.shape[1]
    if targets.dtype.kind == "f":
        if targets.shape != logits.shape:
            raise ShapeError(f"cross_entropy: probability targets of shape {targets.shape} for logits of "
                             f"shape {logits.shape} (they must match)")
        if label_smoothing:
            targets = targets * (1 - label_smoothing) + label_smoothing / num_classes
        logp = log_softmax(logits, axis=1)
        if weight is not None:
            logp = logp * _class_weight_view(weight, logits.ndim)
        return _reduce(-(targets * logp).sum(axis=1), reduction)
    if targets.dtype.kind not in "iu":
        raise DTypeError(f"cross_entropy: targets must be integer class indices or float probabilities, "
                         f"got {targets.dtype}")
    expected = (logits.shape[0],) + logits.shape[2:]
    if targets.shape != expected:
        raise ShapeError(f"cross_entropy: targets of shape {targets.shape} for logits of shape {logits.shape} "
                         f"(expected {expected})")
    t = targets._data
    logits.device.backend.check_targets("cross_entropy", t, num_classes, ignore_index)
    if logits.ndim == 2 and weight is None and not label_smoothing:
        return SoftmaxCrossEntropy.apply(logits, targets, reduction=reduction, ignore_index=ignore_index)
    valid = t != ignore_index
    logp = log_softmax(logits, axis=1)
    loss = nll_loss(logp, targets, weight=weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing:
        smooth = -logp
        if weight is not None:
            smooth = smooth * _class_weight_view(weight, logits.ndim)
        smooth = smooth.sum(axis=1) / num_classes
        if reduction == "mean":
            w = _make(valid.astype(logits.dtype), logits.device, False, None)
            if weight is not None:  # NOTE: PyTorch divides by the targets' summed class weights here, as nll_loss
                xp = logits.device.backend.xp
                picked = weight.detach()._data[xp.where(valid, t, 0)] * valid
                count = _make(xp.asarray(picked.sum(), dtype=logits.dtype), logits.device, False, None)
            else:
                count = _make(valid.sum(keepdims=True).clip(1, None).astype(logits.dtype).reshape(()),
                              logits.device, False, None)
            smooth = sum(smooth * w) / count
        elif reduction == "sum":
            smooth = sum(smooth * _make(valid.astype(logits.dtype), logits.device, False, None))
        else:
            smooth = smooth * _make(valid.astype(logits.dtype), logits.device, False, None)
        loss = loss * (1 - label_smoothing) + smooth * label_smoothing
    return loss


def _class_weight_view(weight, ndim):
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


@register("nll_loss")
def nll_loss(logp, targets, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C[, d1, ...]) or (C,) at integer targets.

    With `weight`, 'mean' divides by the summed weights of the targets (as PyTorch does).
    """
    _check_reduction("nll_loss", reduction)
    targets = _as_targets(targets, logp.device)
    if logp.ndim == 1 and targets.ndim == 0:  # one unbatched sample: input (C,), target ()
        loss = nll_loss(logp.unsqueeze(0), targets.reshape(1), weight, ignore_index, reduction)
        return loss.reshape(()) if reduction == "none" else loss
    if logp.ndim < 2 or targets.shape != (logp.shape[0],) + logp.shape[2:]:
        raise ShapeError(f"nll_loss: input of shape {logp.shape} and targets of shape {targets.shape} do not match")
    if targets.dtype.kind not in "iu":
        raise DTypeError(f"nll_loss: targets must be integer class indices, got {targets.dtype}")
    xp = logp.device.backend.xp
    c = logp.shape[1]
    if logp.ndim > 2:  # (N, C, d...) -> (N*d..., C)
        perm = (0,) + tuple(range(2, logp.ndim)) + (1,)
        logp = logp.permute(*perm).reshape(-1, c)
    t = targets._data.reshape(-1)
    logp.device.backend.check_targets("nll_loss", t, c, ignore_index)
    valid = t != ignore_index
    safe = xp.where(valid, t, 0)
    picked = logp[xp.arange(t.shape[0]), safe]
    w = valid.astype(logp.dtype)
    if weight is not None:
        if weight.shape != (c,):
            raise ShapeError(f"nll_loss: weight of shape {weight.shape} for {c} classes")
        w = weight._data[safe] * w
    wt = _make(w, logp.device, False, None)
    loss = -picked * wt
    if reduction == "none":
        return loss.reshape(targets.shape)
    if reduction == "sum":
        return sum(loss)
    return sum(loss) / _make(w.sum(), logp.device, False, None)  # on the device: no host sync


@register("mse_loss")
def mse_loss(input, target, reduction="mean"):
    """Mean squared error; input and target must have the same shape (nothing is broadcast)."""
    _check_reduction("mse_loss", reduction)
    if not isinstance(target, Tensor):
        target = _make(input.device.backend.asarray(target, dtype=input.dtype), input.device, False, None)
    if input.shape != target.shape:
        raise ShapeError(f"mse_loss: input of shape {input.shape} and target of shape {target.shape} differ")
    d = input - target
    return _reduce(d * d, reduction)


class BCEWithLogits(Function):
    op_name = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx, x, t):
        xp = ctx.backend.xp
        ctx.save_for_backward(x, t)
        # NOTE: max(x, 0) - x t + log(1 + e^-|x|) is log(1 + e^x) - x t without overflow.
        return xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        gx = g * (sigmoid(x) - t) if ctx.needs_input_grad[0] else None
        gt = -g * x if ctx.needs_input_grad[1] else None
        return gx, gt


@register("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(logits, targets, weight=None, pos_weight=None, reduction="mean"):
    """Binary cross-entropy on raw logits, stable for any logit; targets in [0, 1], same shape."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    if not isinstance(targets, Tensor):
        targets = _make(logits.device.backend.asarray(targets, dtype=logits.dtype), logits.device, False, None)
    if targets.shape != logits.shape:
        raise ShapeError(f"binary_cross_entropy_with_logits: logits of shape {logits.shape} and targets of "
                         f"shape {targets.shape} differ")
    if pos_weight is None:
        loss = BCEWithLogits.apply(logits, targets.astype(logits.dtype))
    else:
        # l = (1 - t) x + (1 + (p - 1) t) log(1 + e^-x), written stably.
        lw = (pos_weight - 1) * targets + 1
        softplus_neg = relu(-logits) + log1p(exp(-tc_abs(logits)))
        loss = (1 - targets) * logits + lw * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy(probs, targets, reduction="mean", eps=1e-7):
    """Binary cross-entropy of probabilities (clipped to [eps, 1 - eps] so log never sees 0)."""
    from .compare import clip
    from .unary import log

    if not isinstance(targets, Tensor):
        targets = _make(probs.device.backend.asarray(targets, dtype=probs.dtype), probs.device, False, None)
    if targets.shape != probs.shape:
        raise ShapeError(f"binary_cross_entropy: input of shape {probs.shape} and targets of shape "
                         f"{targets.shape} differ")
    p = clip(probs, eps, 1 - eps)
    return _reduce(-(targets * log(p) + (1 - targets) * log(1 - p)), reduction)


@register("dropout")
def dropout(x, p=0.5, training=True, generator=None):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout).

    The mask comes from the default generator (seeded by tc.manual_seed) or `generator`.
    """
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = _gen(generator).random(x.shape) >= p
    mask = keep * x.dtype.type(1.0 / (1.0 - p))  # the float64 quotient rounded once, no float64 array
    return x * _make(x.device.backend.from_host(mask, copy=False), x.device, False, None)


def one_hot(tensor, num_classes=-1):
    """Integer labels of any shape -> int64 one-hot rows (..., num_classes); num_classes=-1: max label + 1."""
    from .. import _validate as check

    t = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if t.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: labels must be integers (class values must be an int64 tensor), got {t.dtype}")
    num_classes = check.integer(num_classes, "num_classes", "one_hot", minimum=-1)
    if num_classes == -1:
        if not t.size:
            raise ShapeError("one_hot: cannot infer the number of classes from an empty tensor")
        num_classes = int(t.max()) + 1
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ShapeError(f"one_hot: class values must be in [0, {num_classes}), got range [{t.min()}, {t.max()}]")
    device = tensor.device if isinstance(tensor, Tensor) else None
    xp = device.backend.xp if device else np
    check.fits_in_memory(t.shape + (num_classes,), np.dtype(np.int64), "one_hot")
    out = xp.zeros(t.shape + (num_classes,), dtype=np.int64)
    xp.put_along_axis(out, t[..., None].astype(np.int64), 1, axis=-1)
    from ..device import device as as_device

    return _make(out, device or as_device("cpu"), False, None)

