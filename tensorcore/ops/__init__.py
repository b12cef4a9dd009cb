"""The differentiable primitives, one family per module (see registry.py for the list)."""

from . import conv, elementwise, index, matmul, nn, norm, pool, reduce, shape  # noqa: F401
from .registry import OPS  # noqa: F401
