"""torch.linalg's svd, svdvals, qr and pinv, with PyTorch's gradients (real inputs).

svd's backward (A = U diag(S) Vh, reduced, distinct singular values), with F_ij = 1 / (s_j^2 - s_i^2):
  gA = U [(F o (U^T gU - gU^T U)) S + S (F o (V^T gV - gV^T V)) + diag(gS)] Vh
       + (I - U U^T) gU S^-1 Vh + U S^-1 gV^T (I - V V^T)        (V = Vh^T, gV = gVh^T)
qr's backward (reduced, m >= n): M = R gR^T - gQ^T Q; gA = (gQ + Q copyltu(M)) R^-T, copyltu(M) the
symmetric matrix with M's lower triangle.
"""

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, GradientError, ShapeError
from ..return_types import _make as _named
from ..tensor import _make
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
        U, S, V = _unpack(SVD.apply(A), m)
        gU, gS, gV = _unpack(g, m)
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
    """(U, S, Vh) with A = U diag(S) Vh, S descending. Gradients need full_matrices=False (as PyTorch) unless A
    is square; they assume distinct singular values."""
    _matrix("svd", A)
    if driver is not None:
        raise ArgumentError("linalg.svd: driver= is only for CUDA in PyTorch; not supported")
    m, n = A.shape[-2:]
    if full_matrices and m != n:
        if A.requires_grad:
            raise GradientError("linalg.svd: the gradient of full_matrices=True is not defined for a non-square "
                                "matrix; use full_matrices=False")
        xp = A.device.backend.xp
        U, S, Vh = _lapack("svd", lambda a: xp.linalg.svd(a, full_matrices=True), A._data)
        return svd_result(*(_make(x, A.device, False, None) for x in (U, S, Vh)))
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
    if mode == "reduced" and m >= n:
        out = QR.apply(A)
        return qr_result(out[..., :m, :], out[..., m:, :])
    if A.requires_grad:
        raise GradientError(f"linalg.qr: the gradient is only supported for mode='reduced' with m >= n (got mode "
                            f"{mode!r} and shape {tuple(A.shape)})")
    xp = A.device.backend.xp
    if mode == "r":
        R = xp.linalg.qr(A._data, mode="r")
        return qr_result(_make(xp.zeros(A.shape[:-2] + (0,), dtype=A.dtype), A.device, False, None),
                         _make(R, A.device, False, None))
    Q, R = xp.linalg.qr(A._data, mode="complete" if mode == "complete" else "reduced")
    return qr_result(_make(Q, A.device, False, None), _make(R, A.device, False, None))


@register("pinv")
def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The pseudo-inverse V diag(1/s) U^T over the singular values s > max(atol, rtol max(s)) (rtol default
    max(m, n) eps when neither is given, as PyTorch)."""
    _matrix("pinv", A)
    if hermitian:
        raise ArgumentError("linalg.pinv: hermitian=True is not supported")
    m, n = A.shape[-2:]
    U, S, Vh = svd(A, full_matrices=False)
    if rtol is None:
        rtol = max(m, n) * np.finfo(A.dtype).eps if atol is None else 0.0
    cut = np.maximum(atol or 0.0, rtol * S._data.max(axis=-1, keepdims=True)) if S.shape[-1] else 0.0
    keep = _make(A.device.backend.asarray((S._data > cut).astype(A.dtype)), A.device, False, None)
    safe = S + (1 - keep)
    return matmul(Vh.mT * (keep / safe).unsqueeze(-2), U.mT)


def _attach_methods():
    """PyTorch's Tensor methods for these (the old torch.svd, whose V is not Vh, is deliberately left out)."""
    from ..tensor import attach_method
    from .decompositions import inv, slogdet

    attach_method("inverse", inv)
    attach_method("slogdet", slogdet)
    attach_method("pinverse", lambda self, rcond=1e-15: pinv(self, rtol=rcond))


_attach_methods()
