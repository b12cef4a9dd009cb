"""backends/cuda.py's linear: the activation goes into the GEMM's fused epilogue (one launch), and the
cuBLAS switch gives the same numbers; on the simulated device or a GPU."""

import numpy as np
import pytest

from .conftest import require_cuda
from .kernel_helpers import to_host

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _cuda():
    require_cuda()


@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
def test_linear_fuses_its_activation_into_one_gemm_launch(activation, monkeypatch):
    from tensorcore.kernels import _launch, gemm

    from tensorcore.backends import cuda as backend

    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 5, 7)), rng.standard_normal((4, 7)), rng.standard_normal(4)
    x[0, 0] = np.nan  # NaN stays NaN through relu, as in PyTorch
    ref = gemm.gemm_reference(x.reshape(10, 7), w, bias=b, bias_mode=gemm.BIAS_COLUMNS, activation=activation,
                              trans_b=True).reshape(2, 5, 4)  # fmt: skip
    launches = []
    real_launch = _launch.launch
    monkeypatch.setattr(_launch, "launch", lambda kernel, *a: (launches.append(kernel), real_launch(kernel, *a)))
    xd, wd, bd = (backend.from_host(a) for a in (x, w, b))
    y = to_host(backend.linear(xd, wd, bd, activation=activation))
    assert len(launches) == 1, "bias and activation are fused: one kernel launch"
    assert y.shape == (2, 5, 4)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12, equal_nan=True)
    monkeypatch.setattr(backend, "gemm", "cublas")
    np.testing.assert_allclose(to_host(backend.linear(xd, wd, bd, activation=activation)), ref, rtol=1e-12,
                               atol=1e-12, equal_nan=True)  # fmt: skip


def test_linear_refuses_an_unknown_activation():
    import tensorcore as tc
    from tensorcore.backends import cuda as backend

    a = backend.from_host(np.ones((2, 3)))
    with pytest.raises(tc.TensorcoreError, match="linear: activation must be"):
        backend.linear(a, backend.from_host(np.ones((4, 3))), activation="swish")
