"""Random sampling with PyTorch's names: tc.multinomial, tc.randperm, tc.normal, tc.bernoulli, and the
in-place fills Tensor.uniform_, normal_, bernoulli_, random_, exponential_, geometric_, cauchy_, log_normal_.
Every one takes `generator=` (a tc.Generator); numbers are drawn on the host (see random.py)."""

import numpy as np

from . import _validate as check
from .device import device as as_device
from .dtypes import as_dtype, get_default_dtype
from .errors import ArgumentError, DTypeError
from .grad_mode import no_grad
from .random import _gen
from .tensor import Tensor, _make


def _boundary(fn):
    """Raw NumPy errors from a bad argument become the tensorcore error naming the function."""
    from .ops.registry import guard

    return guard(fn.__name__, fn)


def _host(t):
    return t.device.backend.to_numpy(t._data)


def _out(array, like_device, requires_grad=False):
    dev = as_device(like_device)
    return _make(dev.backend.from_host(np.asarray(array, order="C"), copy=False), dev, requires_grad, None)


@_boundary
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from each row of input's (unnormalised, non-negative) weights: int64, (rows, num_samples)."""
    if not isinstance(input, Tensor) or input.ndim not in (1, 2) or input.dtype.kind != "f":
        raise ArgumentError("multinomial: input must be a 1-D or 2-D floating tensor of weights")
    num_samples = check.integer(num_samples, "num_samples", "multinomial")
    w = _host(input).astype(np.float64)
    rows = w.reshape(-1, w.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise ArgumentError("multinomial: weights must be finite and non-negative")
    if (rows.sum(1) <= 0).any():
        raise ArgumentError("multinomial: every row of weights must have a positive sum")
    if not replacement and num_samples > (rows > 0).sum(1).min():
        raise ArgumentError(f"multinomial: cannot draw {num_samples} samples without replacement from "
                            f"{int((rows > 0).sum(1).min())} categories of nonzero weight")
    g = _gen(generator)
    out = np.stack([g.choice(rows.shape[1], size=num_samples, replace=bool(replacement), p=r / r.sum())
                    for r in rows]).astype(np.int64)
    return _out(out.reshape(w.shape[:-1] + (num_samples,)), input.device)


@_boundary
def randperm(n, *, generator=None, dtype=np.int64, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1 (int64 by default)."""
    n = check.size(n, "n", "randperm")
    dtype = as_dtype(dtype)
    return _out(_gen(generator).permutation(n).astype(dtype), device, requires_grad)


def _params(v):
    return _host(v).astype(np.float64) if isinstance(v, Tensor) else v


@_boundary
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False,
           layout=None, pin_memory=False, out=None):
    """Normal draws with the given mean(s) and std(s) (tensors broadcast), or of `size` for float ones."""
    if out is not None:
        raise ArgumentError("normal: out= is not supported")
    ref = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    if ref is None and size is None:
        raise ArgumentError("normal: give size= when mean and std are numbers")
    s = _params(std)
    if np.any(np.asarray(s) < 0):
        raise ArgumentError("normal: std must be non-negative")
    shape = check.shape((tuple(size) if isinstance(size, (tuple, list)) else (size,)), "normal", np.float64) \
        if size is not None else np.broadcast_shapes(np.shape(_params(mean)), np.shape(s))
    dtype = as_dtype(dtype) or (ref.dtype if ref is not None else get_default_dtype())
    if dtype.kind != "f":
        raise DTypeError(f"normal: draws floating numbers, not {dtype}")
    draw = _gen(generator).normal(_params(mean), s, size=shape).astype(dtype)
    return _out(draw, device or (ref.device if ref is not None else None), requires_grad)


@_boundary
def bernoulli(input, p=None, *, generator=None):
    """0/1 draws, 1 with probability input (or p), in input's dtype and shape."""
    prob = _host(input).astype(np.float64) if p is None else np.broadcast_to(p, input.shape)
    if np.any((prob < 0) | (prob > 1)):
        raise ArgumentError("bernoulli: probabilities must be in [0, 1]")
    draw = (_gen(generator).random(input.shape) < prob).astype(input.dtype)
    return _out(draw, input.device)


def _fill(t, array, op):
    with no_grad():
        return t._inplace(op, _out(array.astype(t.dtype), t.device))


@_boundary
def uniform_(self, a=0.0, b=1.0, *, generator=None):
    """Fill with uniform draws in [a, b)."""
    return _fill(self, _gen(generator).uniform(a, b, self.shape), "uniform_")


@_boundary
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal draws."""
    if std < 0:
        raise ArgumentError(f"normal_: std must be non-negative, got {std}")
    return _fill(self, _gen(generator).normal(mean, std, self.shape), "normal_")


@_boundary
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 draws, 1 with probability p (a number or a tensor)."""
    prob = _params(p)
    return _fill(self, (_gen(generator).random(self.shape) < prob).astype(np.float64), "bernoulli_")


@_boundary
def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential draws of rate lambd."""
    return _fill(self, _gen(generator).exponential(1.0 / lambd, self.shape), "exponential_")


@_boundary
def random_(self, from_=0, to=None, *, generator=None):
    """Fill with integers drawn from [from_, to) (to defaults to 2**mantissa bits for floats, the dtype's max)."""
    if to is None:
        from_, to = (0, from_) if from_ else (0, None)
    if to is None:
        to = 2 ** np.finfo(self.dtype).nmant + 1 if self.dtype.kind == "f" else np.iinfo(self.dtype).max
    return _fill(self, _gen(generator).integers(from_, to, self.shape), "random_")


@_boundary
def geometric_(self, p, *, generator=None):
    """Fill with geometric draws: the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise ArgumentError(f"geometric_: p must be in (0, 1), got {p}")
    return _fill(self, _gen(generator).geometric(p, self.shape), "geometric_")


@_boundary
def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy draws: median + sigma tan(pi (u - 1/2))."""
    if sigma <= 0:
        raise ArgumentError(f"cauchy_: sigma must be positive, got {sigma}")
    return _fill(self, median + sigma * _gen(generator).standard_cauchy(self.shape), "cauchy_")


@_boundary
def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(N(mean, std^2)) draws."""
    if std <= 0:
        raise ArgumentError(f"log_normal_: std must be positive, got {std}")
    return _fill(self, _gen(generator).lognormal(mean, std, self.shape), "log_normal_")


for _name, _fn in (("uniform_", uniform_), ("normal_", normal_), ("bernoulli_", bernoulli_),
                   ("exponential_", exponential_), ("random_", random_), ("geometric_", geometric_),
                   ("cauchy_", cauchy_), ("log_normal_", log_normal_)):
    setattr(Tensor, _name, _fn)
Tensor.bernoulli = lambda self, p=None, *, generator=None: bernoulli(self, p, generator=generator)
Tensor.multinomial = lambda self, num_samples, replacement=False, *, generator=None: multinomial(
    self, num_samples, replacement, generator=generator)
