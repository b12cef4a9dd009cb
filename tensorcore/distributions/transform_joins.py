"""StackTransform, CatTransform (transforms applied to slices / chunks along a dim) and CorrCholeskyTransform
(unconstrained vector -> Cholesky factor of a correlation matrix), as torch.distributions.transforms."""

import math

import numpy as np

from . import constraints
from .transform_base import Transform


def _selection(n, diag, like):
    """The 0/1 matrix S (N, n*n) with vec @ S the row-major flattened lower triangle (offset diag) of a matrix."""
    from .utils import _host_tensor

    rows, cols = np.tril_indices(n, diag)
    s = np.zeros((len(rows), n * n), dtype=like.dtype.name)
    s[np.arange(len(rows)), rows * n + cols] = 1
    return _host_tensor(s, like)


def tril_matrix_to_vec(mat, diag=0):
    n = mat.shape[-1]
    return mat.reshape(tuple(mat.shape[:-2]) + (n * n,)) @ _selection(n, diag, mat).mT


def vec_to_tril_matrix(vec, diag=0):
    m = vec.shape[-1]
    n = round((math.sqrt(1 + 8 * m) - 1) / 2 - diag) if diag <= 0 else None
    while n is not None and len(np.tril_indices(n, diag)[0]) < m:
        n += 1
    if n is None or len(np.tril_indices(n, diag)[0]) != m:
        raise ValueError(f"vec_to_tril_matrix: {m} is not a triangular number for diag={diag}")
    return (vec @ _selection(n, diag, vec)).reshape(tuple(vec.shape[:-1]) + (n, n))




class StackTransform(Transform):
    """Applies tseq[i] to x.select(dim, i) and stacks the results."""

    def __init__(self, tseq, dim=0, cache_size=0):
        if not all(isinstance(t, Transform) for t in tseq):
            raise ValueError("StackTransform: all elements of tseq must be Transform instances")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms, self.dim = list(tseq), dim

    def with_cache(self, cache_size=1):
        return self if self._cache_size == cache_size else StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, z):
        if z.shape[self.dim] != len(self.transforms):
            raise ValueError(f"StackTransform: size {z.shape[self.dim]} of dim {self.dim} must equal "
                             f"len(transforms) {len(self.transforms)}")
        return [z.select(self.dim, i) for i in range(z.shape[self.dim])]

    def _call(self, x):
        from .. import stack

        return stack([t(s) for s, t in zip(self._slices(x), self.transforms)], self.dim)

    def _inverse(self, y):
        from .. import stack

        return stack([t.inv(s) for s, t in zip(self._slices(y), self.transforms)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        from .. import stack

        return stack([t.log_abs_det_jacobian(a, b)
                      for a, b, t in zip(self._slices(x), self._slices(y), self.transforms)], self.dim)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @constraints.dependent_property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)


class CatTransform(Transform):
    """Applies tseq[i] to the i-th chunk (lengths[i] long, default 1) of x along dim and concatenates."""

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        if not all(isinstance(t, Transform) for t in tseq):
            raise ValueError("CatTransform: all elements of tseq must be Transform instances")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms, self.dim = list(tseq), dim
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.transforms)
        if len(self.lengths) != len(self.transforms):
            raise ValueError(f"CatTransform: {len(self.lengths)} lengths for {len(self.transforms)} transforms")

    @property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self):
        return sum(self.lengths)

    def with_cache(self, cache_size=1):
        return self if self._cache_size == cache_size else CatTransform(self.transforms, self.dim, self.lengths,
                                                                        cache_size)

    def _chunks(self, z):
        if z.shape[self.dim] != self.length:
            raise ValueError(f"CatTransform: size {z.shape[self.dim]} of dim {self.dim} must equal "
                             f"sum(lengths) {self.length}")
        out, start = [], 0
        for length in self.lengths:
            out.append(z.narrow(self.dim, start, length))
            start += length
        return out

    def _call(self, x):
        from .. import cat

        return cat([t(c) for c, t in zip(self._chunks(x), self.transforms)], self.dim)

    def _inverse(self, y):
        from .. import cat

        return cat([t.inv(c) for c, t in zip(self._chunks(y), self.transforms)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        from .. import cat
        from .utils import _sum_rightmost

        dim = self.dim if self.dim >= 0 else self.dim + x.ndim
        parts = []
        for t, a, b in zip(self.transforms, self._chunks(x), self._chunks(y)):
            j = t.log_abs_det_jacobian(a, b)
            if t.event_dim < self.event_dim:
                j = _sum_rightmost(j, self.event_dim - t.event_dim)
            parts.append(j)
        if dim >= x.ndim - self.event_dim:  # the concatenated dim is an event dim: the pieces add up
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            return total
        return cat(parts, dim)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class CorrCholeskyTransform(Transform):
    """R^(D(D-1)/2) -> lower Cholesky factors of D x D correlation matrices (tanh, then stick breaking by rows)."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def __eq__(self, other):
        return isinstance(other, CorrCholeskyTransform)

    __hash__ = Transform.__hash__

    def _call(self, x):
        from .. import eye
        from ..nn.functional import pad
        from .utils import _finfo

        eps = float(_finfo(x.dtype).eps)
        r = vec_to_tril_matrix(x.tanh().clamp(min=-1 + eps, max=1 - eps), diag=-1)
        remaining = (1 - r ** 2).sqrt().cumprod(-1)
        r = r + eye(r.shape[-1], dtype=r.dtype, device=r.device)
        return r * pad(remaining[..., :-1], [1, 0], value=1)

    def _inverse(self, y):
        from ..nn.functional import pad

        left = pad((1 - (y * y).cumsum(-1))[..., :-1], [1, 0], value=1)
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(left, diag=-1).sqrt()
        return (t.log1p() - (-t).log1p()) / 2

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        from ..nn.functional import softplus

        left = 1 - (y * y).cumsum(-1)
        stick = 0.5 * tril_matrix_to_vec(left, diag=-2).log().sum(-1)
        tanh = -2 * (x + softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick + tanh

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return tuple(shape[:-1]) + (d, d)

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return tuple(shape[:-2]) + (d * (d - 1) // 2,)


class PositiveDefiniteTransform(Transform):
    """Unconstrained square matrix -> positive definite L L^T, L its LowerCholeskyTransform."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other):
        return isinstance(other, PositiveDefiniteTransform)

    __hash__ = Transform.__hash__

    def _call(self, x):
        from .transform_maps import LowerCholeskyTransform

        x = LowerCholeskyTransform()(x)
        return x @ x.mT

    def _inverse(self, y):
        from .. import linalg
        from .transform_maps import LowerCholeskyTransform

        return LowerCholeskyTransform().inv(linalg.cholesky(y))
