"""Local response normalization (PyTorch's alpha convention), batch norm (train/eval, running stats),
Dropout2d."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn
from tensorcore.ops.norm import batch_norm
from tensorcore.testing.cases_conv import naive_local_response_norm


def _t(a, requires_grad=True):
    return tc.tensor(a, dtype=tc.float64, requires_grad=requires_grad)


@pytest.mark.parametrize("size, alpha, beta, k, shape", [
    (5, 5e-4, 0.75, 2.0, (2, 12, 5, 5)),     # AlexNet's constants in PyTorch's convention
    (3, 0.3, 0.5, 1.0, (1, 4, 3, 3)),
    (4, 1.0, 0.75, 1.0, (2, 6, 2, 2)),       # even size: one more neighbour before than after
    (7, 0.5, 1.0, 1.5, (1, 3, 2, 2)),        # window wider than the channels
    (2, 0.2, 0.75, 1.0, (2, 5, 4)),          # 3-D input (N, C, L)
])
def test_local_response_norm_matches_naive_and_torch(size, alpha, beta, k, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3
    xt = _t(x)
    y = F.local_response_norm(xt, size, alpha, beta, k)
    np.testing.assert_allclose(y.numpy(), naive_local_response_norm(x, size, alpha, beta, k), rtol=1e-12)
    torch = pytest.importorskip("torch")
    X = torch.tensor(x, requires_grad=True)
    Y = torch.nn.functional.local_response_norm(X, size, alpha, beta, k)
    np.testing.assert_allclose(y.numpy(), Y.detach().numpy(), rtol=1e-10)
    g = rng.standard_normal(shape)
    y.backward(tc.tensor(g))
    Y.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), X.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_lrn_alpha_convention_is_the_papers_alpha_times_size():
    """The AlexNet paper: b = a / (k + alpha_paper * sum a^2)^beta with k=2, n=5, alpha=1e-4, beta=0.75."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 8, 2, 2)) * 10
    c = 3
    paper = x[0, c] / (2 + 1e-4 * (x[0, c - 2:c + 3] ** 2).sum(axis=0)) ** 0.75
    ours = nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(_t(x, False)).numpy()[0, c]
    np.testing.assert_allclose(ours, paper, rtol=1e-12)


def test_lrn_double_backward():
    x = _t(np.random.default_rng(2).standard_normal((1, 4, 2, 2)))
    assert tc.gradgradcheck(lambda a: F.local_response_norm(a, 3, alpha=0.5, beta=0.75, k=1.0), (x,))


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (6, 3), (4, 3, 7)])
def test_batch_norm_training_matches_torch(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal(shape) * 2 + 1, rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = tc.tensor(np.full(3, 0.5)), tc.tensor(np.full(3, 2.0))
    RM, RV = torch.full((3,), 0.5, dtype=torch.float64), torch.full((3,), 2.0, dtype=torch.float64)
    xt, wt, bt = _t(x), _t(w), _t(b)
    X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = batch_norm(xt, rm, rv, wt, bt, training=True, momentum=0.2)
    Y = torch.nn.functional.batch_norm(X, RM, RV, W, B, training=True, momentum=0.2)
    np.testing.assert_allclose(y.numpy(), Y.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), RM.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), RV.numpy(), rtol=1e-12)  # unbiased variance in the running stat
    g = rng.standard_normal(shape)
    y.backward(tc.tensor(g))
    Y.backward(torch.tensor(g))
    for ours, theirs in ((xt, X), (wt, W), (bt, B)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_batch_norm_eval_uses_running_stats_and_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((3, 2, 4, 4)), rng.standard_normal(2), rng.standard_normal(2)
    rm, rv = np.array([0.3, -1.0]), np.array([0.5, 4.0])
    xt, wt, bt = _t(x), _t(w), _t(b)
    y = batch_norm(xt, tc.tensor(rm), tc.tensor(rv), wt, bt, training=False)
    X, W, B = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    Y = torch.nn.functional.batch_norm(X, torch.tensor(rm), torch.tensor(rv), W, B, training=False)
    np.testing.assert_allclose(y.numpy(), Y.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(x.shape)
    y.backward(tc.tensor(g))
    Y.backward(torch.tensor(g))
    for ours, theirs in ((xt, X), (wt, W), (bt, B)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_double_backward():
    rng = np.random.default_rng(5)
    x, w = _t(rng.standard_normal((3, 2, 2, 2))), _t(rng.standard_normal(2))
    assert tc.gradgradcheck(lambda a, b: batch_norm(a, None, None, b, None, training=True), (x, w))


def test_batch_norm_errors():
    with pytest.raises(tc.ShapeError, match="more than 1 value per channel"):
        batch_norm(tc.zeros((1, 3)), training=True)
    with pytest.raises(tc.ShapeError, match=r"running_mean of shape \(4,\)"):
        batch_norm(tc.zeros((2, 3)), tc.zeros(4), tc.ones(3), training=False)
    with pytest.raises(tc.ShapeError, match="needed when training=False"):
        batch_norm(tc.zeros((2, 3)), training=False)
    with pytest.raises(tc.ShapeError, match=r"BatchNorm2d\(3\): expected input \(N, 3, H, W\)"):
        nn.BatchNorm2d(3)(tc.zeros((2, 3)))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_module_matches_torch_over_steps(momentum):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    bn, tbn = nn.BatchNorm2d(4, momentum=momentum), torch.nn.BatchNorm2d(4, momentum=momentum)
    for _ in range(3):
        x = rng.standard_normal((5, 4, 3, 3)).astype(np.float32) * 3 + 1
        y, Y = bn(tc.tensor(x)), tbn(torch.tensor(x))
        np.testing.assert_allclose(y.numpy(), Y.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.numpy(), tbn.running_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), tbn.running_var.numpy(), rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 3
    bn.eval()
    tbn.eval()
    x = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(bn(tc.tensor(x)).numpy(), tbn(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}


def test_dropout2d_drops_whole_channels():
    tc.manual_seed(0)
    x = tc.ones((8, 16, 3, 3))
    y = F.dropout2d(x, 0.25).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # one draw per feature map
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.1 < (per_channel[..., 0] == 0).mean() < 0.4
    assert F.dropout2d(x, 0.5, training=False) is x
    assert np.all(F.dropout2d(x, 1.0).numpy() == 0)
    assert F.dropout2d(tc.ones((3, 4, 4)), 0.5).shape == (3, 4, 4)
    with pytest.raises(ValueError):
        F.dropout2d(x, 1.5)
    m = nn.Dropout2d(0.5)
    m.eval()
    assert m(x) is x
    xg = tc.ones((2, 3, 2, 2), requires_grad=True)
    out = F.dropout2d(xg, 0.5, generator=tc.Generator(1))
    out.sum().backward()
    np.testing.assert_array_equal(xg.grad.numpy(), out.numpy())  # gradient = the same mask
