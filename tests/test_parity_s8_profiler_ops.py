"""torch.profiler's op events: each user-visible op call inside a profile is an "aten::..." event (names,
order, counts and input shapes against torch's), nested under its record_function region and in the chrome
trace; the public op functions are swapped only while a profile collects and are the very same objects again
afterwards (the zero-cost guarantee), with nested profiles, schedules, exceptions and other threads."""

import json
import sys
import threading

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import profiler as tp
from tensorcore import profiler_ops
from tensorcore.ops.registry import OPS

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")


def _snapshot():
    """Every attribute of every tensorcore module and of Tensor, by identity."""
    owners = [tc.Tensor] + [m for n, m in sorted(sys.modules.items())
                            if (n == "tensorcore" or n.startswith("tensorcore.")) and m is not None]
    return {(id(o), k): v for o in owners for k, v in list(vars(o).items())}


def _assert_same(before):
    """No op (nor anything holding a timing wrapper) is another object than before the profile."""
    after = _snapshot()
    ops = {id(fn) for fn, _ in profiler_ops._catalog().values()}
    assert len(ops) > len(OPS) // 2
    changed = [k for k, v in before.items() if k in after and after[k] is not v and id(v) in ops]
    assert changed == []
    assert [k for k, v in after.items() if hasattr(v, "_profiled_op")] == []
    assert not profiler_ops.active() and tp._sessions == []


def _program(lib):
    """The same calls on tensorcore and torch; returns the names of the ops called inside region 'outer'."""
    nn, fn = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    lin = nn.Linear(4, 5)
    x = lib.randn(3, 4)
    w = lib.randn(4, 3)
    img, k = lib.randn(1, 1, 4, 4), lib.randn(2, 1, 3, 3)
    target = lib.tensor([0, 1, 2])
    table = lib.randn(6, 2)
    with lib.profiler.profile(record_shapes=True) as prof:
        with lib.profiler.record_function("outer"):
            for _ in range(3):
                y = lin(x)
            z = (y + 1) * 2
            z.relu().sum()
            x @ w
            x[0]
            x[1:]
            x.view(12)
            x.reshape(4, 3)
            lib.softmax(x, 1)
            fn.log_softmax(x, 1)
            fn.cross_entropy(x, target)
            x.to(lib.float64)
            x.float()
            x.mean()
            fn.max_pool2d(img, 2)
            fn.conv2d(img, k)
            fn.relu(x)
            nn.ReLU()(x)
            lib.cat([x, x])
            lib.stack([x, x])
            x.clone().add_(1)
            lib.zeros(3)
            lib.exp(x)
            x.transpose(0, 1)
            x.unsqueeze(0)
            x.max()
            fn.gelu(x)
            lib.tanh(x)
            fn.layer_norm(x, (4,))
            fn.embedding(target, table)
            lib.where(x > 0, x, 0.0)
            x - 1
            x / 2
            x.abs()
    outer = [e for e in prof.events() if e.name == "outer"][0]
    return prof, [e.name for e in outer.cpu_children]


def test_op_events_match_torch_names_order_and_counts():
    before = _snapshot()
    prof, ours = _program(tc)
    _assert_same(before)
    _, theirs = _program(torch)
    assert ours == theirs
    assert ours.count("aten::linear") == 3 and ours.count("aten::relu") == 3
    avg = {a.key: a for a in prof.key_averages()}
    assert avg["aten::linear"].count == 3 and avg["outer"].count == 1
    assert avg["aten::cross_entropy_loss"].count == 1 and avg["aten::to"].count == 2
    events = prof.events()
    assert all(e.category == "cpu_op" for e in events if e.name.startswith("aten::"))
    outer = [e for e in events if e.name == "outer"][0]
    assert all(e.cpu_parent is outer for e in events if e.name.startswith("aten::"))  # nested ops: no events
    assert outer.cpu_time_total >= sum(c.cpu_time_total for c in outer.cpu_children)
    assert "aten::linear" in prof.key_averages().table(sort_by="cpu_time_total")


def test_input_shapes_as_torch():
    def shapes(lib):
        lib.manual_seed(0)
        lin = lib.nn.Linear(4, 5)
        x, w = lib.randn(3, 4), lib.randn(4, 3)
        with lib.profiler.profile(record_shapes=True) as prof:
            lin(x)
            x @ w
            lib.relu(x)
            lib.mm(x, w)
        return [(e.name, e.input_shapes) for e in prof.events() if e.cpu_parent is None]

    ours = shapes(tc)
    assert ours == shapes(torch)
    assert ours[0] == ("aten::linear", [[3, 4], [5, 4], [5]])
    grouped = {a.key: a.input_shapes for a in _program(tc)[0].key_averages(group_by_input_shape=True)}
    assert grouped["aten::matmul"] == [[3, 4], [4, 3]]
    with tp.profile() as prof:  # record_shapes=False: no shapes
        tc.ones(2, 3) + tc.ones(3)
    assert [(e.name, e.input_shapes) for e in prof.events()] == [("aten::ones", []), ("aten::ones", []),
                                                                  ("aten::add", [])]


def test_chrome_trace_holds_op_events(tmp_path):
    x = tc.randn(2, 3)
    with tp.profile(record_shapes=True, with_stack=True) as prof:
        with tp.record_function("region"):
            F.linear(x, tc.randn(4, 3))
    prof.export_chrome_trace(str(tmp_path / "t.json"))
    doc = json.loads((tmp_path / "t.json").read_text())
    ops = [e for e in doc["traceEvents"] if e["name"].startswith("aten::")]
    assert [e["name"] for e in ops] == ["aten::randn", "aten::linear"]
    linear = ops[1]
    assert linear["cat"] == "cpu_op" and linear["args"]["Input Dims"] == [[2, 3], [4, 3]]
    assert "test_parity_s8_profiler_ops.py" in linear["args"]["Call stack"]
    region = [e for e in doc["traceEvents"] if e["name"] == "region"][0]
    assert region["ts"] <= linear["ts"] and linear["ts"] + linear["dur"] <= region["ts"] + region["dur"] + 1e-3


def test_ops_are_the_same_objects_outside_a_profile():
    before = _snapshot()
    originals = (tc.add, tc.Tensor.__add__, tc.Tensor.__radd__, tc.Tensor.__getitem__, F.linear,
                 tc.ops.matmul.linear, tc.Tensor.to, tc.zeros)
    assert tc.Tensor.__add__ is OPS["add"] and F.linear is OPS["linear"]
    with tp.profile():
        assert profiler_ops.active()
        assert tc.Tensor.__add__ is not OPS["add"] and F.linear is not OPS["linear"]
        assert tc.ops.matmul.linear is not OPS["linear"]  # what nn.Linear calls
        swapped = list(profiler_ops._swapped)
        assert len(swapped) > len(OPS)  # (every op in several namespaces, and the extra names)
        assert all(getattr(owner, attr) is wrapper for owner, attr, _, wrapper in swapped)
        assert F.linear.__name__ == "linear" and F.linear.__doc__ == OPS["linear"].__doc__
    assert (tc.add, tc.Tensor.__add__, tc.Tensor.__radd__, tc.Tensor.__getitem__, F.linear,
            tc.ops.matmul.linear, tc.Tensor.to, tc.zeros) == originals
    assert all(a is b for a, b in zip(originals, (tc.add, tc.Tensor.__add__, tc.Tensor.__radd__,
                                                  tc.Tensor.__getitem__, F.linear, tc.ops.matmul.linear,
                                                  tc.Tensor.to, tc.zeros)))
    assert all(getattr(owner, attr) is original for owner, attr, original, _ in swapped)
    _assert_same(before)
    with tp.profile(schedule=tp.schedule(wait=5, warmup=0, active=1)):
        assert not profiler_ops.active()  # waiting: nothing collects, nothing is swapped
    _assert_same(before)


def test_nested_profiles():
    before = _snapshot()
    x = tc.ones(2, 2)
    with tp.profile() as outer:
        x + x
        with tp.profile() as inner:
            x * x
        assert profiler_ops.active()  # the outer one still collects
        x - x
    _assert_same(before)
    assert [e.name for e in outer.events()] == ["aten::add", "aten::mul", "aten::sub"]
    assert [e.name for e in inner.events()] == ["aten::mul"]
    x / x  # after both: nothing recorded
    assert [e.name for e in outer.events()] == ["aten::add", "aten::mul", "aten::sub"]


def test_exceptions_restore_everything():
    before = _snapshot()
    x = tc.ones(2, 3)
    with pytest.raises(RuntimeError, match="boom"):
        with tp.profile() as prof:
            x.sum()
            raise RuntimeError("boom")
    _assert_same(before)
    assert [e.name for e in prof.events()] == ["aten::sum"]
    with tp.profile() as prof:  # an op's own error passes through unchanged, its event recorded
        with pytest.raises(tc.TensorcoreError, match="matmul"):
            x @ x
    assert [e.name for e in prof.events()] == ["aten::matmul"]
    _assert_same(before)

    def fail(p):
        assert not profiler_ops.active()  # restored before on_trace_ready runs
        raise ValueError("handler failed")

    with pytest.raises(ValueError, match="handler failed"):
        with tp.profile(on_trace_ready=fail):
            x.exp()
    _assert_same(before)
    prof = tp.profile()
    prof.start()
    assert profiler_ops.active()
    with pytest.raises(tc.TensorcoreError):
        prof.start()
    prof.stop()
    _assert_same(before)


def test_schedule_records_ops_of_active_steps_only():
    before = _snapshot()
    saved = []
    x = tc.ones(3)
    with tp.profile(schedule=tp.schedule(wait=1, warmup=1, active=2, repeat=1),
                    on_trace_ready=lambda p: saved.append([e.name for e in p.events()])) as prof:
        for i in range(5):
            x.mul(i)
            prof.step()
            assert profiler_ops.active() == (i in (1, 2))  # steps 2 and 3 are recorded
    _assert_same(before)
    assert len(saved) == 1
    names = saved[0]
    assert names.count("aten::mul") == 2 and names.count("ProfilerStep#2") == 1
    steps = {e.name: e for e in prof.events() if e.name.startswith("ProfilerStep")}
    assert [c.name for c in steps["ProfilerStep#2"].cpu_children] == ["aten::mul"]


def test_ops_of_other_threads_are_not_recorded_as_torch():
    def run(lib):
        x = lib.ones(2, 2)
        with lib.profiler.profile() as prof:
            t = threading.Thread(target=lambda: lib.mul(x, x))
            t.start()
            t.join()
            lib.add(x, x)
        return [e.name for e in prof.events()]

    assert run(tc) == run(torch) == ["aten::add"]

    results, x = {}, tc.ones(2, 2)

    def own_profile():
        with tp.profile() as prof:
            results["value"] = (x + 1).sum().item()
        results["names"] = [e.name for e in prof.events()]

    with tp.profile() as main:
        t = threading.Thread(target=own_profile)
        t.start()
        t.join()
        x * x
    assert results["value"] == 8.0 and results["names"] == ["aten::add", "aten::sum", "aten::item"]
    assert [e.name for e in main.events()] == ["aten::mul"]
    assert not profiler_ops.active()


def test_autograd_under_a_profile():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))

    def grads():
        x = tc.tensor(a, requires_grad=True)
        w = tc.tensor(b, requires_grad=True)
        F.log_softmax(tc.tanh(x @ w) * 2, 1).sum().backward()
        return x.grad.numpy(), w.grad.numpy()

    plain = grads()
    with tp.profile() as prof:
        profiled = grads()
        x = tc.tensor(a[:2, :3], requires_grad=True)
        assert tc.gradcheck(lambda t: (t.exp() * t[0]).sum(1), (x,))
    for p, q in zip(plain, profiled):
        np.testing.assert_array_equal(p, q)
    names = [e.name for e in prof.events()]
    assert names[:5] == ["aten::matmul", "aten::tanh", "aten::mul", "aten::log_softmax", "aten::sum"]


def test_event_names():
    assert profiler_ops.aten_name("add") == "aten::add"
    assert profiler_ops.aten_name("linalg.vector_norm") == "aten::linalg_vector_norm"
    assert profiler_ops.aten_name("special.erfcx") == "aten::special_erfcx"
    assert profiler_ops.aten_name("cross_entropy") == "aten::cross_entropy_loss"
    x = tc.zeros(3, 4)
    with tp.profile() as prof:
        x[0] = 1.0
        x[1:] = tc.ones(4)
        x[tc.tensor([0, 2])] = 2.0
        x[0, 1]
        x[..., tc.tensor([1])]
        3 - x
        2 * x
        x += 1
    assert [e.name for e in prof.events()] == ["aten::fill_", "aten::ones", "aten::copy_", "aten::index_put_",
                                               "aten::select", "aten::index", "aten::rsub", "aten::mul",
                                               "aten::add_"]


def test_wrappers_copied_or_wrapped_are_handled():
    import functools
    import types

    before = _snapshot()

    @functools.wraps(OPS["mul"])
    def public_mul(*args, **kwargs):  # a public wrapper of an op (as out_arg's out=): timed as that op
        return OPS["mul"](*args, **kwargs)

    probe = types.ModuleType("tensorcore._probe_profiler_ops")
    probe.public_mul = public_mul
    sys.modules[probe.__name__] = probe
    try:
        x = tc.ones(2)
        with tp.profile() as prof:
            probe.public_mul(x, x)
            late = types.ModuleType("tensorcore._probe_late")  # a module imported during the profile
            late.linear = F.linear  # copies the wrapper
            sys.modules[late.__name__] = late
        assert [e.name for e in prof.events()] == ["aten::mul"]  # once: the op inside is not timed again
        assert probe.public_mul is public_mul and late.linear is OPS["linear"]
    finally:
        sys.modules.pop("tensorcore._probe_profiler_ops", None)
        sys.modules.pop("tensorcore._probe_late", None)
    _assert_same(before)


def test_profiles_starting_and_stopping_while_another_thread_runs_ops():
    before = _snapshot()
    x = tc.arange(6.0).reshape(2, 3)
    results, stop = [], threading.Event()

    def worker():
        while not stop.is_set():
            results.append(float((F.relu(x - 2) * 2).sum()))

    t = threading.Thread(target=worker)
    t.start()
    try:
        for _ in range(10):
            with tp.profile() as prof:
                x.sum()
            assert [e.name for e in prof.events()] == ["aten::sum"]  # the worker's ops are not this thread's
    finally:
        stop.set()
        t.join()
    assert results and set(results) == {12.0}
    _assert_same(before)


def test_autograd_profiler_spelling_records_ops():
    from tensorcore.autograd.profiler import profile

    x = tc.ones(2, 3)
    with profile(record_shapes=True) as prof:
        x.relu().sum()
    assert [(e.name, e.input_shapes) for e in prof.function_events] == [("aten::relu", [[2, 3]]),
                                                                         ("aten::sum", [[2, 3]])]
    assert "aten::relu" in prof.table() and prof.total_average().count == 2
    with profile(enabled=False) as off:
        assert not profiler_ops.active()
        x.relu()
    assert list(off.function_events) == []
