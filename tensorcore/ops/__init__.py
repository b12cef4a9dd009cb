"""The differentiable primitives, one family per module (see registry.py for the list)."""

from . import (  # noqa: F401
    activations,
    arithmetic,
    compare,
    conv,
    elementwise,  # transitional re-exports of the four elementwise families
    gather,
    index,
    joins,
    layout,
    masked,
    matmul,
    nn,
    norm,
    pool,
    reduce,
    scan,
    shape,
    sort,
    stats,
    unary,
)
from .registry import OPS  # noqa: F401
