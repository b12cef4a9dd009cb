"""The shared launch helpers (kernels/_launch.py): array kinds, outputs, checks, streams, grids."""

import numpy as np
import pytest
from numba import cuda  # a module global: the simulator swaps it for its fake module inside kernels

from .kernel_helpers import assert_close, requires_cuda

pytestmark = pytest.mark.kernels


@pytest.fixture(scope="module")
def launch():
    from tensorcore.kernels import _launch

    return _launch


@requires_cuda
def test_numba_device_arrays_give_numba_outputs(rng):
    from numba import cuda
    from tensorcore.kernels import activations, gemm

    a = rng.standard_normal((5, 3)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    c = gemm.matmul(cuda.to_device(a), cuda.to_device(b), stream=cuda.stream())
    assert not isinstance(c, np.ndarray) and hasattr(c, "copy_to_host")
    assert_close(c.copy_to_host(), a.astype(np.float64) @ b, np.float32)
    r = activations.relu(cuda.to_device(a))
    assert hasattr(r, "copy_to_host")
    with pytest.raises(TypeError, match="matmul: all arrays must be of one kind|matmul: got a numpy.ndarray"):
        gemm.matmul(cuda.to_device(a), b)


@requires_cuda
def test_numpy_rejected_outside_the_simulator(launch, monkeypatch):
    monkeypatch.setattr(launch, "SIMULATOR", False)
    with pytest.raises(TypeError, match=r"relu: got a numpy.ndarray; pass a device array .*NUMBA_ENABLE_CUDASIM=1"):
        launch.array_kind(np.ones(3), "relu")
    with pytest.raises(TypeError, match="expected a device array exposing __cuda_array_interface__, got list"):
        launch.array_kind([1.0], "relu")


def test_checks_and_grid(launch):
    x = np.ones((4, 6), np.float32)
    assert launch.is_c_contiguous(x) and not launch.is_c_contiguous(x[:, ::2])
    launch.check("f", "x", x, ndim=2, dtype=np.float32, shape=(4, 6))
    with pytest.raises(ValueError, match=r"f: x must be 3-D, got shape \(4, 6\)"):
        launch.check("f", "x", x, ndim=3)
    with pytest.raises(ValueError, match=r"f: x must have shape \(6, 4\), got \(4, 6\)"):
        launch.check("f", "x", x, shape=(6, 4))
    assert launch.cdiv(257, 256) == 2 and launch.cdiv(0, 256) == 0
    assert 1 <= launch.grid_1d(1) <= launch.grid_1d(10**9)
    assert launch.grid_1d(0) == 1


@requires_cuda
def test_index_helpers_decode_like_numpy(launch):
    """_launch.unravel4 / divmod32 / div32 (inline device functions) against np.unravel_index."""
    from .kernel_helpers import to_device, to_host

    shape = (3, 5, 2, 7)  # odd sizes; the grid-stride loop covers 210 indices with 64 threads
    unravel4, divmod32, div32 = launch.unravel4, launch.divmod32, launch.div32

    def decode(out):
        i = cuda.grid(1)
        while i < out.shape[0]:
            a, b, c, d = unravel4(i, shape[1], shape[2], shape[3])
            q, r = divmod32(i, 11)
            out[i, 0], out[i, 1], out[i, 2], out[i, 3] = a, b, c, d
            out[i, 4], out[i, 5], out[i, 6] = q, r, div32(i, 4)
            i += cuda.gridsize(1)

    n = int(np.prod(shape))
    out = to_device(np.full((n, 7), -1, dtype=np.int64))
    cuda.jit(decode)[2, 32](out)
    got = to_host(out)
    i = np.arange(n)
    want = np.stack([*np.unravel_index(i, shape), i // 11, i % 11, i // 4], axis=1)
    np.testing.assert_array_equal(got, want)
