"""Grad mode and anomaly mode are per thread; anomaly mode finds the user's frame by module identity;
operators go through the ops' error boundary."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn, optim


def _train(steps, barrier=None, seed=0):
    """A few SGD steps of a small MLP; returns the first layer's gradients at each step."""
    tc.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(seed)
    x = tc.tensor(rng.standard_normal((16, 4)), dtype=tc.float32)
    y = tc.tensor(rng.integers(0, 3, 16))
    grads = []
    for _ in range(steps):
        if barrier is not None:
            barrier.wait()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        grads.append(model[0].weight.grad.numpy().copy())
        opt.step()
    return grads


def test_no_grad_and_anomaly_in_one_thread_leave_another_training():
    reference = _train(20)
    barrier = threading.Barrier(2)
    out, errors = {}, []

    def trainer():
        try:
            out["grads"] = _train(20, barrier)
        except Exception as e:  # noqa: BLE001  (reported by the assertion below)
            errors.append(e)

    def evaluator():
        try:
            for _ in range(20):
                barrier.wait()
                with tc.no_grad(), tc.detect_anomaly():
                    assert not tc.is_grad_enabled() and tc.is_anomaly_enabled()
                    z = tc.tensor([1.0, 0.0], requires_grad=True) * 2.0
                    assert not z.requires_grad
                    with pytest.raises(tc.AnomalyError):  # anomaly mode is on here ...
                        tc.log(tc.tensor([-1.0]))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=trainer), threading.Thread(target=evaluator)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(out["grads"]) == 20
    for a, b in zip(out["grads"], reference):
        np.testing.assert_array_equal(a, b)  # ... and never in the training thread
    assert tc.is_grad_enabled() and not tc.is_anomaly_enabled()


def test_the_hot_paths_see_anomaly_mode_through_the_count_of_threads_that_turned_it_on():
    from tensorcore import grad_mode

    x, y, m = tc.tensor([-1.0]), tc.tensor([0.0]), tc.ones(2, 2)
    base = grad_mode.anomaly_threads  # (0, unless a thread of an earlier test ended with anomaly mode on)
    with tc.detect_anomaly():
        with tc.detect_anomaly():  # nested: still one thread
            assert grad_mode.anomaly_threads == base + 1
        with pytest.raises(tc.AnomalyError):  # the lean paths of a unary, a binary op, sum, matmul
            tc.log(x)
        with pytest.raises(tc.AnomalyError):
            x * (x / y)
        with pytest.raises(tc.AnomalyError):
            tc.tensor([np.inf, -np.inf]).sum()
        with pytest.raises(tc.AnomalyError):
            (m * np.inf) @ (m * -1.0)
    assert grad_mode.anomaly_threads == base
    on, off = threading.Event(), threading.Event()

    def other():
        tc.set_detect_anomaly(True)
        on.set()
        off.wait(30)
        tc.set_detect_anomaly(False)

    t = threading.Thread(target=other)
    t.start()
    on.wait(30)
    assert grad_mode.anomaly_threads == base + 1
    assert np.isnan(tc.log(x).item())  # on in the other thread only: this one computes NaN unchecked
    off.set()
    t.join(30)
    assert grad_mode.anomaly_threads == base


def test_nested_blocks_in_two_threads_restore_their_own_mode():
    seen = []

    def worker(mode):
        with tc.set_grad_enabled(mode):
            with tc.no_grad():
                pass
            seen.append(tc.is_grad_enabled() == mode)

    threads = [threading.Thread(target=worker, args=(m,)) for m in (True, False, True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [True] * 4 and tc.is_grad_enabled()


def test_anomaly_names_a_user_script_inside_a_folder_called_tensorcore(tmp_path):
    folder = tmp_path / "tensorcore" / "scripts"
    folder.mkdir(parents=True)
    script = folder / "train_me.py"
    script.write_text("import tensorcore as tc\n"
                      "x = tc.tensor([-1.0], requires_grad=True)\n"
                      "with tc.detect_anomaly():\n"
                      "    y = tc.log(x)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert run.returncode != 0
    assert f"{script}:4" in run.stderr, run.stderr


@pytest.mark.parametrize("other", [None, "a", object(), [1, "b"]])
def test_operators_refuse_junk_operands_with_a_named_error(other):
    x = tc.tensor([1.0, 2.0])
    for op in (lambda: x + other, lambda: other + x, lambda: x * other, lambda: x - other, lambda: tc.add(x, other)):
        with pytest.raises(tc.TensorcoreError):
            op()


def test_in_place_op_that_would_change_the_dtype_raises():
    n = tc.tensor([1, 2, 3])
    with pytest.raises(tc.DTypeError, match="can't be cast"):
        n += 0.5
    assert n.tolist() == [1, 2, 3]
    n += 1
    assert n.tolist() == [2, 3, 4] and n.dtype == np.int64


def test_copy_writes_into_its_own_storage_and_keeps_the_graph():
    y = tc.tensor([1.0, 2.0], requires_grad=True)
    buf = tc.zeros(2)
    storage = buf._data
    buf.copy_(y * 3)
    assert buf._data is storage and buf.tolist() == [3.0, 6.0]
    buf.sum().backward()
    assert y.grad.tolist() == [3.0, 3.0]


def test_views_share_the_version_counter_and_backward_sees_the_change():
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1.0
    z = y * y  # saves y
    with tc.no_grad():
        y.detach()[0:2] += 100
    with pytest.raises(tc.GradientError, match="modified in place"):
        z.sum().backward()
    a = tc.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1.0
    c = b.exp()  # saves its output
    c.data.mul_(2)  # .data shares storage and the version counter
    with pytest.raises(tc.GradientError, match="modified in place"):
        c.sum().backward()
