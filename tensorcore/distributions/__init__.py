"""tensorcore.distributions: torch.distributions' families, transforms, constraints and kl_divergence.
log_prob, entropy and rsample are Tensor ops, so gradients flow to the parameters (REINFORCE, the
reparameterization trick, implicit reparameterization for Gamma / Beta / Dirichlet); sample() draws from
tc.manual_seed's generator and records nothing. Invalid parameters, and log_prob values outside the support,
raise tc.ArgumentError (a ValueError, as torch raises ValueError) unless validate_args=False (or
Distribution.set_default_validate_args(False)).

Example:
    dist = tc.distributions.Categorical(logits=policy(state))
    action = dist.sample()
    loss = -(dist.log_prob(action) * advantage).mean()
"""

from . import constraints, kl_more, transforms  # noqa: F401  (kl_more registers its kl pairs)
from .basic import Bernoulli, Categorical, Normal, Uniform
from .constraint_registry import biject_to, transform_to
from .continuous import Cauchy, Exponential, Laplace, StudentT, VonMises
from .discrete import (
    Binomial,
    Geometric,
    Multinomial,
    NegativeBinomial,
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
    Poisson,
)
from .distribution import Distribution, ExponentialFamily
from .gamma import Beta, Chi2, Dirichlet, Gamma
from .kl import kl_divergence, register_kl
from .more_families import (
    FisherSnedecor,
    GeneralizedPareto,
    InverseGamma,
    Kumaraswamy,
    LKJCholesky,
    LogisticNormal,
)
from .multivariate import LowRankMultivariateNormal, MixtureSameFamily, MultivariateNormal
from .relaxed import ContinuousBernoulli, RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed import (
    Gumbel,
    HalfCauchy,
    HalfNormal,
    Independent,
    LogNormal,
    Pareto,
    TransformedDistribution,
    Weibull,
)
from .transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from .wishart import Wishart

__all__ = ["AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform", "Categorical", "Cauchy",
           "Chi2", "ComposeTransform", "ContinuousBernoulli", "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "Dirichlet", "Distribution", "ExpTransform", "Exponential",
           "ExponentialFamily", "FisherSnedecor", "Gamma", "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy",
           "HalfNormal", "Independent", "IndependentTransform", "InverseGamma", "Kumaraswamy", "LKJCholesky",
           "Laplace", "LogNormal", "LogisticNormal", "LowRankMultivariateNormal", "LowerCholeskyTransform",
           "MixtureSameFamily", "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Pareto", "Poisson", "PositiveDefiniteTransform", "PowerTransform",
           "RelaxedBernoulli", "RelaxedOneHotCategorical", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
           "SoftplusTransform", "StackTransform", "StickBreakingTransform", "StudentT", "TanhTransform", "Transform",
           "TransformedDistribution", "Uniform", "VonMises", "Weibull", "Wishart", "biject_to", "constraints",
           "identity_transform", "kl_divergence", "register_kl", "transform_to", "transforms"]


def _alias_torch_submodules():
    """torch.distributions' per-family module names (from torch.distributions.normal import Normal, ...) as
    aliases of the modules that hold the classes here."""
    import sys

    from . import (
        basic,
        continuous,
        discrete,
        distribution,
        gamma,
        more_families,
        multivariate,
        relaxed,
        transformed,
        transformed_families,
        wishart,
    )

    names = {"bernoulli": basic, "categorical": basic, "normal": basic, "uniform": basic, "beta": gamma,
             "chi2": gamma, "dirichlet": gamma, "gamma": gamma, "cauchy": continuous, "exponential": continuous,
             "laplace": continuous, "studentT": continuous, "von_mises": continuous, "binomial": discrete,
             "geometric": discrete, "multinomial": discrete, "negative_binomial": discrete,
             "one_hot_categorical": discrete, "poisson": discrete, "exp_family": distribution,
             "lowrank_multivariate_normal": multivariate, "mixture_same_family": multivariate,
             "multivariate_normal": multivariate, "continuous_bernoulli": relaxed, "relaxed_bernoulli": relaxed,
             "relaxed_categorical": relaxed, "independent": transformed, "transformed_distribution": transformed,
             "gumbel": transformed_families, "half_cauchy": transformed_families, "half_normal": transformed_families,
             "log_normal": transformed_families, "pareto": transformed_families, "weibull": transformed_families,
             "inverse_gamma": more_families, "kumaraswamy": more_families, "generalized_pareto": more_families,
             "lkj_cholesky": more_families, "wishart": wishart,
             "logistic_normal": more_families,
             "fishersnedecor": more_families}
    for name, module in names.items():
        if name not in globals():  # (gamma is a real module here already)
            globals()[name] = module
            sys.modules[f"{__name__}.{name}"] = module


_alias_torch_submodules()
