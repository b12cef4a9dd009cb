"""CUDA graphs (tensorcore/cuda_graphs.py) with PyTorch's names and semantics.

On the simulated device capture is refused (there is no stream to record), and make_graphed_callables
runs its recorded closures as a Python replay on the same static buffers: these tests check what that
shares with a GPU (static inputs and outputs, gradients through the graphed callable, parameters
updated in place between calls). The whole-step capture and replay need a GPU (the last test).
"""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim

from .conftest import require_cuda

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _cuda():
    require_cuda()


def _mlp():
    tc.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3)).to("cuda")


def _batch(seed, n=4):
    rng = np.random.default_rng(seed)
    x = tc.tensor(rng.standard_normal((n, 5)).astype(np.float32), device="cuda")
    y = tc.tensor(rng.integers(0, 3, n), device="cuda")
    return x, y


@pytest.mark.skipif(not tc.cuda.is_simulated(), reason="the refusal is the simulated device's")
def test_capture_is_refused_on_the_simulated_device_and_says_why():
    g = tc.cuda.CUDAGraph()
    with pytest.raises(tc.DeviceError, match="simulated cuda device .* no stream to record"):
        with tc.cuda.graph(g):
            pass
    with pytest.raises(tc.DeviceError, match="CUDAGraph.capture_begin: the simulated"):
        g.capture_begin()
    with pytest.raises(tc.ArgumentError, match="CUDAGraph.replay: nothing captured yet"):
        g.replay()
    assert tc.cuda.is_current_stream_capturing() is False


def test_graphed_module_matches_eager_over_steps_with_in_place_updates():
    """Two SGD steps: the graphed module's outputs and gradients equal the eager twin's, on new data
    copied into the static input each call, with the parameters changed in place between calls."""
    model, twin = _mlp(), _mlp()  # the same seed: the same weights
    sample, _ = _batch(0)
    graphed = tc.cuda.make_graphed_callables(model, (sample,), num_warmup_iters=1)
    assert graphed is model
    opt, opt_twin = optim.SGD(model.parameters(), lr=0.5), optim.SGD(twin.parameters(), lr=0.5)
    for step in (1, 2):
        x, y = _batch(step)
        for m, o in ((graphed, opt), (twin, opt_twin)):
            o.zero_grad()
            nn.functional.cross_entropy(m(x), y).backward()
        for p, q in zip(model.parameters(), twin.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)
        opt.step()
        opt_twin.step()
    with tc.no_grad():
        x, _ = _batch(9)
        np.testing.assert_allclose(graphed(x).numpy(), twin(x).numpy(), rtol=1e-5, atol=1e-6)


def test_graphed_function_gives_input_gradients_and_static_outputs():
    w = tc.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), device="cuda", requires_grad=True)
    x0 = tc.zeros((4, 2), device="cuda", requires_grad=True)

    def f(x, w):
        return (x @ w).tanh()

    fg = tc.cuda.make_graphed_callables(f, (x0, w), num_warmup_iters=1)
    x = tc.tensor(np.arange(8, dtype=np.float32).reshape(4, 2) / 8, device="cuda", requires_grad=True)
    out = fg(x, w)
    want = np.tanh(x.numpy() @ w.numpy())
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (1 - want**2) @ w.numpy().T, rtol=1e-5)
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().T @ (1 - want**2), rtol=1e-5)
    # As in PyTorch, the output is the static buffer: the next call overwrites it.
    fg(x * 0, w)
    np.testing.assert_allclose(out.numpy(), 0.0, atol=1e-7)
    with pytest.raises(tc.ArgumentError, match=r"arguments must match sample_args: \(4, 2\)"):
        fg(tc.zeros((3, 2), device="cuda"), w)


def test_sample_args_must_be_cuda_tensors():
    with pytest.raises(tc.ArgumentError, match=r"sample_args must be cuda Tensors, got \['cpu'\]"):
        tc.cuda.make_graphed_callables(lambda x: x * 2, (tc.zeros(3),))


@pytest.mark.gpu
@pytest.mark.skipif(tc.cuda.is_simulated() or not tc.cuda.is_available(), reason="needs a real CUDA GPU")
def test_whole_training_step_captured_and_replayed_on_new_data():
    model, twin = _mlp(), _mlp()
    opt, opt_twin = optim.SGD(model.parameters(), lr=0.1, momentum=0.9), optim.SGD(twin.parameters(), lr=0.1,
                                                                                  momentum=0.9)
    static_x, static_y = _batch(0)
    state = {}

    def step(m, o, x, y):
        o.zero_grad(set_to_none=False)
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        o.step()
        return loss

    for _ in range(3):  # warm-up: compiles, momentum buffers, gradient buffers
        step(model, opt, static_x, static_y)
        step(twin, opt_twin, static_x, static_y)
    g = tc.cuda.CUDAGraph()
    with tc.cuda.graph(g):
        state["loss"] = step(model, opt, static_x, static_y)
    for seed in range(1, 4):
        x, y = _batch(seed)
        static_x.copy_(x)
        static_y.copy_(y)
        g.replay()
        want = step(twin, opt_twin, x, y)
        np.testing.assert_allclose(state["loss"].numpy(), want.numpy(), rtol=1e-5)
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6)
