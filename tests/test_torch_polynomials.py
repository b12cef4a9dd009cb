"""tc.special's orthogonal polynomials against torch.special's: x over [-1.5, 1.5] (the ends of [-1, 1] and
of [0, 1] included), n from -2 to 14 (the recurrence and the closed form), and scalar n; the modified Bessel
functions i0 / i0e / i1 / i1e over [-80, 80] (series and asymptotic regimes) with their gradients."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")

NAMES = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
         "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
         "legendre_polynomial_p"]
X = np.concatenate([np.linspace(-1.5, 1.5, 31), [-1.0, 0.0, 0.5, 1.0, 0.999, -0.999, 1e-3]])
N = np.arange(-2, 15, dtype=np.float64)


@pytest.mark.parametrize("name", NAMES)
def test_polynomials_match_torch(name):
    x, n = np.meshgrid(X, N)
    ours = getattr(tc.special, name)(tc.tensor(x), tc.tensor(n + 0.4))  # n is truncated, as PyTorch
    theirs = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n + 0.4))
    assert ours.dtype == tc.float64 and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-9)
    scalar = getattr(tc.special, name)(tc.tensor(X), 3)
    np.testing.assert_allclose(scalar.numpy(), getattr(torch.special, name)(torch.tensor(X), 3).numpy(), rtol=1e-9,
                               atol=1e-12)
    assert not getattr(tc.special, name)(tc.tensor(X, requires_grad=True), 2).requires_grad  # no gradient in torch


@pytest.mark.parametrize("name", ["i0", "i0e", "i1", "i1e"])
def test_modified_bessel_functions_match_torch(name):
    x = np.concatenate([np.linspace(-80, 80, 641), [0.0, 1e-20, -1e-20, 59.999, 60.0, 60.001, 700.0, -705.0, np.nan]])
    ours_fn = tc.i0 if name == "i0" else getattr(tc.special, name)
    theirs_fn = torch.i0 if name == "i0" else getattr(torch.special, name)
    a, b = tc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = ours_fn(a), theirs_fn(b)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-13, atol=0)
    keep = np.abs(x) < 700  # the gradient of the overflowing i0 / i1 is inf or nan on both sides
    (ours * tc.tensor(keep.astype(float))).sum().backward()
    (theirs * torch.tensor(keep.astype(float))).sum().backward()
    np.testing.assert_allclose(a.grad.numpy()[keep], b.grad.numpy()[keep], rtol=1e-12, atol=1e-300)
    assert str(ours_fn(tc.tensor([1, 2])).dtype) == str(theirs_fn(torch.tensor([1, 2])).dtype).split(".")[1]


def test_zeta_matches_torch():
    r = np.random.default_rng(0)
    x = np.concatenate([r.uniform(-9, 9, 400), [1.0, 2.0, 3.0, 0.5, 1.5, 2.0, 4.0, np.nan]])
    q = np.concatenate([r.uniform(-9, 9, 400), [1.0, -2.0, -2.5, 1.0, 1e-3, 0.0, -3.7, 1.0]])
    ours = tc.special.zeta(tc.tensor(x), tc.tensor(q)).numpy()
    np.testing.assert_allclose(ours, torch.special.zeta(torch.tensor(x), torch.tensor(q)).numpy(), rtol=1e-10)
    assert tc.special.zeta(tc.tensor([2.0], dtype=tc.float64), 1.0).item() == pytest.approx(np.pi ** 2 / 6, rel=1e-14)
    assert tc.special.zeta(tc.tensor([2.0]), 1.0).dtype == tc.float32  # as torch: the tensor's dtype
