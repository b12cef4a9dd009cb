"""LU (tensorcore/ops/lu.py: linalg.lu_factor / lu_factor_ex / lu / lu_solve, lu_unpack) and torch's old top-level
linear-algebra names (tensorcore/torch_top_linalg.py) against torch: values, pivots, gradients (vector-Jacobian
products) in float64, float32 values, gradcheck, errors."""

import warnings

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")

R = np.random.default_rng(11)
SHAPES = [(3, 3), (2, 4, 4), (3, 5), (5, 3), (2, 2, 3), (1, 1)]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _vjp_compare(fn_tc, fn_torch, arrays, rtol=1e-9):
    xs = [tc.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    outs, want = fn_tc(*xs), fn_torch(*ts)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    want = want if isinstance(want, (tuple, list)) else (want,)
    total_tc, total_torch = 0, 0
    for o, w in zip(outs, want):
        np.testing.assert_allclose(o.detach().numpy(), w.detach().numpy(), rtol=rtol, atol=1e-12)
        if w.dtype.is_floating_point and w.requires_grad:
            weights = R.normal(size=tuple(w.shape))
            total_tc = total_tc + (o * tc.tensor(weights)).sum()
            total_torch = total_torch + (w * torch.tensor(weights)).sum()
    total_tc.backward()
    total_torch.backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
def test_lu_factor_values_pivots_and_gradient(shape):
    a = R.normal(size=shape)
    LU, piv = tc.linalg.lu_factor(tc.tensor(a))
    LUt, pivt = torch.linalg.lu_factor(torch.tensor(a))
    assert piv.dtype == tc.int32 and piv.tolist() == pivt.tolist()
    np.testing.assert_allclose(LU.numpy(), LUt.numpy(), rtol=1e-10, atol=1e-12)
    _vjp_compare(lambda x: tc.linalg.lu_factor(x).LU, lambda x: torch.linalg.lu_factor(x).LU, [a])
    _vjp_compare(lambda x: tuple(tc.linalg.lu(x)), lambda x: tuple(torch.linalg.lu(x)), [a])
    got32 = tc.linalg.lu_factor(tc.tensor(a, dtype=tc.float32)).LU
    assert got32.dtype == tc.float32
    np.testing.assert_allclose(got32.numpy(), LUt.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 5), (4, 2)])
def test_lu_gradcheck_and_gradgradcheck(shape):
    x = tc.tensor(R.normal(size=shape) + (3 * np.eye(*shape[-2:]) if shape[-1] == shape[-2] else 0),
                  requires_grad=True)
    assert tc.gradcheck(lambda x: tc.linalg.lu_factor(x).LU, (x,))
    assert tc.gradgradcheck(lambda x: tc.linalg.lu_factor(x).LU, (x,))
    assert tc.gradcheck(lambda x: tc.linalg.lu(x).L.sum() + tc.linalg.lu(x).U.square().sum(), (x,))


def test_lu_factor_ex_info_and_singular_inputs():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    got = tc.linalg.lu_factor_ex(tc.tensor(a))
    want = torch.linalg.lu_factor_ex(torch.tensor(a))
    np.testing.assert_allclose(got.LU.numpy(), want.LU.numpy())
    assert got.pivots.tolist() == want.pivots.tolist() and got.info.tolist() == want.info.tolist() == 2
    batch = np.stack([a, np.eye(2)])
    assert tc.linalg.lu_factor_ex(tc.tensor(batch)).info.tolist() == \
        torch.linalg.lu_factor_ex(torch.tensor(batch)).info.tolist()
    with pytest.raises(tc.TensorcoreError, match="U\\[2,2\\] is zero"):
        tc.linalg.lu_factor(tc.tensor(a))
    with pytest.raises(RuntimeError, match="is zero"):
        torch.linalg.lu_factor(torch.tensor(a))
    with pytest.raises(tc.TensorcoreError, match="without pivoting"):
        tc.linalg.lu_factor(tc.eye(2), pivot=False)
    with pytest.raises(tc.TensorcoreError, match="2 dimensions"):
        tc.linalg.lu_factor(tc.ones(3))
    with pytest.raises(tc.TensorcoreError, match="floating"):
        tc.linalg.lu_factor(tc.ones(2, 2, dtype=tc.int64))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (3, 5), (5, 3)])
def test_lu_unpack_matches_torch(shape):
    a = R.normal(size=shape)
    got = tc.lu_unpack(*tc.linalg.lu_factor(tc.tensor(a)))
    want = torch.lu_unpack(*torch.linalg.lu_factor(torch.tensor(a)))
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose((got.P @ got.L @ got.U).numpy(), a, atol=1e-12)
    for flags in ((False, True), (True, False)):
        g = tc.lu_unpack(*tc.linalg.lu_factor(tc.tensor(a)), *flags)
        w = torch.lu_unpack(*torch.linalg.lu_factor(torch.tensor(a)), *flags)
        assert [tuple(t.shape) for t in g] == [tuple(t.shape) for t in w]


@pytest.mark.parametrize("left,adjoint", [(True, False), (True, True), (False, False), (False, True)])
def test_linalg_lu_solve_matches_torch(left, adjoint):
    a = R.normal(size=(2, 3, 3)) + 3 * np.eye(3)
    b = R.normal(size=(2, 3, 2)) if left else R.normal(size=(2, 2, 3))
    _vjp_compare(lambda A, B: tc.linalg.lu_solve(*tc.linalg.lu_factor(A), B, left=left, adjoint=adjoint),
                 lambda A, B: torch.linalg.lu_solve(*torch.linalg.lu_factor(A), B, left=left, adjoint=adjoint),
                 [a, b])


def test_old_lu_api_and_tensor_methods():
    a, b = R.normal(size=(3, 3)) + 2 * np.eye(3), R.normal(size=(3, 2))
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        warnings.simplefilter("always")
        LU, piv = tc.lu(tc.tensor(a))
    LUt, pivt = torch.lu(torch.tensor(a))
    np.testing.assert_allclose(LU.numpy(), LUt.numpy(), rtol=1e-12)
    assert len(tc.lu(tc.tensor(a), get_infos=True)) == 3 and tc.lu(tc.tensor(a), get_infos=True)[2].tolist() == 0
    LU2, piv2 = tc.tensor(a).lu()
    np.testing.assert_allclose(LU2.numpy(), LUt.numpy(), rtol=1e-12)
    x = tc.lu_solve(tc.tensor(b), LU, piv)
    np.testing.assert_allclose(x.numpy(), torch.lu_solve(torch.tensor(b), LUt, pivt).numpy(), rtol=1e-10)
    np.testing.assert_allclose(tc.tensor(b).lu_solve(LU, piv).numpy(), x.numpy())
    _vjp_compare(lambda A, B: tc.lu_solve(B, *tc.lu(A)), lambda A, B: torch.lu_solve(B, *torch.lu(A)), [a, b])


def test_chain_matmul_frobenius_nuclear_pinverse():
    mats = [R.normal(size=s) for s in ((2, 3), (3, 4), (4, 2))]
    _vjp_compare(tc.chain_matmul, torch.chain_matmul, mats)
    _vjp_compare(tc.chain_matmul, torch.chain_matmul, mats[:1])
    with pytest.raises(tc.TensorcoreError, match="2-d"):
        tc.chain_matmul(tc.ones(2, 2), tc.ones(2))
    a = R.normal(size=(2, 3, 4))
    for dim, keepdim in (((1, 2), False), ([2], True), (0, False)):
        _vjp_compare(lambda x, d=dim, k=keepdim: tc.frobenius_norm(x, d, k),
                     lambda x, d=dim, k=keepdim: torch.frobenius_norm(x, d, k), [a])
    _vjp_compare(lambda x: tc.nuclear_norm(x), lambda x: torch.nuclear_norm(x), [a[0]])
    _vjp_compare(lambda x: tc.nuclear_norm(x, True), lambda x: torch.nuclear_norm(x, True), [a[0]])
    _vjp_compare(lambda x: tc.nuclear_norm(x, (1, 2), True), lambda x: torch.nuclear_norm(x, (1, 2), True), [a])
    _vjp_compare(lambda x: tc.pinverse(x), lambda x: torch.pinverse(x), [a])
    s = np.diag([1.0, 1e-17, 2.0])
    np.testing.assert_allclose(tc.pinverse(tc.tensor(s)).numpy(), torch.pinverse(torch.tensor(s)).numpy())
    np.testing.assert_allclose(tc.pinverse(tc.tensor(s), 0.6).numpy(), torch.pinverse(torch.tensor(s), 0.6).numpy())


@pytest.mark.parametrize("values,kwargs", [([1, 2, 3], {}), ([1.0, 2.5, -1.0], {"N": 2, "increasing": True}),
                                           ([2.0, 3.0], {"N": 4}), ([1, 2], {"N": 0}), ([True, False], {})])
def test_vander_matches_torch(values, kwargs):
    got, want = tc.vander(tc.tensor(values), **kwargs), torch.vander(torch.tensor(values), **kwargs)
    assert tuple(got.shape) == tuple(want.shape) and str(got.dtype) == str(want.dtype).split(".")[1]
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_vander_gradient_and_errors():
    # (torch.vander's own backward raises: it saves a tensor it then changes in place; gradcheck ours instead)
    x = tc.tensor([0.5, 2.0, -1.5], dtype=tc.float64, requires_grad=True)
    assert tc.gradcheck(lambda x: tc.vander(x, 3), (x,)) and tc.gradcheck(lambda x: tc.vander(x, 4, True), (x,))
    with pytest.raises(tc.TensorcoreError, match="one-dimensional"):
        tc.vander(tc.ones(2, 2))


@pytest.mark.parametrize("name", ["matrix_rank", "solve", "lstsq", "eig", "symeig"])
def test_names_torch_removed_raise_as_torch(name):
    a = np.eye(3)
    with pytest.raises(RuntimeError, match="removed"):
        getattr(torch, name)(torch.tensor(a), torch.tensor(a))
    with pytest.raises(tc.TensorcoreError, match="removed"):
        getattr(tc, name)(tc.tensor(a), tc.tensor(a))
    if name != "matrix_rank":
        with pytest.raises(tc.TensorcoreError, match="removed"):
            getattr(tc.tensor(a), name)(tc.tensor(a))


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 3), (3, 0), (0, 3, 3)])
def test_lu_of_empty_matrices_has_torchs_shapes(shape):
    got = tc.linalg.lu_factor_ex(tc.zeros(*shape, dtype=tc.float64))
    want = torch.linalg.lu_factor_ex(torch.zeros(*shape, dtype=torch.float64))
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in want]
    got = tc.linalg.lu(tc.zeros(*shape, dtype=tc.float64))
    want = torch.linalg.lu(torch.zeros(*shape, dtype=torch.float64))
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in want]
    np.testing.assert_array_equal(got.P.numpy(), want.P.numpy())


def test_linalg_errors_are_linalg_error_as_torchs():
    cases = [("inv", lambda m: m.linalg.inv(m.zeros(2, 2))), ("cholesky", lambda m: m.linalg.cholesky(-m.eye(2))),
             ("solve", lambda m: m.linalg.solve(m.zeros(2, 2), m.ones(2)))]
    for name, fn in cases:
        with pytest.raises(torch.linalg.LinAlgError):
            fn(torch)
        with pytest.raises(tc.linalg.LinAlgError, match=name):
            fn(tc)
    assert issubclass(tc.linalg.LinAlgError, tc.TensorcoreError) and issubclass(tc.linalg.LinAlgError, RuntimeError)
    with pytest.raises(RuntimeError) as info:  # lu_factor's singular error is a plain RuntimeError in torch
        torch.linalg.lu_factor(torch.zeros(2, 2))
    assert not isinstance(info.value, torch.linalg.LinAlgError)
