"""nn.AdaptiveLogSoftmaxWithLoss (Grave et al., efficient softmax approximation for GPUs), PyTorch's module.

The classes are split by `cutoffs` into a shortlist (the head predicts them directly, plus one logit per
tail cluster) and clusters (each predicted by its own two-layer projection, in_features -> in_features /
div_value^(i+1) -> cluster size). log p(y) = head_logprob[y] for a shortlist class, else
head_logprob[cluster] + cluster_logprob[y - cutoff]. forward returns (output, loss) with output the
per-sample log-probability of the target and loss its negative mean.
"""

from collections import namedtuple

import numpy as np

from .. import _validate as check
from ..errors import ArgumentError, IndexingError, ShapeError
from ..tensor import Tensor
from .layers import Linear, ModuleList, Sequential
from .module import Module

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value=4.0, head_bias=False)."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        name = "AdaptiveLogSoftmaxWithLoss"
        in_features = check.integer(in_features, "in_features", name, minimum=1)
        n_classes = check.integer(n_classes, "n_classes", name, minimum=2)
        div_value = check.number(div_value, "div_value", name, low=0, low_open=True)
        if not isinstance(cutoffs, (list, tuple, range)):
            raise ArgumentError(f"{name}: cutoffs should be a sequence of ints, got {type(cutoffs).__name__}")
        cutoffs = list(cutoffs)
        if any(isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)) for c in cutoffs):
            raise ArgumentError(f"{name}: cutoffs should be a sequence of ints, got {cutoffs}")
        if len(cutoffs) == 0:
            raise ArgumentError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ArgumentError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, positive integers "
                                "sorted in an increasing order, where each value is between 1 and n_classes-1")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, device=device, dtype=dtype),
                                        Linear(hsz, osz, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        from ..tensor import tensor
        from . import functional as F

        name = "AdaptiveLogSoftmaxWithLoss"
        if not isinstance(input_, Tensor) or not isinstance(target_, Tensor):
            raise ArgumentError(f"{name}: input and target must be Tensors")
        if target_.dtype.kind not in "iu":
            raise ArgumentError(f"{name}: target must be integers, got {target_.dtype}")
        if target_.ndim == 1:
            if input_.ndim != 2:
                raise ShapeError(f"{name}: 1D target tensor expects 2D input tensors, but found inputs with size "
                                 f"{tuple(input_.shape)}")
            if input_.shape[0] != target_.shape[0]:
                raise ShapeError(f"{name}: Input and target should have the same size in the batch dimension "
                                 f"({input_.shape[0]} and {target_.shape[0]})")
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise ShapeError(f"{name}: 0D target tensor expects 1D input tensors, but found inputs with size "
                                 f"{tuple(input_.shape)}")
        else:
            raise ShapeError(f"{name}: 0D or 1D target tensor expected, multi-target not supported")
        if input_.shape[-1] != self.in_features:
            raise ShapeError(f"{name}: input must have {self.in_features} features, got shape {tuple(input_.shape)}")
        batched = target_.ndim > 0
        input = input_ if batched else input_.unsqueeze(0)
        t = np.asarray(target_.detach().cpu().numpy()).reshape(-1).astype(np.int64)
        batch = t.shape[0]
        if batch and (t.min() < 0 or t.max() >= self.n_classes):
            raise IndexingError(f"{name}: Target values should be in [0, {self.n_classes - 1}], but values in range "
                                f"[{t.min()}, {t.max()}] were found.")
        gather = np.where(t < self.shortlist_size, t, 0)
        output = None
        cutoffs = [0] + self.cutoffs
        for i in range(1, len(cutoffs) - 1):
            low, high = cutoffs[i], cutoffs[i + 1]
            rows = np.flatnonzero((t >= low) & (t < high))
            if rows.size == 0:
                continue
            gather[rows] = self.shortlist_size + i - 1
            cluster = F.log_softmax(self.tail[i - 1](input[tensor(rows, device=input.device)]), dim=1)
            local = cluster.gather(1, tensor((t[rows] - low)[:, None], device=input.device)).squeeze(1)
            place = np.zeros((batch, rows.size), dtype=input.dtype)
            place[rows, np.arange(rows.size)] = 1  # puts each cluster row's log-probability at its sample
            part = tensor(place, device=input.device) @ local
            output = part if output is None else output + part
        head_logprob = F.log_softmax(self.head(input), dim=1)
        head = head_logprob.gather(1, tensor(gather[:, None], device=input.device)).squeeze(1)
        output = head if output is None else output + head
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input, head_output):
        from ..ops.joins import cat
        from . import functional as F

        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, dim=1)

    def log_prob(self, input):
        """log p(class) of every class: (N, n_classes), or (n_classes,) for one sample."""
        batched = input.ndim > 1
        x = input if batched else input.unsqueeze(0)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(f"AdaptiveLogSoftmaxWithLoss.log_prob: input must be (N, {self.in_features}) or "
                             f"({self.in_features},), got {tuple(input.shape)}")
        out = self._get_full_log_prob(x, self.head(x))
        return out if batched else out.squeeze(0)

    def predict(self, input):
        """The most likely class of each sample (the shortlist's argmax when it is a shortlist class)."""
        from ..tensor import tensor

        batched = input.ndim > 1
        x = input if batched else input.unsqueeze(0)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(f"AdaptiveLogSoftmaxWithLoss.predict: input must be (N, {self.in_features}) or "
                             f"({self.in_features},), got {tuple(input.shape)}")
        head_output = self.head(x)
        output = np.asarray(head_output.detach().cpu().numpy()).argmax(axis=1)
        outside = output >= self.shortlist_size
        if outside.any():
            rows = np.flatnonzero(outside)
            sel = tensor(rows, device=x.device)
            full = self._get_full_log_prob(x[sel], head_output[sel])
            output[rows] = np.asarray(full.detach().cpu().numpy()).argmax(axis=1)
        result = tensor(output.astype(np.int64), device=x.device)
        return result if batched else result.squeeze(0)


__all__ = ["AdaptiveLogSoftmaxWithLoss"]
