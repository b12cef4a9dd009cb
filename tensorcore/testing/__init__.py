"""Test support shared by tests/ and `tensorcore gradcheck`: the op cases and the sweep's checks."""

from .cases import OpCase, all_cases  # noqa: F401
