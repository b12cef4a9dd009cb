"""tc.signal: torch.signal's names (the windows)."""

from . import windows  # noqa: F401
