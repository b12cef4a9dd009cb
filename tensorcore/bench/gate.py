"""The correctness gate: a benchmarked result is compared with the NumPy reference once, before timing.

A wrong result fails that benchmark ("failed: ...") instead of being timed: a fast wrong kernel is
not a result. The comparison is the relative error `||out - ref|| / ||ref||` in float64 (NaN or Inf
never passes), which is what GPU.md asks of float32 kernels.

Example:
    ok, why = check(out, reference, rtol=1e-4)
"""

from __future__ import annotations

import numpy as np

#: Relative-error tolerance by dtype: float32 GEMM/conv reductions over K ~ 10^4 stay near 1e-6,
#: so 1e-4 passes every honest FP32 result and rejects TF32 (about 1e-3) and real bugs.
RTOL = {"float32": 1e-4, "float64": 1e-10, "float16": 1e-2}


def to_host(a):
    """A NumPy array of `a`: NumPy, CuPy (`.get()`), torch (`.cpu().numpy()`) or a tensorcore Tensor."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # torch
        return a.detach().cpu().numpy()
    if hasattr(a, "get") and callable(a.get) and type(a).__module__.startswith("cupy"):
        return a.get()
    if hasattr(a, "copy_to_host"):  # numba device array
        return a.copy_to_host()
    if hasattr(a, "numpy"):  # tensorcore Tensor
        return a.numpy()
    return np.asarray(a)


def relative_error(out, ref):
    out = np.asarray(to_host(out), dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if out.shape != ref.shape:
        raise ValueError(f"shape {out.shape} != reference shape {ref.shape}")
    denom = np.linalg.norm(ref.ravel())
    err = np.linalg.norm((out - ref).ravel())
    return float(err / denom) if denom > 0 else float(err)


def check(out, ref, rtol=1e-4):
    """(True, "") when `out` matches `ref`; (False, reason) otherwise. Several outputs: tuples of both."""
    if isinstance(ref, (tuple, list)):
        outs = out if isinstance(out, (tuple, list)) else (out,)
        if len(outs) != len(ref):
            return False, f"{len(outs)} outputs, reference has {len(ref)}"
        for i, (o, r) in enumerate(zip(outs, ref)):
            ok, why = check(o, r, rtol)
            if not ok:
                return False, f"output {i}: {why}"
        return True, ""
    try:
        host = np.asarray(to_host(out))
        if host.dtype.kind in "fc" and not np.isfinite(host).all():
            return False, "non-finite values (NaN/Inf) in the result"
        err = relative_error(host, ref)
    except ValueError as e:
        return False, str(e)
    if not err <= rtol:  # also catches NaN
        return False, f"relative error {err:.2e} > {rtol:.0e} against the NumPy float64 reference"
    return True, ""
