"""The differentiable primitives, one family per module (see registry.py for the list)."""

from . import elementwise, index, matmul, nn, reduce, shape  # noqa: F401
from .registry import OPS  # noqa: F401
