"""Normal, Categorical, Bernoulli, Uniform (the session-7 families, now validated and expandable)."""

import math

import numpy as np

from ..errors import ArgumentError, ShapeError
from . import constraints
from .distribution import Distribution, ExponentialFamily
from .utils import _as_tensor, _finfo, _host, _host_tensor, _rng, _shape, broadcast_all, clamp_probs


def _new(self, cls, _instance):
    return self._get_checked_instance(cls, _instance)


class Normal(ExponentialFamily):
    """N(loc, scale^2), loc and scale broadcast together."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Normal, ("loc", "scale"), batch_shape, _instance)

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
        if self._validate_args:
            self._validate_sample(value)
        return -((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self):
        """1/2 + 1/2 log(2 pi) + log scale."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value):
        from .. import erf

        value = _as_tensor(value, self.loc)
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value):
        from .. import erfinv

        value = _as_tensor(value, self.loc)
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)


class Categorical(Distribution):
    """Classes 0..K-1 with probabilities probs (normalized along the last dim) or logits (log-softmaxed)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ArgumentError(f"{type(self).__name__}: give exactly one of probs or logits")
        name = type(self).__name__
        if probs is not None:
            probs = _as_tensor(probs)
            if probs.ndim < 1:
                raise ShapeError(f"{name}: probs must have at least one dimension")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self.logits = clamp_probs(self.probs).log()  # torch's probs_to_logits: probs clamped to [eps, 1 - eps]
        else:
            logits = _as_tensor(logits)
            if logits.ndim < 1:
                raise ShapeError(f"{name}: logits must have at least one dimension")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self.probs = self.logits.exp()
        self._param = self.probs
        self._derived = ("logits",) if probs is not None else ("probs",)
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = _new(self, Categorical, _instance)
        batch_shape = tuple(batch_shape)
        shape = batch_shape + (self._num_events,)
        new.probs, new.logits = self.probs.expand(shape), self.logits.expand(shape)
        new._param, new._num_events = new.probs, self._num_events
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self):
        return tuple(self.probs.shape)

    @property
    def mean(self):
        return self.probs.sum(-1) * float("nan")  # as torch: a categorical has no mean

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return self.probs.sum(-1) * float("nan")

    def sample(self, sample_shape=()):
        """Class indices (int64) of shape sample_shape + batch_shape."""
        shape = _shape(sample_shape)
        p = _host(self.probs).reshape(-1, self._num_events)
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
        from .. import broadcast_tensors

        value = _as_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        """-sum probs log probs."""
        logits = self.logits.clamp(min=float(_finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        from ..creation import arange

        values = arange(self._num_events, device=self.probs.device).reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + self.batch_shape) if expand else values


class Bernoulli(ExponentialFamily):
    """1 with probability probs (or sigmoid(logits)), else 0."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ArgumentError("Bernoulli: give exactly one of probs or logits")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            p = self.probs.clamp(min=float(_finfo(self.probs.dtype).eps),
                                 max=1 - float(_finfo(self.probs.dtype).eps))
            self.logits = p.log() - (1 - p).log()
        else:
            (self.logits,) = broadcast_all(logits)
            self.probs = self.logits.sigmoid()
        self._derived = ("logits",) if probs is not None else ("probs",)
        super().__init__(self.probs.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(Bernoulli, ("probs", "logits"), batch_shape, _instance)
        new._derived = self._derived
        return new

    @property
    def param_shape(self):
        return tuple(self.probs.shape)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        from .. import where

        mode = (self.probs >= 0.5).to(dtype=self.probs.dtype)
        return where(self.probs == 0.5, float("nan"), mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        p = self.probs.detach().cpu().numpy()
        draws = (_rng().random(self._extended(sample_shape)) < p).astype(p.dtype)
        return _host_tensor(draws, self.probs)

    def log_prob(self, value):
        """value log sigmoid(logits) + (1 - value) log sigmoid(-logits), computed stably."""
        from .. import broadcast_tensors
        from ..nn.functional import binary_cross_entropy_with_logits

        value = _as_tensor(value, self.logits)
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_tensors(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value.to(dtype=logits.dtype), reduction="none")

    def entropy(self):
        from ..nn.functional import binary_cross_entropy_with_logits

        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        from ..creation import arange

        values = arange(2, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + self.batch_shape) if expand else values


class Uniform(Distribution):
    """U(low, high)."""

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)

    @property
    def arg_constraints(self):
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Uniform, ("low", "high"), batch_shape, _instance)

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def mode(self):
        return self.low * float("nan")

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    def sample(self, sample_shape=()):
        return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()):
        u = _host_tensor(_rng().random(self._extended(sample_shape)).astype(self.low.dtype), self.low)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        """-log(high - low) inside [low, high), -inf outside."""
        from .. import where

        value = _as_tensor(value, self.low)
        if self._validate_args:
            self._validate_sample(value)
        inside = (value >= self.low) & (value < self.high)
        return where(inside, -(self.high - self.low).log(), float("-inf"))

    def cdf(self, value):
        value = _as_tensor(value, self.low)
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        value = _as_tensor(value, self.low)
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()
