"""Gradcheck cases for LU (ops/lu.py): the factors multiply back to A, lu_solve solves, lu_factor's packed factor
(square, wide and tall)."""

import numpy as np

from ..ops import lu as LU
from .cases import OpCase


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _wellconditioned(rng, n=3):
    return rng.standard_normal((n, n)) + 3 * np.eye(n)


def _plu(a):
    P, L, U = LU.lu(a)
    return P @ L @ U


def _unpacked(a):
    P, L, U = LU.lu_unpack(*LU.lu_factor(a))
    return P @ L @ U


CASES = [
    OpCase("lu", lambda r: (_n(r, 3, 3),), _plu, lambda a: a),
    OpCase("lu", lambda r: (_n(r, 2, 3, 4),), _plu, lambda a: a, label="wide batch"),
    OpCase("lu", lambda r: (_n(r, 4, 2),), _plu, lambda a: a, label="tall"),
    OpCase("lu_factor", lambda r: (_n(r, 3, 3),), lambda a: LU.lu_factor(a).LU),
    OpCase("lu_factor_ex", lambda r: (_n(r, 3, 4),), lambda a: LU.lu_factor_ex(a).LU),
    OpCase("lu_unpack", lambda r: (_n(r, 2, 3, 3),), _unpacked, lambda a: a),
    OpCase("lu_solve", lambda r: (_wellconditioned(r), _n(r, 3, 2)),
           lambda a, b: LU.lu_solve(*LU.lu_factor(a), b), np.linalg.solve),
]
