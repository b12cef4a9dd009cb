"""Asynchronous training across processes (run under `mpirun -n 2` by `python -m tensorcore.distributed.launch_tests`).

Local SGD with a blocking average every step equals synchronous SGD; the non-blocking averager and the
one-sided parameter server let a fast rank take more steps than a slow one in the same time, and end
with the same parameters on every rank.
"""

import time

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import tensorcore as tc  # noqa: E402
import tensorcore.distributed as dist  # noqa: E402
from tensorcore import nn  # noqa: E402
from tensorcore.distributed import async_training as at  # noqa: E402

from .mpi_helpers import process_group_fixture  # noqa: E402

pytestmark = pytest.mark.mpi


group = process_group_fixture()


def mlp():
    tc.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(tc.float64)


def data(steps=10, batch=8):
    rng = np.random.default_rng(2)
    return [(rng.standard_normal((batch, 5)), rng.integers(0, 3, batch)) for _ in range(steps)]


def step(model, opt, x, y):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(tc.tensor(x)), tc.tensor(y))
    loss.backward()
    opt.step()
    return loss.item()


def test_local_sgd_averaging_every_step_is_synchronous_sgd():
    """Plain SGD is linear in the gradient: averaging the models after every step = averaging gradients."""
    rank, world = dist.get_rank(), dist.get_world_size()
    ref, model = mlp(), mlp()
    ref_opt = tc.optim.SGD(ref.parameters(), lr=0.2)
    opt = at.PostLocalSGDOptimizer(tc.optim.SGD(model.parameters(), lr=0.2), at.PeriodicModelAverager(period=1))
    for x, y in data():
        step(ref, ref_opt, x, y)
        step(model, opt, x[rank::world], y[rank::world])
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=0, atol=1e-9)
    assert opt.averager.step == 10


def _run_for(seconds, model, opt, slow):
    """Train for `seconds` of wall time; the slow rank sleeps 2x each step's compute (3x slower). Steps taken."""
    batches = data(64)
    steps = 0
    dist.barrier()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        x, y = batches[steps % len(batches)]
        step(model, opt, x, y)
        if slow:
            time.sleep(max(2 * (time.perf_counter() - t0), 0.004))
        steps += 1
    return steps


def test_async_model_averager_does_not_wait_for_the_slow_rank():
    rank = dist.get_rank()
    model = mlp()
    averager = at.AsyncModelAverager(period=2)
    opt = at.PostLocalSGDOptimizer(tc.optim.SGD(model.parameters(), lr=0.05), averager)
    steps = _run_for(1.0, model, opt, slow=rank == 1)
    opt.finish()
    counts = dist.all_gather_object((steps, averager.rounds_started, averager.rounds_completed))
    assert counts[0][0] > 1.5 * counts[1][0], counts  # the fast rank took more steps: it did not wait
    assert len({c[1] for c in counts}) == 1 and all(c[1] == c[2] for c in counts), counts
    assert counts[1][1] >= 2  # several rounds overlapped the training
    everyone = dist.all_gather_object([p.numpy() for p in model.parameters()])
    for a, b in zip(*everyone[:2]):
        np.testing.assert_array_equal(a, b)


def test_parameter_server_sums_every_update_and_does_not_wait():
    rank = dist.get_rank()
    model = mlp()
    start = [p.numpy().copy() for p in model.parameters()]
    opt = at.ParameterServerOptimizer(tc.optim.SGD(model.parameters(), lr=0.05))
    pushed = [np.zeros_like(s) for s in start]

    class Recording:
        """Wraps SGD to record the update this rank pushes."""

        def __init__(self, inner):
            self.inner = inner
            self.param_groups = inner.param_groups

        def step(self, closure=None):
            before = [p.numpy().copy() for p in model.parameters()]
            self.inner.step()
            for acc, b, p in zip(pushed, before, model.parameters()):
                acc += p.numpy() - b

        def zero_grad(self, set_to_none=True):
            self.inner.zero_grad(set_to_none)

    opt.optim = Recording(opt.optim)
    steps = _run_for(1.0, model, opt, slow=rank == 1)
    opt.finish()
    counts = dist.all_gather_object(steps)
    assert counts[0] > 1.5 * counts[1], counts
    assert opt.pushes == steps
    everyone = dist.all_gather_object(pushed)
    for i, p in enumerate(model.parameters()):  # the server holds the start plus every rank's every update
        np.testing.assert_allclose(p.numpy(), start[i] + sum(e[i] for e in everyone), rtol=0, atol=1e-10)
    finals = dist.all_gather_object([p.numpy() for p in model.parameters()])
    for a, b in zip(*finals[:2]):
        np.testing.assert_array_equal(a, b)
    opt.close()


def test_bad_arguments():
    with pytest.raises(dist.DistributedError, match="period must be a positive integer, got 0"):
        at.AsyncModelAverager(0)
    with pytest.raises(dist.DistributedError, match="server_rank must be in 0..1, got 7"):
        at.ParameterServerOptimizer(tc.optim.SGD(mlp().parameters(), lr=0.1), server_rank=7)
