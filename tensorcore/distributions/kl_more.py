"""The cross-family kl_divergence pairs of torch.distributions.kl (closed forms; inf where q's support does not
cover p's). Registered on import of tensorcore.distributions."""

import math

from .basic import Bernoulli, Normal, Uniform
from .continuous import Cauchy, Exponential, Laplace
from .discrete import Binomial, Poisson
from .gamma import Beta, Gamma
from .kl import _kl_normal_normal, register_kl
from .multivariate import LowRankMultivariateNormal, MultivariateNormal
from .relaxed import ContinuousBernoulli
from .transformed_families import Gumbel, HalfNormal, Pareto

_EULER = 0.57721566490153286060


def _inf_like(t):
    from .. import full

    return full(tuple(t.shape), math.inf, dtype=t.dtype, device=t.device)


def _inf_where(mask, result):
    from .. import where

    return where(mask, math.inf, result)


def _xlogx(t):
    from .. import xlogy

    return xlogy(t, t)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return _inf_where(p.total_count > q.total_count, kl)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    return ((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log() - (4 * p.scale * q.scale).log()


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    r, a, b = p.scale / q.scale, q.loc / q.scale, p.loc / q.scale
    return -r.log() - a + b + r * _EULER + (a + (1 + r).lgamma() - b).exp() - (1 + _EULER)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * (p.scale / q.scale).log() - alpha_ratio.log() + alpha_ratio - 1
    return _inf_where(p.scale < q.scale, result)


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


def _beta_mean(p):
    return p.concentration1 / (p.concentration1 + p.concentration0)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * _beta_mean(p)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    c1, c0 = p.concentration1, p.concentration0
    t2 = q.concentration.lgamma() - q.concentration * q.rate.log()
    t3 = (q.concentration - 1) * (c1.digamma() - (c1 + c0).digamma())
    return -p.entropy() + t2 - t3 + q.rate * _beta_mean(p)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    m = _beta_mean(p)
    var = q.scale ** 2
    second_moment = m * (1 - m) / (p.concentration1 + p.concentration0 + 1) + m ** 2
    return -p.entropy() + 0.5 * (var * 2 * math.pi).log() + (0.5 * second_moment - q.loc * m + 0.5 * q.loc ** 2) / var


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    return _inf_where((q.low > 0) | (q.high < 1), -p.entropy() + (q.high - q.low).log())


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    s = p.rate * q.scale
    r = q.loc / q.scale
    return s.log() - 1 - r + r.exp() * s / (s + 1) + s.reciprocal()


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    var, rate2 = q.scale ** 2, p.rate ** 2
    return 0.5 * (rate2 * var * 2 * math.pi).log() - 1 + (rate2.reciprocal() - q.loc / p.rate + 0.5 * q.loc ** 2) / var


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    c = p.concentration
    s = p.rate * q.scale
    r = q.loc / q.scale
    t1 = (c - 1) * c.digamma() - c.lgamma() - c
    return t1 + s.log() + c / s + r.exp() * (1 + s.reciprocal()).pow(-c) - r


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    c = p.concentration
    var, rate2 = q.scale ** 2, p.rate ** 2
    t1 = 0.5 * (rate2 * var * 2 * math.pi).log() - c - c.lgamma()
    rest = (0.5 * (c ** 2 + c) / rate2 - q.loc * c / p.rate + 0.5 * q.loc ** 2) / var
    return t1 + (c - 1) * c.digamma() + rest


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    r = p.scale / q.scale
    t1 = (r / math.sqrt(2 * math.pi)).log()
    t2 = (math.pi * r * 0.5) ** 2 / 3
    t3 = ((p.loc + p.scale * _EULER - q.loc) / q.scale) ** 2 * 0.5
    return -t1 + t2 + t3 - (_EULER + 1)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    var = q.scale ** 2
    ratio = p.scale ** 2 / var
    return (-0.5 * (2 * ratio / math.pi).log() + ratio + (0.5 * p.loc ** 2 - p.loc * q.loc + 0.5 * q.loc ** 2) / var
            - 1)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    m = p.loc / q.scale
    v = (p.scale / q.scale) ** 2
    r = q.loc / q.scale
    return -0.5 * v.log() + m - r + (-m + 0.5 * v + r).exp() - 0.5 * (1 + math.log(2 * math.pi))


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    s = p.scale * q.rate
    result = (p.alpha / s).log() - p.alpha.reciprocal() + p.alpha * s / (p.alpha - 1) - 1
    return _inf_where(p.alpha <= 1, result)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    common = p.scale.log() + p.alpha.reciprocal()
    t2 = q.concentration.lgamma() - q.concentration * q.rate.log()
    t4 = q.rate * p.alpha * p.scale / (p.alpha - 1)
    result = p.alpha.log() - common + t2 + (1 - q.concentration) * common + t4 - 1
    return _inf_where(p.alpha <= 1, result)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    var2 = 2 * q.scale ** 2
    common = p.scale / (p.alpha - 1)
    t1 = (math.sqrt(2 * math.pi) * q.scale * p.alpha / p.scale).log()
    t3 = p.alpha * common ** 2 / (p.alpha - 2)
    t4 = (p.alpha * common - q.loc) ** 2
    return _inf_where(p.alpha <= 2, t1 - p.alpha.reciprocal() + (t3 + t4) / var2 - 1)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    w = p.high - p.low
    t2 = (q.concentration1 - 1) * (_xlogx(p.high) - _xlogx(p.low) - w) / w
    t3 = (q.concentration0 - 1) * (_xlogx(1 - p.high) - _xlogx(1 - p.low) + w) / w
    t4 = q.concentration1.lgamma() + q.concentration0.lgamma() - (q.concentration1 + q.concentration0).lgamma()
    return _inf_where((p.high > 1) | (p.low < 0), t3 + t4 - w.log() - t2)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    result = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return _inf_where(p.low < 0, result)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    w = p.high - p.low
    t2 = q.concentration.lgamma() - q.concentration * q.rate.log()
    t3 = (1 - q.concentration) * (_xlogx(p.high) - _xlogx(p.low) - w) / w
    return _inf_where(p.low < 0, -w.log() + t2 + t3 + q.rate * (p.high + p.low) / 2)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    c = q.scale / (p.high - p.low)
    hi, lo = (p.high - q.loc) / q.scale, (p.low - q.loc) / q.scale
    return c.log() + 0.5 * (hi + lo) - c * ((-hi).exp() - (-lo).exp())


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    w = p.high - p.low
    t1 = (q.alpha * q.scale.pow(q.alpha) * w).log()
    t2 = (_xlogx(p.high) - _xlogx(p.low) - w) / w
    return _inf_where(p.low < q.scale, t2 * (q.alpha + 1) - t1)


def _register_infinite(p_type, q_types, attr):
    def kl(p, q):
        return _inf_like(getattr(p, attr))

    for q_type in q_types:
        register_kl(p_type, q_type)(kl)


_register_infinite(Exponential, (Beta, ContinuousBernoulli, Pareto, Uniform), "rate")
_register_infinite(Gamma, (Beta, ContinuousBernoulli, Pareto, Uniform), "concentration")
_register_infinite(Gumbel, (Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform), "loc")
_register_infinite(Laplace, (Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform), "loc")
_register_infinite(Normal, (Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform), "loc")
_register_infinite(Pareto, (Beta, ContinuousBernoulli, Uniform), "scale")
_register_infinite(Poisson, (Bernoulli, Binomial), "rate")
_register_infinite(Beta, (Pareto,), "concentration1")


def _as_dense_mvn(d):
    from .multivariate import MultivariateNormal

    return MultivariateNormal(d.loc, scale_tril=d.scale_tril, validate_args=False)


def _kl_lowrank(p, q):
    """Through the dense Cholesky factors (torch uses the Woodbury identity: equal up to rounding)."""
    from .kl import _kl_mvn_mvn

    return _kl_mvn_mvn(_as_dense_mvn(p) if isinstance(p, LowRankMultivariateNormal) else p,
                       _as_dense_mvn(q) if isinstance(q, LowRankMultivariateNormal) else q)


for _pair in ((LowRankMultivariateNormal, LowRankMultivariateNormal), (LowRankMultivariateNormal, MultivariateNormal),
              (MultivariateNormal, LowRankMultivariateNormal)):
    register_kl(*_pair)(_kl_lowrank)


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p, q):
    return (p.mean * (p.logits - q.logits) + p._cont_bern_log_norm() + (-p.probs).log1p()
            - q._cont_bern_log_norm() - (-q.probs).log1p())


def _cross_cb(p, q):
    """-H(p) - E_p[log q] for q a ContinuousBernoulli, given p's mean."""
    return -p.entropy() - p.mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_cb(p, q):
    return _cross_cb(p, q)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_cb(p, q):
    return _inf_where((p.high >= 1) | (p.low <= 0), _cross_cb(p, q))  # (torch's bounds test, kept as it is)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_cb_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_cb_normal(p, q):
    t2 = 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale) ** 2) + q.scale.log()
    t3 = (p.variance + p.mean ** 2 - 2.0 * q.loc * p.mean) / (2.0 * q.scale ** 2)
    return -p.entropy() + t2 + t3


@register_kl(ContinuousBernoulli, Uniform)
def _kl_cb_uniform(p, q):
    return _inf_where((q.low >= 0) | (q.high <= 1), -p.entropy() + (q.high - q.low).log())  # (torch's test)


_register_infinite(ContinuousBernoulli, (Pareto,), "probs")
