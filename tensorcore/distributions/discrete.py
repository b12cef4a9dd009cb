"""Poisson, Geometric, Binomial, NegativeBinomial, Multinomial, OneHotCategorical (+ StraightThrough)."""

import numpy as np

from ..errors import ArgumentError
from . import constraints
from .basic import Categorical
from .distribution import Distribution, ExponentialFamily
from .utils import (
    _as_tensor,
    _finfo,
    _host,
    _host_tensor,
    _rng,
    broadcast_all,
    clamp_probs,
    logits_to_probs,
    probs_to_logits,
)


def _probs_or_logits(name, probs, logits, is_binary=True):
    if (probs is None) == (logits is None):
        raise ArgumentError(f"{name}: either `probs` or `logits` must be specified, but not both.")


def _count_and_probs(self, name, total_count, probs, logits):
    """Binomial's and NegativeBinomial's parameters: total_count broadcast with probs or logits (in their dtype),
    the other one derived."""
    _probs_or_logits(name, probs, logits)
    if probs is not None:
        self.total_count, self.probs = broadcast_all(total_count, probs)
        self.total_count = self.total_count.to(dtype=self.probs.dtype)
        self.logits = probs_to_logits(self.probs, is_binary=True)
    else:
        self.total_count, self.logits = broadcast_all(total_count, logits)
        self.total_count = self.total_count.to(dtype=self.logits.dtype)
        self.probs = logits_to_probs(self.logits, is_binary=True)
    self._derived = ("logits",) if probs is not None else ("probs",)


def _finish_expand(new, self, batch_shape, event_shape=()):
    Distribution.__init__(new, tuple(batch_shape), event_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


class Poisson(ExponentialFamily):
    """Poisson(rate) on the nonnegative integers."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Poisson, _instance)
        new.rate = self.rate.expand(tuple(batch_shape))
        return _finish_expand(new, self, batch_shape)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        draws = _rng().poisson(np.broadcast_to(_host(self.rate), shape))
        return _host_tensor(np.asarray(draws).astype(self.rate.dtype.name), self.rate)

    def log_prob(self, value):
        from .. import xlogy

        value = _as_tensor(value, self.rate)
        if self._validate_args:
            self._validate_sample(value)
        return xlogy(value, self.rate) - self.rate - (value + 1).lgamma()


class Geometric(Distribution):
    """Number of failures before the first success, success probability probs (or sigmoid(logits))."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        _probs_or_logits("Geometric", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            (self.logits,) = broadcast_all(logits)
            self.probs = logits_to_probs(self.logits, is_binary=True)
        self._derived = ("logits",) if probs is not None else ("probs",)
        super().__init__(self.probs.shape, validate_args=validate_args)
        if self._validate_args and probs is not None and not bool((self.probs > 0).all()):
            raise ArgumentError(f"Expected parameter probs of Geometric (shape {tuple(self.probs.shape)}) to be "
                                "positive")

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Geometric, _instance)
        new.probs, new.logits = self.probs.expand(tuple(batch_shape)), self.logits.expand(tuple(batch_shape))
        return _finish_expand(new, self, batch_shape)

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return self.probs * 0

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        tiny = float(_finfo(self.probs.dtype).tiny)
        u = np.maximum(_rng().random(shape), tiny)
        p = np.broadcast_to(_host(self.probs), shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            draws = np.floor(np.log(u) / np.log1p(-p))
        return _host_tensor(np.asarray(draws).astype(self.probs.dtype.name), self.probs)

    def log_prob(self, value):
        from .. import broadcast_tensors, where

        value = _as_tensor(value, self.probs)
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_tensors(value, self.probs)
        probs = where((probs == 1) & (value == 0), 0.0, probs)  # 0 log(1 - 1) = 0
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        from ..nn.functional import binary_cross_entropy_with_logits

        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


class Binomial(Distribution):
    """Binomial(total_count, probs or logits)."""

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        _count_and_probs(self, "Binomial", total_count, probs, logits)
        super().__init__(self.probs.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Binomial, _instance)
        bs = tuple(batch_shape)
        new.total_count, new.probs, new.logits = (self.total_count.expand(bs), self.probs.expand(bs),
                                                  self.logits.expand(bs))
        return _finish_expand(new, self, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        n = np.broadcast_to(_host(self.total_count), shape).astype(np.int64)
        draws = _rng().binomial(n, np.broadcast_to(_host(self.probs), shape))
        return _host_tensor(np.asarray(draws).astype(self.probs.dtype.name), self.probs)

    def log_prob(self, value):
        from .. import where

        value = _as_tensor(value, self.probs)
        if self._validate_args:
            self._validate_sample(value)
        n = self.total_count
        log_factorial_n = (n + 1).lgamma()
        log_factorial_k = (value + 1).lgamma()
        log_factorial_nmk = (n - value + 1).lgamma()
        logits = self.logits
        # value * logits - n log(1 + e^logits), stably: n * max(logits, 0) + n log1p(e^-|logits|)
        normalize_term = n * logits.clamp(min=0) + n * (-logits.abs()).exp().log1p() - log_factorial_n
        normalize_term = where((n == 0) & (logits == float("-inf")), 0.0, normalize_term)
        return value * logits - log_factorial_k - log_factorial_nmk - normalize_term

    def entropy(self):
        total = int(self.total_count.max().item())
        if not bool((self.total_count == total).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        lp = self.log_prob(self.enumerate_support(False))
        return -(lp.exp() * lp).sum(0)

    def enumerate_support(self, expand=True):
        from ..creation import arange

        total = int(self.total_count.max().item())
        if not bool((self.total_count == total).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        values = arange(1 + total, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + self.batch_shape) if expand else values


class NegativeBinomial(Distribution):
    """Number of successes before total_count failures, success probability probs (or sigmoid(logits))."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0), "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        _count_and_probs(self, "NegativeBinomial", total_count, probs, logits)
        super().__init__(self.probs.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(NegativeBinomial, _instance)
        bs = tuple(batch_shape)
        new.total_count, new.probs, new.logits = (self.total_count.expand(bs), self.probs.expand(bs),
                                                  self.logits.expand(bs))
        return _finish_expand(new, self, batch_shape)

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        rate = _rng().standard_gamma(np.broadcast_to(_host(self.total_count), shape)) * np.exp(
            np.broadcast_to(_host(self.logits), shape))
        draws = _rng().poisson(rate)
        return _host_tensor(np.asarray(draws).astype(self.probs.dtype.name), self.probs)

    def log_prob(self, value):
        from .. import where
        from ..nn.functional import logsigmoid

        value = _as_tensor(value, self.probs)
        if self._validate_args:
            self._validate_sample(value)
        log_unnormalized = self.total_count * logsigmoid(-self.logits) + value * logsigmoid(self.logits)
        log_normalization = (-(self.total_count + value).lgamma() + (1.0 + value).lgamma()
                             + self.total_count.lgamma())
        log_normalization = where(self.total_count + value == 0.0, 0.0, log_normalization)
        return log_unnormalized - log_normalization


class Multinomial(Distribution):
    """Multinomial(total_count, probs or logits): counts over the last dim summing to total_count."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        batch_shape = self._categorical.batch_shape
        event_shape = tuple(self._categorical.param_shape[-1:])
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        return _finish_expand(new, self, batch_shape, self.event_shape)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        from .utils import _shape

        sample_shape = _shape(sample_shape)
        k = self.event_shape[0]
        p = _host(self.probs).reshape(-1, k)
        n = int(np.prod(sample_shape)) if sample_shape else 1
        out = np.empty((n, p.shape[0], k))
        for row in range(p.shape[0]):
            out[:, row] = _rng().multinomial(self.total_count, p[row] / p[row].sum(), size=n)
        out = out.reshape(sample_shape + self.batch_shape + self.event_shape)
        return _host_tensor(out.astype(self.probs.dtype.name), self.probs)

    def log_prob(self, value):
        from .. import broadcast_tensors, where

        value = _as_tensor(value, self.probs)
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_tensors(self.logits, value)
        log_factorial_n = float(np.log(np.arange(1, self.total_count + 1)).sum())
        log_factorial_xs = (value + 1).lgamma().sum(-1)
        logits = where((value == 0) & (logits == float("-inf")), 0.0, logits)
        return (logits * value).sum(-1) + log_factorial_n - log_factorial_xs

    def entropy(self):
        import math

        from ..creation import arange

        n = self.total_count
        support = arange(1, n + 1, dtype=self.probs.dtype, device=self.probs.device)
        support = support.reshape((-1,) + (1,) * (len(self.batch_shape) + 1))
        binomial = Binomial(n, probs=self.probs, validate_args=False)
        weights = ((support + 1).lgamma() * binomial.log_prob(support).exp()).sum(0).sum(-1)
        # torch takes lgamma of an int64 tensor here, which it computes in float32: the same rounding, to agree
        log_factorial_n = float(np.float32(math.lgamma(n + 1)))
        return n * self._categorical.entropy() - log_factorial_n + weights


class OneHotCategorical(Distribution):
    """One-hot vectors of Categorical(probs or logits) draws."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape, tuple(self._categorical.param_shape[-1:]),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(OneHotCategorical, _instance)
        new._categorical = self._categorical.expand(batch_shape)
        return _finish_expand(new, self, batch_shape, self.event_shape)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        from ..nn.functional import one_hot

        return one_hot(self.probs.argmax(-1), self.event_shape[-1]).to(dtype=self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        from ..nn.functional import one_hot

        indices = self._categorical.sample(sample_shape)
        return one_hot(indices, self.event_shape[-1]).to(dtype=self.probs.dtype)

    def log_prob(self, value):
        value = _as_tensor(value, self.probs)
        if self._validate_args:
            self._validate_sample(value)
        indices = value.max(-1)[1]
        return self._categorical.log_prob(indices)

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        from .. import eye

        n = self.event_shape[0]
        values = eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + self.batch_shape + (n,)) if expand else values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """OneHotCategorical whose rsample passes gradients straight through: sample + probs - probs.detach()."""

    has_rsample = True

    def rsample(self, sample_shape=()):
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())


__all__ = ["Binomial", "Geometric", "Multinomial", "NegativeBinomial", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Poisson", "clamp_probs"]
