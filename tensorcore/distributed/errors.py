"""The error tensorcore.distributed raises on purpose."""

from ..errors import TensorcoreError


class DistributedError(TensorcoreError, RuntimeError):
    """Misuse of the process group, or ranks that disagree (different models, shapes or dtypes)."""
