"""tc.masked: torch.masked's reductions and normalizations on a dense tensor and a boolean mask.

As PyTorch's: the masked-out elements are replaced by the operation's identity (0 for sums and norms, 1 for
products, -inf for maxima and log-sum-exp, +inf for minima, NaN for the median), then the ordinary op runs;
mean and var divide by the number of elements kept. The mask broadcasts to the input's shape; mask=None keeps
all. Gradients are those of `where` and the op: none reaches a masked-out element.
"""

import math

import numpy as np

from .errors import ArgumentError, DTypeError
from .tensor import Tensor

__all__ = ["amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "log_softmax", "logaddexp", "logsumexp", "mean",
           "median", "norm", "normalize", "prod", "softmax", "softmin", "std", "sum", "var"]


def _mask(op, input, mask):
    import tensorcore as tc

    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        mask = tc.tensor(mask, device=input.device)
    if mask.dtype != np.bool_:
        raise DTypeError(f"masked.{op}: mask must be a bool tensor, got {mask.dtype}")
    try:
        np.broadcast_shapes(tuple(mask.shape), tuple(input.shape))
    except ValueError:
        raise ArgumentError(f"masked.{op}: mask of shape {tuple(mask.shape)} does not broadcast to the input's "
                            f"{tuple(input.shape)}") from None
    return mask.expand(*input.shape) if tuple(mask.shape) != tuple(input.shape) else mask


def _fill(op, input, mask, identity):
    import tensorcore as tc

    mask = _mask(op, input, mask)
    return input if mask is None else tc.where(mask, input, identity)


def _dims(dim, ndim):
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(d % ndim if ndim else 0 for d in dims) or None


def _cast(x, dtype):
    return x if dtype is None else x.to(dtype)


def _reduce(x, fn, dim, keepdim):
    dims = _dims(dim, x.ndim)
    if x.ndim == 0:
        return fn(x, None, False)
    return fn(x, dims if dims is None or len(dims) > 1 else dims[0], bool(keepdim))


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The sum of the kept elements."""
    x = _cast(_fill("sum", input, mask, 0.0), dtype)
    return _reduce(x, lambda t, d, k: t.sum() if d is None and not k else t.sum(dim=d, keepdim=k), dim, keepdim)


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The product of the kept elements."""
    x = _cast(_fill("prod", input, mask, 1.0), dtype)
    dims = _dims(dim, x.ndim)
    if dims is None or x.ndim == 0:
        out = x.prod()
        return out.reshape((1,) * x.ndim) if keepdim and x.ndim else out
    for d in sorted(dims, reverse=True):
        x = x.prod(dim=d, keepdim=bool(keepdim))
    return x


def _extreme(name, identity):
    def reduce(input, dim=None, *, keepdim=False, dtype=None, mask=None):
        x = _cast(_fill(name, input, mask, identity), dtype)
        return _reduce(x, lambda t, d, k: getattr(t, name)() if d is None and not k else getattr(t, name)(dim=d,
                                                                                                          keepdim=k),
                       dim, keepdim)

    reduce.__name__ = name
    reduce.__doc__ = f"The {name[1:]} of the kept elements ({identity} where none is kept)."
    return reduce


amax = _extreme("amax", -math.inf)
amin = _extreme("amin", math.inf)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The index of the largest kept element, in dtype (default: the input's dtype, as PyTorch's)."""
    out = _fill("argmax", input, mask, -math.inf).argmax(dim=dim, keepdim=bool(keepdim))
    return out.to(input.dtype if dtype is None else dtype)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The index of the smallest kept element, in dtype (default: the input's dtype, as PyTorch's)."""
    out = _fill("argmin", input, mask, math.inf).argmin(dim=dim, keepdim=bool(keepdim))
    return out.to(input.dtype if dtype is None else dtype)


def _count(input, mask, dim, keepdim):
    import tensorcore as tc

    return sum(tc.ones(tuple(input.shape), dtype=tc.int64, device=input.device), dim, keepdim=keepdim, mask=mask)


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The mean of the kept elements (NaN where none is kept)."""
    if mask is None:
        return _reduce(_cast(input, dtype), lambda t, d, k: t.mean() if d is None and not k else t.mean(dim=d,
                                                                                                        keepdim=k),
                       dim, keepdim)
    return sum(input, dim, keepdim=keepdim, dtype=dtype, mask=mask) / _count(input, mask, dim, keepdim)


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """log sum exp of the kept elements."""
    import tensorcore as tc

    x = _cast(_fill("logsumexp", input, mask, -math.inf), dtype)
    dims = _dims(dim, x.ndim)
    return tc.logsumexp(x, dim=tuple(range(x.ndim)) if dims is None else dims, keepdim=bool(keepdim))


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):
    """The ord-norm of the kept elements (the masked ones count as 0; as inf for ord = -inf)."""
    import tensorcore as tc

    x = _cast(_fill("norm", input, mask, math.inf if ord == -math.inf else 0.0), dtype)
    return tc.linalg.vector_norm(x, ord, dim=_dims(dim, x.ndim), keepdim=bool(keepdim))


def _std_var(op, input, dim, unbiased, correction, keepdim, dtype, mask, sqrt):
    import tensorcore as tc

    if unbiased is not None and correction is not None:
        raise ArgumentError(f"masked.{op}: give unbiased or correction, not both")
    correction = 1 if unbiased is None and correction is None else (int(unbiased) if correction is None
                                                                       else correction)
    if mask is None:
        x = _cast(input, dtype)
        dims = _dims(dim, x.ndim)
        out = tc.var(x, dim=dims, correction=correction, keepdim=bool(keepdim))
        return tc.sqrt(out) if sqrt else out
    total = sum(input, dim, keepdim=True, dtype=dtype, mask=mask)
    count = _count(input, mask, dim, True)
    d = _cast(input, dtype) - total / count
    square = sum(d * d, dim, keepdim=keepdim, mask=mask)
    if not keepdim:
        count = count.reshape(tuple(square.shape))
    if correction:
        count = tc.clamp(count - correction, min=0)
    out = square / count
    return tc.sqrt(out) if sqrt else out


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    """The variance of the kept elements, divided by (count - correction) (correction 1 by default)."""
    return _std_var("var", input, dim, unbiased, correction, keepdim, dtype, mask, False)


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    """The standard deviation of the kept elements (var's square root)."""
    return _std_var("std", input, dim, unbiased, correction, keepdim, dtype, mask, True)


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    """The median of the kept elements (nanmedian with the masked ones NaN)."""
    import tensorcore as tc

    x = _fill("median", _cast(input, dtype) if input.dtype.kind == "f" else input.to(tc.float32), mask, math.nan)
    return tc.nanmedian(x, dim=dim, keepdim=bool(keepdim)).values


def _normalizer(name, identity, fn_name):
    def fn(input, dim, *, dtype=None, mask=None):
        import tensorcore.nn.functional as F

        return getattr(F, fn_name)(_cast(_fill(name, input, mask, identity), dtype), dim=dim)

    fn.__name__ = name
    fn.__doc__ = f"{fn_name} with the masked elements at {identity} (so at 0 probability)."
    return fn


softmax = _normalizer("softmax", -math.inf, "softmax")
log_softmax = _normalizer("log_softmax", -math.inf, "log_softmax")
softmin = _normalizer("softmin", math.inf, "softmin")


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    """The kept elements over max(their ord-norm, eps) (masked ones 0)."""
    import tensorcore as tc

    n = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return _cast(_fill("normalize", input, mask, 0.0), dtype) / tc.clamp(n, min=eps)


def cumsum(input, dim, *, dtype=None, mask=None):
    """The running sum, the masked elements counting as 0."""
    return _cast(_fill("cumsum", input, mask, 0.0), dtype).cumsum(dim=dim)


def cumprod(input, dim, *, dtype=None, mask=None):
    """The running product, the masked elements counting as 1."""
    return _cast(_fill("cumprod", input, mask, 1.0), dtype).cumprod(dim=dim)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    """logaddexp with each side's masked elements at -inf."""
    import tensorcore as tc

    return _cast(tc.logaddexp(_fill("logaddexp", input, input_mask, -math.inf),
                              _fill("logaddexp", other, other_mask, -math.inf)), dtype)
