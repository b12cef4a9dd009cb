"""The cuda device (real or simulated): dispatch, device rules, transfers, training steps match the CPU."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.ops.nn as F

from .conftest import require_cuda

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _cuda():
    require_cuda()


def test_tensors_live_on_cuda_and_ops_stay_there():
    x = tc.randn(3, 4, device="cuda")
    assert x.device == tc.device("cuda:0") and x.is_cuda
    y = (x * 2.0 + 1.0).relu().sum(axis=1)
    assert y.device == tc.device("cuda")
    np.testing.assert_allclose(y.numpy(), np.maximum(x.numpy() * 2 + 1, 0).sum(1), rtol=1e-6)


def test_mixing_devices_raises_naming_both():
    with pytest.raises(tc.DeviceError, match=r"add: tensors on different devices \(cuda:0, cpu\)"):
        tc.ones(3, device="cuda") + tc.ones(3)
    with pytest.raises(tc.DeviceError, match="matmul"):
        tc.ones((2, 2), device="cuda") @ tc.ones((2, 2))


def test_to_is_differentiable_and_gradients_return_to_the_source_device():
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.to("cuda")
    assert y.device == tc.device("cuda")
    (y * y).sum().backward()
    assert x.grad.device == tc.device("cpu")
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    assert x.cuda().cpu().device == tc.device("cpu")


def test_numpy_copies_to_the_host_explicitly():
    x = tc.ones(3, device="cuda")
    before = tc.cuda.transfers()["to_host"]
    a = x.numpy()
    a[0] = 5.0
    assert x.numpy()[0] == 1.0  # a copy, never a view of device memory
    assert tc.cuda.transfers()["to_host"] == before + 2


def _tiny_mlp(device, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(6, 5), (6,), (3, 6), (3,)]
    return [tc.tensor(rng.standard_normal(s) * 0.5, dtype=tc.float32, device=device, requires_grad=True)
            for s in shapes]


def _mlp_step(params, x, y, lr=0.1):
    w1, b1, w2, b2 = params
    loss = F.cross_entropy(tc.linear(tc.relu(tc.linear(x, w1, b1)), w2, b2), y)
    loss.backward()
    with tc.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return loss


def test_mlp_training_steps_match_the_cpu_and_move_nothing_to_the_host():
    rng = np.random.default_rng(1)
    xs, ys = rng.standard_normal((7, 5)).astype(np.float32), rng.integers(0, 3, 7)
    cpu_params, cuda_params = _tiny_mlp("cpu"), _tiny_mlp("cuda")
    xc, yc = tc.tensor(xs), tc.tensor(ys)
    xg, yg = xc.to("cuda"), yc.to("cuda")
    before = tc.cuda.transfers()["to_host"]
    for _ in range(3):
        lg = _mlp_step(cuda_params, xg, yg)
    assert tc.cuda.transfers()["to_host"] == before, "a training step copied data to the host"
    for _ in range(3):
        lc = _mlp_step(cpu_params, xc, yc)
    np.testing.assert_allclose(lg.item(), lc.item(), rtol=1e-5)
    for pc, pg in zip(cpu_params, cuda_params):
        np.testing.assert_allclose(pg.numpy(), pc.numpy(), atol=1e-5)


def test_conv_net_training_step_matches_the_cpu():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    w = (rng.standard_normal((3, 1, 3, 3)) * 0.3).astype(np.float32)
    fc = (rng.standard_normal((2, 12)) * 0.3).astype(np.float32)
    y = np.array([0, 1])
    results = {}
    for dev in ("cpu", "cuda"):
        wt = tc.tensor(w, device=dev, requires_grad=True)
        ft = tc.tensor(fc, device=dev, requires_grad=True)
        h = tc.relu(tc.nn.functional.conv2d(tc.tensor(x, device=dev), wt, padding=1))
        h = tc.nn.functional.max_pool2d(h, 3, 3).reshape(2, -1)
        loss = F.cross_entropy(tc.linear(h, ft), tc.tensor(y, device=dev))
        loss.backward()
        results[dev] = (loss.item(), wt.grad.numpy(), ft.grad.numpy())
    for a, b in zip(results["cpu"], results["cuda"]):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=1e-5)


def test_gemm_switch_selects_cublas_or_our_kernel():
    be = tc.device("cuda").backend
    a, b = tc.randn(5, 7, device="cuda"), tc.randn(7, 3, device="cuda")
    ours = (a @ b).numpy()
    try:
        be.gemm = "cublas"
        theirs = (a @ b).numpy()
    finally:
        be.gemm = "numba"
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


# Every registered op runs on cuda in tests/test_ops_sweep.py (test_op_cuda*).


def test_module_to_cuda_trains_with_the_fused_adam_kernel_like_the_cpu():
    from tensorcore import nn, optim

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((6, 5)).astype(np.float32), rng.integers(0, 3, 6)
    losses, weights = {}, {}
    for dev in ("cpu", "cuda"):
        tc.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)).to(dev)
        assert all(p.device == tc.device(dev) for p in model.parameters())
        opt = optim.Adam(model.parameters(), lr=0.05)
        xt, yt = tc.tensor(x, device=dev), tc.tensor(y, device=dev)
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xt), yt)
            loss.backward()
            opt.step()
        losses[dev] = loss.item()
        weights[dev] = [p.numpy() for p in model.parameters()]
        if dev == "cuda":
            state = opt.state[next(iter(model.parameters()))]
            assert type(state["exp_avg"]) is type(next(iter(model.parameters()))._data)
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-5)
    for a, b in zip(weights["cpu"], weights["cuda"]):
        np.testing.assert_allclose(b, a, atol=1e-5)
