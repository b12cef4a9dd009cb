"""MultivariateNormal, LowRankMultivariateNormal, MixtureSameFamily."""

import math

from ..errors import ArgumentError, ShapeError
from . import constraints
from .distribution import Distribution, lazy_property
from .utils import _as_tensor, _host_tensor, _rng


def _batch_mv(bmat, bvec):
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(bL, bx):
    """x^T (L L^T)^-1 x for lower triangular L, batched (broadcasting bx's batch against bL's)."""
    from .. import linalg

    n = bx.shape[-1]
    batch = tuple(__import__("tensorcore").broadcast_shapes(tuple(bL.shape[:-2]), tuple(bx.shape[:-1])))
    L = bL.expand(batch + (n, n))
    x = bx.expand(batch + (n,))
    sol = linalg.solve_triangular(L, x.unsqueeze(-1), upper=False).squeeze(-1)
    return (sol * sol).sum(-1)


def _precision_to_scale_tril(P):
    from .. import eye, linalg

    Lf = linalg.cholesky(P.flip(-2, -1))
    L_inv = Lf.flip(-2, -1).transpose(-2, -1)
    Id = eye(P.shape[-1], dtype=P.dtype, device=P.device)
    return linalg.solve_triangular(L_inv, Id.expand(tuple(L_inv.shape)), upper=False)


class MultivariateNormal(Distribution):
    """N(loc, Sigma) with exactly one of covariance_matrix, precision_matrix, scale_tril."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        from .. import broadcast_shapes, linalg

        loc = _as_tensor(loc)
        if loc.ndim < 1:
            raise ShapeError("MultivariateNormal: loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ArgumentError("MultivariateNormal: exactly one of covariance_matrix or precision_matrix or "
                                "scale_tril may be specified.")
        given = scale_tril if scale_tril is not None else (covariance_matrix if covariance_matrix is not None
                                                           else precision_matrix)
        given = _as_tensor(given, loc)
        if given.ndim < 2:
            raise ShapeError("MultivariateNormal: the matrix argument must be at least two-dimensional, with "
                             "optional leading batch dimensions")
        batch_shape = tuple(broadcast_shapes(tuple(given.shape[:-2]), tuple(loc.shape[:-1])))
        n = loc.shape[-1]
        if given.shape[-2:] != (n, n):
            raise ShapeError(f"MultivariateNormal: loc of shape {tuple(loc.shape)} and matrix of shape "
                             f"{tuple(given.shape)} do not agree")
        if scale_tril is not None:
            self.scale_tril = given.expand(batch_shape + (-1, -1))
        elif covariance_matrix is not None:
            self.covariance_matrix = given.expand(batch_shape + (-1, -1))
        else:
            self.precision_matrix = given.expand(batch_shape + (-1, -1))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, (n,), validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = given
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = linalg.cholesky(given)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(given)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = tuple(batch_shape)
        loc_shape, cov_shape = batch_shape + self.event_shape, batch_shape + self.event_shape + self.event_shape
        new.loc = self.loc.expand(loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self.batch_shape + self.event_shape + self.event_shape)

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.transpose(-1, -2)).expand(self.batch_shape + self.event_shape + self.event_shape)

    @lazy_property
    def precision_matrix(self):
        from .. import linalg

        return linalg.inv(self.covariance_matrix)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        L = self._unbroadcasted_scale_tril
        return (L * L).sum(-1).expand(self.batch_shape + self.event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = _host_tensor(_rng().standard_normal(shape).astype(self.loc.dtype.name), self.loc)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def sample(self, sample_shape=()):
        return self.rsample(sample_shape).detach()

    def log_prob(self, value):
        value = _as_tensor(value, self.loc)
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self.event_shape[0] * math.log(2 * math.pi) + M) - half_log_det

    def entropy(self):
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        H = 0.5 * self.event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return H if not self.batch_shape else H.expand(self.batch_shape)


class LowRankMultivariateNormal(Distribution):
    """N(loc, cov_factor cov_factor^T + diag(cov_diag)) (evaluated through its dense Cholesky factor here)."""

    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        from .. import broadcast_shapes

        loc, cov_factor, cov_diag = _as_tensor(loc), _as_tensor(cov_factor, loc), _as_tensor(cov_diag, loc)
        if loc.ndim < 1 or cov_factor.ndim < 2 or cov_diag.ndim < 1:
            raise ShapeError("LowRankMultivariateNormal: loc and cov_diag must be at least 1-d, cov_factor 2-d")
        n = loc.shape[-1]
        if cov_factor.shape[-2] != n or cov_diag.shape[-1] != n:
            raise ShapeError(f"LowRankMultivariateNormal: loc {tuple(loc.shape)}, cov_factor "
                             f"{tuple(cov_factor.shape)} and cov_diag {tuple(cov_diag.shape)} do not agree")
        batch_shape = tuple(broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]),
                                             tuple(cov_diag.shape[:-1])))
        self.loc = loc.expand(batch_shape + (n,))
        self.cov_factor = cov_factor.expand(batch_shape + (n, cov_factor.shape[-1]))
        self.cov_diag = cov_diag.expand(batch_shape + (n,))
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = cov_factor, cov_diag
        super().__init__(batch_shape, (n,), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = tuple(batch_shape)
        n, r = self.event_shape[0], self.cov_factor.shape[-1]
        new.loc = self.loc.expand(batch_shape + (n,))
        new.cov_factor = self.cov_factor.expand(batch_shape + (n, r))
        new.cov_diag = self.cov_diag.expand(batch_shape + (n,))
        new._unbroadcasted_cov_factor, new._unbroadcasted_cov_diag = (self._unbroadcasted_cov_factor,
                                                                      self._unbroadcasted_cov_diag)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        W = self._unbroadcasted_cov_factor
        return ((W * W).sum(-1) + self._unbroadcasted_cov_diag).expand(self.batch_shape + self.event_shape)

    @lazy_property
    def covariance_matrix(self):
        from .. import diag_embed

        W = self._unbroadcasted_cov_factor
        cov = W @ W.transpose(-1, -2) + diag_embed(self._unbroadcasted_cov_diag)
        return cov.expand(self.batch_shape + self.event_shape + self.event_shape)

    @lazy_property
    def scale_tril(self):
        from .. import linalg

        return linalg.cholesky(self.covariance_matrix)

    @lazy_property
    def precision_matrix(self):
        from .. import linalg

        return linalg.inv(self.covariance_matrix)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        r = self.cov_factor.shape[-1]
        W_shape = tuple(shape[:-1]) + (r,)
        eps_W = _host_tensor(_rng().standard_normal(W_shape).astype(self.loc.dtype.name), self.loc)
        eps_D = _host_tensor(_rng().standard_normal(shape).astype(self.loc.dtype.name), self.loc)
        return self.loc + _batch_mv(self._unbroadcasted_cov_factor, eps_W) + self._unbroadcasted_cov_diag.sqrt() * eps_D

    def sample(self, sample_shape=()):
        return self.rsample(sample_shape).detach()

    def log_prob(self, value):
        value = _as_tensor(value, self.loc)
        if self._validate_args:
            self._validate_sample(value)
        L = self.scale_tril
        M = _batch_mahalanobis(L, value - self.loc)
        half_log_det = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self.event_shape[0] * math.log(2 * math.pi) + M) - half_log_det

    def entropy(self):
        half_log_det = self.scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        H = 0.5 * self.event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return H if not self.batch_shape else H.expand(self.batch_shape)


class MixtureSameFamily(Distribution):
    """A mixture, weights mixture_distribution (a Categorical), of the components of component_distribution
    (its rightmost batch dim indexes the components)."""

    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        from .basic import Categorical

        self._mixture_distribution, self._component_distribution = mixture_distribution, component_distribution
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("The Mixture distribution needs to be an instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of torch.distributions.Distribution")
        mdbs, cdbs = mixture_distribution.batch_shape, component_distribution.batch_shape[:-1]
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mdbs}) is not compatible with "
                                 f"`component_distribution.batch_shape`({cdbs})")
        km, kc = mixture_distribution.logits.shape[-1], component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cdbs, component_distribution.event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component, new._event_ndims = self._num_component, self._event_ndims
        Distribution.__init__(new, batch_shape, new._component_distribution.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self):
        return self._component_distribution.support

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    def _pad(self, x):
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x):
        dist_batch_ndims, cat_batch_ndims = len(self.batch_shape), len(self._mixture_distribution.batch_shape)
        pad_ndims = 0 if cat_batch_ndims == 1 else dist_batch_ndims - cat_batch_ndims
        xs = tuple(x.shape)
        return x.reshape(xs[:-1] + (1,) * pad_ndims + xs[-1:] + (1,) * self._event_ndims)

    @property
    def mean(self):
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        mean_cond_var = (probs * self._component_distribution.variance).sum(-1 - self._event_ndims)
        var_cond_mean = (probs * (self._component_distribution.mean - self._pad(self.mean)).pow(2.0)).sum(
            -1 - self._event_ndims)
        return mean_cond_var + var_cond_mean

    def cdf(self, x):
        x = self._pad(x)
        cdf_x = self._component_distribution.cdf(x)
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        x = _as_tensor(x)
        if self._validate_args:
            self._validate_sample(x)
        x = self._pad(x)
        log_prob_x = self._component_distribution.log_prob(x)
        log_mix_prob = self._mixture_distribution.logits.log_softmax(-1)
        return (log_prob_x + log_mix_prob).logsumexp(-1)

    def sample(self, sample_shape=()):
        from .utils import _shape

        sample_shape = _shape(sample_shape)
        sample_len, batch_len = len(sample_shape), len(self.batch_shape)
        gather_dim = sample_len + batch_len
        es = self.event_shape
        mix_sample = self._mixture_distribution.sample(sample_shape)
        mix_shape = tuple(mix_sample.shape)
        comp_samples = self._component_distribution.sample(sample_shape)
        idx = mix_sample.reshape(mix_shape + (1,) * (len(es) + 1)).expand(mix_shape + (1,) + es)
        idx = idx.expand(tuple(comp_samples.shape[:gather_dim]) + (1,) + es)
        return comp_samples.gather(gather_dim, idx).squeeze(gather_dim)
