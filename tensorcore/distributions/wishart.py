"""Wishart(df, covariance_matrix / precision_matrix / scale_tril): Bartlett-decomposition rsample (gradients to
df through Chi2's implicit reparameterization, to the scale through the factor), log_prob, entropy, moments."""

import math
import warnings

from ..errors import ArgumentError, ShapeError
from . import constraints
from .distribution import Distribution, ExponentialFamily, lazy_property
from .gamma import Chi2
from .multivariate import _precision_to_scale_tril
from .utils import _as_tensor, _finfo, _host_tensor, _rng, _shape

_LOG_2 = math.log(2)


def _mvdigamma(x, p):
    from .. import arange

    return (x.unsqueeze(-1) - arange(p, dtype=x.dtype, device=x.device) / 2).digamma().sum(-1)


class Wishart(ExponentialFamily):
    support = constraints.positive_definite
    has_rsample = True

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        from .. import broadcast_shapes, linalg, tensor

        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ArgumentError("Wishart: exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                                "specified.")
        param = next(p for p in (covariance_matrix, precision_matrix, scale_tril) if p is not None)
        param = _as_tensor(param)
        if param.ndim < 2:
            raise ShapeError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, (int, float)):
            batch_shape = tuple(param.shape[:-2])
            self.df = tensor(float(df), dtype=param.dtype, device=param.device)
        else:
            batch_shape = tuple(broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch_shape)
        event_shape = tuple(param.shape[-2:])
        p = event_shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ArgumentError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if scale_tril is not None:
            self.scale_tril = param.expand(batch_shape + (-1, -1))
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(batch_shape + (-1, -1))
        else:
            self.precision_matrix = param.expand(batch_shape + (-1, -1))
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = param
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = linalg.cholesky(param)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(param)
        self._dist_chi2 = self._chi2()

    def _chi2(self):
        from .. import arange

        offsets = arange(self.event_shape[-1], dtype=self.df.dtype, device=self.df.device)
        return Chi2(self.df.unsqueeze(-1) - offsets.expand(self.batch_shape + (-1,)))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = tuple(batch_shape)
        cov_shape = batch_shape + self.event_shape
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._dist_chi2 = new._chi2()
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self.batch_shape + self.event_shape)

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self.batch_shape + self.event_shape)

    @lazy_property
    def precision_matrix(self):
        from .. import cholesky_solve, eye

        L = self._unbroadcasted_scale_tril
        identity = eye(self.event_shape[-1], dtype=L.dtype, device=L.device).expand(tuple(L.shape))
        return cholesky_solve(identity, L).expand(self.batch_shape + self.event_shape)

    @property
    def mean(self):
        return self.df.reshape(self.batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def mode(self):
        from .. import where

        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = where(factor <= 0, math.nan, factor)
        return factor.reshape(self.batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        d = V.diagonal(dim1=-2, dim2=-1)
        return self.df.reshape(self.batch_shape + (1, 1)) * (V ** 2 + d.unsqueeze(-1) * d.unsqueeze(-2))

    def _bartlett(self, sample_shape):
        from .. import diag_embed

        p = self.event_shape[-1]
        eps = float(_finfo(self.df.dtype).eps)
        diag = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=eps)
        shape = _shape(sample_shape) + self.batch_shape + (p, p)
        lower = _host_tensor(_rng().standard_normal(shape).astype(self.df.dtype.name), self.df).tril(-1)
        chol = self._unbroadcasted_scale_tril @ (diag_embed(diag) + lower)
        return chol @ chol.mT

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Bartlett draws; a singular draw (not positive definite in float) is redrawn up to max_try_correction
        (10) times, with torch's warning."""
        from .. import where

        sample_shape = _shape(sample_shape)
        tries = 10 if max_try_correction is None else max_try_correction
        sample = self._bartlett(sample_shape)
        bad = ~self.support.check(sample)
        if bool(bad.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(tries):
                sample = where(bad.unsqueeze(-1).unsqueeze(-1), self._bartlett(sample_shape), sample)
                bad = ~self.support.check(sample)
                if not bool(bad.any()):
                    break
        return sample

    def log_prob(self, value):
        from .. import cholesky_solve, linalg, mvlgamma

        value = _as_tensor(value, self.df)
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self.event_shape[-1]
        L = self._unbroadcasted_scale_tril
        half_logdet = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        trace = cholesky_solve(value, L).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_logdet) - mvlgamma(nu / 2, p) + (nu - p - 1) / 2 *
                linalg.slogdet(value)[1] - trace / 2)

    def entropy(self):
        from .. import mvlgamma

        nu, p = self.df, self.event_shape[-1]
        half_logdet = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_logdet) + mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self):
        p = self.event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y):
        from .. import linalg, mvlgamma

        p = self.event_shape[-1]
        return (y + (p + 1) / 2) * (-linalg.slogdet(-2 * x)[1] + _LOG_2 * p) + mvlgamma(y + (p + 1) / 2, p)
