"""Cases of the core ops: arithmetic, unary math, activations, comparisons, matmul, reductions,
shape, indexing, softmax and losses. Inputs are drawn away from kinks (|x| > 0.1 for relu/abs/max
...), and shapes exercise broadcasting and size-1 dimensions."""

import numpy as np

import tensorcore as tc

from ..backends.cpu import erf as np_erf
from .cases import OpCase


def _away(rng, *shape, low=0.2, high=2.0):
    """Random values with |x| in [low, high): away from kinks at 0."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def _pos(rng, *shape, low=0.5, high=2.0):
    return rng.uniform(low, high, shape)


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _distinct(rng, *shape):
    """Values whose pairwise gaps exceed the finite-difference step (for max/min/sort-like ops)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


_TARGETS = np.array([2, 0, 3])
_PROBS = _softmax(np.random.default_rng(5).standard_normal((3, 4)))


def _ce_ref(x):
    return -_log_softmax(x, 1)[np.arange(3), _TARGETS].mean()


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def _seeded_dropout(x):
    return tc.ops.nn.dropout(x, 0.3, generator=tc.Generator(7))


CASES = [
    # arithmetic, with broadcasting and size-1 dimensions
    OpCase("add", lambda r: (_n(r, 3, 4), _n(r, 4)), lambda a, b: a + b, np.add, label="broadcast"),
    OpCase("add", lambda r: (_n(r, 2, 1, 3), _n(r, 4, 1)), lambda a, b: a + b, np.add, label="size-1"),
    OpCase("sub", lambda r: (_n(r, 3, 1), _n(r, 1, 4)), lambda a, b: a - b, np.subtract),
    OpCase("mul", lambda r: (_n(r, 3, 4), _n(r, 3, 1)), lambda a, b: a * b, np.multiply),
    OpCase("mul", lambda r: (_n(r, 3),), lambda a: 2.5 * a, lambda a: 2.5 * a, label="scalar"),
    OpCase("div", lambda r: (_n(r, 2, 3), _pos(r, 3)), lambda a, b: a / b, np.divide),
    OpCase("div", lambda r: (_pos(r, 3),), lambda a: 1.0 / a, lambda a: 1.0 / a, label="rdiv"),
    OpCase("pow", lambda r: (_pos(r, 2, 3), _n(r, 3)), lambda a, b: a**b, np.power),
    OpCase("pow", lambda r: (_n(r, 4),), lambda a: a**3, lambda a: a**3, label="int exponent"),
    OpCase("neg", lambda r: (_n(r, 2, 3),), lambda a: -a, np.negative),
    # unary math
    OpCase("exp", lambda r: (_n(r, 2, 3),), tc.exp, np.exp),
    OpCase("log", lambda r: (_pos(r, 2, 3),), tc.log, np.log),
    OpCase("log1p", lambda r: (_pos(r, 2, 3, low=0.1),), tc.log1p, np.log1p),
    OpCase("sqrt", lambda r: (_pos(r, 2, 3),), tc.sqrt, np.sqrt),
    OpCase("sin", lambda r: (_n(r, 5),), tc.sin, np.sin),
    OpCase("cos", lambda r: (_n(r, 5),), tc.cos, np.cos),
    OpCase("abs", lambda r: (_away(r, 2, 3),), tc.abs, np.abs),
    OpCase("erf", lambda r: (_n(r, 2, 3),), tc.erf, np_erf),
    # activations
    OpCase("relu", lambda r: (_away(r, 3, 4),), tc.relu, lambda x: np.maximum(x, 0)),
    OpCase("leaky_relu", lambda r: (_away(r, 3, 4),), lambda x: tc.leaky_relu(x, 0.1),
           lambda x: np.where(x > 0, x, 0.1 * x)),
    OpCase("sigmoid", lambda r: (_n(r, 3, 4),), tc.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    OpCase("tanh", lambda r: (_n(r, 3, 4),), tc.tanh, np.tanh),
    OpCase("elu", lambda r: (_away(r, 3, 4),), tc.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    OpCase("gelu", lambda r: (_n(r, 3, 4),), tc.gelu, lambda x: 0.5 * x * (1 + np_erf(x / np.sqrt(2)))),
    OpCase("gelu", lambda r: (_n(r, 3, 4),), lambda x: tc.gelu(x, approximate="tanh"), _gelu_tanh, label="tanh"),
    OpCase("softplus", lambda r: (_n(r, 3, 4) * 3,), tc.softplus, lambda x: np.log1p(np.exp(x))),
    # clip / maximum / minimum / where
    OpCase("clamp", lambda r: (_n(r, 4, 5) + 0.05,), lambda x: tc.clip(x, -0.5, 0.6),
           lambda x: np.clip(x, -0.5, 0.6)),
    OpCase("maximum", lambda r: (_distinct(r, 3, 4), _distinct(r, 4) + 0.11), tc.maximum, np.maximum),
    OpCase("minimum", lambda r: (_distinct(r, 3, 4), _distinct(r, 4) + 0.11), tc.minimum, np.minimum),
    OpCase("where", lambda r: (_n(r, 3, 4), _n(r, 4)),
           lambda a, b: tc.where(np.arange(12).reshape(3, 4) % 3 == 0, a, b),
           lambda a, b: np.where(np.arange(12).reshape(3, 4) % 3 == 0, a, b)),
    # comparisons and logic: forward only (no gradient)
    *[OpCase(name, lambda r: (_distinct(r, 3, 4), _distinct(r, 4)), fn, ref, differentiable=False)
      for name, fn, ref in (("eq", lambda a, b: a == b, np.equal), ("ne", lambda a, b: a != b, np.not_equal),
                            ("lt", lambda a, b: a < b, np.less), ("le", lambda a, b: a <= b, np.less_equal),
                            ("gt", lambda a, b: a > b, np.greater), ("ge", lambda a, b: a >= b, np.greater_equal))],
    OpCase("logical_and", lambda r: (_n(r, 3, 4), _n(r, 4)), lambda a, b: tc.logical_and(a > 0, b > 0),
           lambda a, b: np.logical_and(a > 0, b > 0), differentiable=False),
    OpCase("logical_or", lambda r: (_n(r, 3, 4), _n(r, 4)), lambda a, b: tc.logical_or(a > 0, b > 0),
           lambda a, b: np.logical_or(a > 0, b > 0), differentiable=False),
    OpCase("logical_not", lambda r: (_n(r, 3, 4),), lambda a: tc.logical_not(a > 0), lambda a: a <= 0,
           differentiable=False),
    OpCase("sign", lambda r: (_away(r, 3, 4),), tc.sign, np.sign, differentiable=False),
    # matmul and linear
    OpCase("matmul", lambda r: (_n(r, 3, 4), _n(r, 4, 2)), tc.matmul, np.matmul, label="2d"),
    OpCase("matmul", lambda r: (_n(r, 2, 1, 3, 4), _n(r, 3, 4, 2)), tc.matmul, np.matmul, label="batched broadcast"),
    OpCase("matmul", lambda r: (_n(r, 4), _n(r, 2, 4, 3)), tc.matmul, np.matmul, label="1d @ batched"),
    OpCase("matmul", lambda r: (_n(r, 3, 4), _n(r, 4)), tc.matmul, np.matmul, label="2d @ 1d"),
    OpCase("matmul", lambda r: (_n(r, 4), _n(r, 4)), tc.matmul, np.matmul, label="dot"),
    OpCase("linear", lambda r: (_n(r, 5, 4), _n(r, 3, 4), _n(r, 3)), tc.linear, lambda x, w, b: x @ w.T + b),
    OpCase("linear", lambda r: (_n(r, 2, 2, 4), _n(r, 3, 4)), tc.linear, lambda x, w: x @ w.T, label="3d, no bias"),
    # reductions, shape and indexing: cases_reduce.py, cases_shape.py, cases_index.py
    # softmax family and losses
    OpCase("softmax", lambda r: (_n(r, 3, 4),), lambda x: tc.softmax(x, axis=1), lambda x: _softmax(x, 1)),
    OpCase("log_softmax", lambda r: (_n(r, 3, 4),), lambda x: tc.log_softmax(x, axis=0),
           lambda x: _log_softmax(x, 0)),
    OpCase("cross_entropy", lambda r: (_n(r, 3, 4),), lambda x: tc.ops.nn.cross_entropy(x, _TARGETS), _ce_ref,
           label="int targets (fused)"),
    OpCase("cross_entropy", lambda r: (_n(r, 3, 4),), lambda x: tc.ops.nn.cross_entropy(x, _PROBS),
           lambda x: -(_PROBS * _log_softmax(x, 1)).sum(1).mean(), label="probability targets",
           float32=False),  # the targets are a float64 constant
    OpCase("cross_entropy", lambda r: (_n(r, 3, 4),),
           lambda x: tc.ops.nn.cross_entropy(x, _TARGETS, label_smoothing=0.1), label="label smoothing"),
    OpCase("nll_loss", lambda r: (_n(r, 3, 4),), lambda x: tc.ops.nn.nll_loss(x, _TARGETS, reduction="sum"),
           lambda x: -x[np.arange(3), _TARGETS].sum()),
    OpCase("mse_loss", lambda r: (_n(r, 3, 4), _n(r, 3, 4)), tc.ops.nn.mse_loss,
           lambda a, b: ((a - b) ** 2).mean()),
    OpCase("binary_cross_entropy_with_logits", lambda r: (_n(r, 3, 4) * 3, r.uniform(0, 1, (3, 4))),
           tc.ops.nn.binary_cross_entropy_with_logits,
           lambda x, t: (np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))).mean()),
    OpCase("dropout", lambda r: (_n(r, 4, 5),), _seeded_dropout),
]

