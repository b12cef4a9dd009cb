"""tensorcore.utils: torch.utils' namespaces (tensorcore.utils.data: Dataset, DataLoader, samplers;
tensorcore.utils.checkpoint: activation checkpointing)."""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
