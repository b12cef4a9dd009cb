"""Symbolic tensors of the functional API (KerasTensor, the Node that makes one), nested-structure helpers,
and the training flag of the model call in progress."""

import threading

import numpy as np


class KerasTensor:
    """A symbolic tensor of the functional API: a shape (batch axis None), a dtype and the node that makes it."""

    def __init__(self, shape, dtype="float32", name=None, node=None, index=0):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.name = name
        self.node, self.index = node, index

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    # Arithmetic records a TensorOp layer (layers.py), as Keras 3 records keras.ops calls: x + residual.
    __array_ufunc__ = None  # ndarray + KerasTensor defers to __radd__

    def _op(self, op, *args):
        from .layers import TensorOp

        return TensorOp(op)(*args)

    def __add__(self, other):
        return self._op("add", self, other)

    def __radd__(self, other):
        return self._op("add", other, self)

    def __sub__(self, other):
        return self._op("subtract", self, other)

    def __rsub__(self, other):
        return self._op("subtract", other, self)

    def __mul__(self, other):
        return self._op("multiply", self, other)

    def __rmul__(self, other):
        return self._op("multiply", other, self)

    def __truediv__(self, other):
        return self._op("divide", self, other)

    def __rtruediv__(self, other):
        return self._op("divide", other, self)

    def __matmul__(self, other):
        return self._op("matmul", self, other)

    def __pow__(self, other):
        return self._op("power", self, other)

    def __neg__(self):
        return self._op("negative", self)


class Node:
    """One call of a layer in a functional graph: the call's arguments (KerasTensors inside) and its outputs."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs
        self.inputs = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        cls = type(layer)
        self.default_mask = getattr(cls.compute_mask, "default_rule", False)  # no input mask: no output mask
        self.simple = (len(args) == 1 and isinstance(args[0], KerasTensor) and not kwargs
                       and getattr(cls.masks_for_call, "default_rule", False))


def flatten(structure):
    """The leaves of nested lists, tuples and dicts (dicts in key order)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in flatten(structure[key])]
    return [structure]


def map_structure(fn, structure):
    """The same nesting of lists, tuples and dicts with fn applied to each leaf."""
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


_mode = threading.local()  # the training flag of the model call in progress (fit sets it)


def current_training():
    return getattr(_mode, "training", None)


class training_mode:
    """Context manager: layers called inside without an explicit training= see this value."""

    def __init__(self, training):
        self.training = training

    def __enter__(self):
        self.saved = current_training()
        _mode.training = self.training

    def __exit__(self, *exc):
        _mode.training = self.saved


def current_forward():
    """A token for the outermost model call in progress (None outside one): activity penalties collected
    under one token belong to one forward pass."""
    return getattr(_mode, "forward", None)


class model_forward:
    """Context manager around a model's forward pass; only the outermost one starts a new token."""

    def __enter__(self):
        self.outer = current_forward() is None
        if self.outer:
            _mode.forward = object()

    def __exit__(self, *exc):
        if self.outer:
            _mode.forward = None


__all__ = ["KerasTensor", "Node", "current_forward", "current_training", "flatten", "map_structure",
           "model_forward", "training_mode"]
