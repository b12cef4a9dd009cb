"""torch.distributions.transforms: invertible maps with log|det J|, for TransformedDistribution and
biject_to / transform_to. Transforms are callables on Tensors (differentiable); cache_size=1 keeps the last
(x, y) pair so inv(y) of a just-computed y returns its x exactly (TanhTransform(cache_size=1) for SAC)."""

from .transform_base import ComposeTransform, IndependentTransform, ReshapeTransform, Transform, identity_transform
from .transform_joins import CatTransform, CorrCholeskyTransform, PositiveDefiniteTransform, StackTransform
from .transform_maps import (
    AbsTransform,
    AffineTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    LowerCholeskyTransform,
    PowerTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StickBreakingTransform,
    TanhTransform,
)

__all__ = ["AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform", "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "ExpTransform", "IndependentTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "PowerTransform", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
           "SoftplusTransform", "StackTransform", "StickBreakingTransform", "TanhTransform", "Transform",
           "identity_transform"]
