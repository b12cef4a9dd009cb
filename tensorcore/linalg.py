"""tc.linalg: PyTorch's torch.linalg names."""

# --- norms and diagonal (reductions and shape; tensorcore/ops/stats.py, copies.py) ---
from .errors import LinAlgError  # noqa: F401  (torch.linalg.LinAlgError: a singular / not positive-definite input)
from .ops.copies import linalg_diagonal as diagonal  # noqa: F401
from .ops.stats import matrix_norm, vector_norm  # noqa: F401


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """linalg.norm: vector_norm when dim is an int or A is 1-D (ord default 2); matrix_norm for two dims
    (ord default 'fro'); the 2-norm of the flattened A when ord and dim are both None."""
    if dim is None and ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if isinstance(dim, int) or (dim is None and A.ndim == 1) or (isinstance(dim, (tuple, list)) and len(dim) == 1):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim != 2:
            from .errors import ShapeError

            raise ShapeError(f"linalg.norm: with ord={ord!r} and no dim, A must be 1-D or 2-D, got {tuple(A.shape)}")
        dim = (-2, -1)
    return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)


# --- end of norms and diagonal ---


# --- products and decompositions (tensorcore/ops/products.py, decompositions.py) ---
from .ops.decompositions import (  # noqa: E402, F401
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matrix_power,
    slogdet,
    solve,
)
from .ops.products import cross as _cross  # noqa: E402
from .ops.products import matmul, tensordot  # noqa: E402, F401
from .ops.svd_qr import pinv, qr, svd, svdvals  # noqa: E402, F401


def cross(input, other, *, dim=-1):
    """linalg.cross: the cross product of 3-vectors along dim (default the last, unlike torch.cross)."""
    return _cross(input, other, dim=dim)


def vecdot(x, y, *, dim=-1):
    """sum(x * y) along dim (real tensors)."""
    return (x * y).sum(dim=dim)


# --- end of products and decompositions ---


# --- more of torch.linalg (tensorcore/ops/linalg_more.py) ---
from .ops.ldl_householder import (  # noqa: E402, F401, I001  (householder_product, LDL)
    householder_product,
    ldl_factor,
    ldl_factor_ex,
    ldl_solve,
)
from .ops.linalg_more import (  # noqa: E402, F401
    cholesky_ex,
    cond,
    inv_ex,
    lstsq,
    matrix_exp,
    matrix_rank,
    multi_dot,
    solve_ex,
    solve_triangular,
    tensorinv,
    tensorsolve,
    vander,
)

# --- LU (tensorcore/ops/lu.py) ---
from .ops.lu import lu, lu_factor, lu_factor_ex, lu_solve  # noqa: E402, F401
