"""Keras initializers by name ("glorot_uniform", "orthogonal", ...), drawn from tensorcore's generator."""

import math

import numpy as np

from .. import nn


def keras_fans(shape):
    """(fan_in, fan_out) of a weight in Keras layout: (in, out), or (..., in, out) with a receptive field."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def initial_values(initializer, shape, fans, dtype=np.float32):
    """A NumPy array of `shape` drawn by a Keras initializer name, from tensorcore's generator."""
    from ..random import _gen

    gen = _gen(None)
    fan_in, fan_out = fans
    uniform = lambda limit: gen.uniform(-limit, limit, size=shape)  # noqa: E731
    table = {
        "glorot_uniform": lambda: uniform(math.sqrt(6 / (fan_in + fan_out))),
        "glorot_normal": lambda: _truncated(gen, math.sqrt(2 / (fan_in + fan_out)), shape),
        "he_uniform": lambda: uniform(math.sqrt(6 / fan_in)),
        "he_normal": lambda: _truncated(gen, math.sqrt(2 / fan_in), shape),
        "lecun_uniform": lambda: uniform(math.sqrt(3 / fan_in)),
        "lecun_normal": lambda: _truncated(gen, math.sqrt(1 / fan_in), shape),
        "random_uniform": lambda: uniform(0.05),
        "uniform": lambda: uniform(0.05),
        "random_normal": lambda: gen.normal(0, 0.05, size=shape),
        "normal": lambda: gen.normal(0, 0.05, size=shape),
        "orthogonal": lambda: _orthogonal(gen, shape),
        "zeros": lambda: np.zeros(shape),
        "ones": lambda: np.ones(shape),
    }
    if initializer not in table:
        raise ValueError(f"unknown initializer {initializer!r}; known: {', '.join(sorted(table))}")
    return np.asarray(table[initializer](), dtype=dtype)


def _truncated(gen, std, shape):
    """Keras' truncated normal for the *_normal variance-scaling initializers (cut at 2 std, rescaled)."""
    stddev = std / 0.87962566103423978
    values = gen.normal(0, stddev, size=shape)
    bad = np.abs(values) > 2 * stddev
    while bad.any():
        values[bad] = gen.normal(0, stddev, size=int(bad.sum()))
        bad = np.abs(values) > 2 * stddev
    return values


def _orthogonal(gen, shape):
    """Keras' orthogonal initializer: Q of the QR of a normal (rows, cols) matrix, signs fixed by diag(R)."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    a = gen.normal(0, 1, size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape)


def _initialize(tensor, initializer):
    """Apply a Keras initializer (by name or callable(tensor)) to an nn-layout weight ((out, in, ...)) or bias."""
    if callable(initializer):
        initializer(tensor)
        return
    if tensor.ndim >= 2:
        fans = nn.init.calculate_fan_in_and_fan_out(tensor)
    else:
        fans = (tensor.shape[0], tensor.shape[0])
    if initializer == "glorot_normal":  # kept as the plain normal the nn-layout layers always used
        values = initial_values("random_normal", tensor.shape, fans) / 0.05 * math.sqrt(2 / sum(fans))
    else:
        values = initial_values(initializer, tensor.shape, fans)
    nn.init._fill(tensor, values)


__all__ = ["initial_values", "keras_fans"]
