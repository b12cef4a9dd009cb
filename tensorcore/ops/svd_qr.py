"""torch.linalg's svd, svdvals, qr and pinv, with PyTorch's gradients (real inputs).

svd's backward (A = U diag(S) Vh, reduced, distinct singular values), with F_ij = 1 / (s_j^2 - s_i^2):
  gA = U [(F o (U^T gU - gU^T U)) S + S (F o (V^T gV - gV^T V)) + diag(gS)] Vh
       + (I - U U^T) gU S^-1 Vh + U S^-1 gV^T (I - V V^T)        (V = Vh^T, gV = gVh^T)
qr's backward (reduced, m >= n): M = R gR^T - gQ^T Q; gA = (gQ + Q copyltu(M)) R^-T, copyltu(M) the
symmetric matrix with M's lower triangle; a wide A = [A1 | A2] is Q [R1 | Q^T A2] with Q R1 = qr(A1).
"""

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, DeviceError, DTypeError, GradientError, ShapeError
from ..return_types import _make as _named
from ..tensor import Tensor, _make
from .decompositions import _eye_like, _lapack, solve
from .matmul import matmul
from .registry import register

svd_result = _named("svd", "U S Vh")
qr_result = _named("qr", "Q R")


def _matrix(op, A):
    if A.ndim < 2:
        raise ShapeError(f"linalg.{op}: A must have at least 2 dimensions, got shape {tuple(A.shape)}")
    if A.dtype.kind != "f":
        raise ArgumentError(f"linalg.{op}: expected a floating tensor, got {A.dtype}")


def _eye(n, like):
    return _make(like.device.backend.from_host(np.eye(n, dtype=like.dtype)), like.device, False, None)


class SVD(Function):
    """The reduced SVD packed in one array (..., m + 1 + k, max(n, k)) is awkward; three outputs are kept as a
    concatenation along the last axis of U (m, k), S as a row and Vh (k, n) transposed: (..., m + 1 + n, k)."""

    op_name = "svd"

    @staticmethod
    def forward(ctx, A):
        xp = ctx.backend.xp
        U, S, Vh = _lapack("svd", lambda a: xp.linalg.svd(a, full_matrices=False), A)
        ctx.save_for_backward(A)
        return xp.concatenate([U, S[..., None, :], xp.swapaxes(Vh, -1, -2)], axis=-2)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        m = A.shape[-2]
        return _svd_vjp(*_unpack(SVD.apply(A), m), *_unpack(g, m))


class SVDFull(Function):
    """full_matrices=True for a non-square A: U (m, m), S (k,) and V = Vh^T (n, n) packed in one (..., m + 1 + n,
    max(m, n)) array, zeros in the unused columns. As PyTorch, the gradient uses the first k = min(m, n) columns
    of U and V only (the rest are not unique)."""

    op_name = "svd"

    @staticmethod
    def forward(ctx, A):
        xp = ctx.backend.xp
        U, S, Vh = _lapack("svd", lambda a: xp.linalg.svd(a, full_matrices=True), A)
        ctx.save_for_backward(A)
        m, n = A.shape[-2:]
        packed = xp.zeros(A.shape[:-2] + (m + 1 + n, max(m, n)), dtype=A.dtype)
        packed[..., :m, :m] = U
        packed[..., m, :S.shape[-1]] = S
        packed[..., m + 1:, :n] = xp.swapaxes(Vh, -1, -2)
        return packed

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        m, n = A.shape[-2:]
        k = min(m, n)
        out = SVDFull.apply(A)
        return _svd_vjp(out[..., :m, :k], out[..., m, :k], out[..., m + 1:, :k],
                        g[..., :m, :k], g[..., m, :k], g[..., m + 1:, :k])


def _svd_vjp(U, S, V, gU, gS, gV):
    """The reduced SVD's vjp (the formula in the module docstring)."""
    m = U.shape[-2]
    s2 = S * S
    diff = s2.unsqueeze(-2) - s2.unsqueeze(-1)  # s_j^2 - s_i^2
    eye = _eye_like(diff)
    F = (1 - eye) / (diff + eye)
    Ut, Vt = U.mT, V.mT
    J = F * (matmul(Ut, gU) - matmul(gU.mT, U))
    K = F * (matmul(Vt, gV) - matmul(gV.mT, V))
    Sd = S.unsqueeze(-2) * eye
    inner = matmul(J, Sd) + matmul(Sd, K) + gS.unsqueeze(-2) * eye
    gA = matmul(matmul(U, inner), Vt)
    Sinv = (1 / S).unsqueeze(-2) * eye
    if m > S.shape[-1]:
        gA = gA + matmul(matmul(gU - matmul(U, matmul(Ut, gU)), Sinv), Vt)
    if V.shape[-2] > S.shape[-1]:
        gA = gA + matmul(matmul(U, Sinv), (gV - matmul(V, matmul(Vt, gV))).mT)
    return gA


def _unpack(packed, m):
    return packed[..., :m, :], packed[..., m, :], packed[..., m + 1:, :]


@register("svd")
def svd(A, full_matrices=True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending. Gradients assume distinct singular values; with
    full_matrices=True they use the first min(m, n) columns of U and V only, as PyTorch."""
    _matrix("svd", A)
    if driver is not None:
        raise ArgumentError("linalg.svd: driver= is only for CUDA in PyTorch; not supported")
    m, n = A.shape[-2:]
    if full_matrices and m != n:
        out = SVDFull.apply(A)
        return svd_result(out[..., :m, :m], out[..., m, :min(m, n)], out[..., m + 1:, :n].mT)
    U, S, V = _unpack(SVD.apply(A), m)
    return svd_result(U, S, V.mT)


@register("svdvals")
def svdvals(A, *, driver=None):
    """The singular values, descending."""
    return svd(A, full_matrices=False, driver=driver).S


def _copyltu(M):
    from .layout import tril

    lower = tril(M, -1)
    return lower + lower.mT + M * _eye_like(M)


class QR(Function):
    """Q (m, k) and R (k, n) packed as (..., m + k, max(k, n)) is awkward; reduced m >= n: (..., m + n, n)."""

    op_name = "qr"

    @staticmethod
    def forward(ctx, A):
        xp = ctx.backend.xp
        Q, R = xp.linalg.qr(A, mode="reduced")
        ctx.save_for_backward(A)
        return xp.concatenate([Q, R], axis=-2)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        m = A.shape[-2]
        out = QR.apply(A)
        Q, R = out[..., :m, :], out[..., m:, :]
        gQ, gR = g[..., :m, :], g[..., m:, :]
        M = matmul(R, gR.mT) - matmul(gQ.mT, Q)
        b = gQ + matmul(Q, _copyltu(M))
        return solve(R, b.mT).mT  # b R^-T


@register("qr")
def qr(A, mode="reduced"):
    """(Q, R) with A = Q R, Q orthonormal columns, R upper-triangular (mode 'reduced', 'complete' or 'r')."""
    _matrix("qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    m, n = A.shape[-2:]
    if mode == "reduced" and m >= n or mode == "complete" and m == n:
        out = QR.apply(A)
        return qr_result(out[..., :m, :], out[..., m:, :])
    if mode != "r" and m < n:
        # NOTE: Householder QR reduces the first m columns alone: A = Q [R1 | Q^T A2] with Q R1 = qr(A1),
        # the same factors as LAPACK's on A, and differentiable through the square QR and the product.
        from .joins import cat

        out = QR.apply(A[..., :m])
        Q, R1 = out[..., :m, :], out[..., m:, :]
        return qr_result(Q, cat([R1, matmul(Q.mT, A[..., m:])], -1))
    if A.requires_grad:
        raise GradientError(f"linalg.qr: the gradient is not defined for mode {mode!r} with shape "
                            f"{tuple(A.shape)} (PyTorch's neither: mode='r' computes no Q, and a complete Q of a "
                            "tall matrix is not unique)")
    xp = A.device.backend.xp
    if mode == "r":
        R = xp.linalg.qr(A._data, mode="r")
        return qr_result(_make(xp.zeros(A.shape[:-2] + (0,), dtype=A.dtype), A.device, False, None),
                         _make(R, A.device, False, None))
    Q, R = xp.linalg.qr(A._data, mode="complete" if mode == "complete" else "reduced")
    return qr_result(_make(Q, A.device, False, None), _make(R, A.device, False, None))


def _pinv_array(xp, A, atol, rtol, hermitian):
    m, n = A.shape[-2:]
    if hermitian:
        S, U = xp.linalg.eigh(A)
        Vh, magnitude = xp.swapaxes(U, -1, -2), abs(S)
    else:
        U, S, Vh = xp.linalg.svd(A, full_matrices=False)
        magnitude = S
    atol = 0.0 if atol is None else _column(atol)
    if rtol is None:  # as PyTorch: max(m, n) eps, or 0 where atol > 0
        rtol = xp.where(xp.asarray(atol) > 0, 0.0, max(m, n) * np.finfo(A.dtype).eps)
    cut = xp.maximum(atol, _column(rtol) * magnitude.max(axis=-1, keepdims=True)) if S.shape[-1] else 0.0
    keep = magnitude > cut
    scale = xp.where(keep, 1 / xp.where(keep, S, 1), 0).astype(A.dtype)
    return xp.swapaxes(Vh, -1, -2) * scale[..., None, :] @ xp.swapaxes(U, -1, -2)


def _column(tol):
    """A float, or an array of batch tolerances as a column against (..., k)."""
    return tol[..., None] if getattr(tol, "ndim", 0) else tol


class PInv(Function):
    """A+; backward PyTorch's pinv_backward (Golub and Pereyra 1973), the same whether hermitian or not."""

    op_name = "pinv"

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        ctx.save_for_backward(A)
        ctx.params = (atol, rtol, hermitian)
        if not A.size:
            return ctx.backend.xp.zeros(A.shape[:-2] + (A.shape[-1], A.shape[-2]), dtype=A.dtype)
        return _lapack("pinv", lambda a: _pinv_array(ctx.backend.xp, a, atol, rtol, hermitian), A)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        atol, rtol, hermitian = ctx.params
        P = PInv.apply(A, atol=atol, rtol=rtol, hermitian=hermitian)
        Ph, gh = P.mT, g.mT
        if A.shape[-2] <= A.shape[-1]:
            K = matmul(gh, P)
            KPh = matmul(K, Ph)
            return -matmul(P, K).mT + KPh - matmul(matmul(A, P), KPh) + matmul(matmul(Ph, P), gh - matmul(K, A))
        K = matmul(P, gh)
        PhK = matmul(Ph, K)
        return -matmul(K, P).mT + matmul(matmul(gh - matmul(A, K), P), Ph) + PhK - matmul(matmul(PhK, P), A)


@register("pinv")
def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The pseudo-inverse V diag(1/s) U^T over the singular values s > max(atol, rtol max(s)) (rtol default
    max(m, n) eps when neither is given, as PyTorch). hermitian=True: Q diag(1/w) Q^T from eigh (A's lower
    triangle), over the eigenvalues |w| above the same cutoff."""
    _matrix("pinv", A)
    if hermitian and A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"linalg.pinv: hermitian=True needs square matrices, got shape {tuple(A.shape)}")
    atol, rtol = (_tolerance(A, name, tol) for name, tol in (("atol", atol), ("rtol", rtol)))
    return PInv.apply(A, atol=atol, rtol=rtol, hermitian=bool(hermitian))


def _tolerance(A, name, tol):
    """None, a float, or a Tensor of tolerances over A's batch (as a raw array)."""
    if tol is None or (isinstance(tol, (int, float)) and not isinstance(tol, bool)):
        return tol
    if isinstance(tol, Tensor):
        if tol.device is not A.device:
            raise DeviceError(f"linalg.pinv: {name} on {tol.device}, A on {A.device}")
        if tol.dtype.kind != "f":
            raise DTypeError(f"linalg.pinv: {name} must be a floating tensor, got {tol.dtype}")
        return tol._data.astype(A.dtype, copy=False)
    raise ArgumentError(f"linalg.pinv: {name} must be a float or a Tensor, got {type(tol).__name__}")


def _attach_methods():
    """PyTorch's Tensor methods for these (the old torch.svd, whose V is not Vh, is deliberately left out)."""
    from ..tensor import attach_method
    from .decompositions import inv, slogdet

    attach_method("inverse", inv)
    attach_method("slogdet", slogdet)
    attach_method("pinverse", lambda self, rcond=1e-15: pinv(self, rtol=rcond))


_attach_methods()
