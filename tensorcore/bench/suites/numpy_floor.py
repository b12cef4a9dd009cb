"""The floor for a NumPy engine: the MLP's training step written by hand in NumPy (no framework at all).

Forward (linear, ReLU, linear, ReLU, linear), softmax cross-entropy, the manual backward and
PyTorch's Adam (bias-corrected, eps added after the square root), with every update in place
through one scratch buffer per parameter. tensorcore runs the same arithmetic plus its tape, so
its step time over this one is what the framework costs.

Example:
    step = mlp_step([w1, b1, w2, b2, w3, b3], lr=1e-3, batches=[(x, y), ...])
    loss = step()          # the next batch of the cycle; or step(x, y)
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def mlp_step(params, lr=1e-3, batches=None, betas=(0.9, 0.999), eps=1e-8):
    """A step function `step(x=None, y=None) -> loss` training copies of `params` with Adam.

    params: [w1, b1, w2, b2, w3, b3], float32 arrays in PyTorch's layout (weights (out, in));
    batches: (x (N, 784) float32, y (N,) int64) pairs, cycled when step() gets no batch.
    """
    params = [np.array(p, dtype=np.float32) for p in params]
    if len(params) != 6:
        raise ValueError(f"mlp_step: expected 3 linear layers' weights and biases (6 arrays), got {len(params)}")
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    scratch = [np.empty_like(p) for p in params]
    b1, b2 = betas
    cycle = itertools.cycle(batches) if batches else None
    state = {"t": 0}

    def step(x=None, y=None):
        if x is None:
            x, y = next(cycle)
        x = x.reshape(len(x), -1)
        w1, c1, w2, c2, w3, c3 = params
        h1 = x @ w1.T
        h1 += c1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2.T
        h2 += c2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3.T
        z += c3
        z -= z.max(axis=1, keepdims=True)  # NOTE: stable softmax: exp of non-positive numbers only
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = float(-np.log(z[rows, y]).mean())
        z[rows, y] -= 1  # d loss / d logits = (softmax - onehot) / N
        z /= len(y)
        g3, gc3 = z.T @ h2, z.sum(0)
        d2 = z @ w3
        d2 *= h2 > 0
        g2, gc2 = d2.T @ h1, d2.sum(0)
        d1 = d2 @ w2
        d1 *= h1 > 0
        g1, gc1 = d1.T @ x, d1.sum(0)
        state["t"] += 1
        t = state["t"]
        for p, g, mi, vi, s in zip(params, (g1, gc1, g2, gc2, g3, gc3), m, v, scratch):
            np.subtract(g, mi, out=s)  # m += (1 - b1) (g - m)
            s *= 1 - b1
            mi += s
            vi *= b2  # v = b2 v + (1 - b2) g^2
            np.multiply(g, g, out=s)
            s *= 1 - b2
            vi += s
            np.sqrt(vi, out=s)  # p -= lr / (1 - b1^t) m / (sqrt(v / (1 - b2^t)) + eps)
            s *= 1 / math.sqrt(1 - b2**t)
            s += eps
            np.divide(mi, s, out=s)
            s *= lr / (1 - b1**t)
            p -= s
        return loss

    step.params = params
    return step
