"""The differentiable primitives, one family per module (see registry.py for the list)."""

from . import (  # noqa: F401
    activations,
    arithmetic,
    compare,
    conv,
    elementwise,  # transitional re-exports of the four elementwise families
    index,
    matmul,
    nn,
    norm,
    pool,
    reduce,
    shape,
    unary,
)
from .registry import OPS  # noqa: F401
