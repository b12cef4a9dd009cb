"""Products and torch.linalg decompositions against PyTorch: values and gradients (float64), names in tc,
tc.linalg and as Tensor methods."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")
R = np.random.default_rng(0)
A = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
B = R.standard_normal((2, 3, 2))
S = A @ A.transpose(0, 2, 1)
M, N, V, W = R.standard_normal((3, 4)), R.standard_normal((4, 5)), R.standard_normal(4), R.standard_normal(3)


def _compare(fn, *arrays, rtol=1e-9):
    ours = [tc.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = fn(tc, *ours), fn(torch, *theirs)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=1e-11)
    g = R.standard_normal(ty.shape)
    (y * tc.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    for a, b in zip(ours, theirs):
        mine = np.zeros(a.shape) if a.grad is None else a.grad.numpy()  # no gradient: zeros (addmm, beta=0)
        np.testing.assert_allclose(mine, b.grad.numpy(), rtol=rtol, atol=1e-11)


PRODUCTS = {
    "mm": (lambda t, a, b: t.mm(a, b), (M, N)), "mm-method": (lambda t, a, b: a.mm(b), (M, N)),
    "bmm": (lambda t, a, b: t.bmm(a, b), (A, B)), "mv": (lambda t, a, b: t.mv(a, b), (M, V)),
    "dot": (lambda t, a, b: t.dot(a, b), (V, V[::-1].copy())), "vdot": (lambda t, a, b: t.vdot(a, b), (V, V + 1)),
    "outer": (lambda t, a, b: t.outer(a, b), (W, V)), "ger-method": (lambda t, a, b: a.outer(b), (W, V)),
    "addmm": (lambda t, c, a, b: t.addmm(c, a, b, beta=0.5, alpha=2), (R.standard_normal(5), M, N)),
    "addmm-beta0": (lambda t, c, a, b: t.addmm(c, a, b, beta=0), (R.standard_normal((3, 5)), M, N)),
    "addmv": (lambda t, c, a, b: t.addmv(c, a, b, alpha=-1), (W, M, V)),
    "baddbmm": (lambda t, c, a, b: t.baddbmm(c, a, b, beta=2), (R.standard_normal((2, 3, 2)), A, B)),
    "addbmm": (lambda t, c, a, b: t.addbmm(c, a, b), (R.standard_normal((3, 2)), A, B)),
    "tensordot": (lambda t, a, b: t.tensordot(a, b, dims=([1, 0], [0, 2])),
                  (R.standard_normal((3, 4, 5)), R.standard_normal((4, 2, 3)))),
    "tensordot-int": (lambda t, a, b: t.tensordot(a, b, dims=1), (M, N)),
    "kron": (lambda t, a, b: t.kron(a, b), (M, R.standard_normal((2, 2)))),
    "kron-ranks": (lambda t, a, b: t.kron(a, b), (V, R.standard_normal((3, 2)))),
    "cross": (lambda t, a, b: t.cross(a, b, dim=1), (R.standard_normal((4, 3)), R.standard_normal((4, 3)))),
    "linalg.cross": (lambda t, a, b: t.linalg.cross(a, b), (R.standard_normal((3, 4, 3)),
                                                             R.standard_normal((3, 4, 3)))),
    "trace": (lambda t, a: t.trace(a), (M,)),
    "einsum-batch": (lambda t, a, b: t.einsum("bij,bjk->bik", a, b), (A, B)),
    "einsum-implicit": (lambda t, a, b: t.einsum("ij,jk", a, b), (M, N)),
    "einsum-list": (lambda t, a, b: t.einsum("i,j->ij", [a, b]), (V, W)),
    "einsum-summed-alone": (lambda t, a, b: t.einsum("ij,kl->k", a, b), (M, N)),
    "cdist": (lambda t, a, b: t.cdist(a, b), (R.standard_normal((2, 3, 4)), R.standard_normal((2, 5, 4)))),
    "cdist-p1": (lambda t, a, b: t.cdist(a, b, p=1.0), (R.standard_normal((3, 4)), R.standard_normal((5, 4)))),
    "inv": (lambda t, a: t.linalg.inv(a), (A,)), "inverse": (lambda t, a: t.inverse(a), (A[0],)),
    "det": (lambda t, a: t.linalg.det(a), (A,)), "det-method": (lambda t, a: a.det(), (A[1],)),
    "slogdet": (lambda t, a: t.linalg.slogdet(a).logabsdet, (A,)),
    "solve": (lambda t, a, b: t.linalg.solve(a, b), (A, B)),
    "solve-vector": (lambda t, a, b: t.linalg.solve(a, b), (A, B[:, :, 0].copy())),
    "solve-right": (lambda t, a, b: t.linalg.solve(a, b, left=False), (A, B.transpose(0, 2, 1).copy())),
    "cholesky": (lambda t, a: t.linalg.cholesky(a), (S,)),
    "cholesky-upper": (lambda t, a: t.linalg.cholesky(a, upper=True), (S,)),
    "eigh-values": (lambda t, a: t.linalg.eigh(a).eigenvalues, (S,)),
    "eigh-vectors": (lambda t, a: t.linalg.eigh(a)[1].abs(), (S,)),  # signs are arbitrary
    "eigh-U": (lambda t, a: t.linalg.eigh(a, UPLO="U").eigenvalues, (R.standard_normal((3, 3)),)),
    "eigvalsh": (lambda t, a: t.linalg.eigvalsh(a), (S,)),
    "matrix_power": (lambda t, a: t.linalg.matrix_power(a, 5), (A,)),
    "matrix_power-neg": (lambda t, a: t.linalg.matrix_power(a, -2), (A,)),
    "matrix_power-0": (lambda t, a: t.matrix_power(a, 0), (A,)),
    "svdvals": (lambda t, a: t.linalg.svdvals(a), (R.standard_normal((2, 4, 3)),)),
    "svd-product": (lambda t, a: (lambda o: (o.U * o.S.unsqueeze(-2)) @ o.Vh)(t.linalg.svd(a, full_matrices=False)),
                    (R.standard_normal((3, 4)),)),
    "svd-U": (lambda t, a: t.linalg.svd(a, full_matrices=False).U.abs(), (R.standard_normal((2, 4, 3)),)),
    "svd-Vh": (lambda t, a: t.linalg.svd(a, full_matrices=False)[2].abs(), (R.standard_normal((3, 4)),)),
    "svd-square-full": (lambda t, a: t.linalg.svd(a).S, (A,)),
    "qr-Q": (lambda t, a: t.linalg.qr(a).Q, (R.standard_normal((2, 4, 3)),)),
    "qr-R": (lambda t, a: t.linalg.qr(a)[1], (A,)),
    "pinv": (lambda t, a: t.linalg.pinv(a), (R.standard_normal((3, 4)),)),
    "pinv-batch": (lambda t, a: t.linalg.pinv(a), (R.standard_normal((2, 4, 3)),)),
}


@pytest.mark.parametrize("label", sorted(PRODUCTS))
def test_matches_torch(label):
    fn, arrays = PRODUCTS[label]
    _compare(fn, *arrays)


def test_slogdet_sign_matches_torch():
    x = A - 3 * np.eye(3)
    ours, theirs = tc.linalg.slogdet(tc.tensor(x)), torch.linalg.slogdet(torch.tensor(x))
    assert np.array_equal(ours.sign.numpy(), theirs.sign.numpy())


def test_double_backward():
    a = tc.tensor(A[0], requires_grad=True)
    for fn in (tc.linalg.inv, tc.linalg.det, lambda x: tc.linalg.cholesky(x @ x.mT),
               lambda x: tc.linalg.eigh(x + x.mT).eigenvalues, lambda x: tc.linalg.solve(x, x.sum(0))):
        assert tc.gradgradcheck(fn, (a,))


def test_errors_are_named():
    with pytest.raises(tc.TensorcoreError, match="mm"):
        tc.mm(tc.tensor(M), tc.tensor(M))
    with pytest.raises(tc.TensorcoreError, match="square"):
        tc.linalg.inv(tc.tensor(M))
    with pytest.raises(tc.TensorcoreError, match="singular"):
        tc.linalg.inv(tc.zeros(3, 3, dtype=tc.float64))
    with pytest.raises(tc.TensorcoreError, match="positive-definite"):
        tc.linalg.cholesky(-tc.eye(3, dtype=tc.float64))
    with pytest.raises(tc.TensorcoreError, match="einsum: subscripts"):
        tc.einsum("i.j->i", tc.tensor(A[0]))
    with pytest.raises(tc.TensorcoreError, match="einsum: letter 'i'"):  # a repeated letter's sizes must agree
        tc.einsum("ii->i", tc.tensor(B[0]))
    with pytest.raises(tc.TensorcoreError, match="dot"):
        tc.dot(tc.tensor(V), tc.tensor(W))
    with pytest.raises(tc.TensorcoreError, match="mode"):  # a tall matrix's complete Q is not unique
        tc.linalg.qr(tc.tensor(M.T, requires_grad=True), mode="complete")
    with pytest.raises(tc.TensorcoreError, match="mode 'r'"):
        tc.linalg.qr(tc.tensor(M, requires_grad=True), mode="r")


def test_tensor_methods_as_torch():
    a, ta = tc.tensor(A[0]), torch.tensor(A[0])
    np.testing.assert_allclose(a.inverse().numpy(), ta.inverse().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.slogdet()[1].numpy(), ta.slogdet()[1].numpy(), rtol=1e-12)
    np.testing.assert_allclose(tc.tensor(M).pinverse().numpy(), torch.tensor(M).pinverse().numpy(), rtol=1e-10)
    np.testing.assert_allclose(a.det().numpy(), ta.det().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.matrix_power(3).numpy(), ta.matrix_power(3).numpy(), rtol=1e-12)
