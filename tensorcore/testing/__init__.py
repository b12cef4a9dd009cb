"""Test support shared by tests/ and `tensorcore gradcheck`: the op cases and the sweep's checks."""

from .assert_close import assert_allclose, assert_close  # noqa: F401  (torch.testing's names)
from .cases import OpCase, all_cases  # noqa: F401
from .make_tensor import make_tensor  # noqa: F401, E402  (torch.testing.make_tensor)
