"""The PyTorch tutorials under `import tensorcore as torch`, against PyTorch from the same weights and noise:
"Learning PyTorch with Examples" (manual gradients, autograd, a custom autograd.Function, nn, optim, a custom
Module, DynamicNet's control flow)."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, feed_noise, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _default_devices_restored():
    """The tutorial calls torch.set_default_device(device): undone after each test, in both libraries. (Left on,
    torch's default-device mode stays active in the worker, and under it torch's own F.l1_loss drops its weight=,
    which made tests/test_torch_functional.py fail when it ran after this file.)"""
    import tensorcore as tc

    before = tc.get_default_device()
    yield
    torch.set_default_device(None)
    tc.set_default_device(before)


@pytest.mark.parametrize("name", ["polynomial_tensor", "polynomial_autograd", "polynomial_custom_function",
                                  "polynomial_module", "dynamic_net"])
def test_learning_pytorch_with_examples(name, monkeypatch):
    ours, theirs = both("learning_pytorch_with_examples")
    steps = 150 if name != "dynamic_net" else 60
    feed_noise(monkeypatch, ours.torch, 0)
    got_losses, got = getattr(ours, name)(steps)
    feed_noise(monkeypatch, theirs.torch, 0)
    want_losses, want = getattr(theirs, name)(steps)
    close(got_losses, want_losses, rtol=1e-4, what="losses")
    close(got, want, rtol=1e-4, atol=1e-6, what="coefficients")
    if name != "dynamic_net":  # (its lr 1e-8 with momentum needs thousands of steps)
        assert got_losses[-1] < got_losses[0]


@pytest.mark.parametrize("name", ["polynomial_nn", "polynomial_optim"])
def test_learning_pytorch_with_examples_nn(name):
    ours, theirs = both("learning_pytorch_with_examples")
    torch.manual_seed(0)
    init = {f"0.{k}": v for k, v in state_arrays(torch.nn.Linear(3, 1)).items()}
    got_losses, got = getattr(ours, name)(200, init)
    want_losses, want = getattr(theirs, name)(200, init)
    close(got_losses, want_losses, rtol=1e-4, what="losses")
    close(got, want, rtol=1e-4, atol=1e-6, what="coefficients")
    assert got_losses[-1] < got_losses[0]


def mnist_like(n, seed):
    from tests.programs_s8.harness import images

    x, y = images(n, 10, 28, seed)
    return x.reshape(n, 784) * np.float32(0.3), y  # (MNIST's mean pixel is about 0.13)


def test_what_is_torch_nn_really():
    ours, theirs = both("nn_tutorial")
    x, y = mnist_like(256, 0)
    vx, vy = mnist_like(128, 1)
    w0 = (np.random.default_rng(2).standard_normal((784, 10)) / np.sqrt(784)).astype(np.float32)
    got, want = ours.from_scratch(x, y, w0), theirs.from_scratch(x, y, w0)
    close(got[:2], want[:2], rtol=1e-4, atol=1e-6, what="loss and accuracy before and after")
    close(got[2], want[2], rtol=1e-3, atol=1e-6)
    assert got[1][0] < got[0][0]
    got, want = ours.refactored(x, y, vx, vy, w0), theirs.refactored(x, y, vx, vy, w0)
    assert sorted(got) == ["dataloader", "fit", "module"]
    for key in got:
        close(got[key], want[key], rtol=1e-4, atol=1e-6, what=key)


def test_what_is_torch_nn_really_cnns():
    ours, theirs = both("nn_tutorial")
    x, y = mnist_like(128, 3)
    vx, vy = mnist_like(64, 4)
    torch.manual_seed(0)
    th_models = (theirs.Mnist_CNN(), *theirs.sequential_models())
    tc_models = (ours.Mnist_CNN(), *ours.sequential_models())
    for a, b in zip(th_models, tc_models):
        copy_weights(a, b, ours.torch)
    got, want = ours.cnns(tc_models, x, y, vx, vy), theirs.cnns(th_models, x, y, vx, vy)
    close(got, want, rtol=1e-3, atol=1e-5, what="validation losses of the three CNNs")
