"""tensorcore.utils: torch.utils' namespaces (tensorcore.utils.data: Dataset, DataLoader, samplers)."""

from . import data

__all__ = ["data"]
