"""Long runs: memory stays flat, the tape leaves no reference cycles, in-place updates are caught,
and the CLI fails with one clear line."""

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim


def _mlp_and_data(seed=0):
    tc.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    rng = np.random.default_rng(seed)
    x = tc.tensor(rng.random((32, 784), dtype=np.float32))
    y = tc.tensor(rng.integers(0, 10, 32))
    return model, optim.Adam(model.parameters(), lr=1e-3), x, y


def _step(model, opt, x, y):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def _rss_mb():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_three_thousand_mlp_steps_keep_memory_flat():
    model, opt, x, y = _mlp_and_data()
    for _ in range(300):  # warm up: optimizer state, allocator pools
        _step(model, opt, x, y)
    gc.collect()
    before_rss, before_objects = _rss_mb(), len(gc.get_objects())
    for _ in range(3000):
        _step(model, opt, x, y)
    gc.collect()
    grown_rss, grown_objects = _rss_mb() - before_rss, len(gc.get_objects()) - before_objects
    assert grown_rss < 20, f"resident memory grew by {grown_rss:.1f} MB over 3000 steps"
    assert grown_objects < 500, f"{grown_objects} more live objects after 3000 steps"


def test_a_training_step_leaves_no_reference_cycles():
    model, opt, x, y = _mlp_and_data()
    _step(model, opt, x, y)
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            _step(model, opt, x, y)
            loss = nn.functional.cross_entropy(model(x), y)  # a graph that is never backpropagated
            del loss
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0, f"the tape left {unreachable} objects in reference cycles"


def test_saved_arrays_are_released_after_backward():
    model, opt, x, y = _mlp_and_data()
    loss = nn.functional.cross_entropy(model(x), y)
    nodes, stack = [], [loss.grad_fn]
    while stack:
        n = stack.pop()
        if n is not None and not isinstance(n, tc.Tensor) and n not in nodes:
            nodes.append(n)
            stack.extend(n.next)
    assert any(n._saved for n in nodes)
    loss.backward()
    assert all(not n._saved for n in nodes), "saved arrays outlived backward"


def test_optimizer_step_between_forward_and_backward_is_caught():
    model, opt, x, y = _mlp_and_data()
    loss = nn.functional.cross_entropy(model(x), y)
    for p in model.parameters():
        p.grad = tc.zeros_like(p)
    opt.step()  # updates weights that the graph saved
    with pytest.raises(tc.GradientError, match="modified in place.*version"):
        loss.backward()


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tensorcore", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.mark.parametrize("args,pattern", [
    (["train", "--model", "resnet9000", "--limit", "64", "--epochs", "1"], "unknown model"),
    (["train", "--device", "tpu:3", "--limit", "64", "--epochs", "1"], "device"),
    (["train", "--dataset", "mnist", "--limit", "64", "--epochs", "1"], "mnist"),
    (["train", "--resume", "/nonexistent/ckpt.npz", "--limit", "64", "--epochs", "1"], "ckpt.npz"),
])
def test_cli_errors_are_one_clear_line(args, pattern, tmp_path):
    result = _cli(*args, env={"TENSORCORE_DATA": str(tmp_path), "HOME": str(tmp_path)})
    assert result.returncode != 0
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert pattern in err[0].lower() and "Traceback" not in result.stderr


def test_cli_refuses_a_corrupt_checkpoint(tmp_path):
    bad = tmp_path / "ckpt.npz"
    bad.write_bytes(b"not a checkpoint at all")
    result = _cli("train", "--resume", str(bad), "--limit", "64", "--epochs", "1")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "ckpt.npz" in result.stderr
