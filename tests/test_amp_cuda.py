"""Mixed precision on the cuda device (a GPU, or the simulated device in CI's GPU step): the float16 GEMM behind
matmul/linear, float16 through the float32-only kernels (conv, relu, pooling), and gradients that agree with the
cpu device's under autocast."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn as nn
import tensorcore.nn.functional as F

from .conftest import require_cuda

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _cuda():
    require_cuda()


def _net():
    tc.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 5), nn.Tanh(),
                         nn.Linear(5, 3))


def _grads(device):
    model = _net().to(device)
    x = tc.tensor(np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)).to(device)
    y = tc.tensor([0, 2]).to(device)
    with tc.autocast(device.type, dtype=tc.float16):
        out = model(x)
        loss = F.cross_entropy(out, y)
    assert (out.dtype, loss.dtype) == (tc.float16, tc.float32)
    scaler = tc.amp.GradScaler(device.type, init_scale=1024.0)
    scaler.scale(loss).backward()
    opt = tc.optim.SGD(model.parameters(), lr=0.1)
    scaler.unscale_(opt)
    return loss.item(), [p.grad.to("cpu").numpy() for p in model.parameters()]


def test_autocast_cuda_matches_cpu():
    loss_gpu, grads_gpu = _grads(tc.device("cuda"))
    loss_cpu, grads_cpu = _grads(tc.device("cpu"))
    np.testing.assert_allclose(loss_gpu, loss_cpu, rtol=5e-3)
    for g, c in zip(grads_gpu, grads_cpu):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, c, rtol=2e-2, atol=2e-3)


def test_float16_matmul_and_linear_on_cuda_round_the_float32_result():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 7)).astype(np.float16), rng.standard_normal((7, 3)).astype(np.float16)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    out = (tc.tensor(a).to("cuda") @ tc.tensor(b).to("cuda")).to("cpu").numpy()
    assert out.dtype == np.float16
    assert np.abs(out - ref).max() <= np.spacing(np.abs(ref).astype(np.float16)).max()
    lin = F.linear(tc.tensor(a).to("cuda"), tc.tensor(b.T.copy()).to("cuda"), tc.ones(3, dtype=tc.float16).to("cuda"))
    np.testing.assert_allclose(lin.to("cpu").numpy(), ref + 1, rtol=2e-3, atol=2e-3)
