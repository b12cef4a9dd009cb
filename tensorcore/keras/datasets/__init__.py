"""Keras datasets backed by tensorcore.data (local files only; nothing is downloaded)."""

from . import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
