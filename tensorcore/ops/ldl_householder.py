"""torch.linalg.householder_product (differentiable: Tensor ops) and ldl_factor / ldl_factor_ex / ldl_solve
(real symmetric A, LAPACK's Bunch-Kaufman sytrf / sytrs on the lower triangle, its 1-based int32 pivots;
no gradient, as PyTorch has none: backward raises).

householder_product(A, tau): the first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with
v_i = (0, .., 0, 1, A[i+1:, i]); A (*, m, n), tau (*, k), m >= n >= k.
"""

import math

import numpy as np

from ..autograd import Function
from ..errors import ArgumentError, DTypeError, GradientError, LinAlgError, ShapeError
from ..return_types import _make as _named
from ..tensor import Tensor, _make

ldl_factor_result = _named("linalg_ldl_factor", "LD pivots")
ldl_factor_ex_result = _named("linalg_ldl_factor_ex", "LD pivots info")
_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0


def householder_product(A, tau, *, out=None):
    """torch.linalg.householder_product (orgqr): Q's first n columns from geqrf-style reflectors."""
    from ..creation import eye
    from .layout import tril

    op = "torch.linalg.householder_product"
    if not isinstance(A, Tensor) or not isinstance(tau, Tensor):
        raise ArgumentError(f"{op}: expected Tensors, got {type(A).__name__} and {type(tau).__name__}")
    if A.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dimensions, got shape {tuple(A.shape)}")
    m, n = A.shape[-2], A.shape[-1]
    if m < n:
        raise ShapeError(f"{op}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if tau.ndim != A.ndim - 1:
        raise ShapeError(f"{op}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                         f"{tau.ndim} and input.ndim is equal to {A.ndim}")
    k = tau.shape[-1]
    if n < k:
        raise ShapeError(f"{op}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise ShapeError(f"{op}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                         f"{tuple(tau.shape[:-1])} and {tuple(A.shape[:-2])}")
    if A.dtype != tau.dtype:
        raise DTypeError(f"{op}: tau dtype {tau.dtype} does not match input dtype {A.dtype}")
    if A.dtype.kind not in "fV":
        raise DTypeError(f"{op}: expected a floating input, got {A.dtype}")
    if A.device != tau.device:
        from ..errors import DeviceError

        raise DeviceError(f"{op}: tau is on {tau.device}, input on {A.device}")
    unit = eye(m, k, dtype=A.dtype, device=A.device)
    V = tril(A[..., :, :k], -1) + unit  # the reflectors' vectors as columns
    Q = eye(m, n, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], m, n)
    for i in reversed(range(k)):  # Q = H_1 (H_2 (... (H_k E)))
        v = V[..., :, i:i + 1]
        Q = Q - tau[..., i:i + 1].unsqueeze(-1) * (v @ (v.swapaxes(-1, -2) @ Q))
    if k == 0:  # no reflector: Q = E, still an output of A and tau (zero gradients, as torch's)
        Q = Q + (A[..., :0, :].sum() + tau[..., :0].sum())
    if out is not None:
        out.copy_(Q)
        return out
    return Q


def _sytf2(a):
    """LAPACK's unblocked dsytf2 (lower) on a copy of one square matrix: (LD, 1-based pivots, info)."""
    a = np.tril(a).astype(np.float64 if a.dtype != np.float32 else np.float32, copy=True)
    n = a.shape[0]
    ipiv, info, k = np.zeros(n, dtype=np.int32), 0, 0
    while k < n:
        kstep, absakk = 1, abs(a[k, k])
        if k < n - 1:
            imax = k + 1 + int(np.argmax(np.abs(a[k + 1:, k])))
            colmax = abs(a[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            info = info or k + 1
            kp = k
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                rowmax = np.max(np.abs(a[imax, k:imax]))
                if imax < n - 1:
                    rowmax = max(rowmax, np.max(np.abs(a[imax + 1:, imax])))
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(a[imax, imax]) >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:  # swap rows and columns kk and kp of the trailing lower triangle
                if kp < n - 1:
                    a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
                seg = slice(kk + 1, kp)
                col, row = a[seg, kk].copy(), a[kp, seg].copy()
                a[seg, kk], a[kp, seg] = row, col
                a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
                if kstep == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            if kstep == 1:
                if k < n - 1:
                    x = a[k + 1:, k].copy()
                    d11 = 1.0 / a[k, k]
                    a[k + 1:, k + 1:] -= np.tril(d11 * np.outer(x, x))
                    a[k + 1:, k] = x * d11
            elif k < n - 2:
                d21 = a[k + 1, k]
                d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
                t = 1.0 / (d11 * d22 - 1.0)
                d21 = t / d21
                wk = d21 * (d11 * a[k + 2:, k] - a[k + 2:, k + 1])
                wkp1 = d21 * (d22 * a[k + 2:, k + 1] - a[k + 2:, k])
                a[k + 2:, k + 2:] -= np.tril(np.outer(a[k + 2:, k], wk) + np.outer(a[k + 2:, k + 1], wkp1))
                a[k + 2:, k], a[k + 2:, k + 1] = wk, wkp1
        if kstep == 1:
            ipiv[k] = kp + 1
        else:
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return a, ipiv, info


class _NoGrad(Function):
    """Carries an output that torch marks as needing grad but cannot differentiate: backward raises."""

    @staticmethod
    def forward(ctx, x, value=None, name=None):
        ctx.name = name
        return value

    @staticmethod
    def backward(ctx, g):
        raise GradientError(f"derivative for {ctx.name} is not implemented (as in PyTorch)")


def _square_real(A, op):
    if not isinstance(A, Tensor):
        raise ArgumentError(f"{op}: expected a Tensor, got {type(A).__name__}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        shape = tuple(A.shape)
        raise ShapeError(f"{op}: A must be batches of square matrices, but they are "
                         + (f"{shape[-2]} by {shape[-1]} matrices" if A.ndim >= 2 else f"of shape {shape}"))
    if A.dtype.kind != "f" or A.dtype == np.float16:
        raise DTypeError(f"{op}: expected a float32 or float64 A, got {A.dtype}")


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    """torch.linalg.ldl_factor_ex: (LD, pivots, info) of the symmetric A's lower triangle (Bunch-Kaufman);
    info > 0 names the first zero pivot (1-based); check_errors=True raises then."""
    op = "torch.linalg.ldl_factor_ex"
    _square_real(A, op)
    arr = A.detach().cpu().numpy()
    batch, n = arr.shape[:-2], arr.shape[-1]
    flat = arr.reshape((math.prod(batch), n, n))
    lds, pivs, infos = np.empty_like(flat), np.empty((flat.shape[0], n), dtype=np.int32), []
    for i, m in enumerate(flat):
        lds[i], pivs[i], info = _sytf2(m)
        infos.append(info)
    infos = np.asarray(infos, dtype=np.int32).reshape(batch)
    if check_errors and (infos > 0).any():
        raise LinAlgError(f"{op}: the factorization could not be completed: D is exactly singular at pivot "
                          f"{int(infos[infos > 0].reshape(-1)[0])}")
    be = A.device.backend
    LD = _make(be.from_host(lds.reshape(arr.shape), copy=False), A.device, False, None)
    from ..grad_mode import modes

    if A.requires_grad and modes.grad_enabled:
        LD = _NoGrad.apply(A, value=LD._data, name="linalg_ldl_factor_ex")
    piv = _make(be.from_host(pivs.reshape(batch + (n,)), copy=False), A.device, False, None)
    info_t = _make(be.from_host(infos, copy=False), A.device, False, None)
    return ldl_factor_ex_result(LD, piv, info_t)


def ldl_factor(A, *, hermitian=False, out=None):
    """torch.linalg.ldl_factor: (LD, pivots); a singular A (a zero pivot) raises LinAlgError."""
    LD, piv, info = ldl_factor_ex(A, hermitian=hermitian)
    if (info.numpy() > 0).any():
        raise LinAlgError(f"torch.linalg.ldl_factor: the factorization could not be completed: D is exactly "
                          f"singular at pivot {int(info.numpy()[info.numpy() > 0].reshape(-1)[0])}")
    return ldl_factor_result(LD, piv)


def _sytrs(ld, ipiv, b):
    """LAPACK's dsytrs (lower): solve A X = B from dsytf2's LD and pivots, for one matrix; b (n, nrhs)."""
    n, b = ld.shape[0], b.copy()
    k = 0
    while k < n:
        if ipiv[k] > 0:
            kp = ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            b[k + 1:] -= np.outer(ld[k + 1:, k], b[k])
            b[k] /= ld[k, k]
            k += 1
        else:
            kp = -ipiv[k] - 1
            b[[k + 1, kp]] = b[[kp, k + 1]]
            b[k + 2:] -= np.outer(ld[k + 2:, k], b[k]) + np.outer(ld[k + 2:, k + 1], b[k + 1])
            akm1k = ld[k + 1, k]
            akm1, ak = ld[k, k] / akm1k, ld[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:
        if ipiv[k] > 0:
            b[k] -= ld[k + 1:, k] @ b[k + 1:]
            kp = ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 1
        else:
            b[k] -= ld[k + 1:, k] @ b[k + 1:]
            b[k - 1] -= ld[k + 1:, k - 1] @ b[k + 1:]
            kp = -ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 2
    return b


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    """torch.linalg.ldl_solve: X with A X = B from ldl_factor's (LD, pivots); batches broadcast."""
    op = "torch.linalg.ldl_solve"
    _square_real(LD, op)
    if not isinstance(B, Tensor) or B.ndim < 2:
        raise ShapeError(f"{op}: B must have at least 2 dimensions, got "
                         f"{tuple(B.shape) if isinstance(B, Tensor) else type(B).__name__}")
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise ShapeError(f"Incompatible matrix sizes for {op}: each A matrix is {n} by {n} but each b matrix is "
                         f"{B.shape[-2]} by {B.shape[-1]}")
    if not isinstance(pivots, Tensor) or pivots.dtype != np.int32 or tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise ArgumentError(f"{op}: pivots must be an int32 tensor of shape {tuple(LD.shape[:-1])}, got "
                            f"{getattr(pivots, 'dtype', type(pivots).__name__)} "
                            f"{tuple(getattr(pivots, 'shape', ()))}")
    if LD.dtype != B.dtype:
        raise DTypeError(f"{op}: LD dtype {LD.dtype} does not match B dtype {B.dtype}")
    ld, piv, b = LD.detach().cpu().numpy(), pivots.cpu().numpy(), B.detach().cpu().numpy()
    batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    count = math.prod(batch)
    ld = np.broadcast_to(ld, batch + (n, n)).reshape((count, n, n))
    piv = np.broadcast_to(piv, batch + (n,)).reshape((count, n))
    b = np.broadcast_to(b, batch + b.shape[-2:]).reshape((count,) + b.shape[-2:])
    if piv.size and (np.abs(piv).max() > n or (piv == 0).any()):
        raise ArgumentError(f"{op}: pivots must be in [-{n}, -1] or [1, {n}] (ldl_factor's), got {piv.tolist()}")
    X = np.stack([_sytrs(m, p, r) for m, p, r in zip(ld, piv, b)]) if b.shape[0] else b.copy()
    X = X.reshape(batch + B.shape[-2:]).astype(B.dtype, copy=False)
    result = _make(B.device.backend.from_host(np.ascontiguousarray(X), copy=False), B.device, False, None)
    from ..grad_mode import modes

    if (LD.requires_grad or B.requires_grad) and modes.grad_enabled:
        result = _NoGrad.apply(B if B.requires_grad else LD, value=result._data, name="linalg_ldl_solve")
    if out is not None:
        out.copy_(result)
        return out
    return result
