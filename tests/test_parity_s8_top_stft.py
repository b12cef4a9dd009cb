"""torch.stft (return_complex=False) and torch.istft on stft's real layout (tensorcore/spectral.py) against torch:
values, gradients (vector-Jacobian products), gradcheck, round trips, errors."""

import warnings

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")

R = np.random.default_rng(3)
CASES = [  # signal shape, n_fft, hop, win_length, center, normalized, onesided, pad_mode
    ((64,), 16, None, None, True, False, None, "reflect"),
    ((2, 100), 20, 5, 15, True, True, None, "reflect"),
    ((50,), 16, 4, None, False, False, False, "reflect"),
    ((64,), 15, 3, None, True, False, True, "constant"),
    ((3, 40), 8, 2, 8, True, False, None, "replicate"),
]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.mark.parametrize("shape,n_fft,hop,win,center,normalized,onesided,pad_mode", CASES)
def test_stft_values_and_gradients_match_torch(shape, n_fft, hop, win, center, normalized, onesided, pad_mode):
    x = R.normal(size=shape)
    w = np.hanning(win or n_fft) + 0.1
    xs, xt = tc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ws, wt = tc.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    got = tc.stft(xs, n_fft, hop, win, ws, center, pad_mode, normalized, onesided, return_complex=False)
    want = torch.stft(xt, n_fft, hop, win, wt, center, pad_mode, normalized, onesided, return_complex=False)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=1e-12)
    weights = R.normal(size=tuple(want.shape))
    (got * tc.tensor(weights)).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), atol=1e-11)
    np.testing.assert_allclose(ws.grad.numpy(), wt.grad.numpy(), atol=1e-11)
    got32 = tc.stft(tc.tensor(x, dtype=tc.float32), n_fft, hop, win, tc.tensor(w, dtype=tc.float32), center,
                    pad_mode, normalized, onesided, return_complex=False)
    assert got32.dtype == tc.float32
    np.testing.assert_allclose(got32.numpy(), want.detach().numpy(), atol=2e-5)


def test_stft_method_default_window_and_gradcheck():
    x = R.normal(size=40)
    got = tc.tensor(x).stft(8, return_complex=False)
    want = torch.tensor(x).stft(8, return_complex=False)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)
    xs = tc.tensor(x, requires_grad=True)
    assert tc.gradcheck(lambda s: tc.stft(s, 8, 3, window=tc.hann_window(8, dtype=tc.float64),
                                          return_complex=False), (xs,))


@pytest.mark.parametrize("shape,n_fft,hop,win,center,normalized,length", [
    ((64,), 16, None, None, True, False, None), ((2, 100), 20, 5, 15, True, True, 100),
    ((70,), 16, 4, None, True, False, 60), ((48,), 12, 3, None, False, False, None),
    ((64,), 16, 4, None, True, False, 80)])
def test_istft_matches_torch_on_the_real_layout(shape, n_fft, hop, win, center, normalized, length):
    x = R.normal(size=shape)
    w = np.hanning(win or n_fft) + 0.1
    spec = torch.stft(torch.tensor(x), n_fft, hop, win, torch.tensor(w), center, "reflect", normalized,
                      return_complex=True)
    spec = spec + 0.01 * torch.randn(spec.shape, dtype=torch.complex128)  # not an exact stft: tests the maths
    want = torch.istft(spec, n_fft, hop, win, torch.tensor(w), center, normalized, length=length)
    layout = torch.view_as_real(spec).numpy()
    got = tc.istft(tc.tensor(layout), n_fft, hop, win, tc.tensor(w), center, normalized, length=length)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)
    ls, lt = tc.tensor(layout, requires_grad=True), torch.tensor(layout, requires_grad=True)
    weights = R.normal(size=tuple(want.shape))
    (tc.istft(ls, n_fft, hop, win, tc.tensor(w), center, normalized, length=length) * tc.tensor(weights)).sum() \
        .backward()
    (torch.istft(torch.view_as_complex(lt), n_fft, hop, win, torch.tensor(w), center, normalized, length=length)
     * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ls.grad.numpy(), lt.grad.numpy(), atol=1e-11)


def test_round_trip_and_errors():
    x = tc.tensor(R.normal(size=(2, 90)))
    w = tc.hann_window(16, dtype=tc.float64)
    spec = tc.stft(x, 16, 4, window=w, return_complex=False)
    np.testing.assert_allclose(tc.istft(spec, 16, 4, window=w, length=90).numpy(), x.numpy(), atol=1e-12)
    with pytest.raises(tc.TensorcoreError, match="return_complex"):
        tc.stft(x, 16)
    with pytest.raises(RuntimeError, match="return_complex"):
        torch.stft(torch.ones(90), 16)
    with pytest.raises(tc.TensorcoreError, match="complex dtype"):
        tc.stft(x, 16, return_complex=True)
    with pytest.raises(tc.TensorcoreError, match="window"):
        tc.stft(x, 16, window=tc.ones(5), return_complex=False)
    with pytest.raises(tc.TensorcoreError, match="hop_length"):
        tc.stft(x, 16, 0, return_complex=False)
    with pytest.raises(tc.TensorcoreError, match="overlap add"):
        tc.istft(spec, 16, 4, window=tc.zeros(16, dtype=tc.float64))
    with pytest.raises(tc.TensorcoreError, match="n_fft / 2 \\+ 1"):
        tc.istft(spec, 20, 4)
