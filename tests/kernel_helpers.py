"""Helpers for the kernel tests (tests/test_kernels_*.py): where kernels can run, and how to check them.

Kernel tests run in Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set before numba is
imported: tests/run.sh runs them in their own pytest process) or on a real GPU. ``requires_cuda``
skips a test with a clear message when neither is present; ``to_device``/``to_host`` move NumPy
arrays to the kind of array the wrappers take (NumPy itself in the simulator).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")
NO_CUDA_MESSAGE = "no CUDA GPU and no simulator (set NUMBA_ENABLE_CUDASIM=1)"
NO_GPU_MESSAGE = "needs a real CUDA GPU (none found, or running in the simulator)"


def _gpu_available() -> bool:
    if SIMULATOR:
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False


GPU = _gpu_available()

#: Mark (and skip) a test that runs kernels: in the simulator or on a GPU.
requires_cuda = pytest.mark.skipif(not (SIMULATOR or GPU), reason=NO_CUDA_MESSAGE)
#: Mark (and skip) a test that needs a real GPU.
requires_gpu = pytest.mark.skipif(not GPU, reason=NO_GPU_MESSAGE)

#: Tolerances (relative error in the 2-norm) against the float64 reference.
TOL = {np.float32: 2e-6, np.float64: 1e-12}


def to_device(x):
    """A NumPy array as the wrappers take it: NumPy in the simulator, a CuPy array on a GPU when CuPy
    is installed, else a Numba device array."""
    x = np.array(x, order="C", copy=True)  # a copy, as a real transfer would be
    if SIMULATOR:
        return x
    try:
        import cupy

        return cupy.asarray(x)
    except ImportError:
        from numba import cuda

        return cuda.to_device(x)


def to_host(x) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "copy_to_host"):
        return x.copy_to_host()
    return x.get()


def poisoned(shape, dtype):
    """An output buffer full of NaN (on the device): a kernel must overwrite every element."""
    return to_device(np.full(shape, np.nan, dtype=dtype))


def assert_close(out, ref, dtype, tol=None, what=""):
    """Relative 2-norm error below ``tol`` (default by dtype), and no NaN where the reference has none."""
    out = np.asarray(to_host(out), dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert out.shape == ref.shape, f"{what}: shape {out.shape} != reference {ref.shape}"
    bad = np.isnan(out) & ~np.isnan(ref)
    assert not bad.any(), (
        f"{what}: {bad.sum()} elements not written (NaN) of {out.size}, first at {np.argwhere(bad)[0]}"
    )
    tol = TOL[np.dtype(dtype).type] if tol is None else tol
    scale = max(np.linalg.norm(ref.ravel()), 1e-30)
    err = np.linalg.norm((out - ref).ravel()) / scale
    assert err < tol, f"{what}: relative error {err:.3g} >= {tol:.3g}"


def random(rng, shape, dtype, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(dtype)
