"""Gradcheck cases for the regularized incomplete gamma functions (ops/igamma.py): the gradient flows to x only
(PyTorch has no derivative for a). Forward values are checked against torch in tests/test_parity_s8_top_igamma.py."""

import numpy as np

from ..ops import igamma as G
from .cases import OpCase


def _shape_and_point(rng):
    return rng.uniform(0.5, 4.0, (3, 4)), rng.uniform(0.2, 6.0, (3, 4))


def _exponential_cdf(a, x):
    """P(1, x) = 1 - e^-x."""
    return np.broadcast_to(1.0 - np.exp(-x), np.broadcast_shapes(a.shape, x.shape))


CASES = [
    OpCase("igamma", _shape_and_point, G.igamma, requires_grad=(False, True)),
    OpCase("igamma", lambda r: (np.ones((2, 3)), r.uniform(0.1, 3.0, (3,))), G.igamma, _exponential_cdf,
           requires_grad=(False, True), label="a=1 broadcast"),
    OpCase("igammac", _shape_and_point, G.igammac, requires_grad=(False, True)),
]
