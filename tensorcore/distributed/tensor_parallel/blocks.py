"""Tensor-parallel blocks (Megatron-LM's MLP and attention) and the conversion of tensorcore's MLP and GPT.

    ParallelMLP                  c_fc column-parallel (no gather) -> GELU -> c_proj row-parallel
    ParallelCausalSelfAttention  the heads split over ranks: c_attn column-parallel, each rank's q, k, v
                                 for its heads; attention on them; c_proj row-parallel

`parallelize(model)` turns tensorcore's MLP (an nn.Sequential of Linear and elementwise layers) or GPT
into its tensor-parallel form, in place (the model keeps its type's forward and its state_dict keys;
each rank keeps its slices). `dense_state_dict(model)` gathers the full weights back, under the dense
model's keys (a collective), so a dense model loads it.
"""

import numpy as np

from ... import nn
from ...errors import ShapeError
from ...models.gpt import GPT
from ..errors import DistributedError
from .comm import resolve
from .layers import ColumnParallelLinear, RowParallelLinear, VocabParallelEmbedding
from .mappings import copy_to_parallel_region, gather_from_parallel_region


class ParallelMLP(nn.Module):
    """GPT's MLP split over ranks: y = c_proj(GELU(c_fc(x))), 4 n_embd hidden features split over ranks.

    Example:
        mlp = ParallelMLP(128)        # c_fc weight (512 / world, 128), c_proj weight (128, 512 / world)
    """

    def __init__(self, n_embd, dropout=0.0, group=None, _dense=None):
        super().__init__()
        group = resolve(group, "ParallelMLP")
        self.c_fc = ColumnParallelLinear(n_embd, 4 * n_embd, gather_output=False, group=group,
                                         _dense=None if _dense is None else _dense.c_fc)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = RowParallelLinear(4 * n_embd, n_embd, input_is_parallel=True, group=group,
                                        _dense=None if _dense is None else _dense.c_proj)
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_dense(cls, mlp, group=None):
        """This rank's part of tensorcore.models.gpt.MLP `mlp`."""
        return cls(mlp.c_fc.in_features, mlp.dropout.p, group=group, _dense=mlp)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


def qkv_rows(n_embd, n_head, world):
    """(world, 3 * n_embd / world): the rows of c_attn (q | k | v, each head-major) that each rank's heads use."""
    head_dim, local_heads = n_embd // n_head, n_head // world
    width = local_heads * head_dim
    return np.stack([np.concatenate([part * n_embd + np.arange(r * width, (r + 1) * width) for part in range(3)])
                     for r in range(world)])


class ParallelCausalSelfAttention(nn.Module):
    """Causal multi-head self-attention with n_head / world heads on each rank; c_proj sums the ranks' parts.

    Example:
        attn = ParallelCausalSelfAttention(128, 4)      # 2 heads per rank on 2 ranks
    """

    def __init__(self, n_embd, n_head, dropout=0.0, group=None, _dense=None):
        super().__init__()
        group = resolve(group, "ParallelCausalSelfAttention")
        if n_embd % n_head:
            raise DistributedError(f"ParallelCausalSelfAttention: n_embd ({n_embd}) must be divisible by n_head "
                                   f"({n_head})")
        if n_head % group.size:
            raise DistributedError(f"ParallelCausalSelfAttention: n_head ({n_head}) is not divisible by the "
                                   f"tensor-parallel world size ({group.size})")
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, dropout
        self.local_heads = n_head // group.size
        self.c_attn = ColumnParallelLinear(n_embd, 3 * n_embd, gather_output=False, group=group,
                                           _dense=None if _dense is None else _dense.c_attn,
                                           _rows=qkv_rows(n_embd, n_head, group.size))
        self.c_proj = RowParallelLinear(n_embd, n_embd, input_is_parallel=True, group=group,
                                        _dense=None if _dense is None else _dense.c_proj)
        self.resid_dropout = nn.Dropout(dropout)

    @classmethod
    def from_dense(cls, attn, group=None):
        """This rank's heads of tensorcore.models.gpt.CausalSelfAttention `attn`."""
        return cls(attn.n_embd, attn.n_head, attn.dropout, group=group, _dense=attn)

    def forward(self, x):
        B, T, C = x.shape
        H, D = self.local_heads, self.n_embd // self.n_head
        qkv = self.c_attn(x).reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)  # (3, B, H_local, T, D)
        y = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True,
                                                       dropout_p=self.dropout if self.training else 0.0)
        y = y.permute(0, 2, 1, 3).reshape(B, T, H * D)
        return self.resid_dropout(self.c_proj(y))


class TensorParallelGPT(GPT):
    """GPT whose token embedding is vocab-parallel: the tied head computes this rank's logits, then gathers."""

    def forward(self, idx):
        if idx.ndim != 2 or idx.shape[1] > self.block_size:
            raise ShapeError(f"gpt: input must be (B, T) token ids with T <= block_size ({self.block_size}), "
                             f"got shape {idx.shape}")
        group = self.wte.group
        x = self.drop(self.wte(idx) + self.wpe(np.arange(idx.shape[1], dtype=np.int64)))
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        logits = nn.functional.linear(copy_to_parallel_region(x, group), self.wte.weight)
        return gather_from_parallel_region(logits, group, dim=-1, sizes=self.wte.partition_sizes)


_ELEMENTWISE = (nn.ReLU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.Softplus, nn.Identity, nn.Dropout)


def _replace_child(parent, name, module):
    """parent.<name> = module, in the old child's place (parameters() keeps the dense model's order)."""
    later = list(parent._modules)
    later = later[later.index(name) + 1 :]
    parent.add_module(name, module)
    for key in later:
        parent._modules.move_to_end(key)


def parallelize_mlp(model, group=None):
    """nn.Sequential [.. Linear, act, Linear, act, ..] in place: Linear pairs -> (column, row)-parallel.

    Each pair communicates once forward and once backward; the layers between a pair must be elementwise.
    An odd last Linear becomes column-parallel with gather_output=True (kept dense and replicated when its
    out_features do not divide over the ranks).
    """
    group = resolve(group, "parallelize_mlp")
    if not isinstance(model, nn.Sequential):
        raise DistributedError(f"parallelize_mlp: expected an nn.Sequential, got {type(model).__name__}")
    names = list(model._modules)
    linear = [i for i, n in enumerate(names) if isinstance(model._modules[n], nn.Linear)]
    for k in range(0, len(linear) - 1, 2):
        a, b = linear[k], linear[k + 1]
        for between in names[a + 1 : b]:
            if not isinstance(model._modules[between], _ELEMENTWISE):
                raise DistributedError(f"parallelize_mlp: layer {between} ({type(model._modules[between]).__name__}) "
                                       "between a column- and a row-parallel Linear must be elementwise")
        _replace_child(model, names[a], ColumnParallelLinear.from_dense(model._modules[names[a]], False, group))
        _replace_child(model, names[b], RowParallelLinear.from_dense(model._modules[names[b]], True, group))
    if len(linear) % 2:
        last = model._modules[names[linear[-1]]]
        if last.out_features % group.size == 0:
            _replace_child(model, names[linear[-1]], ColumnParallelLinear.from_dense(last, True, group))
    return model


def parallelize_gpt(model, group=None):
    """tensorcore.models.gpt.GPT in place: vocab-parallel wte (and tied head), parallel attention and MLP."""
    group = resolve(group, "parallelize_gpt")
    if not isinstance(model, GPT):
        raise DistributedError(f"parallelize_gpt: expected a tensorcore GPT, got {type(model).__name__}")
    _replace_child(model, "wte", VocabParallelEmbedding.from_dense(model.wte, group))
    for block in model.h:
        _replace_child(block, "attn", ParallelCausalSelfAttention.from_dense(block.attn, group))
        _replace_child(block, "mlp", ParallelMLP.from_dense(block.mlp, group))
    model.__class__ = TensorParallelGPT  # the same modules and keys; only the head's forward differs
    return model


def parallelize(model, group=None):
    """The tensor-parallel form of tensorcore's MLP (nn.Sequential) or GPT, in place; returns the model."""
    if isinstance(model, GPT):
        return parallelize_gpt(model, group)
    if isinstance(model, nn.Sequential):
        return parallelize_mlp(model, group)
    raise DistributedError(f"tensor_parallel.parallelize: no tensor-parallel form for {type(model).__name__} "
                           "(supported: nn.Sequential MLPs, tensorcore.models.gpt.GPT)")


def dense_state_dict(model):
    """model.state_dict() with every parallel layer's slices gathered into full tensors (a collective)."""
    state = dict(model.state_dict())
    for prefix, module in model.named_modules():
        if isinstance(module, (ColumnParallelLinear, RowParallelLinear, VocabParallelEmbedding)):
            for name, t in module.dense_state().items():
                state[f"{prefix}.{name}" if prefix else name] = t
    return state
