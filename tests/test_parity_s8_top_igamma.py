"""torch.igamma / torch.igammac and Tensor.igamma(_) / igammac(_) (tensorcore/ops/igamma.py) against torch: values
(float64, float32, broadcasting, PyTorch's edge values), the gradient in x (and its refusal for a), dtype errors."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")

R = np.random.default_rng(5)
EDGES_A = np.array([0.0, 0.0, 1.0, -1.0, 2.0, np.inf, 2.0, 0.5, 1e3, 5.0, 0.1, 30.0, 2.5, 100.0, 1e-3, 7.0])
EDGES_X = np.array([0.0, 1.0, 0.0, 1.0, -1.0, 1.0, np.inf, 1e-300, 1e3, 50.0, 0.05, 25.0, 3.0, 90.0, 2.0, 1e-3])


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_values_match_torch(name):
    a, x = R.uniform(0.05, 20, (4, 50)), R.uniform(0.0, 30, (4, 50))
    for aa, xx in ((a, x), (EDGES_A, EDGES_X)):
        got = getattr(tc, name)(tc.tensor(aa), tc.tensor(xx)).numpy()
        want = getattr(torch, name)(torch.tensor(aa), torch.tensor(xx)).numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        # (torch's own error reaches ~1e-9 for large a; ours stays near 1e-14 of mpmath's)
        np.testing.assert_allclose(got, want, rtol=5e-9, atol=1e-300)
    got32 = getattr(tc, name)(tc.tensor(a, dtype=tc.float32), tc.tensor(x, dtype=tc.float32))
    want32 = getattr(torch, name)(torch.tensor(a, dtype=torch.float32), torch.tensor(x, dtype=torch.float32))
    assert got32.dtype == tc.float32
    np.testing.assert_allclose(got32.numpy(), want32.numpy(), rtol=2e-5, atol=1e-6)


def test_broadcasting_methods_and_in_place():
    a, x = R.uniform(0.5, 5, (3, 1)), R.uniform(0.1, 6, (4,))
    np.testing.assert_allclose(tc.tensor(a).igamma(tc.tensor(x)).numpy(),
                               torch.tensor(a).igamma(torch.tensor(x)).numpy(), rtol=1e-10)
    y, yt = tc.tensor(np.broadcast_to(a, (3, 4)).copy()), torch.tensor(np.broadcast_to(a, (3, 4)).copy())
    assert y.igammac_(tc.tensor(x)) is y
    yt.igammac_(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-10)
    y, yt = tc.tensor(a), torch.tensor(a)
    y.igamma_(tc.tensor(2.0, dtype=tc.float64))
    yt.igamma_(torch.tensor(2.0, dtype=torch.float64))
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-10)
    mixed = tc.igamma(tc.tensor([1.0, 2.0]), tc.tensor([1, 2]))
    assert mixed.dtype == torch.igamma(torch.tensor([1.0, 2.0]), torch.tensor([1, 2])).dtype.__str__().split(".")[1]


def test_gradient_in_x_matches_torch_and_gradchecks():
    a, x = R.uniform(0.5, 5, (3, 4)), R.uniform(0.2, 6, (3, 4))
    for name in ("igamma", "igammac"):
        xs, xt = tc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (g,) = tc.grad(getattr(tc, name)(tc.tensor(a), xs).sum(), xs, create_graph=True)
        (gt,) = torch.autograd.grad(getattr(torch, name)(torch.tensor(a), xt).sum(), xt, create_graph=True)
        np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-10)
        (h,) = tc.grad(g.sum(), xs)
        (ht,) = torch.autograd.grad(gt.sum(), xt)
        np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-9)
        assert tc.gradcheck(lambda x, n=name: getattr(tc, n)(tc.tensor(a), x), (tc.tensor(x, requires_grad=True),))


def test_no_gradient_for_a_and_integer_inputs_refused():
    a = tc.tensor([2.0, 3.0], dtype=tc.float64, requires_grad=True)
    y = tc.igamma(a, tc.tensor([1.0, 2.0], dtype=tc.float64))
    with pytest.raises(tc.TensorcoreError, match="igamma: input"):
        y.sum().backward()
    at = torch.tensor([2.0, 3.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="not implemented"):
        torch.igamma(at, torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    with pytest.raises(tc.TensorcoreError, match="igamma"):
        tc.igamma(tc.tensor([1, 2]), tc.tensor([1, 2]))
    with pytest.raises(RuntimeError):
        torch.igamma(torch.tensor([1, 2]), torch.tensor([1, 2]))


def test_special_gammainc_and_gammaincc_are_igamma_and_igammac():
    a, x = R.uniform(0.5, 5, (6,)), R.uniform(0.1, 8, (6,))
    for ours, theirs in ((tc.special.gammainc, torch.special.gammainc),
                         (tc.special.gammaincc, torch.special.gammaincc)):
        np.testing.assert_allclose(ours(tc.tensor(a), tc.tensor(x)).numpy(),
                                   theirs(torch.tensor(a), torch.tensor(x)).numpy(), rtol=1e-10)
