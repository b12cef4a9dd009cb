"""Gradcheck cases for the products (ops/products.py) and decompositions (ops/decompositions.py), with NumPy
references."""

import numpy as np

from ..ops import decompositions as D
from ..ops import products as P
from ..ops import svd_qr as SQ
from .cases import OpCase


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _wellconditioned(rng, n=3):
    return rng.standard_normal((n, n)) + 3 * np.eye(n)


def _spd(rng, n=3):
    a = rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def _sym(x):
    return (x + x.T) / 2


CASES = [
    OpCase("mm", lambda r: (_n(r, 2, 3), _n(r, 3, 4)), P.mm, lambda a, b: a @ b),
    OpCase("bmm", lambda r: (_n(r, 2, 2, 3), _n(r, 2, 3, 2)), P.bmm, lambda a, b: a @ b),
    OpCase("mv", lambda r: (_n(r, 2, 3), _n(r, 3)), P.mv, lambda a, b: a @ b),
    OpCase("dot", lambda r: (_n(r, 4), _n(r, 4)), P.dot, np.dot),
    OpCase("vdot", lambda r: (_n(r, 4), _n(r, 4)), P.vdot, np.vdot),
    OpCase("outer", lambda r: (_n(r, 3), _n(r, 2)), P.outer, np.outer),
    OpCase("addmm", lambda r: (_n(r, 4), _n(r, 2, 3), _n(r, 3, 4)), lambda c, a, b: P.addmm(c, a, b, beta=0.5, alpha=2),
           lambda c, a, b: 0.5 * c + 2 * a @ b),
    OpCase("addmv", lambda r: (_n(r, 2), _n(r, 2, 3), _n(r, 3)), P.addmv, lambda c, a, b: c + a @ b),
    OpCase("baddbmm", lambda r: (_n(r, 2, 2, 2), _n(r, 2, 2, 3), _n(r, 2, 3, 2)), P.baddbmm,
           lambda c, a, b: c + a @ b),
    OpCase("addbmm", lambda r: (_n(r, 2, 2), _n(r, 3, 2, 3), _n(r, 3, 3, 2)), P.addbmm,
           lambda c, a, b: c + (a @ b).sum(0)),
    OpCase("tensordot", lambda r: (_n(r, 2, 3, 4), _n(r, 4, 3, 2)), lambda a, b: P.tensordot(a, b, ([1, 2], [1, 0])),
           lambda a, b: np.tensordot(a, b, ([1, 2], [1, 0]))),
    OpCase("kron", lambda r: (_n(r, 2, 3), _n(r, 2, 2)), P.kron, np.kron),
    OpCase("cross", lambda r: (_n(r, 2, 3), _n(r, 2, 3)), lambda a, b: P.cross(a, b, dim=1),
           lambda a, b: np.cross(a, b, axis=1)),
    OpCase("trace", lambda r: (_n(r, 3, 4),), P.trace, np.trace),
    OpCase("einsum", lambda r: (_n(r, 2, 3, 4), _n(r, 2, 4)), lambda a, b: P.einsum("bij,bj->bi", a, b),
           lambda a, b: np.einsum("bij,bj->bi", a, b)),
    OpCase("einsum", lambda r: (_n(r, 2, 3), _n(r, 4)), lambda a, b: P.einsum("ij,k->i", a, b),
           lambda a, b: np.einsum("ij,k->i", a, b), label="summed alone"),
    OpCase("cdist", lambda r: (_n(r, 3, 4), _n(r, 2, 4)), P.cdist,
           lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))),
    OpCase("inv", lambda r: (_wellconditioned(r),), D.inv, np.linalg.inv),
    OpCase("det", lambda r: (_wellconditioned(r),), D.det, np.linalg.det),
    OpCase("slogdet", lambda r: (_wellconditioned(r),), lambda a: D.slogdet(a).logabsdet,
           lambda a: np.linalg.slogdet(a)[1]),
    OpCase("solve", lambda r: (_wellconditioned(r), _n(r, 3, 2)), D.solve, np.linalg.solve),
    OpCase("cholesky", lambda r: (_spd(r),), lambda a: D.cholesky(a + a.mT), lambda a: np.linalg.cholesky(a + a.T)),
    OpCase("eigh", lambda r: (_spd(r),), lambda a: D.eigh(a + a.mT).eigenvalues,
           lambda a: np.linalg.eigh(a + a.T)[0]),
    OpCase("eigvalsh", lambda r: (_n(r, 3, 3),), lambda a: D.eigvalsh(a + a.mT),
           lambda a: np.linalg.eigvalsh(a + a.T)),
    OpCase("matrix_power", lambda r: (_n(r, 3, 3),), lambda a: D.matrix_power(a, 3),
           lambda a: np.linalg.matrix_power(a, 3)),
    OpCase("svdvals", lambda r: (_n(r, 4, 3),), SQ.svdvals, lambda a: np.linalg.svd(a, compute_uv=False)),
    OpCase("svd", lambda r: (_n(r, 3, 4),), lambda a: SQ.svd(a, full_matrices=False).U.abs(),
           lambda a: np.abs(np.linalg.svd(a, full_matrices=False)[0])),
    OpCase("qr", lambda r: (_n(r, 4, 3),), lambda a: SQ.qr(a).R.abs(), lambda a: np.abs(np.linalg.qr(a)[1])),
    OpCase("pinv", lambda r: (_n(r, 3, 4),), SQ.pinv, np.linalg.pinv),
]
