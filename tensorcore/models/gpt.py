"""A decoder-only GPT (Radford et al., 2018-19; the layout of nanoGPT) for character or byte text.

    x = wte(idx) + wpe(pos);  per block: x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
    logits = ln_f(x) @ wte.weight^T       (the head is tied to the token embedding)

attn is causal multi-head self-attention (one c_attn GEMM for q, k, v, then SDPA over the heads as
one node, ops/attention_packed.py, unless attention dropout is on); mlp is
c_fc -> GELU (GPT-2's tanh approximation) -> c_proj (4x wide). Init: N(0, 0.02) weights, zero biases, c_proj weights
N(0, 0.02 / sqrt(2 n_layer)) (GPT-2's residual scaling).
"""

import math

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..errors import ArgumentError, ShapeError
from ..ops.attention_packed import packed_self_attention
from ..tensor import tensor
from . import register_model


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        if n_embd % n_head:
            raise ArgumentError(f"gpt: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x):
        if self.dropout == 0.0 or not self.training:  # the same values as below, as one node
            return self.resid_dropout(self.c_proj(packed_self_attention(self.c_attn(x), self.n_head, is_causal=True)))
        B, T, C = x.shape
        H = self.n_head
        qkv = self.c_attn(x).reshape(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4)  # (3, B, H, T, D)
        q, k, v = qkv[0], qkv[1], qkv[2]
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                       dropout_p=self.dropout if self.training else 0.0)
        y = y.permute(0, 2, 1, 3).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd, dropout):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """forward(idx (B, T) int64) -> logits (B, T, vocab_size); T <= block_size."""

    def __init__(self, vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0):
        super().__init__()
        self.vocab_size, self.block_size = int(vocab_size), int(block_size)
        self.config = {"vocab_size": vocab_size, "block_size": block_size, "n_layer": n_layer, "n_head": n_head,
                       "n_embd": n_embd, "dropout": dropout}
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList([Block(n_embd, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self._init_weights(n_layer)

    def _init_weights(self, n_layer):
        for name, m in self.named_modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj") else 0.02
                nn.init.normal_(m.weight, 0.0, std)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, idx):
        if idx.ndim != 2 or idx.shape[1] > self.block_size:
            raise ShapeError(f"gpt: input must be (B, T) token ids with T <= block_size ({self.block_size}), "
                             f"got shape {idx.shape}")
        T = idx.shape[1]
        pos = np.arange(T, dtype=np.int64)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        return nn.functional.linear(x, self.wte.weight)

    @no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """Append max_new_tokens sampled tokens to idx (B, T): softmax(logits / temperature), top_k kept."""
        out = np.asarray(idx, dtype=np.int64)
        for _ in range(int(max_new_tokens)):
            logits = self(tensor(out[:, -self.block_size:])).numpy()[:, -1, :]
            out = np.concatenate([out, sample_next(logits, temperature, top_k, generator)[:, None]], axis=1)
        return out


def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    """One token id per row of logits (B, V): greedy for temperature 0, else sampled (top_k: only the k best)."""
    from ..random import _gen

    logits = np.asarray(logits, dtype=np.float64)
    if temperature < 0:
        raise ArgumentError(f"generate: temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(axis=-1)
    logits = logits / temperature
    if top_k is not None:
        k = min(int(top_k), logits.shape[-1])
        if k < 1:
            raise ArgumentError(f"generate: top_k must be >= 1, got {top_k}")
        kth = np.sort(logits, axis=-1)[:, -k][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    u = _gen(generator).random((p.shape[0], 1))
    return np.minimum((p.cumsum(axis=-1) < u).sum(axis=-1), p.shape[-1] - 1)


@register_model("gpt", input_shape=(64,))
def gpt(vocab_size=256, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0):
    """A decoder-only GPT: token + learned position embeddings, pre-norm blocks, tied head.

    Example:
        model = tc.models.get_model("gpt", vocab_size=113, block_size=64)
        logits = model(tc.tensor(idx))          # idx: (B, T) int64
    """
    return GPT(vocab_size, block_size, n_layer, n_head, n_embd, dropout)
