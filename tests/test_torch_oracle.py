"""Forward values and gradients against PyTorch (the oracle), where PyTorch is installed."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.ops.nn as F

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the oracle comparison needs it")

TARGETS = np.array([1, 0, 3, 2, 1])

CASES = {
    "sigmoid": (lambda x: tc.sigmoid(x), lambda x: torch.sigmoid(x)),
    "tanh": (tc.tanh, torch.tanh),
    "gelu": (tc.gelu, torch.nn.functional.gelu),
    "gelu_tanh": (lambda x: tc.gelu(x, approximate="tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    "elu": (tc.elu, torch.nn.functional.elu),
    "softplus": (tc.softplus, torch.nn.functional.softplus),
    "leaky_relu": (lambda x: tc.leaky_relu(x, 0.2), lambda x: torch.nn.functional.leaky_relu(x, 0.2)),
    "log_softmax": (lambda x: tc.log_softmax(x, 1), lambda x: torch.log_softmax(x, 1)),
    "softmax": (lambda x: tc.softmax(x, 0), lambda x: torch.softmax(x, 0)),
    "logsumexp": (lambda x: x.logsumexp(axis=1), lambda x: torch.logsumexp(x, 1)),
    "var": (lambda x: x.var(axis=0, ddof=1), lambda x: x.var(0, unbiased=True)),
    "std": (lambda x: x.std(axis=1), lambda x: x.std(1)),
    "cross_entropy": (lambda x: F.cross_entropy(x, TARGETS),
                      lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(TARGETS))),
    "cross_entropy_smooth": (
        lambda x: F.cross_entropy(x, TARGETS, label_smoothing=0.2),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(TARGETS), label_smoothing=0.2)),
    "cross_entropy_ignore": (lambda x: F.cross_entropy(x, np.array([1, -100, 3, 2, -100])),
                             lambda x: torch.nn.functional.cross_entropy(x, torch.tensor([1, -100, 3, 2, -100]))),
    "cross_entropy_weight": (
        lambda x: F.cross_entropy(x, TARGETS, weight=tc.tensor([1.0, 2.0, 0.5, 1.5], dtype=tc.float64)),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(TARGETS),
                                                    weight=torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64))),
    "bce_logits": (lambda x: F.binary_cross_entropy_with_logits(x, (TARGETS[:, None] % 2) * np.ones((5, 4))),
                   lambda x: torch.nn.functional.binary_cross_entropy_with_logits(
                       x, torch.tensor((TARGETS[:, None] % 2) * np.ones((5, 4))))),
    "bce_logits_pos_weight": (
        lambda x: F.binary_cross_entropy_with_logits(x, (TARGETS[:, None] % 2) * np.ones((5, 4)), pos_weight=3.0),
        lambda x: torch.nn.functional.binary_cross_entropy_with_logits(
            x, torch.tensor((TARGETS[:, None] % 2) * np.ones((5, 4))), pos_weight=torch.tensor(3.0))),
    "max_ties": (lambda x: (x * 0 + 1).max(), lambda x: (x * 0 + 1).max()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    ours, theirs = CASES[name]
    a = np.random.default_rng(0).standard_normal((5, 4)) * 3
    x = tc.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    y, yt = ours(x), theirs(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(tc.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_batched_matmul_with_broadcast_matches_pytorch():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    x, y = tc.tensor(a, requires_grad=True), tc.tensor(b, requires_grad=True)
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (x @ y).sum().backward()
    (xt @ yt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), yt.grad.numpy(), rtol=1e-12)


def test_stable_for_logits_of_1e4():
    a = np.array([[1e4, 0.0, -1e4], [5e3, 5e3, 0.0]])
    x = tc.tensor(a, requires_grad=True)
    loss = F.cross_entropy(x, np.array([0, 2]))
    loss.backward()
    ref = torch.nn.functional.cross_entropy(torch.tensor(a), torch.tensor([0, 2]))
    assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
