"""torch.nn.utils.parametrizations: orthogonal, spectral_norm and weight_norm as parametrizations
(tensorcore/nn/parametrize.py), with PyTorch's modules, state dict keys and numbers.

    weight_norm:   originals (g, v) = (||weight|| over every dim but `dim`, weight); weight = g * v / ||v||
                   (keys parametrizations.weight.original0 / original1)
    spectral_norm: weight = original / sigma, sigma = u^T W v, u and v (buffers parametrizations.weight.0._u / _v)
                   refined by n_power_iterations of power iteration per training-mode access, 15 at registration
    orthogonal:    weight = base @ map(original): map the matrix exponential or the Cayley transform of the
                   skew part of the original, or the product of its Householder reflectors; base (buffer
                   parametrizations.weight.0.base) the weight made orthogonal at registration (QR with
                   diag(R) >= 0), and the original then -I (so the map starts at the identity)
"""

import numpy as np

from ..errors import ArgumentError, IndexingError, ShapeError
from ..grad_mode import no_grad
from ..tensor import Tensor
from . import parametrize
from .module import Module
from .weight_norms import _norm_except_dim  # torch.norm_except_dim: one 2-norm for both weight norms

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """module.<name> = g * v / ||v|| (norm over every dim but `dim`; None: the whole tensor); returns module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ArgumentError(f"weight_norm: module '{type(module).__name__}' has no parameter or buffer with name "
                            f"'{name}'")
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexingError(f"spectral_norm: dim must be in [-{ndim}, {ndim - 1}] for a {ndim}-D weight, got "
                                f"{dim}")
        if n_power_iterations <= 0:
            raise ArgumentError(f"spectral_norm: expected n_power_iterations to be positive, but got "
                                f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            from ..creation import randn
            from .functional import normalize

            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            u = randn(h, dtype=weight.dtype, device=weight.device)
            v = randn(w, dtype=weight.dtype, device=weight.device)
            self.register_buffer("_u", normalize(u, dim=0, eps=eps))
            self.register_buffer("_v", normalize(v, dim=0, eps=eps))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, mat, n_power_iterations):
        from .functional import normalize

        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(normalize(mat @ self._v, dim=0, eps=self.eps))
                self._v.copy_(normalize(mat.t() @ self._u, dim=0, eps=self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            from .functional import normalize

            return normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """module.<name> divided by its largest singular value (power iteration); dim None: 1 for ConvTranspose,
    else 0. Returns module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ArgumentError(f"spectral_norm: module '{type(module).__name__}' has no parameter or buffer with name "
                            f"'{name}'")
    if dim is None:
        base = parametrize.type_before_parametrizations(module).__name__
        dim = 1 if base in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d") else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# --- orthogonal -------------------------------------------------------------------------------------------

_MAPS = ("matrix_exp", "cayley", "householder")


def _eye(n, like):
    from ..creation import eye

    return eye(n, dtype=like.dtype, device=like.device)


def _householder_product(a, tau):
    """torch.linalg.householder_product: the first k columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with
    v_i = (0, .., 0, 1, a[i+1:, i]); a (..., n, k), tau (..., k). Tensor ops, so it is differentiable."""
    from ..ops.compare import where

    n, k = a.shape[-2], a.shape[-1]
    rows = np.arange(n)
    q = _eye(n, a)
    for i in range(k):
        below = _mask(rows > i, a)
        unit = _mask(rows == i, a).to(dtype=a.dtype)
        v = where(below, a[..., :, i], 0.0) + unit  # (..., n)
        h = _eye(n, a) - tau[..., i:i + 1].unsqueeze(-1) * (v.unsqueeze(-1) * v.unsqueeze(-2))
        q = q @ h
    return q[..., :, :k]


def _mask(values, like):
    from ..tensor import tensor

    return tensor(values, device=like.device)


def _make_orthogonal(a):
    """Q of a = QR with diag(R) >= 0, for a tall a (..., n, k) (torch's geqrf + householder_product + sign)."""
    from ..tensor import tensor

    arr = a.detach().cpu().numpy()
    q, r = np.linalg.qr(arr)
    signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    signs = np.where(signs == 0, 1.0, signs)
    return tensor(q * signs[..., None, :], dtype=a.dtype, device=a.device)


def _is_orthogonal(q):
    n, k = q.shape[-2], q.shape[-1]
    arr = q.detach().cpu().numpy()
    eps = 10.0 * n * np.finfo(arr.dtype).eps
    gram = np.swapaxes(arr, -1, -2) @ arr
    return bool(np.allclose(gram, np.eye(k, dtype=arr.dtype), rtol=1e-5, atol=eps))


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        if weight.dtype.kind == "c" and orthogonal_map == "householder":
            raise ArgumentError("orthogonal: the householder parametrization does not support complex tensors.")
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        from ..creation import zeros
        from ..linalg import matrix_exp, solve
        from ..ops.joins import cat

        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.transpose(-2, -1)
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:
                pad = zeros(*X.shape[:-2], n, n - k, dtype=X.dtype, device=X.device)
                X = cat([X, pad], dim=-1)
            A = X - X.transpose(-2, -1)
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:
                eye = _eye(n, A)
                Q = solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).detach().trunc().unsqueeze(-2)
        if self._buffers.get("base") is not None:
            Q = self.base @ Q
        if transposed:
            Q = Q.transpose(-2, -1)
        return Q

    def right_inverse(self, Q):
        from ..creation import randn, zeros
        from ..ops.joins import cat

        if tuple(Q.shape) != self.shape:
            raise ShapeError(f"orthogonal: expected a matrix or batch of matrices of shape {self.shape}. Got a "
                             f"tensor of shape {tuple(Q.shape)}.")
        with no_grad():
            Q_init = Q
            n, k = Q.shape[-2], Q.shape[-1]
            transpose = n < k
            if transpose:
                Q = Q.transpose(-2, -1)
                n, k = k, n
            if "base" not in self._buffers:
                if self.orthogonal_map in ("matrix_exp", "cayley"):
                    raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                              "parametrizations when use_trivialization=False.")
                A = self._householder_inverse(Q)
                return A.transpose(-2, -1) if transpose else A
            if n == k:
                Q = _make_orthogonal(Q) if not _is_orthogonal(Q) else Q.clone()
            else:
                N = randn(*(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype, device=Q.device)
                Q = _make_orthogonal(cat([Q, N], dim=-1))
            self.base = Q
            neg_id = zeros(*Q_init.shape, dtype=Q_init.dtype, device=Q_init.device)
            idx = np.arange(min(Q_init.shape[-2:]))
            neg_id._data[..., idx, idx] = -1.0
            return neg_id

    @staticmethod
    def _householder_inverse(Q):
        """geqrf's reflectors of Q with the diagonal made sign(diag R) (PyTorch's use_trivialization=False)."""
        from ..tensor import tensor

        arr = Q.detach().cpu().numpy()
        out = np.empty_like(arr)
        for idx in np.ndindex(*arr.shape[:-2]):
            out[idx] = _geqrf_signs(arr[idx])
        return tensor(out, dtype=Q.dtype, device=Q.device)


def _geqrf_signs(a):
    """LAPACK geqrf's packed form of a (n x k, n >= k: its Householder vectors below the diagonal), with the
    diagonal replaced by sign(R's diagonal), negated where the reflector is the identity (tau = 0)."""
    a = a.copy()
    n, k = a.shape
    for j in range(k):
        alpha, xnorm = a[j, j], np.linalg.norm(a[j + 1:, j])
        if xnorm == 0:  # dlarfg: tau = 0, no reflection
            a[j, j] = -np.sign(alpha)
            continue
        beta = -np.copysign(np.hypot(alpha, xnorm), alpha)
        tau = (beta - alpha) / beta
        w = np.concatenate([[1.0], a[j + 1:, j] / (alpha - beta)]).astype(a.dtype)
        a[j:, j + 1:] -= tau * np.outer(w, w @ a[j:, j + 1:])
        a[j + 1:, j] = w[1:]
        a[j, j] = np.sign(beta)
    return a


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """module.<name> constrained to orthogonal matrices (columns or rows orthonormal); orthogonal_map
    'matrix_exp', 'cayley' or 'householder' (None: matrix_exp for square weights, else householder)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ArgumentError(f"orthogonal: module '{type(module).__name__}' has no parameter or buffer with name "
                            f"'{name}'")
    if weight.ndim < 2:
        raise ShapeError(f"orthogonal: expected a matrix or batch of matrices. Got a tensor of {weight.ndim} "
                         "dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.dtype.kind == "c" else "householder"
    if orthogonal_map not in _MAPS:
        raise ArgumentError(f'orthogonal: orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                            f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
