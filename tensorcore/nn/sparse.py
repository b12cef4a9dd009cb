"""nn.Embedding: a lookup table of num_embeddings vectors of size embedding_dim (PyTorch's)."""

from .. import _validate as check
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import _empty_parameter
from .module import Module, Parameter


class Embedding(Module):
    """out = weight[input], weight (num_embeddings, embedding_dim) ~ N(0, 1), the padding_idx row zeroed.

    Example:
        emb = nn.Embedding(10, 3, padding_idx=0)
        emb(tc.tensor([[1, 2, 0]])).shape      # (1, 3, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = check.size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = check.size(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            padding_idx = check.integer(padding_idx, "padding_idx", "Embedding")
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ArgumentError(f"Embedding: padding_idx {padding_idx} must be within num_embeddings "
                                    f"({self.num_embeddings})")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = _empty_parameter((self.num_embeddings, self.embedding_dim), device, dtype)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise ShapeError(f"Embedding: _weight of shape {_weight.shape}, expected "
                                 f"{(self.num_embeddings, self.embedding_dim)}")
            self.weight = Parameter(_weight if isinstance(_weight, Tensor) else Tensor(_weight),
                                    requires_grad=not _freeze)
        if _freeze:
            self.weight.requires_grad = False

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is (a copy of) `embeddings` (2-D); freeze=True: no gradient."""
        if embeddings.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D, got {embeddings.shape}")
        rows, cols = embeddings.shape
        weight = embeddings.detach().clone() if isinstance(embeddings, Tensor) else Tensor(embeddings)
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=weight,
                   _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s
