"""torch.linalg.householder_product (values, gradient, checks) and ldl_factor / ldl_factor_ex / ldl_solve
(LD and LAPACK pivots as torch's, solves, no gradient) against torch."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")


def _geqrf(a):
    t = torch.geqrf(torch.tensor(a))
    return t[0].numpy(), t[1].numpy()


@pytest.mark.parametrize("shape,k", [((5, 3), 3), ((5, 3), 2), ((4, 4), 4), ((2, 6, 3), 3), ((3, 1), 0),
                                     ((4, 2), 1)])
def test_householder_product_matches_torch(shape, k):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shape)
    tau = rng.uniform(0.2, 1.8, shape[:-2] + (k,))
    mine = tc.linalg.householder_product(tc.tensor(a), tc.tensor(tau)).numpy()
    ref = torch.linalg.householder_product(torch.tensor(a), torch.tensor(tau)).numpy()
    assert mine.shape == ref.shape == shape
    np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-12)


def test_householder_product_of_geqrf_is_q():
    a = np.random.default_rng(2).standard_normal((6, 4))
    h, tau = _geqrf(a)
    q = tc.linalg.householder_product(tc.tensor(h), tc.tensor(tau)).numpy()
    np.testing.assert_allclose(q, torch.linalg.qr(torch.tensor(a)).Q.numpy(), atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-12)


def test_householder_product_gradient_matches_torch_and_gradchecks():
    rng = np.random.default_rng(3)
    a, tau, w = rng.standard_normal((2, 5, 3)), rng.uniform(0.5, 1.5, (2, 2)), rng.standard_normal((2, 5, 3))
    x, t = tc.tensor(a, requires_grad=True), tc.tensor(tau, requires_grad=True)
    tx, tt = torch.tensor(a, requires_grad=True), torch.tensor(tau, requires_grad=True)
    (tc.linalg.householder_product(x, t) * tc.tensor(w)).sum().backward()
    (torch.linalg.householder_product(tx, tt) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert tc.gradcheck(tc.linalg.householder_product, (tc.tensor(a[0], requires_grad=True),
                                                        tc.tensor(tau[0], requires_grad=True)))
    assert tc.gradgradcheck(tc.linalg.householder_product, (tc.tensor(a[0], requires_grad=True),
                                                            tc.tensor(tau[0], requires_grad=True)))


@pytest.mark.parametrize("a_shape,tau_shape,dtypes,match", [
    ((3, 5), (2,), None, "input.shape\\[-2\\] must be greater"),
    ((5, 3), (4,), None, "input.shape\\[-1\\] must be greater than or equal to tau.shape\\[-1\\]"),
    ((5, 3), (2, 2), None, "one dimension less"),
    ((5, 3), (2,), ("float64", "float32"), "dtype"),
    ((2, 5, 3), (3, 2), None, "batch dimensions"),
])
def test_householder_product_refuses_like_torch(a_shape, tau_shape, dtypes, match):
    da, dt = dtypes or ("float64", "float64")
    with pytest.raises(RuntimeError):
        torch.linalg.householder_product(torch.zeros(a_shape, dtype=getattr(torch, da)),
                                         torch.zeros(tau_shape, dtype=getattr(torch, dt)))
    with pytest.raises(tc.TensorcoreError, match=match):
        tc.linalg.householder_product(tc.zeros(a_shape, dtype=getattr(tc, da)),
                                      tc.zeros(tau_shape, dtype=getattr(tc, dt)))


def _sym(rng, n, kind):
    a = rng.standard_normal((n, n))
    if kind == "scaled":
        a = a * 10.0 ** rng.uniform(-2, 2, n)
    a = a + a.T
    if kind == "zero_diag":  # forces 2x2 pivot blocks
        a[np.diag_indices(n)] = 0
    return a


@pytest.mark.parametrize("n", [1, 2, 3, 6, 17])
@pytest.mark.parametrize("kind", ["plain", "scaled", "zero_diag"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ldl_factor_and_solve_match_torch(n, kind, dtype):
    if kind == "zero_diag" and n == 1:
        return
    rng = np.random.default_rng(n)
    a = _sym(rng, n, kind).astype(dtype)
    b = rng.standard_normal((n, 2)).astype(dtype)
    LD, piv = tc.linalg.ldl_factor(tc.tensor(a))
    tLD, tpiv = torch.linalg.ldl_factor(torch.tensor(a))
    assert piv.dtype == tc.int32 and tpiv.dtype == torch.int32 and LD.dtype == getattr(tc, dtype)
    np.testing.assert_array_equal(piv.numpy(), tpiv.numpy())
    tol = 1e-9 if dtype == "float64" else 2e-3
    np.testing.assert_allclose(LD.numpy(), tLD.numpy(), rtol=tol, atol=tol * np.abs(tLD.numpy()).max())
    x = tc.linalg.ldl_solve(LD, piv, tc.tensor(b)).numpy()
    tx = torch.linalg.ldl_solve(tLD, tpiv, torch.tensor(b)).numpy()
    np.testing.assert_allclose(x, tx, rtol=tol, atol=tol * max(1.0, np.abs(tx).max()))
    if dtype == "float64":
        np.testing.assert_allclose(a @ x, b, atol=1e-8 * np.abs(a).max() * max(1.0, np.abs(x).max()))


def test_ldl_uses_the_lower_triangle_and_batches_like_torch():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    mine, ref = tc.linalg.ldl_factor(tc.tensor(a)), torch.linalg.ldl_factor(torch.tensor(a))
    np.testing.assert_allclose(mine.LD.numpy(), ref.LD.numpy())
    np.testing.assert_array_equal(mine.pivots.numpy(), ref.pivots.numpy())
    rng = np.random.default_rng(7)
    batch = np.stack([_sym(rng, 4, "plain") for _ in range(3)])
    b = rng.standard_normal((3, 4, 2))
    LD, piv, info = tc.linalg.ldl_factor_ex(tc.tensor(batch))
    tLD, tpiv, tinfo = torch.linalg.ldl_factor_ex(torch.tensor(batch))
    np.testing.assert_array_equal(piv.numpy(), tpiv.numpy())
    np.testing.assert_array_equal(info.numpy(), tinfo.numpy())
    assert info.dtype == tc.int32 and tuple(info.shape) == (3,)
    np.testing.assert_allclose(tc.linalg.ldl_solve(LD, piv, tc.tensor(b)).numpy(),
                               torch.linalg.ldl_solve(tLD, tpiv, torch.tensor(b)).numpy(), atol=1e-10)
    e = tc.linalg.ldl_factor(tc.zeros(2, 0, 0))
    assert tuple(e.LD.shape) == (2, 0, 0) and tuple(e.pivots.shape) == (2, 0)


def test_ldl_singular_info_and_errors_like_torch():
    LD, piv, info = tc.linalg.ldl_factor_ex(tc.zeros(3, 3, dtype=tc.float64))
    tLD, tpiv, tinfo = torch.linalg.ldl_factor_ex(torch.zeros(3, 3, dtype=torch.float64))
    assert info.item() == tinfo.item() == 1
    np.testing.assert_array_equal(piv.numpy(), tpiv.numpy())
    with pytest.raises(RuntimeError):
        torch.linalg.ldl_factor(torch.zeros(3, 3))
    with pytest.raises(tc.linalg.LinAlgError, match="singular"):
        tc.linalg.ldl_factor(tc.zeros(3, 3))
    with pytest.raises(tc.linalg.LinAlgError):
        tc.linalg.ldl_factor_ex(tc.zeros(3, 3), check_errors=True)
    with pytest.raises(tc.ShapeError, match="3 by 4"):
        tc.linalg.ldl_factor(tc.zeros(3, 4))
    LD, piv = tc.linalg.ldl_factor(tc.eye(4, dtype=tc.float64))
    with pytest.raises(tc.ShapeError, match="each A matrix is 4 by 4 but each b matrix is 3 by 2"):
        tc.linalg.ldl_solve(LD, piv, tc.zeros(3, 2, dtype=tc.float64))
    with pytest.raises(tc.TensorcoreError):
        tc.linalg.ldl_solve(LD, piv, tc.zeros(4, dtype=tc.float64))


def test_ldl_records_but_has_no_derivative_like_torch():
    a = _sym(np.random.default_rng(4), 3, "plain")
    x, tx = tc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    LD, piv = tc.linalg.ldl_factor(x)
    tLD, tpiv = torch.linalg.ldl_factor(tx)
    assert LD.requires_grad and tLD.requires_grad
    with pytest.raises(RuntimeError, match="not implemented"):
        tLD.sum().backward()
    with pytest.raises(tc.GradientError, match="not implemented"):
        LD.sum().backward()
    b = tc.ones(3, 1, dtype=tc.float64, requires_grad=True)
    X = tc.linalg.ldl_solve(LD.detach(), piv, b)
    tX = torch.linalg.ldl_solve(tLD.detach(), tpiv, torch.ones(3, 1, dtype=torch.float64, requires_grad=True))
    assert X.requires_grad and tX.requires_grad
    with pytest.raises(tc.GradientError, match="ldl_solve"):
        X.sum().backward()
