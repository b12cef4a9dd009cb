"""Embedding lookup (PyTorch's F.embedding): out[...] = weight[input[...]].

The weight's gradient sums the output gradient of every position that picked a row (a
deterministic scatter-add); the row padding_idx gets none.
"""

import numpy as np

from ..autograd import Function, no_grad
from ..errors import ArgumentError, DTypeError, IndexingError, ShapeError
from ..tensor import Tensor, _make
from .registry import register


class Embedding(Function):
    """Rows of weight (V, D) picked by the integer array idx (a constant: it gets no gradient)."""

    op_name = "embedding"

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq):
        ctx.idx, ctx.padding_idx, ctx.num = idx, padding_idx, weight.shape[0]
        ctx.scale_grad_by_freq = scale_grad_by_freq
        return ctx.backend.embedding_forward(weight, idx)

    @staticmethod
    def backward(ctx, g):
        # a scatter-add made of ops (its own gradient is the lookup again)
        from .index import ScatterAdd

        xp = ctx.backend.xp
        scale = _freq_scale(ctx, g.dtype)
        if scale is not None:
            g = g * _make(scale, g.device, False, None)
        dw = ScatterAdd.apply(g, shape=(ctx.num, g.shape[-1]), index=ctx.idx, advanced=True)
        if ctx.padding_idx is not None:
            keep = xp.ones((ctx.num, 1), dtype=g.dtype)
            keep[ctx.padding_idx] = 0
            dw = dw * _make(keep, g.device, False, None)
        return dw

    @staticmethod
    def backward_arrays(ctx, g):
        scale = _freq_scale(ctx, g.dtype)
        if scale is not None:
            g = g * scale
        return ctx.backend.embedding_backward(g, ctx.idx, ctx.num, ctx.padding_idx)


def _freq_scale(ctx, dtype):
    """1 / (count of each position's index in the batch), shaped to multiply the gradient; None if off."""
    if not ctx.scale_grad_by_freq:
        return None
    xp = ctx.backend.xp
    counts = xp.bincount(ctx.idx.reshape(-1), minlength=ctx.num)
    return (1.0 / counts[ctx.idx]).astype(dtype)[..., None]


def _renorm_(weight, idx, max_norm, norm_type):
    """Rows of weight used by idx whose norm exceeds max_norm are scaled to max_norm, in place (no grad)."""
    xp = weight.device.backend.xp
    rows = xp.unique(idx.reshape(-1))
    with no_grad():
        w = weight._data
        picked = w[rows]
        norms = (xp.abs(picked) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
        big = norms > max_norm
        if bool(big.any()):
            # NOTE: PyTorch's factor max_norm / (norm + 1e-7): rows end just under max_norm.
            scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
            w[rows[big]] = picked[big] * scale[:, None]
            weight._version += 1


@register("embedding")
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """weight[input]: integer indices (any shape) -> rows of weight (V, D), shape input.shape + (D,).

    padding_idx: that row gets no gradient. max_norm: rows looked up are first renormalized in place
    to norm <= max_norm (PyTorch's behaviour). scale_grad_by_freq: gradients divided by each index's
    count in the batch.

    Example:
        x = F.embedding(tc.tensor([[1, 2], [0, 3]]), tc.randn(10, 4))     # (2, 2, 4)
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be a 2-D Tensor (num_embeddings, dim), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    if sparse:
        raise ArgumentError("embedding: sparse gradients are not supported (pass sparse=False)")
    xp = weight.device.backend.xp
    if isinstance(input, Tensor):
        if input.device is not weight.device:
            from ..errors import DeviceError

            raise DeviceError(f"embedding: indices on {input.device}, weight on {weight.device}")
        idx = input._data
    else:
        idx = xp.asarray(input)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, got {idx.dtype}")
    num = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num):
        raise IndexingError(f"embedding: index out of range [0, {num}): got values in "
                            f"[{int(idx.min())}, {int(idx.max())}]")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ArgumentError(f"embedding: padding_idx {padding_idx} out of range for {num} embeddings")
        padding_idx = int(padding_idx) % num
    if max_norm is not None:
        _renorm_(weight, idx, float(max_norm), float(norm_type))
    return Embedding.apply(weight, idx=idx.astype(np.intp, copy=False), padding_idx=padding_idx,
                           scale_grad_by_freq=bool(scale_grad_by_freq))
