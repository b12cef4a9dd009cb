"""The kernel suite's sequence-model ops: scaled dot-product attention and layer norm, forward and backward.

Cases (float32): attention at the char GPT's block (batch 16, 4 heads, 64 tokens, head size 32,
causal) and, in the full run, a BERT-base block (8, 12 heads, 128 tokens, 64, not causal); layer
norm over the GPT's rows (1024 x 128) and, in the full run, BERT-base's (1024 x 768) and (8192 x 1024).
The backward cases time the backward alone: tensorcore's primitive from the forward's saved
(out, lse) or (mean, rstd); PyTorch's autograd.grad over a graph recorded once (retain_graph).
Each backend class of kernels.py takes these ops from the mixin of its name here.
"""

from __future__ import annotations

import math

import numpy as np

F32 = 4
# (label, batch, heads, length, head size, causal)
ATTENTION_QUICK = (("gpt.block", 16, 4, 64, 32, True),)
ATTENTION_FULL = ATTENTION_QUICK + (("bert_base.block", 8, 12, 128, 64, False),)
# (label, rows, columns)
LAYER_NORM_QUICK = (("gpt.ln", 1024, 128),)
LAYER_NORM_FULL = LAYER_NORM_QUICK + (("bert_base.ln", 1024, 768), ("large.ln", 8192, 1024))
SHAPE_NAMES = {"attention": "B,H,L,S,E,causal", "layer_norm": "rows,columns"}
EPS = 1e-5


# --- float64 references (written out: softmax with the row max, the textbook gradients) ----------------------


def _probabilities(q, k, causal):
    s = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        s = np.where(np.triu(np.ones(s.shape[-2:], bool), 1), -np.inf, s)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention_reference(q, k, v, causal):
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    return _probabilities(q, k, causal) @ v


def attention_backward_reference(q, k, v, dout, causal):
    q, k, v, dout = (np.asarray(a, np.float64) for a in (q, k, v, dout))
    p = _probabilities(q, k, causal)
    dp = dout @ v.swapaxes(-1, -2)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) / math.sqrt(q.shape[-1])
    return ds @ k, ds.swapaxes(-1, -2) @ q, p.swapaxes(-1, -2) @ dout


def layer_norm_reference(x, w, b):
    x = np.asarray(x, np.float64)
    xhat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + EPS)
    return xhat * w + b


def layer_norm_backward_reference(x, w, b, dy):
    x, w, dy = (np.asarray(a, np.float64) for a in (x, w, dy))
    xhat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + EPS)
    g = dy * w
    dx = (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True)) / np.sqrt(
        x.var(axis=1, keepdims=True) + EPS)
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


# --- the cases ----------------------------------------------------------------------------------------------


def attention_cases(case_type, label, batch, heads, length, head, causal):
    shape4 = (batch, heads, length, head)
    bhlsd = float(batch * heads * length * length * head)

    def inputs(n):
        return lambda rng: tuple(rng.standard_normal(shape4, dtype=np.float32) for _ in range(n))

    common = dict(family="attention", label=label, shape=(batch, heads, length, length, head, causal),
                  memory_bound=False, params={"causal": causal})
    return [
        case_type("attention_forward", make_inputs=inputs(3), reference=lambda q, k, v: attention_reference(
            q, k, v, causal), flops=4 * bhlsd, nbytes=F32 * 4 * math.prod(shape4), **common),
        case_type("attention_backward", make_inputs=inputs(4),
                  reference=lambda q, k, v, g: attention_backward_reference(q, k, v, g, causal),
                  flops=10 * bhlsd, nbytes=F32 * 8 * math.prod(shape4), **common),
    ]


def layer_norm_cases(case_type, label, rows, cols):
    def inputs(with_dy):
        def make(rng):
            x = rng.standard_normal((rows, cols), dtype=np.float32) + 1
            w, b = rng.standard_normal(cols, dtype=np.float32), rng.standard_normal(cols, dtype=np.float32)
            return (x, w, b, rng.standard_normal((rows, cols), dtype=np.float32)) if with_dy else (x, w, b)

        return make

    n = float(rows * cols)
    common = dict(family="layer_norm", label=label, shape=(rows, cols), memory_bound=True)
    return [
        case_type("layer_norm_forward", make_inputs=inputs(False), reference=layer_norm_reference, flops=8 * n,
                  nbytes=F32 * 2 * n, **common),
        case_type("layer_norm_backward", make_inputs=inputs(True), reference=layer_norm_backward_reference,
                  flops=12 * n, nbytes=F32 * 3 * n, **common),
    ]


def build_cases(case_type, ops, quick):
    cases = []
    if "attention" in ops:
        for spec in ATTENTION_QUICK if quick else ATTENTION_FULL:
            cases += attention_cases(case_type, *spec)
    if "layer_norm" in ops:
        for spec in LAYER_NORM_QUICK if quick else LAYER_NORM_FULL:
            cases += layer_norm_cases(case_type, *spec)
    return cases


# --- the backends' ops -----------------------------------------------------------------------------------------


class _Table:
    """The ops through a tensorcore backend table (`self.table()`: backends.cpu or backends.cuda)."""

    def op_attention_forward(self, case, q, k, v):
        t, causal = self.table(), case.params["causal"]
        return lambda: t.attention_forward(q, k, v, None, causal, None)[0]

    def op_attention_backward(self, case, q, k, v, g):
        t, causal = self.table(), case.params["causal"]
        out, lse = t.attention_forward(q, k, v, None, causal, None)
        return lambda: t.attention_backward(q, k, v, out, lse, g, None, causal, None)

    def op_layer_norm_forward(self, case, x, w, b):
        t = self.table()
        return lambda: t.layer_norm_forward(x, w, b, EPS)[0]

    def op_layer_norm_backward(self, case, x, w, b, dy):
        t = self.table()
        _, mean, rstd = t.layer_norm_forward(x, w, b, EPS)
        return lambda: t.layer_norm_backward(dy, x, w, mean, rstd)


class CpuSeq(_Table):
    def table(self):
        from ...backends import cpu

        return cpu


class CudaSeq(_Table):
    def table(self):
        if getattr(self, "simulated", False):
            from .kernels import Unsupported

            raise Unsupported("the sequence ops run through the cuda backend table (CuPy arrays), not simulated")
        from ...backends import cuda

        return cuda


class CupySeq:
    """The cuda backend's CuPy fallback (`tc.backends.cuda.attention = "cupy"`): the NumPy code on CuPy."""

    def op_attention_forward(self, case, q, k, v):
        import cupy

        from ...backends.cpu_attention import attention_forward_xp

        return lambda: attention_forward_xp(cupy, q, k, v, None, case.params["causal"], None)[0]

    def op_attention_backward(self, case, q, k, v, g):
        import cupy

        from ...backends.cpu_attention import attention_backward_xp, attention_forward_xp

        causal = case.params["causal"]
        out, lse = attention_forward_xp(cupy, q, k, v, None, causal, None)
        return lambda: attention_backward_xp(cupy, q, k, v, out, lse, g, None, causal, None)

    def op_layer_norm_forward(self, case, x, w, b):
        import cupy

        from ...backends.cpu_attention import layer_norm_forward_xp

        return lambda: layer_norm_forward_xp(cupy, x, w, b, EPS)[0]

    def op_layer_norm_backward(self, case, x, w, b, dy):
        import cupy

        from ...backends.cpu_attention import layer_norm_backward_xp, layer_norm_forward_xp

        _, mean, rstd = layer_norm_forward_xp(cupy, x, w, b, EPS)
        return lambda: layer_norm_backward_xp(cupy, dy, x, w, mean, rstd)


class TorchSeq:
    """PyTorch's F.scaled_dot_product_attention and F.layer_norm; backward by autograd.grad on a kept graph."""

    def op_attention_forward(self, case, q, k, v):
        import torch

        causal = case.params["causal"]
        return lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)

    def op_attention_backward(self, case, q, k, v, g):
        import torch

        leaves = [a.detach().requires_grad_() for a in (q, k, v)]
        out = torch.nn.functional.scaled_dot_product_attention(*leaves, is_causal=case.params["causal"])
        return lambda: torch.autograd.grad(out, leaves, g, retain_graph=True)

    def op_layer_norm_forward(self, case, x, w, b):
        import torch

        return lambda: torch.nn.functional.layer_norm(x, (x.shape[1],), w, b, EPS)

    def op_layer_norm_backward(self, case, x, w, b, dy):
        import torch

        leaves = [a.detach().requires_grad_() for a in (x, w, b)]
        y = torch.nn.functional.layer_norm(leaves[0], (x.shape[1],), leaves[1], leaves[2], EPS)
        return lambda: torch.autograd.grad(y, leaves, dy, retain_graph=True)
