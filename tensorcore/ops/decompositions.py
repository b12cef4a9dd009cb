"""torch.linalg's inv, det, slogdet, solve, cholesky, eigh, matrix_power (over batches of square matrices).

Each forward is the backend's LAPACK routine; each backward is written with these same ops, so gradients
of gradients work. The formulas are PyTorch's (Giles 2008; Murray 2016 for Cholesky).
"""

import operator

from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from ..return_types import _make as _named
from ..tensor import _make
from .matmul import matmul
from .registry import register

slogdet_result = _named("slogdet", "sign logabsdet")
eigh_result = _named("eigh", "eigenvalues eigenvectors")


def _square(op, A):
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"linalg.{op}: A must be a batch of square matrices, got shape {tuple(A.shape)}")
    if A.dtype.kind != "f":
        raise ArgumentError(f"linalg.{op}: expected a floating tensor, got {A.dtype}")


def _lapack(op, fn, *arrays):
    import numpy as np

    from ..errors import LinAlgError

    try:
        return fn(*arrays)
    except np.linalg.LinAlgError as exc:
        raise LinAlgError(f"linalg.{op}: {exc} (the input is singular or not positive-definite)") from None


class Inv(Function):
    op_name = "inv"

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return _lapack("inv", ctx.backend.xp.linalg.inv, A)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        Ai = inv(A).mT
        return -matmul(matmul(Ai, g), Ai)


@register("inv")
def inv(A):
    """A^-1; gradient -A^-T g A^-T."""
    _square("inv", A)
    return Inv.apply(A)


class LogAbsDet(Function):
    op_name = "logabsdet"

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return ctx.backend.xp.linalg.slogdet(A)[1]

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        return g.unsqueeze(-1).unsqueeze(-1) * inv(A).mT


class DetSign(Function):
    """sign(det A): piecewise constant, so its gradient is zero (PyTorch records it all the same)."""

    op_name = "slogdet_sign"

    @staticmethod
    def forward(ctx, A):
        return ctx.backend.xp.linalg.slogdet(A)[0]

    @staticmethod
    def backward(ctx, g):
        return None


@register("slogdet")
def slogdet(A):
    """(sign, log|det A|) as a named tuple; the gradient of logabsdet is A^-T, that of sign zero."""
    _square("slogdet", A)
    return slogdet_result(DetSign.apply(A), LogAbsDet.apply(A))


class Det(Function):
    op_name = "det"

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return ctx.backend.xp.linalg.det(A)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        return (g * det(A)).unsqueeze(-1).unsqueeze(-1) * inv(A).mT


@register("det", method=True)
def det(A):
    """det A; gradient g det(A) A^-T (A invertible)."""
    _square("det", A)
    return Det.apply(A)


class Solve(Function):
    op_name = "solve"

    @staticmethod
    def forward(ctx, A, B):
        ctx.save_for_backward(A, B)
        return _lapack("solve", ctx.backend.xp.linalg.solve, A, B)

    @staticmethod
    def backward(ctx, g):
        A, B = ctx.saved_tensors
        gB = solve(A.mT, g)
        gA = -matmul(gB, solve(A, B).mT) if ctx.needs_input_grad[0] else None
        return gA, gB


@register("solve")
def solve(A, B, *, left=True):
    """X with A X = B (left=False: X A = B); B (n,) or (..., n) is a vector when it is one dim short of A."""
    _square("solve", A)
    if not left:
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-1]:
        raise ShapeError(f"linalg.solve: A of shape {tuple(A.shape)} and B of shape {tuple(B.shape)} do not fit")
    if Bm.ndim < A.ndim or tuple(Bm.shape[:-2]) != tuple(A.shape[:-2]):
        import numpy as np

        batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2]))
        A, Bm = A.expand(*batch, *A.shape[-2:]), Bm.expand(*batch, *Bm.shape[-2:])
    X = Solve.apply(A, Bm)
    return X.squeeze(-1) if vector else X


def _phi(X):
    """The lower triangle of X with its diagonal halved."""
    from .layout import tril

    return tril(X, -1) + 0.5 * (X * _eye_like(X))


def _eye_like(X):
    import numpy as np

    n = X.shape[-1]
    return _make(X.device.backend.from_host(np.eye(n, dtype=X.dtype)), X.device, False, None)


class Cholesky(Function):
    op_name = "cholesky"

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return _lapack("cholesky", ctx.backend.xp.linalg.cholesky, A)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        L = cholesky(A)
        Li = inv(L)
        S = matmul(matmul(Li.mT, _phi(matmul(L.mT, g))), Li)
        return 0.5 * (S + S.mT)


@register("cholesky")
def cholesky(A, *, upper=False):
    """L lower-triangular with A = L L^T (upper=True: U = L^T); gradient of Murray (2016)."""
    _square("cholesky", A)
    L = Cholesky.apply(A)
    return L.mT if upper else L


class EighValues(Function):
    """eigh's outputs as one array (..., n + 1, n): eigenvalues in row 0, eigenvectors below, for one backward."""

    op_name = "eigh"

    @staticmethod
    def forward(ctx, A, uplo):
        xp = ctx.backend.xp
        w, V = xp.linalg.eigh(A, UPLO=uplo)
        ctx.save_for_backward(A)
        ctx.uplo = uplo
        return xp.concatenate([w[..., None, :], V], axis=-2)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        out = EighValues.apply(A, uplo=ctx.uplo)
        w, V = out[..., 0, :], out[..., 1:, :]
        gw, gV = g[..., 0, :], g[..., 1:, :]
        E = w.unsqueeze(-2) - w.unsqueeze(-1)  # E[i, j] = w_j - w_i
        eye = _eye_like(E)
        VhgV = matmul(V.mT, gV)
        VhgV = 0.5 * (VhgV - VhgV.mT)
        inner = VhgV / (E + eye) * (1 - eye) + gw.unsqueeze(-2) * eye
        return matmul(matmul(V, inner), V.mT)


@register("eigh")
def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix, from its UPLO triangle."""
    _square("eigh", A)
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    out = EighValues.apply(A, uplo=UPLO)
    return eigh_result(out[..., 0, :], out[..., 1:, :])


@register("eigvalsh")
def eigvalsh(A, UPLO="L"):
    """The eigenvalues of a symmetric matrix, ascending."""
    return eigh(A, UPLO).eigenvalues


@register("matrix_power", method=True)
def matrix_power(A, n):
    """A^n by repeated squaring (n = 0: the identity; n < 0: inv(A)^-n)."""
    _square("matrix_power", A)
    try:
        n = operator.index(n)
    except TypeError:
        raise ArgumentError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}") from None
    if n == 0:
        return A * 0 + _eye_like(A)
    base = inv(A) if n < 0 else A
    n = abs(n)
    result = None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result
