"""torch's top-level linear-algebra names of the old API: chain_matmul, frobenius_norm, nuclear_norm, pinverse, vander,
lu / lu_unpack / lu_solve (torch.linalg's lu_factor underneath), and the names torch removed in 1.9 (matrix_rank,
solve, lstsq, eig, symeig), which raise as torch's do. Imported by tensorcore/__init__.py (EXPORTS); also the
Tensor methods lu, lu_solve and the removed solve / lstsq / eig / symeig."""

import warnings

from .errors import ArgumentError, ShapeError, TensorcoreError
from .ops import lu as _lu
from .tensor import Tensor, attach_method


def _deprecated(message):
    warnings.warn(message, UserWarning, stacklevel=3)


def chain_matmul(*matrices, out=None):
    """The product of the 2-d matrices, left to right (deprecated: torch.linalg.multi_dot)."""
    from .linalg import multi_dot

    _deprecated("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than multiple "
                "parameters.")
    if out is not None:
        raise ArgumentError("chain_matmul: out= is not supported")
    if not matrices:
        raise ArgumentError("chain_matmul(): Expected one or more matrices")
    for i, m in enumerate(matrices):
        if not isinstance(m, Tensor) or m.ndim != 2:
            raise ShapeError(f"chain_matmul(): Tensor {i} must be 2-d, got {getattr(m, 'shape', type(m).__name__)}")
    return matrices[0].clone() if len(matrices) == 1 else multi_dot(list(matrices))


def frobenius_norm(input, dim, keepdim=False):
    """sqrt(sum of squares) over dim (deprecated: torch.linalg.vector_norm(input, 2, dim, keepdim))."""
    from .linalg import vector_norm

    _deprecated("at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will be removed in "
                "a future PyTorch release. Please use `linalg.vector_norm(A, 2., dim, keepdim)` instead")
    dim = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dim) > 2:
        raise ArgumentError(f"frobenius_norm: expected at most 2 dims, got {dim}")
    return vector_norm(input, 2, dim, keepdim)


def nuclear_norm(input, dim=None, keepdim=False):
    """The sum of the singular values of the matrices over dim (the last two by default; deprecated:
    torch.linalg.matrix_norm(input, 'nuc', dim, keepdim))."""
    from .linalg import matrix_norm

    _deprecated("at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be removed in a "
                "future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead")
    if isinstance(dim, bool):  # torch.nuclear_norm(input, keepdim)
        dim, keepdim = None, dim
    if dim is None:
        if input.ndim != 2:
            raise ShapeError(f"nuclear_norm: expected a 2-d tensor, got shape {tuple(input.shape)}")
        dim = (-2, -1)
    return matrix_norm(input, "nuc", tuple(dim), keepdim)


def pinverse(input, rcond=1e-15):
    """The pseudo-inverse, singular values below rcond * the largest treated as zero (torch.linalg.pinv's rtol)."""
    from .linalg import pinv

    return pinv(input, rtol=rcond)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of 1-d x: columns x^(N-1) ... x^0 (increasing=True: x^0 ... x^(N-1)); N = len(x)."""
    from .linalg import vander as linalg_vander

    if not isinstance(x, Tensor) or x.ndim != 1:
        raise ShapeError(f"vander: x must be a one-dimensional tensor, got {getattr(x, 'shape', type(x).__name__)}")
    if N is not None and N < 0:
        raise ArgumentError(f"vander: N must be non-negative, got {N}")
    if N == 0:
        return x.new_empty((x.shape[0], 0))
    V = linalg_vander(x, N=N)
    if x.dtype.kind == "b":
        V = V.to(dtype="int64")
    return V if increasing else V.flip(-1)


def lu(A, pivot=True, get_infos=False, out=None):
    """(LU, pivots) or (LU, pivots, infos) (deprecated: torch.linalg.lu_factor / lu_factor_ex)."""
    from .linalg import lu_factor_ex

    _deprecated("torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be "
                "removed in a future PyTorch release.")
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    return (LU, pivots, info) if get_infos else (LU, pivots)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """(P, L, U) from (LU, pivots)."""
    return _lu.lu_unpack(LU_data, LU_pivots, unpack_data, unpack_pivots)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """X with A X = b, A given by its (LU, pivots) (deprecated: torch.linalg.lu_solve(LU, pivots, B))."""
    _deprecated("torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a future "
                "PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.")
    return _lu.lu_solve(LU_data, LU_pivots, b)


def _removed(name, instead):
    def fn(*args, **kwargs):
        raise TensorcoreError(f"This function was deprecated since version 1.9 and is now removed. Please use the "
                              f"`{instead}` function instead.")

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Removed from torch in 1.9: raises, naming {instead}."
    return fn


matrix_rank = _removed("matrix_rank", "torch.linalg.matrix_rank")
solve = _removed("solve", "torch.linalg.solve")
lstsq = _removed("lstsq", "torch.linalg.lstsq")
eig = _removed("eig", "torch.linalg.eig")
symeig = _removed("symeig", "torch.linalg.eigh")

EXPORTS = ("chain_matmul", "frobenius_norm", "nuclear_norm", "pinverse", "vander", "lu", "lu_unpack", "lu_solve",
           "matrix_rank", "solve", "lstsq", "eig", "symeig")


def _attach():
    for name, fn in (("lu", lambda self, pivot=True, get_infos=False: lu(self, pivot, get_infos)),
                     ("lu_solve", lambda self, LU_data, LU_pivots: lu_solve(self, LU_data, LU_pivots)),
                     ("solve", solve), ("lstsq", lstsq), ("eig", eig), ("symeig", symeig)):
        if not hasattr(Tensor, name):
            attach_method(name, fn)


_attach()
