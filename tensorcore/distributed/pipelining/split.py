"""Cutting a model into pipeline stages, and putting the stages' weights back together.

torch traces a model and cuts it at `SplitPoint`s (`pipeline()`); tensorcore cuts explicitly:

* `split_sequential(seq, num_stages, split_points=None)`: contiguous slices of an nn.Sequential
  (tensorcore's MLP is one). Each slice keeps the original names ("3.weight"), so the stages' state
  dicts together are the model's. By default each stage starts at a layer with parameters and the
  cuts balance the parameter counts; `split_points` gives the index of each stage's first layer.
* `split_gpt(model, num_stages)`: the GPT's blocks spread evenly; the embeddings go with the first
  stage, ln_f and the (tied) head with the last. The last stage holds a copy of `wte.weight` for the
  head; both copies are marked `pipeline_tied_parameters`, so the schedule sums their gradients
  after every step and the copies stay equal, as one shared weight (Megatron's embedding group).
* `pipeline_split(model, num_stages)` picks one of the two; `gather_state_dict(stage)` returns the
  whole model's state dict, under the original names, on every rank.
"""

import numpy as np

from ... import nn
from ...errors import ArgumentError, ShapeError
from .. import process_group as pg


def _check_num_stages(num_stages, n_units, what):
    if isinstance(num_stages, bool) or not isinstance(num_stages, (int, np.integer)) or num_stages < 1:
        raise ArgumentError(f"{what}: num_stages must be an int >= 1, got {num_stages!r}")
    if num_stages > n_units:
        raise ArgumentError(f"{what}: cannot cut {n_units} parts into {num_stages} stages")


def split_sequential(module, num_stages, split_points=None):
    """[module[a:b] per stage] for an nn.Sequential; split_points: the index of each stage's first layer but the first.

    Example:
        stages = split_sequential(tc.models.mlp(), 2)          # [Flatten, Linear, ReLU] and the rest
        stages = split_sequential(seq, 3, split_points=[2, 5])  # seq[0:2], seq[2:5], seq[5:]
    """
    if not isinstance(module, nn.Sequential):
        raise ArgumentError(f"split_sequential: expected an nn.Sequential, got {type(module).__name__}")
    layers = list(module)
    if split_points is None:
        split_points = _balanced_cuts(layers, num_stages)
    else:
        split_points = [int(i) for i in split_points]
        _check_num_stages(num_stages, len(layers), "split_sequential")
        if len(split_points) != num_stages - 1 or split_points != sorted(set(split_points)) or (
                split_points and not 0 < split_points[0] <= split_points[-1] < len(layers)):
            raise ArgumentError(f"split_sequential: split_points {split_points} must be {num_stages - 1} increasing "
                                f"layer indices in 1..{len(layers) - 1}")
    bounds = [0] + list(split_points) + [len(layers)]
    return [module[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _balanced_cuts(layers, num_stages):
    """Cut before layers with parameters, so each stage's parameter count is near total / num_stages."""
    sizes = [sum(int(p.numel()) for p in layer.parameters()) for layer in layers]
    starts = [i for i, s in enumerate(sizes) if s > 0]
    _check_num_stages(num_stages, len(starts), "split_sequential (layers with parameters)")
    cumulative = np.cumsum(sizes)
    total = cumulative[-1]
    cuts, prev = [], 0
    for k in range(1, num_stages):
        # candidates keep one parametrized layer for every later stage
        candidates = [i for i in starts if i > prev and len([j for j in starts if j >= i]) >= num_stages - k]
        best = min(candidates, key=lambda i: abs(cumulative[i - 1] - total * k / num_stages))
        cuts.append(best)
        prev = best
    return cuts


class _WeightCopy(nn.Module):
    """Holds a copy of another module's `weight` (the last stage's half of a tied pair)."""

    def __init__(self, weight):
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())


class GPTStage(nn.Module):
    """Stage k of a GPT cut by split_gpt: [embeddings] -> blocks -> [ln_f -> tied head], names as in the GPT."""

    def __init__(self, model, blocks, first, last, tied):
        super().__init__()
        self.first, self.last, self.block_size = first, last, model.block_size
        if first:
            self.wte, self.wpe, self.drop = model.wte, model.wpe, model.drop
        elif last:
            self.wte = _WeightCopy(model.wte.weight)  # the head's copy of the tied token embedding
        self.h = nn.ModuleDict({str(i): model.h[i] for i in blocks})
        if last:
            self.ln_f = model.ln_f
        if tied is not None:
            self.pipeline_tied_parameters = {"wte.weight": tied}

    def forward(self, x):
        if self.first:
            if x.ndim != 2 or x.shape[1] > self.block_size:
                raise ShapeError(f"gpt stage 0: input must be (B, T) token ids with T <= block_size "
                                 f"({self.block_size}), got shape {x.shape}")
            x = self.drop(self.wte(x) + self.wpe(np.arange(x.shape[1], dtype=np.int64)))
        for block in self.h.values():
            x = block(x)
        if self.last:
            x = nn.functional.linear(self.ln_f(x), self.wte.weight)
        return x


def split_gpt(model, num_stages):
    """[GPTStage per stage] for tensorcore's GPT: its n_layer blocks spread evenly (the first stages get the extra).

    Example:
        stages = split_gpt(tc.models.get_model("gpt", vocab_size=11, block_size=8, n_layer=4), 2)
    """
    from ...models.gpt import GPT

    if not isinstance(model, GPT):
        raise ArgumentError(f"split_gpt: expected tensorcore.models.gpt.GPT, got {type(model).__name__}")
    n_layer = len(model.h)
    _check_num_stages(num_stages, n_layer, "split_gpt (blocks)")
    parts = np.array_split(np.arange(n_layer), num_stages)
    tied = (0, num_stages - 1) if num_stages > 1 else None
    return [GPTStage(model, [int(i) for i in part], k == 0, k == num_stages - 1,
                     tied if k in (0, num_stages - 1) else None) for k, part in enumerate(parts)]


def pipeline_split(model, num_stages, split_points=None):
    """split_gpt for a GPT, split_sequential for an nn.Sequential (the MLP, LeNet-5 ...)."""
    from ...models.gpt import GPT

    if isinstance(model, GPT):
        if split_points is not None:
            raise ArgumentError("pipeline_split: a GPT is cut between blocks; split_points is for nn.Sequential")
        return split_gpt(model, num_stages)
    if isinstance(model, nn.Sequential):
        return split_sequential(model, num_stages, split_points)
    raise ArgumentError(f"pipeline_split: cannot cut a {type(model).__name__}; pass an nn.Sequential or a GPT, or "
                        f"build the stages' modules yourself")


def gather_state_dict(stage):
    """The whole model's state dict (original names, NumPy arrays) on every rank; a collective of the whole job.

    Tied copies agree after every step; the first stage's is kept.
    """
    own = {k: v.numpy().copy() for k, v in stage.submod.state_dict().items()}
    if stage.num_stages == 1:
        return own
    everyone = pg.all_gather_object((stage.stage_ranks, stage.stage_index, own))
    merged = {}
    for ranks, _, state in sorted(everyone, key=lambda e: e[1]):
        if ranks == stage.stage_ranks:
            for k, v in state.items():
                merged.setdefault(k, v)
    return merged
