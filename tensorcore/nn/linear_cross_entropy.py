"""nn.LinearCrossEntropyLoss, F.linear_cross_entropy and nn.LinearCrossEntropyOptions (PyTorch 2.13's).

linear_cross_entropy(input, W, target) is cross_entropy(linear(input, W), target): the reference path
(options=None). With options, PyTorch's chunked path: the batch is processed `batch_chunk_size` rows at a time
so the full (N, C) logits never exist; forward computes the loss and, for 'mean' / 'sum', the gradients of
input, weight and bias at once, which backward scales by the incoming gradient (so, as PyTorch's, a second
backward raises unless allow_retain_graph=True; 'none' recomputes its gradients from the inputs). It covers
what PyTorch's covers (class-index int64 targets, no label smoothing, no out_features, reduction
'mean' / 'sum' / 'none'); anything else warns and takes the reference path, as PyTorch's does. Accumulation
is in acc_dtype (float32 for float16 / bfloat16 input under acc_policy='auto').
"""

import dataclasses
import math
import warnings

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, GradientError, ShapeError
from ..tensor import Tensor
from .layers import Linear
from .module import Module

__all__ = ["LinearCrossEntropyLoss", "LinearCrossEntropyOptions", "linear_cross_entropy"]

_POLICIES = ("auto", "accurate", "balanced", "compact")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """torch.nn.LinearCrossEntropyOptions(allow_retain_graph=False, batch_chunk_size=None, chunking_method='auto',
    acc_policy='auto', acc_dtype=None): how the chunked path of linear_cross_entropy runs."""

    allow_retain_graph: bool = False
    batch_chunk_size: int = None
    chunking_method: str = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        if self.acc_policy not in _POLICIES:
            raise ArgumentError(f"LinearCrossEntropyOptions: invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = str(self.chunking_method).partition(":")
            factor = factor if sep else "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ArgumentError(f"LinearCrossEntropyOptions: invalid chunking_method: {self.chunking_method!r}")
        size = self.batch_chunk_size
        if not (size is None or (isinstance(size, int) and not isinstance(size, bool) and size > 0)):
            raise ArgumentError(f"LinearCrossEntropyOptions: batch_chunk_size must be positive int or None, got "
                                f"{size!r}")
        if self.acc_dtype is not None:
            from ..dtypes import as_dtype

            if np.dtype(as_dtype(self.acc_dtype)).name not in ("float16", "bfloat16", "float32", "float64"):
                raise ArgumentError(f"LinearCrossEntropyOptions: acc_dtype must be one of {{None, float16, bfloat16, "
                                    f"float32, float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let the op "
                                    "pick automatically.")

    def _chunk_size(self, num_batches, in_features, num_classes):
        """PyTorch's resolution: an explicit batch_chunk_size, else the aspect-ratio heuristic ('auto': ratio 2)."""
        method = self.chunking_method
        if method == "auto" and self.batch_chunk_size is not None:
            method = None
        if method == "auto":
            method = "aspect_ratio:2"
        size = num_batches if self.batch_chunk_size is None else min(self.batch_chunk_size, num_batches)
        if method is not None:
            factor = int(method.split(":", 1)[1]) if ":" in method else 1
            target = -(-num_batches // -(-num_classes // in_features))
            heuristic = min((1 << (target - 1).bit_length()) // factor, num_batches)
            if self.batch_chunk_size is not None and self.batch_chunk_size != heuristic:
                raise ArgumentError(f"linear_cross_entropy: batch_chunk_size (={self.batch_chunk_size}) and "
                                    f"chunking_method ('{method}') give different chunk sizes "
                                    f"({self.batch_chunk_size} vs {heuristic}); pass only one.")
            size = heuristic
        return max(int(size), 1)

    def _acc_dtype(self, dtype):
        from ..dtypes import as_dtype

        if self.acc_dtype is not None:
            return np.dtype(as_dtype(self.acc_dtype))
        if self.acc_policy == "auto" and np.dtype(dtype).name in ("float16", "bfloat16"):
            return np.dtype(np.float32)
        return np.dtype(dtype)


def _softmax_minus_onehot(logits, target, rows_weight):
    """(softmax(logits) - onehot(target)) * w per row, and the per-row nll (both in logits' dtype)."""
    top = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - top)
    total = e.sum(axis=1, keepdims=True)
    lse = (np.log(total) + top)[:, 0]
    safe = np.where(rows_weight != 0, target, 0)
    nll = lse - logits[np.arange(logits.shape[0]), safe]
    d = e / total
    d[np.arange(logits.shape[0]), safe] -= 1.0
    return d * rows_weight[:, None], nll * rows_weight


class _ChunkedLinearCrossEntropy(Function):
    op_name = "linear_cross_entropy"
    once_differentiable = True  # PyTorch's chunked path: higher-order autograd unsupported

    @staticmethod
    def forward(ctx, x, w, b, target, class_weight, ignore_index, reduction, chunk, acc, allow_retain):
        xp = ctx.backend.xp
        out_dtype = x.dtype
        xa, wa = x.astype(acc), w.astype(acc)
        ba = None if b is None else b.astype(acc)
        n = xa.shape[0]
        valid = target != ignore_index
        rows_weight = valid.astype(acc)
        if class_weight is not None:
            rows_weight = rows_weight * class_weight.astype(acc)[np.where(valid, target, 0)]
        denom = rows_weight.sum() if reduction == "mean" else acc.type(1)
        losses = xp.zeros(n, dtype=acc)
        keep_grads = reduction != "none" and any(ctx.needs_input_grad[i] for i in range(3))
        dx = xp.zeros_like(xa) if keep_grads else None
        dw = xp.zeros_like(wa) if keep_grads else None
        db = xp.zeros(wa.shape[0], dtype=acc) if keep_grads and ba is not None else None
        for start in range(0, n, chunk):
            sl = slice(start, min(start + chunk, n))
            logits = xa[sl] @ wa.T
            if ba is not None:
                logits += ba
            d, nll = _softmax_minus_onehot(logits, target[sl], rows_weight[sl])
            losses[sl] = nll
            if keep_grads:
                d = d / denom
                dx[sl] = d @ wa
                dw += d.T @ xa[sl]
                if db is not None:
                    db += d.sum(axis=0)
        ctx.saved = (xa, wa, ba, target, rows_weight, chunk, out_dtype, b is not None)
        ctx.grads, ctx.reduction, ctx.allow_retain, ctx.used = (dx, dw, db), reduction, allow_retain, False
        if reduction == "none":
            return losses.astype(out_dtype)
        total = losses.sum()
        return xp.asarray(total / denom if reduction == "mean" else total).astype(out_dtype)

    @staticmethod
    def backward(ctx, grad):
        return _ChunkedLinearCrossEntropy.backward_arrays(ctx, grad._data)

    @staticmethod
    def backward_arrays(ctx, g):
        xa, wa, ba, target, rows_weight, chunk, out_dtype, has_bias = ctx.saved
        if ctx.reduction != "none":
            if ctx.used and not ctx.allow_retain:
                raise GradientError("linear_cross_entropy chunked backward called twice; retain_graph=True / double "
                                    "backward are not supported (pass LinearCrossEntropyOptions(allow_retain_graph="
                                    "True))")
            ctx.used = True
            scale = g.astype(xa.dtype)
            dx, dw, db = ((None if a is None else (a * scale).astype(out_dtype)) for a in ctx.grads)
            return dx, dw, db
        dx, dw = np.zeros_like(xa), np.zeros_like(wa)
        db = np.zeros(wa.shape[0], dtype=xa.dtype) if has_bias else None
        ga = g.astype(xa.dtype)
        for start in range(0, xa.shape[0], chunk):
            sl = slice(start, min(start + chunk, xa.shape[0]))
            logits = xa[sl] @ wa.T
            if ba is not None:
                logits += ba
            d, _ = _softmax_minus_onehot(logits, target[sl], rows_weight[sl] * ga[sl])
            dx[sl] = d @ wa
            dw += d.T @ xa[sl]
            if db is not None:
                db += d.sum(axis=0)
        return dx.astype(out_dtype), dw.astype(out_dtype), None if db is None else db.astype(out_dtype)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """torch.nn.functional.linear_cross_entropy: cross_entropy(linear(input, linear_weight) (+ linear_bias), target);
    linear_weight (C, *out_features, in_features)."""
    from . import functional as F

    op = "linear_cross_entropy"
    for name, t in (("input", input), ("linear_weight", linear_weight), ("target", target)):
        if not isinstance(t, Tensor):
            raise ArgumentError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if input.ndim < 1 or input.ndim > 2:
        raise ShapeError(f"{op}: expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise ShapeError(f"{op}: expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    batches, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise ShapeError(f"{op}: expected equal input and linear_weight last dimensions (in_features), got "
                         f"{in_features} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise ShapeError(f"{op}: expected linear_bias shape {(num_classes, *out_features)}, got "
                         f"{tuple(linear_bias.shape)}")
    if out_features and not batches:
        raise ShapeError(f"{op}: K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
                         f"requires batched input, (N, {in_features}), got unbatched input with shape "
                         f"{tuple(input.shape)}")
    if reduction not in ("mean", "sum", "none"):
        raise ArgumentError(f"{op}: {reduction!r} is not a valid value for reduction")
    if options is not None and not isinstance(options, LinearCrossEntropyOptions):
        raise ArgumentError(f"{op}: options must be a LinearCrossEntropyOptions or None, got "
                            f"{type(options).__name__}")
    logits_shape = (*batches, num_classes, *out_features)
    probabilities = tuple(target.shape) == logits_shape
    if probabilities and ignore_index is not None:
        raise ArgumentError(f"{op}: ignore_index cannot be specified when target contains probabilities")
    ignore = -100 if ignore_index is None else ignore_index
    chunkable = not out_features and label_smoothing == 0.0 and target.dtype == np.int64 and not probabilities
    if options is not None and not chunkable:
        warnings.warn(f"linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
                      f"{{'mean','sum','none'}}, label_smoothing == 0, target.dtype == int64, out_features == (). "
                      f"Got reduction={reduction!r}, label_smoothing={label_smoothing}, target.dtype={target.dtype}, "
                      f"out_features={out_features}, tracing=False, linear_bias.shape="
                      f"{tuple(linear_bias.shape) if linear_bias is not None else None}.", stacklevel=2)
    if options is not None and chunkable:
        x = input if batches else input.unsqueeze(0)
        t = target if batches else target.reshape(1)
        if tuple(t.shape) != (x.shape[0],):
            raise ShapeError(f"{op}: target of shape {tuple(target.shape)} does not fit input {tuple(input.shape)}")
        t_arr = np.asarray(t.detach().cpu().numpy())
        bad = t_arr[(t_arr != ignore) & ((t_arr < 0) | (t_arr >= num_classes))]
        if bad.size:
            from ..errors import IndexingError

            raise IndexingError(f"{op}: target {int(bad[0])} is out of bounds for {num_classes} classes")
        cw = None if weight is None else np.asarray(weight.detach().cpu().numpy())
        loss = _ChunkedLinearCrossEntropy.apply(
            x, linear_weight, linear_bias, target=t_arr, class_weight=cw, ignore_index=ignore, reduction=reduction,
            chunk=options._chunk_size(x.shape[0], in_features, num_classes), acc=options._acc_dtype(input.dtype),
            allow_retain=bool(options.allow_retain_graph))
        return loss.reshape(()) if reduction == "none" and not batches else loss
    flat = linear_weight.reshape(math.prod(linear_weight.shape[:-1]), in_features)
    logits = F.linear(input, flat).reshape(logits_shape)
    if linear_bias is not None:
        logits = logits + linear_bias.reshape((num_classes, *out_features))
    return F.cross_entropy(logits, target, weight=weight, ignore_index=ignore, reduction=reduction,
                           label_smoothing=label_smoothing)


class LinearCrossEntropyLoss(Module):
    """torch.nn.LinearCrossEntropyLoss(in_features, num_classes, *, out_features=(), bias=False, device=None,
    dtype=None, reduction='mean', weight=None, ignore_index=None, label_smoothing=0.0, options=None): a Linear to
    C * prod(out_features) logits and the cross entropy of them, in one step."""

    def __init__(self, in_features, num_classes, *, out_features=(), bias=False, device=None, dtype=None,
                 reduction="mean", weight=None, ignore_index=None, label_smoothing=0.0, options=None):
        super().__init__()
        name = "LinearCrossEntropyLoss"
        if weight is not None and (not isinstance(weight, Tensor) or tuple(weight.shape) != (num_classes,)):
            raise ShapeError(f"{name}: expected weight shape to be {(num_classes,)}, got "
                             f"{tuple(getattr(weight, 'shape', ()))}")
        if not isinstance(label_smoothing, (int, float)) or not 0 <= label_smoothing <= 1.0:
            raise ArgumentError(f"{name}: expected label_smoothing to be in range [0, 1], got {label_smoothing}")
        if reduction not in ("mean", "sum", "none"):
            raise ArgumentError(f"{name}: {reduction!r} is not a valid value for reduction")
        self.register_buffer("weight", weight)
        self.reduction = reduction
        self.num_classes, self.out_features = num_classes, tuple(out_features)
        self.ignore_index, self.label_smoothing, self.options = ignore_index, label_smoothing, options
        self.linear = Linear(in_features, math.prod(self.out_features, start=num_classes), bias=bias, device=device,
                             dtype=dtype)

    def forward(self, input, target):
        w = self.linear.weight.reshape((self.num_classes, *self.out_features, self.linear.in_features))
        b = None if self.linear.bias is None else self.linear.bias.reshape((self.num_classes, *self.out_features))
        return linear_cross_entropy(input, w, target, linear_bias=b, weight=self.weight, reduction=self.reduction,
                                    ignore_index=self.ignore_index, label_smoothing=self.label_smoothing,
                                    options=self.options)

    def extra_repr(self):
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, reduction={self.reduction}, "
                f"ignore_index={self.ignore_index}, label_smoothing={self.label_smoothing}, options={self.options}")
