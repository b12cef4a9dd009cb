"""tc.special's orthogonal polynomials against torch.special's: x over [-1.5, 1.5] (the ends of [-1, 1] and
of [0, 1] included), n from -2 to 14 (the recurrence and the closed form), and scalar n."""

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
