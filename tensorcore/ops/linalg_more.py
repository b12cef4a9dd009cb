"""More of torch / torch.linalg's linear algebra, composed of the decompositions and products (their gradients
are theirs): logdet, inner, addr, multi_dot, vander, cholesky_solve, cholesky_inverse, solve_triangular,
triangular_solve, matrix_rank, cond; and plain wrappers of registered ops (no op of their own): the *_ex
variants and the old torch.cholesky / torch.svd / torch.qr.
"""

import operator

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, GradientError, ShapeError
from ..return_types import _make as _named
from ..tensor import Tensor, _make, attach_method
from .decompositions import cholesky as linalg_cholesky
from .decompositions import inv, slogdet, solve
from .layout import tril, triu
from .matmul import matmul
from .products import _scaled, outer, tensordot
from .registry import register
from .svd_qr import pinv, svdvals
from .svd_qr import qr as linalg_qr
from .svd_qr import svd as linalg_svd

triangular_solve_result = _named("triangular_solve", "solution cloned_coefficient")
inv_ex_result = _named("inv_ex", "inverse info")
cholesky_ex_result = _named("cholesky_ex", "L info")
solve_ex_result = _named("solve_ex", "result info")
svd_result = _named("svd", "U S V")
lstsq_result = _named("lstsq", "solution residuals rank singular_values")
qr_result = _named("qr", "Q R")


@register("tensorinv")
def tensorinv(A, ind=2):
    """The inverse of A as a map from its first ind dims to the rest: shape A.shape[ind:] + A.shape[:ind]."""
    ind = operator.index(ind)
    if ind <= 0:
        raise ArgumentError(f"linalg.tensorinv: ind must be positive, got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if int(np.prod(rows)) != int(np.prod(cols)):
        raise ShapeError(f"linalg.tensorinv: the product of A's first {ind} dims {rows} must equal that of the rest "
                         f"{cols}")
    return inv(A.reshape(int(np.prod(rows)), -1)).reshape(*cols, *rows)


@register("tensorsolve")
def tensorsolve(A, B, dims=None):
    """X with tensordot(A, X, X.ndim) = B; dims: A's dims moved to the end first."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.permute(*[d for d in range(A.ndim) if d not in dims], *dims)
    rest = tuple(A.shape[B.ndim:])
    if int(np.prod(A.shape[:B.ndim])) != B.numel() or int(np.prod(rest)) != B.numel():
        raise ShapeError(f"linalg.tensorsolve: A of shape {tuple(A.shape)} does not fit B of shape {tuple(B.shape)}")
    return solve(A.reshape(B.numel(), -1), B.reshape(-1)).reshape(*rest)


@register("lstsq")
def lstsq(A, B, rcond=None, *, driver=None):
    """(solution, residuals, rank, singular_values) as PyTorch's linalg.lstsq: the solution pinv(A) B (minimum
    norm; singular values below rcond * max ones dropped), differentiable through pinv; residuals ||A X - B||^2
    per column when m > n and driver != 'gelsy'; rank for gelsy / gelsd / gelss; singular values for gelsd /
    gelss; empty tensors otherwise (PyTorch's shapes)."""
    import tensorcore as tc

    driver = "gelsy" if driver is None else driver
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise ArgumentError(f"linalg.lstsq: driver must be one of gels, gelsy, gelsd, gelss (cpu), got {driver!r}")
    if A.ndim < 2:
        raise ShapeError(f"linalg.lstsq: A must have at least 2 dims, got shape {tuple(A.shape)}")
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:]
    if Bm.ndim < 2 or Bm.shape[-2] != m:
        raise ShapeError(f"linalg.lstsq: A of shape {tuple(A.shape)} and B of shape {tuple(B.shape)} do not fit")
    X = matmul(pinv(A) if rcond is None else pinv(A, rtol=rcond), Bm)
    empty = tc.zeros(0, dtype=A.dtype, device=A.device)
    if m > n and driver != "gelsy":
        residuals = ((matmul(A, X) - Bm) ** 2).sum(dim=-2)
    else:  # empty, but in the graph as PyTorch's (it requires grad when A or B does)
        residuals = (A.reshape(-1)[:1].sum() + Bm.reshape(-1)[:1].sum()) * empty
    rank = matrix_rank(A, rtol=rcond) if driver != "gels" else tc.zeros(0, dtype=tc.int64, device=A.device)
    values = svdvals(A.detach()) if driver in ("gelsd", "gelss") else empty
    return lstsq_result(X.squeeze(-1) if vector else X, residuals, rank, values)


def _expm(xp, A):
    """e^A of a batch: scaled to norm <= 1/2 (the largest of the batch), 18 Taylor terms, squared back."""
    if not A.size:
        return A.copy()
    norm = float(abs(A).sum(axis=-2).max())
    s = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0.5 else 0
    X = A / (2.0 ** s)
    eye = xp.broadcast_to(xp.eye(A.shape[-1], dtype=A.dtype), A.shape)
    term, total = eye, eye.copy()
    for k in range(1, 19):
        term = term @ X / k
        total = total + term
    for _ in range(s):
        total = total @ total
    return total


class MatrixExp(Function):
    """e^A; backward the upper-right block of e^[[A^T, g], [0, A^T]] (PyTorch's), itself differentiable."""

    op_name = "matrix_exp"

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return _expm(ctx.backend.xp, A)

    @staticmethod
    def backward(ctx, g):
        from .joins import cat

        (A,) = ctx.saved_tensors
        n = A.shape[-1]
        At = A.mT
        block = cat([cat([At, g], -1), cat([g * 0, At], -1)], -2)
        return MatrixExp.apply(block)[..., :n, n:]


@register("matrix_exp", method=True)
def matrix_exp(A):
    """e^A = sum_k A^k / k! of a batch of square matrices."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"matrix_exp: A must be a batch of square matrices, got shape {tuple(A.shape)}")
    if A.dtype.kind != "f":
        raise ArgumentError(f"matrix_exp: expected a floating tensor, got {A.dtype}")
    return MatrixExp.apply(A)


def _info(A):
    """LAPACK's info: 0 for every matrix of the batch (a failure raises instead)."""
    return _make(A.device.backend.xp.zeros(A.shape[:-2], dtype=np.int32), A.device, False, None)


@register("logdet", method=True)
def logdet(A):
    """log det A: log|det A| where det A > 0, NaN where it is negative, -inf where it is 0 (PyTorch's)."""
    from .unary import log

    sign, logabs = slogdet(A)
    return logabs + log(sign)


@register("inner", method=True)
def inner(input, other):
    """sum over the last dims of input and other (a product when either is 0-d)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(f"inner: last dims of {tuple(input.shape)} and {tuple(other.shape)} differ")
    return tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]))


@register("addr", method=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta input + alpha outer(vec1, vec2) (input broadcast to the outer product's shape)."""
    return _scaled(beta, input, alpha, outer(vec1, vec2))


@register("multi_dot")
def multi_dot(tensors):
    """The product of the matrices, left to right; a 1-D first (last) one is a row (column) vector, as PyTorch."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ArgumentError(f"linalg.multi_dot: expected at least 2 tensors, got {len(tensors)}")
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = [tensors[0].unsqueeze(0) if first_vec else tensors[0]] + tensors[1:-1] + \
        [tensors[-1].unsqueeze(-1) if last_vec else tensors[-1]]
    for i, m in enumerate(mats):
        if m.ndim != 2:
            raise ShapeError(f"linalg.multi_dot: tensor {i} must be 2-D (1-D first or last), got {tuple(m.shape)}")
    out = mats[0]
    for m in mats[1:]:
        if out.shape[-1] != m.shape[0]:
            raise ShapeError(f"linalg.multi_dot: shapes {tuple(out.shape)} and {tuple(m.shape)} do not multiply")
        out = matmul(out, m)
    if first_vec:
        out = out.squeeze(0)
    return out.squeeze(-1) if last_vec else out


@register("vander")
def vander(x, *, N=None):
    """x[..., i] ** j for j = 0 .. N - 1 (increasing powers, PyTorch's linalg.vander)."""
    if x.ndim == 0:  # as PyTorch: one value
        x = x.reshape(1)
    N = x.shape[-1] if N is None else operator.index(N)
    if N <= 1:
        raise ArgumentError(f"linalg.vander: N must be greater than 1, got {N}")
    from .joins import cat

    cols = [x.unsqueeze(-1) * 0 + 1]
    for _ in range(1, N):
        cols.append(cols[-1] * x.unsqueeze(-1))
    return cat(cols, -1)


def _factor(op, L, upper):
    """L's triangle (the one LAPACK reads), differentiable as L itself, as PyTorch's cholesky_solve/_inverse."""
    part = triu(L) if upper else tril(L)
    if L.requires_grad and L.numel() and bool(((L - part)._data != 0).any()):
        raise GradientError(f"{op}: the gradient needs a {'upper' if upper else 'lower'}-triangular factor (the "
                            f"other triangle of this {tuple(L.shape)} one is not zero)")
    return L + (part - L).detach()


@register("cholesky_solve", method=True)
def cholesky_solve(B, L, upper=False):
    """X with (L L^T) X = B (upper=True: U^T U X = B), L a Cholesky factor."""
    M = _factor("cholesky_solve", L, upper)
    A = matmul(M.mT, M) if upper else matmul(M, M.mT)
    if B.ndim < 2 or B.shape[-2] != A.shape[-1]:
        raise ShapeError(f"cholesky_solve: B of shape {tuple(B.shape)} for a factor of shape {tuple(L.shape)}")
    return solve(A, B)


@register("cholesky_inverse", method=True)
def cholesky_inverse(L, upper=False):
    """(L L^T)^-1 (upper=True: (U^T U)^-1), L a Cholesky factor."""
    M = _factor("cholesky_inverse", L, upper)
    return inv(matmul(M.mT, M) if upper else matmul(M, M.mT))


def _triangular(A, upper, unitriangular):
    T = triu(A, 1 if unitriangular else 0) if upper else tril(A, -1 if unitriangular else 0)
    if unitriangular:
        from .decompositions import _eye_like

        T = T + _eye_like(A)
    return T


@register("solve_triangular")
def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with T X = B (left=False: X T = B), T the upper / lower triangle of A (unit diagonal if unitriangular);
    A's other triangle is not read, and gets no gradient (as PyTorch)."""
    T = _triangular(A, upper, unitriangular)
    if A.ndim < 2 or B.ndim < 2:
        raise ShapeError(f"linalg.solve_triangular: A {tuple(A.shape)} and B {tuple(B.shape)} must be matrices")
    return solve(T, B) if left else solve(T.mT, B.mT).mT


@register("triangular_solve", method=True)
def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """(X, A.clone()) with op(T) X = b, T A's upper / lower triangle, op the transpose if transpose=True."""
    T = _triangular(A, upper, unitriangular)
    return triangular_solve_result(solve(T.mT if transpose else T, b), A.clone())


def _tolerances(op, S, A, atol, rtol):
    m, n = A.shape[-2:]
    atol = 0.0 if atol is None else (atol._data[..., None] if isinstance(atol, Tensor) else atol)
    if rtol is None:
        rtol = np.where(np.asarray(atol) > 0, 0.0, max(m, n) * np.finfo(A.dtype).eps)
    elif isinstance(rtol, Tensor):
        rtol = rtol._data[..., None]
    return np.maximum(atol, rtol * S.max(axis=-1, keepdims=True)) if S.shape[-1] else 0.0


@register("matrix_rank")
def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    """The number of singular values (|eigenvalues| if hermitian) above max(atol, rtol max(s)), int64."""
    if tol is not None:
        if atol is not None or rtol is not None:
            raise ArgumentError("linalg.matrix_rank: tol is atol's old name; give one of them")
        atol = tol
    xp = A.device.backend.xp
    if A.ndim < 2:
        raise ShapeError(f"linalg.matrix_rank: A must have at least 2 dimensions, got {tuple(A.shape)}")
    if not A.numel():
        return _make(xp.zeros(A.shape[:-2], dtype=np.int64), A.device, False, None)
    S = abs(xp.linalg.eigvalsh(A._data)) if hermitian else xp.linalg.svd(A._data, compute_uv=False)
    cut = _tolerances("matrix_rank", S, A, atol, rtol)
    return _make((S > cut).sum(axis=-1).astype(np.int64), A.device, False, None)


@register("cond")
def cond(A, p=None):
    """The condition number: s_max / s_min for p None or 2 (s_min / s_max for -2), else norm(A, p) norm(A^-1, p)."""
    from .stats import matrix_norm

    if p in (None, 2, -2):
        S = svdvals(A)
        big, small = S[..., 0], S[..., -1]
        return big / small if p != -2 else small / big
    if p not in ("fro", "nuc", np.inf, -np.inf, 1, -1):
        raise ArgumentError(f"linalg.cond: p must be None, 2, -2, 'fro', 'nuc', inf, -inf, 1 or -1, got {p!r}")
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def inv_ex(A, *, check_errors=False):
    """(inv(A), info); a singular A raises (no info > 0 result)."""
    return inv_ex_result(inv(A), _info(A))


def cholesky_ex(A, *, upper=False, check_errors=False):
    """(cholesky(A), info); a matrix that is not positive-definite raises (no info > 0 result)."""
    return cholesky_ex_result(linalg_cholesky(A, upper=upper), _info(A))


def solve_ex(A, B, *, left=True, check_errors=False):
    """(solve(A, B), info); a singular A raises (no info > 0 result)."""
    return solve_ex_result(solve(A, B, left=left), _info(A))


def cholesky(input, upper=False):
    """torch.cholesky (deprecated there): linalg.cholesky."""
    return linalg_cholesky(input, upper=upper)


def svd(input, some=True, compute_uv=True):
    """torch.svd: (U, S, V), V not transposed; some=False gives the full U and V; compute_uv=False zeros."""
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    if not compute_uv:
        xp = input.device.backend.xp
        return svd_result(_make(xp.zeros_like(U._data), input.device, False, None), S,
                          _make(xp.zeros_like(Vh._data), input.device, False, None))
    return svd_result(U, S, Vh.mT)


def qr(input, some=True):
    """torch.qr: linalg.qr with mode 'reduced' (some=True) or 'complete'."""
    return qr_result(*linalg_qr(input, mode="reduced" if some else "complete"))


for _name, _fn in (("cholesky", cholesky), ("svd", svd), ("qr", qr)):
    attach_method(_name, _fn)
