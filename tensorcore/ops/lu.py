"""LU with partial pivoting, PyTorch's torch.linalg.lu_factor / lu_factor_ex / lu / lu_solve and torch.lu_unpack.

A = P L U, L unit lower (m, k), U upper (k, n), k = min(m, n); LU packs L below the diagonal and U on and above it,
and pivots (int32, 1-based, LAPACK's) say row j was swapped with row pivots[j] - 1 at step j.

lu_factor's backward (PyTorch's), from the packed gradient gLU (gL its strict lower part, gU its upper part):
  square: gA = P L^-T [tril(L^T gL, -1) + triu(gU U^T)] U^-T
  wide and tall A: the formulas in LUFactor.backward.
lu, lu_unpack and lu_solve compose the packed factor with tril / triu / triangular solves, so their gradients follow.
"""

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from ..return_types import _make as _named
from ..tensor import Tensor, _make
from .layout import tril, triu
from .linalg_more import solve_triangular
from .matmul import matmul
from .registry import register

lu_factor_result = _named("linalg_lu_factor", "LU pivots")
lu_factor_ex_result = _named("linalg_lu_factor_ex", "LU pivots info")
lu_result = _named("linalg_lu", "P L U")
lu_unpack_result = _named("lu_unpack", "P L U")


def _factor_arrays(a):
    """Doolittle elimination with partial pivoting (LAPACK's getrf, unblocked) on a host copy of a (..., m, n):
    (LU, pivots int32 1-based, info int32: 0, or the 1-based index of the first zero pivot)."""
    lu = np.array(a, dtype=a.dtype, copy=True)
    batch, (m, n) = lu.shape[:-2], lu.shape[-2:]
    lu = lu.reshape((int(np.prod(batch, dtype=np.int64)), m, n))
    k = min(m, n)
    b = np.arange(lu.shape[0])
    pivots = np.zeros((lu.shape[0], k), dtype=np.int32)
    info = np.zeros(lu.shape[0], dtype=np.int32)
    for j in range(k):
        p = j + np.argmax(np.abs(lu[:, j:, j]), axis=1)
        pivots[:, j] = p + 1
        row = lu[b, j].copy()
        lu[b, j] = lu[b, p]
        lu[b, p] = row
        pivot = lu[:, j, j]
        zero = pivot == 0
        info[(info == 0) & zero] = j + 1
        safe = np.where(zero, 1, pivot)
        lu[:, j + 1:, j] = np.where(zero[:, None], lu[:, j + 1:, j], lu[:, j + 1:, j] / safe[:, None])
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return lu.reshape(batch + (m, n)), pivots.reshape(batch + (k,)), info.reshape(batch)


def _permutation_arrays(pivots, m, dtype):
    """P (..., m, m) from LAPACK pivots: A = P L U."""
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    piv = pivots.reshape((int(np.prod(batch, dtype=np.int64)), k)).astype(np.int64) - 1
    perm = np.tile(np.arange(m), (piv.shape[0], 1))
    b = np.arange(piv.shape[0])
    for j in range(k):
        other = piv[:, j]
        held = perm[b, j].copy()
        perm[b, j] = perm[b, other]
        perm[b, other] = held
    P = np.zeros((piv.shape[0], m, m), dtype=dtype)
    P[b[:, None], perm, np.arange(m)[None, :]] = 1  # row perm[i] of A is row i of L U
    return P.reshape(batch + (m, m))


def _constant(array, like):
    return _make(like.device.backend.from_host(np.array(array, order="C")), like.device, False, None)


def _unit_lower(LU, k):
    m = LU.shape[-2]
    eye = np.eye(m, k, dtype=LU.dtype)
    return tril(LU[..., :, :k], -1) + _constant(eye, LU)


class LUFactor(Function):
    """The packed factor LU (computed on the host before apply, passed as `lu`) of A, with its gradient."""

    op_name = "lu_factor"

    @staticmethod
    def forward(ctx, A, lu, permutation):
        ctx.permutation = permutation
        out = ctx.backend.from_host(lu)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (LU,) = ctx.saved_tensors
        m, n = LU.shape[-2:]
        k = min(m, n)
        P = _constant(ctx.permutation, LU)
        L, U = _unit_lower(LU, k), triu(LU[..., :k, :])
        gL, gU = tril(g[..., :, :k], -1), triu(g[..., :k, :])
        if m == n:
            phi = tril(matmul(L.mT, gL), -1) + triu(matmul(gU, U.mT))
            X = solve_triangular(L.mT, phi, upper=True, unitriangular=True)
            return (matmul(P, solve_triangular(U.mT, X, upper=False, left=False)),)
        if m < n:  # wide, A = P L [U1 | U2]: gA = P L^-T [(tril(L^T gL - gU U^T, -1) U1^-T + gU1) | gU2]
            U1 = U[..., :, :k]
            X = solve_triangular(U1.mT, tril(matmul(L.mT, gL) - matmul(gU, U.mT), -1), upper=False, left=False)
            X = _cat(X + gU[..., :, :k], gU[..., :, k:], -1)
            return (matmul(P, solve_triangular(L.mT, X, upper=True, unitriangular=True)),)
        # tall, A = P [L1; L2] U: gA = P [(L1^-T triu(gU U^T - L^T gL) + gL1); gL2] U^-T
        L1 = L[..., :k, :]
        X = solve_triangular(L1.mT, triu(matmul(gU, U.mT) - matmul(L.mT, gL)), upper=True, unitriangular=True)
        X = _cat(X + gL[..., :k, :], gL[..., k:, :], -2)
        return (matmul(P, solve_triangular(U.mT, X, upper=False, left=False)),)


def _cat(a, b, dim):
    from .joins import cat

    return cat([a, b], dim)


def _matrix(op, A):
    if not isinstance(A, Tensor):
        raise ArgumentError(f"{op}: expected a Tensor, got {type(A).__name__}")
    if A.ndim < 2:
        raise ShapeError(f"{op}: A must have at least 2 dimensions, got shape {tuple(A.shape)}")
    if A.dtype.kind != "f":
        raise ArgumentError(f"{op}: expected a floating tensor (float32 or float64), got {A.dtype}")


def _factor(op, A, pivot):
    _matrix(op, A)
    if not pivot:
        raise ArgumentError(f"{op}: LU without pivoting is not implemented on the CPU")
    lu, pivots, info = _factor_arrays(A.device.backend.to_numpy(A._data))
    permutation = _permutation_arrays(pivots, A.shape[-2], lu.dtype)
    LU = LUFactor.apply(A, lu=lu, permutation=permutation)
    return LU, _constant(pivots, A), _constant(info, A)


@register("lu_factor_ex")
def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """(LU, pivots, info): info 0, or the 1-based index of the first zero on U's diagonal (then U is singular)."""
    LU, pivots, info = _factor("linalg.lu_factor_ex", A, pivot)
    if check_errors and bool((info != 0).any()):
        raise ArgumentError(f"linalg.lu_factor_ex: U is singular (info {info.tolist()})")
    return lu_factor_ex_result(LU, pivots, info)


@register("lu_factor")
def lu_factor(A, *, pivot=True):
    """(LU, pivots) of A = P L U; raises when U has a zero on its diagonal (lu_solve would divide by zero)."""
    LU, pivots, info = _factor("linalg.lu_factor", A, pivot)
    if bool((info != 0).any()):
        first = int(info[info != 0].reshape(-1)[0].item())
        raise ArgumentError(f"torch.linalg.lu_factor: U[{first},{first}] is zero and using it on lu_solve would "
                            "result in a division by zero. If you still want to perform the factorization, consider "
                            "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return lu_factor_result(LU, pivots)


@register("lu_unpack")
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """(P, L, U) from lu_factor's (LU, pivots); what is not unpacked comes back empty, as PyTorch's."""
    _matrix("lu_unpack", LU_data)
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    if not isinstance(LU_pivots, Tensor) or LU_pivots.dtype.kind not in "iu" or tuple(LU_pivots.shape) != \
            tuple(LU_data.shape[:-2]) + (k,):
        raise ArgumentError(f"lu_unpack: LU_pivots must be an int tensor of shape {tuple(LU_data.shape[:-2]) + (k,)}"
                            f", got {getattr(LU_pivots, 'shape', LU_pivots)}")
    empty = _constant(np.zeros(0, dtype=LU_data.dtype), LU_data)
    pivots = LU_pivots.device.backend.to_numpy(LU_pivots._data)
    if np.any(pivots < 1) or np.any(pivots > m):
        raise ArgumentError(f"lu_unpack: pivots must be in [1, {m}]")
    P = _constant(_permutation_arrays(pivots, m, LU_data.dtype), LU_data) if unpack_pivots else empty
    if not unpack_data:
        return lu_unpack_result(P, empty, empty.clone())
    return lu_unpack_result(P, _unit_lower(LU_data, k), triu(LU_data[..., :k, :]))


@register("lu")
def lu(A, *, pivot=True):
    """(P, L, U) with A = P L U (torch.linalg.lu)."""
    LU, pivots, _ = _factor("linalg.lu", A, pivot)
    return lu_result(*lu_unpack(LU, pivots))


@register("lu_solve")
def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """X with A X = B (left=False: X A = B; adjoint=True: A^T instead of A), A given by lu_factor's (LU, pivots)."""
    P, L, U = lu_unpack(LU, pivots)
    if not isinstance(B, Tensor) or B.ndim < 2:
        raise ShapeError(f"linalg.lu_solve: B must be a matrix (or a batch of them), got {getattr(B, 'shape', B)}")
    if LU.shape[-1] != LU.shape[-2]:
        raise ShapeError(f"linalg.lu_solve: LU must be square, got shape {tuple(LU.shape)}")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    if adjoint:  # A^T X = B, A^T = U^T L^T P^T
        Y = solve_triangular(U.mT, B, upper=False)
        return matmul(P, solve_triangular(L.mT, Y, upper=True, unitriangular=True))
    Y = solve_triangular(L, matmul(P.mT, B), upper=False, unitriangular=True)
    return solve_triangular(U, Y, upper=True)

