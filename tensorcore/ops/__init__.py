"""The differentiable primitives, one family per module (see registry.py for the list)."""

from . import (  # noqa: F401
    activations,
    arithmetic,
    binary_math,
    blocks,
    compare,
    conv,
    elementwise,  # transitional re-exports of the four elementwise families
    embed,
    gather,
    index,
    joins,
    layout,
    logic,
    masked,
    matmul,
    nn,
    norm,
    piecewise_activations,
    pool,
    reduce,
    rounding,
    scan,
    series,
    shape,
    smooth_activations,
    sort,
    stats,
    unary,
    unary_math,
)
from .registry import OPS  # noqa: F401
