"""tc.signal.windows against torch.signal.windows: every window, both sym, M = 0 .. 9, both float dtypes."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")

WINDOWS = [("bartlett", {}), ("blackman", {}), ("cosine", {}), ("exponential", {"tau": 2.5}),
           ("exponential", {}), ("gaussian", {"std": 0.7}), ("general_cosine", {"a": [0.46, 0.23, 0.31]}),
           ("general_hamming", {"alpha": 0.6}), ("hamming", {}), ("hann", {}), ("kaiser", {"beta": 3.5}),
           ("kaiser", {}), ("nuttall", {})]


@pytest.mark.parametrize("name,kwargs", WINDOWS)
@pytest.mark.parametrize("sym", [True, False])
def test_windows_match_torch(name, kwargs, sym):
    for M in range(10):
        for dtype in ("float32", "float64"):
            ours = getattr(tc.signal.windows, name)(M, sym=sym, dtype=getattr(tc, dtype), **kwargs)
            theirs = getattr(torch.signal.windows, name)(M, sym=sym, dtype=getattr(torch, dtype), **kwargs)
            assert str(ours.dtype) == dtype and tuple(ours.shape) == tuple(theirs.shape)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12,
                                       atol=1e-6 if dtype == "float32" else 1e-14)


def test_window_defaults_and_errors():
    assert tc.signal.windows.hann(5).dtype == tc.float32  # the default dtype, as PyTorch
    assert tc.signal.windows.hann(3, requires_grad=True).requires_grad
    x = tc.signal.windows.exponential(6, sym=False, center=1.0)
    np.testing.assert_allclose(x.numpy(), torch.signal.windows.exponential(6, sym=False, center=1.0).numpy(),
                               rtol=1e-6)
    for call in (lambda w: w.hann(-1), lambda w: w.hann(4, dtype=tc.int64), lambda w: w.gaussian(4, std=0),
                 lambda w: w.exponential(4, center=1.0), lambda w: w.kaiser(4, beta=-1.0),
                 lambda w: w.general_cosine(4, a=[])):
        with pytest.raises(tc.ArgumentError):
            call(tc.signal.windows)
