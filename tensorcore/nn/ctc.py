"""Connectionist temporal classification: nn.CTCLoss, F.ctc_loss and torch.ctc_loss (PyTorch's).

The loss of one sample is -log p(target | input), p summed over every alignment of the target to the
input frames, blanks allowed between labels and between repeats. Forward is the log-space alpha recursion
over the extended label sequence l' = (blank, l1, blank, l2, ..., blank), one NumPy step per frame for the
whole batch; backward runs the beta recursion and combines the two.

The gradient is PyTorch's, which is not the derivative with respect to log_probs themselves: torch returns
    d/d log_probs[t, n, c] = exp(log_probs[t, n, c]) - exp(log(sum_{s: l'_s = c} alpha_t(s) beta_t(s)) + nll - lp)
(the gradient with respect to the logits when log_probs = log_softmax(logits)), and zero on frames past
input_lengths[n]. Through log_softmax, the usual way to call it, both give the same gradient to the logits,
so a finite-difference check holds for ctc_loss(log_softmax(x), ...), as in PyTorch's own tests.
"""

import operator

import numpy as np

from .. import _validate as check
from ..autograd import Function
from ..errors import ArgumentError, DTypeError, IndexingError, ShapeError
from ..ops.registry import guard
from ..tensor import Tensor
from .module import Module

_REDUCTIONS = ("none", "mean", "sum")


def _lengths(op, name, value, n):
    """input_lengths / target_lengths (a Tensor, a tuple or list of ints, or an int) -> a tuple of n ints."""
    if isinstance(value, Tensor):
        if value.dtype.kind in "fcV":
            raise DTypeError(f"{op}: {name} must be integers, got {value.dtype}")
        if value.ndim > 1:
            raise ShapeError(f"{op}: {name} must be 0-D or 1-D, got shape {tuple(value.shape)}")
        out = tuple(int(v) for v in np.asarray(value.detach().cpu().numpy()).reshape(-1))
    elif isinstance(value, (tuple, list)):
        out = tuple(operator.index(v) for v in value)
    elif isinstance(value, bool):
        raise ArgumentError(f"{op}: {name} must be a Tensor or a sequence of ints, got bool")
    else:
        out = (operator.index(value),)
    if len(out) != n:
        raise ShapeError(f"{op}: {name} must have {n} entries (one per batch element), got {len(out)}")
    if any(v < 0 for v in out):
        raise ArgumentError(f"{op}: {name} must be non-negative, got {out}")
    return out


def _padded_targets(op, targets, target_lengths, n):
    """targets (N, S) padded or (sum(target_lengths),) concatenated -> an int64 (N, S_max) array."""
    if not isinstance(targets, Tensor):
        raise ArgumentError(f"{op}: targets must be a Tensor, got {type(targets).__name__}")
    if targets.dtype.kind in "fcV":
        raise DTypeError(f"{op}: targets must be integers, got {targets.dtype}")
    t = np.asarray(targets.detach().cpu().numpy()).astype(np.int64)
    s_max = max(target_lengths, default=0)
    out = np.zeros((n, s_max), dtype=np.int64)
    if t.ndim == 2:
        if t.shape[0] != n or t.shape[1] < s_max:
            raise ShapeError(f"{op}: 2-D targets must have shape (N={n}, S >= max(target_lengths)={s_max}), got "
                             f"{tuple(t.shape)}")
        for i, length in enumerate(target_lengths):
            out[i, :length] = t[i, :length]
    elif t.ndim == 1:
        if t.shape[0] < sum(target_lengths):
            raise ShapeError(f"{op}: 1-D (concatenated) targets must have at least sum(target_lengths)="
                             f"{sum(target_lengths)} entries, got {t.shape[0]}")
        start = 0
        for i, length in enumerate(target_lengths):
            out[i, :length] = t[start:start + length]
            start += length
    else:
        raise ShapeError(f"{op}: targets must be 1-D (concatenated) or 2-D (N, S), got shape {tuple(t.shape)}")
    return out


def _logadd(a, b):
    return np.logaddexp(a, b)


class CTCLossPerSample(Function):
    """log_probs (T, N, C) -> the negative log-likelihood of each sample (N,)."""

    op_name = "ctc_loss"
    once_differentiable = True  # as PyTorch's: its backward has no derivative

    @staticmethod
    def forward(ctx, lp, targets, input_lengths, target_lengths, blank, zero_infinity):
        xp = ctx.backend.xp
        lp_np = np.asarray(lp.get() if hasattr(lp, "get") else lp)
        T, N, C = lp_np.shape
        S = np.asarray(target_lengths, dtype=np.int64)
        lens = np.asarray(input_lengths, dtype=np.int64)
        L = 2 * targets.shape[1] + 1
        s_idx = np.arange(L)
        ext = np.full((N, L), blank, dtype=np.int64)
        ext[:, 1::2] = targets
        valid = s_idx[None, :] <= 2 * S[:, None]
        ext[~valid] = blank
        skip = (s_idx % 2 == 1) & (s_idx >= 3)
        skip = skip[None, :] & (ext != np.roll(ext, 2, axis=1)) & valid
        lpe = lp_np[:, np.arange(N)[:, None], ext]  # (T, N, L): log y of l'_s at each frame
        lpe = np.where(valid[None], lpe, -np.inf)
        neg = np.full((N, 1), -np.inf, dtype=lp_np.dtype)
        neg2 = np.full((N, 2), -np.inf, dtype=lp_np.dtype)
        alpha = np.full((T, N, L), -np.inf, dtype=lp_np.dtype)
        if T:
            alpha[0, :, :2] = lpe[0, :, :2]
        for t in range(1, T):
            prev = alpha[t - 1]
            one = np.concatenate([neg, prev[:, :-1]], axis=1)
            two = np.where(skip, np.concatenate([neg2, prev[:, :-2]], axis=1), -np.inf)
            alpha[t] = lpe[t] + _logadd(_logadd(prev, one), two)
        rows = np.arange(N)
        last = np.clip(lens - 1, 0, None)
        end = alpha[last, rows, 2 * S] if T else np.full(N, -np.inf, dtype=lp_np.dtype)
        end_prev = np.where(S > 0, alpha[last, rows, np.clip(2 * S - 1, 0, None)] if T else -np.inf, -np.inf)
        ll = _logadd(end, end_prev)
        ll = np.where(lens == 0, np.where(S == 0, 0.0, -np.inf), ll)  # no frames: only the empty target
        nll = (-ll).astype(lp_np.dtype)
        ctx.cache = (lp_np, ext, valid, skip, lpe, alpha, lens, S, nll, blank, zero_infinity)
        if zero_infinity:
            nll = np.where(np.isinf(nll), 0.0, nll).astype(lp_np.dtype)
        return xp.asarray(nll)

    @staticmethod
    def backward(ctx, grad):
        return CTCLossPerSample.backward_arrays(ctx, grad._data)

    @staticmethod
    def backward_arrays(ctx, g):
        lp, ext, valid, skip, lpe, alpha, lens, S, nll, blank, zero_infinity = ctx.cache
        xp = ctx.backend.xp
        g = np.asarray(g.get() if hasattr(g, "get") else g)
        T, N, C = lp.shape
        L = ext.shape[1]
        rows = np.arange(N)
        beta = np.full((T, N, L), -np.inf, dtype=lp.dtype)
        neg = np.full((N, 1), -np.inf, dtype=lp.dtype)
        neg2 = np.full((N, 2), -np.inf, dtype=lp.dtype)
        skip_from = np.concatenate([skip[:, 2:], np.zeros((N, 2), dtype=bool)], axis=1)  # s -> s + 2 allowed
        nxt = np.full((N, L), -np.inf, dtype=lp.dtype)
        for t in range(T - 1, -1, -1):
            one = np.concatenate([nxt[:, 1:], neg], axis=1)
            two = np.where(skip_from, np.concatenate([nxt[:, 2:], neg2], axis=1), -np.inf)
            b = lpe[t] + _logadd(_logadd(nxt, one), two)
            b[lens <= t] = -np.inf
            start = np.flatnonzero(lens - 1 == t)
            if start.size:
                b[start] = -np.inf
                b[start, 2 * S[start]] = lpe[t, start, 2 * S[start]]
                has = start[S[start] > 0]
                b[has, 2 * S[has] - 1] = lpe[t, has, 2 * S[has] - 1]
            beta[t] = nxt = b
        ab = alpha + beta  # (T, N, L)
        top = ab.max(axis=2, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        # sum_{s: l'_s = c} exp(ab - top) for every (t, n, c): one bincount over the flat (t, n, label) positions
        weights = np.where(valid[None], np.exp(ab - top), 0.0)
        flat = (np.arange(T)[:, None, None] * N + rows[None, :, None]) * C + ext[None]
        summed = np.bincount(flat.reshape(-1), weights.reshape(-1), minlength=T * N * C).reshape(T, N, C)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lcab = (np.log(summed) + top).astype(lp.dtype)
            grad = np.exp(lp) - np.exp(lcab + nll[None, :, None] - lp)
        frames = np.arange(T)[:, None] < lens[None, :]  # (T, N)
        grad = np.where(frames[:, :, None], grad, 0.0)
        if zero_infinity:
            grad = np.where(np.isinf(nll)[None, :, None], 0.0, grad)
        grad = (grad * g[None, :, None]).astype(lp.dtype)
        return (xp.asarray(grad),)


def _ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    op = "ctc_loss"
    if not isinstance(log_probs, Tensor):
        raise ArgumentError(f"{op}: log_probs must be a Tensor, got {type(log_probs).__name__}")
    if log_probs.dtype.name not in ("float32", "float64"):
        raise DTypeError(f"{op}: log_probs must be float32 or float64, got {log_probs.dtype}")
    if reduction not in _REDUCTIONS:
        raise ArgumentError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        if isinstance(targets, Tensor) and targets.ndim == 1:
            targets = targets.unsqueeze(0)
    elif log_probs.ndim != 3:
        raise ShapeError(f"{op}: log_probs must be (T, N, C) or (T, C), got shape {tuple(log_probs.shape)}")
    T, N, C = log_probs.shape
    blank = operator.index(blank)
    if not 0 <= blank < C:
        raise ArgumentError(f"{op}: blank must be in [0, {C}) for {C} classes, got {blank}")
    in_lens = _lengths(op, "input_lengths", input_lengths, N)
    tgt_lens = _lengths(op, "target_lengths", target_lengths, N)
    if any(v > T for v in in_lens):
        raise ShapeError(f"{op}: input_lengths must be at most T={T} (log_probs {tuple(log_probs.shape)}), got "
                         f"{in_lens}")
    padded = _padded_targets(op, targets, tgt_lens, N)
    for i, length in enumerate(tgt_lens):
        bad = padded[i, :length][(padded[i, :length] < 0) | (padded[i, :length] >= C)]
        if bad.size:
            raise IndexingError(f"{op}: target label {int(bad[0])} (sample {i}) is out of range for {C} classes")
    loss = CTCLossPerSample.apply(log_probs, targets=padded, input_lengths=in_lens, target_lengths=tgt_lens,
                                  blank=blank, zero_infinity=bool(zero_infinity))
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        from ..tensor import tensor

        div = tensor([max(v, 1) for v in tgt_lens], dtype=loss.dtype, device=loss.device)
        return (loss / div).mean()
    return loss.squeeze(0) if unbatched else loss


_guarded = guard("ctc_loss", _ctc_loss)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """torch.nn.functional.ctc_loss: log_probs (T, N, C) (log_softmax over C) or (T, C); targets (N, S) padded
    or (sum(target_lengths),) concatenated; lengths as Tensors, tuples or lists. reduction 'mean' divides each
    loss by its target length (at least 1), then averages over the batch."""
    return _guarded(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity)


def torch_ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False):
    """torch.ctc_loss: as F.ctc_loss, with reduction as PyTorch's enum (0 'none', 1 'mean', 2 'sum'). Left out, it
    is 0 ('none'): what torch's Python binding gives (ATen's schema says Mean), as torch_top_nn.py notes."""
    if isinstance(reduction, str):
        name = reduction
    elif isinstance(reduction, int) and not isinstance(reduction, bool) and 0 <= reduction <= 2:
        name = _REDUCTIONS[reduction]
    else:
        raise ArgumentError(f"ctc_loss: reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction!r}")
    return ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, name, zero_infinity)


class CTCLoss(Module):
    """torch.nn.CTCLoss(blank=0, reduction='mean', zero_infinity=False)."""

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ArgumentError(f"CTCLoss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.blank = check.integer(blank, "blank", "CTCLoss", minimum=0)
        self.reduction, self.zero_infinity = reduction, check.flag(zero_infinity, "zero_infinity", "CTCLoss")

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                        self.zero_infinity)

    def extra_repr(self):
        return ""
