"""tensorcore.distributions: torch.distributions' most used families (Categorical, Normal, Bernoulli,
Uniform) and kl_divergence between two of the same family. log_prob, entropy and rsample are Tensor ops,
so gradients flow to the parameters (REINFORCE, the reparameterization trick); sample() draws from
tc.manual_seed's generator and records nothing.

Example:
    dist = tc.distributions.Categorical(logits=policy(state))
    action = dist.sample()
    loss = -(dist.log_prob(action) * advantage).mean()
"""

import math

import numpy as np

from .errors import ArgumentError, ShapeError
from .tensor import Tensor


def _as_tensor(value, like=None):
    from .tensor import tensor

    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if isinstance(like, Tensor) and like.dtype.kind == "f" else None
    return tensor(value, dtype=dtype) if dtype is not None else tensor(float(value) if np.ndim(value) == 0
                                                                       else value)


def _shape(sample_shape):
    return tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)


def _host_tensor(array, like):
    from .tensor import _make

    array = np.asarray(array)  # (np.ascontiguousarray would make a 0-d draw 1-d: sample() of a scalar is 0-d)
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    return _make(like.device.backend.from_host(array, copy=False), like.device, False, None)


def _rng():
    from .random import default_generator

    return default_generator.np


class Distribution:
    """The shared surface: batch_shape, event_shape, sample_shape handling, mean / stddev / variance."""

    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self.batch_shape, self.event_shape = tuple(batch_shape), tuple(event_shape)

    def _extended(self, sample_shape):
        return _shape(sample_shape) + self.batch_shape + self.event_shape

    @property
    def stddev(self):
        return self.variance.sqrt()

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sample (rsample)")

    def sample_n(self, n):
        return self.sample((n,))

    def __repr__(self):
        names = [n for n in ("probs", "logits", "loc", "scale", "low", "high") if n in self.__dict__]
        return f"{type(self).__name__}(" + ", ".join(f"{n}: {self.__dict__[n].shape}" for n in names) + ")"


class Categorical(Distribution):
    """Classes 0..K-1 with probabilities probs (normalized along the last dim) or logits (log-softmaxed)."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ArgumentError("Categorical: give exactly one of probs or logits")
        if probs is not None:
            probs = _as_tensor(probs)
            if probs.ndim < 1:
                raise ShapeError("Categorical: probs must have at least one dimension")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self.logits = self.probs.clamp(min=np.finfo(self.probs.dtype).tiny).log()
        else:
            logits = _as_tensor(logits)
            if logits.ndim < 1:
                raise ShapeError("Categorical: logits must have at least one dimension")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self.probs = self.logits.exp()
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1])

    @property
    def param_shape(self):
        return tuple(self.probs.shape)

    @property
    def mean(self):
        return self.probs * float("nan")  # as torch: a categorical has no mean

    def sample(self, sample_shape=()):
        """Class indices (int64) of shape sample_shape + batch_shape."""
        shape = _shape(sample_shape)
        p = self.probs.detach().cpu().numpy().astype(np.float64).reshape(-1, self._num_events)
        cdf = np.cumsum(p, axis=-1)
        cdf /= cdf[:, -1:]
        n = int(np.prod(shape)) if shape else 1
        u = _rng().random((n, p.shape[0]))
        idx = np.empty((n, p.shape[0]), dtype=np.int64)
        for row in range(p.shape[0]):
            idx[:, row] = np.searchsorted(cdf[row], u[:, row], side="right")
        idx = np.minimum(idx, self._num_events - 1).reshape(shape + self.batch_shape)
        return _host_tensor(idx, self.probs)

    def log_prob(self, value):
        """log probs[value], value broadcast against batch_shape."""
        from . import broadcast_tensors

        value = _as_tensor(value).long().unsqueeze(-1)
        value, log_pmf = broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        """-sum probs log probs."""
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        from .creation import arange

        values = arange(self._num_events).reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + self.batch_shape) if expand else values


class Normal(Distribution):
    """N(loc, scale^2), loc and scale broadcast together."""

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        from . import broadcast_tensors

        loc, scale = _as_tensor(loc, scale), _as_tensor(scale, loc)
        if loc.dtype.kind != "f":
            loc = loc.float()
        if scale.dtype.kind != "f":
            scale = scale.to(dtype=loc.dtype)
        self.loc, self.scale = broadcast_tensors(loc, scale)
        super().__init__(self.loc.shape)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self.scale ** 2

    @property
    def stddev(self):
        return self.scale

    def _eps(self, sample_shape):
        return _host_tensor(_rng().standard_normal(self._extended(sample_shape)).astype(self.loc.dtype), self.loc)

    def sample(self, sample_shape=()):
        return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()):
        """loc + eps scale, eps ~ N(0, 1): differentiable in loc and scale."""
        return self.loc + self._eps(sample_shape) * self.scale

    def log_prob(self, value):
        """-(value - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi)."""
        value = _as_tensor(value, self.loc)
        return -((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self):
        """1/2 + 1/2 log(2 pi) + log scale."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value):
        from . import erf

        value = _as_tensor(value, self.loc)
        return 0.5 * (1 + erf((value - self.loc) / (self.scale * math.sqrt(2))))


class Bernoulli(Distribution):
    """1 with probability probs (or sigmoid(logits)), else 0."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ArgumentError("Bernoulli: give exactly one of probs or logits")
        if probs is not None:
            self.probs = _as_tensor(probs)
            p = self.probs.clamp(min=float(np.finfo(self.probs.dtype).eps),
                                 max=1 - float(np.finfo(self.probs.dtype).eps))
            self.logits = p.log() - (1 - p).log()
        else:
            self.logits = _as_tensor(logits)
            self.probs = self.logits.sigmoid()
        super().__init__(self.probs.shape)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        p = self.probs.detach().cpu().numpy()
        draws = (_rng().random(self._extended(sample_shape)) < p).astype(p.dtype)
        return _host_tensor(draws, self.probs)

    def log_prob(self, value):
        """value log sigmoid(logits) + (1 - value) log sigmoid(-logits), computed stably."""
        from .nn.functional import binary_cross_entropy_with_logits

        value = _as_tensor(value, self.logits)
        logits, value = _broadcast(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        from .nn.functional import binary_cross_entropy_with_logits

        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Uniform(Distribution):
    """U(low, high)."""

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        from . import broadcast_tensors

        low, high = _as_tensor(low, high), _as_tensor(high, low)
        if low.dtype.kind != "f":
            low = low.float()
        self.low, self.high = broadcast_tensors(low, high.to(dtype=low.dtype))
        super().__init__(self.low.shape)

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def sample(self, sample_shape=()):
        return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()):
        u = _host_tensor(_rng().random(self._extended(sample_shape)).astype(self.low.dtype), self.low)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        """-log(high - low) inside [low, high), -inf outside."""
        from . import where

        value = _as_tensor(value, self.low)
        inside = (value >= self.low) & (value < self.high)
        return where(inside, -(self.high - self.low).log(), float("-inf"))

    def entropy(self):
        return (self.high - self.low).log()


def _broadcast(a, b):
    from . import broadcast_tensors

    return broadcast_tensors(a, b)


def kl_divergence(p, q):
    """KL(p || q) for two distributions of the same family (Normal, Categorical, Bernoulli, Uniform)."""
    if type(p) is not type(q):
        raise NotImplementedError(f"kl_divergence: no formula for {type(p).__name__} against {type(q).__name__}")
    if isinstance(p, Normal):
        var_ratio = (p.scale / q.scale) ** 2
        t1 = ((p.loc - q.loc) / q.scale) ** 2
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    if isinstance(p, Categorical):
        return (p.probs * (p.logits - q.logits)).sum(-1)
    if isinstance(p, Bernoulli):
        from .nn.functional import binary_cross_entropy_with_logits as bce

        return bce(q.logits, p.probs, reduction="none") - bce(p.logits, p.probs, reduction="none")
    if isinstance(p, Uniform):
        from . import where

        result = ((q.high - q.low) / (p.high - p.low)).log()
        return where((q.low > p.low) | (q.high < p.high), float("inf"), result)
    raise NotImplementedError(f"kl_divergence: no formula for {type(p).__name__}")


__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "Uniform", "kl_divergence"]
