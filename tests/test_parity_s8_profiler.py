"""torch.profiler: schedule's actions step by step against torch's, on_trace_ready's calls and the keys each
saved trace holds against torch's, record_function as context manager and decorator (nesting, self time),
key_averages().table() columns and sort_by, chrome traces (tensorboard_trace_handler, gzip, atomic), and the
torch.autograd.profiler aliases."""

import gzip
import json
import os
import threading

import pytest

import tensorcore as tc
from tensorcore import profiler as tp

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")

SCHEDULES = [dict(wait=1, warmup=1, active=2), dict(wait=1, warmup=1, active=2, repeat=2),
             dict(wait=0, warmup=0, active=1), dict(wait=2, warmup=0, active=3, repeat=1, skip_first=3),
             dict(wait=2, warmup=1, active=1, skip_first=1, skip_first_wait=1)]


@pytest.mark.parametrize("kwargs", SCHEDULES)
def test_schedule_actions_match_torch(kwargs):
    ours, theirs = tp.schedule(**kwargs), torch.profiler.schedule(**kwargs)
    assert [ours(i).name for i in range(30)] == [theirs(i).name for i in range(30)]


def test_schedule_rejects_bad_arguments():
    for bad in (dict(wait=-1, warmup=0, active=1), dict(wait=0, warmup=0, active=0), dict(wait=0, warmup=1.5,
                                                                                           active=1)):
        with pytest.raises(tc.TensorcoreError):
            tp.schedule(**bad)


def _scheduled_run(lib, kwargs, steps):
    calls = []

    def ready(prof):
        calls.append((prof.step_num, sorted({e.key for e in prof.key_averages()})))

    with lib.profiler.profile(schedule=lib.profiler.schedule(**kwargs), on_trace_ready=ready) as prof:
        for i in range(steps):
            with lib.profiler.record_function(f"work{i}"):
                pass
            prof.step()
    return calls, prof.step_num


@pytest.mark.parametrize("kwargs", SCHEDULES[:3])
def test_scheduled_traces_match_torch(kwargs):
    assert _scheduled_run(tc, kwargs, 9) == _scheduled_run(torch, kwargs, 9)


def test_unscheduled_profile_saves_once_on_exit():
    calls = []
    with tp.profile(on_trace_ready=lambda p: calls.append(sorted(e.key for e in p.key_averages()))) as prof:
        with tp.record_function("x"):
            pass
        assert [e.name for e in prof.events()] == ["x"]
    assert calls == [["x"]]


def test_record_function_nesting_self_time_and_decorator():
    @tp.record_function("leaf")
    def leaf(n):
        return leaf(n - 1) + 1 if n else 0

    with tp.profile(record_shapes=True, with_stack=True) as prof:
        with tp.record_function("outer"):
            for _ in range(3):
                with tp.record_function("inner"):
                    assert leaf(2) == 2
        with tp.record_function("outer"):
            pass
    events = prof.events()
    outer = [e for e in events if e.name == "outer"]
    assert len(outer) == 2 and all(e.cpu_parent is None for e in outer)
    inner = [e for e in events if e.name == "inner"]
    assert all(e.cpu_parent is outer[0] for e in inner) and outer[0].cpu_children == inner
    leaves = [e for e in events if e.name == "leaf"]
    assert len(leaves) == 9  # recursion: a fresh region per call
    assert all(0 <= e.self_cpu_time_total <= e.cpu_time_total for e in events)
    assert outer[0].cpu_time_total >= sum(e.cpu_time_total for e in inner)
    assert any("test_parity_s8_profiler.py" in frame for frame in inner[0].stack)
    avg = {a.key: a for a in prof.key_averages()}
    assert (avg["outer"].count, avg["inner"].count, avg["leaf"].count) == (2, 3, 9)
    assert avg["outer"].cpu_time == pytest.approx(avg["outer"].cpu_time_total / 2)
    total = sum(a.self_cpu_time_total for a in avg.values())
    assert total == pytest.approx(sum(e.cpu_time_total for e in outer))


def test_table_columns_and_sort_by_as_torch():
    def run(lib):
        with lib.profiler.profile() as prof:
            with lib.profiler.record_function("a_region"):
                with lib.profiler.record_function("b_region"):
                    pass
        return prof.key_averages()

    ours, theirs = run(tc), run(torch)
    header = [line for line in ours.table().splitlines() if "Name" in line][0].split()
    header_t = [line for line in theirs.table().splitlines() if "Name" in line][0].split()
    assert header == header_t
    by_total = [line.split()[0] for line in ours.table(sort_by="cpu_time_total").splitlines() if "_region" in line]
    by_total_t = [line.split()[0] for line in theirs.table(sort_by="cpu_time_total").splitlines()
                  if "_region" in line]
    assert by_total == by_total_t == ["a_region", "b_region"]
    top = ours.table(sort_by="self_cpu_time_total", top_level_events_only=True)
    assert "a_region" in top and "b_region" not in top and "top-level" in top
    assert "Self CPU time total:" in ours.table()
    assert len([line for line in ours.table(row_limit=1).splitlines() if "_region" in line]) == 1
    with pytest.raises(tc.TensorcoreError):
        ours.table(sort_by="bogus")


def test_chrome_trace_and_tensorboard_handler(tmp_path):
    with tp.profile(schedule=tp.schedule(wait=0, warmup=0, active=2),
                    on_trace_ready=tp.tensorboard_trace_handler(str(tmp_path / "log"), worker_name="w0")) as prof:
        for _ in range(2):
            with tp.record_function("step_body"):
                pass
            prof.step()
    files = sorted(os.listdir(tmp_path / "log"))
    # two traces, as torch writes: steps 0-1, then the cycle step 2 began, saved on exit
    assert len(files) == 2 and all(f.startswith("w0.") and f.endswith(".pt.trace.json") for f in files)
    doc = json.loads((tmp_path / "log" / files[0]).read_text())
    names = [e["name"] for e in doc["traceEvents"]]
    assert names.count("step_body") == 2 and "ProfilerStep#0" in names and "ProfilerStep#1" in names
    for e in doc["traceEvents"]:
        assert e["ph"] == "X" and e["dur"] >= 0 and e["pid"] == os.getpid() and e["cat"] == "user_annotation"
    prof.add_metadata("run", "7")
    prof.export_chrome_trace(str(tmp_path / "t.json.gz"))
    with gzip.open(tmp_path / "t.json.gz") as f:
        assert json.load(f)["run"] == "7"
    tp.tensorboard_trace_handler(str(tmp_path / "gz"), use_gzip=True)(prof)
    assert os.listdir(tmp_path / "gz")[0].endswith(".pt.trace.json.gz")
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temp file left behind
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(tc.TensorcoreError):
        tp.tensorboard_trace_handler(str(blocker / "sub"))(prof)


def test_threads_and_op_timing_hook():
    with tp.profile(record_shapes=True) as prof:
        t = threading.Thread(target=lambda: tp.record_function("in_thread").__enter__().__exit__(None, None, None))
        t.start()
        t.join()
        out = tp.record_op("matmul", lambda a, b: a @ b, tc.ones(2, 3), tc.ones(3, 4))
    assert out.shape == (2, 4)
    events = {e.name: e for e in prof.events()}
    assert events["in_thread"].thread != events["matmul"].thread
    assert events["matmul"].input_shapes == [[2, 3], [3, 4]] and events["matmul"].category == "cpu_op"
    grouped = prof.key_averages(group_by_input_shape=True)
    assert [a.input_shapes for a in grouped if a.key == "matmul"] == [[[2, 3], [3, 4]]]
    assert "Input Shapes" in grouped.table()


def test_nothing_recorded_outside_a_profile_and_bad_names():
    with tp.record_function("ignored"):
        pass
    with tp.profile() as prof:
        pass
    assert list(prof.events()) == []
    with pytest.raises(tc.TensorcoreError):
        tp.record_function(3)
    with pytest.raises(tc.TensorcoreError):
        tp.profile(activities=["cpu"])
    with pytest.warns(UserWarning, match="CPU time only"):
        tp.profile(activities=[tp.ProfilerActivity.CPU, tp.ProfilerActivity.CUDA])
    assert {a.name for a in tp.ProfilerActivity} >= {"CPU", "CUDA"}
    assert [a.name for a in tp.ProfilerAction] == [a.name for a in torch.profiler.ProfilerAction]


def test_autograd_profiler_aliases():
    from tensorcore.autograd.profiler import profile, record_function

    assert tc.autograd.profiler.record_function is tp.record_function
    with profile(record_shapes=True) as prof:
        with record_function("legacy"):
            pass
    assert [e.name for e in prof.function_events] == ["legacy"]
    assert "legacy" in prof.table(sort_by="cpu_time_total")
    assert prof.total_average().count == 1
    with profile(enabled=False) as off:
        with record_function("unseen"):
            pass
    assert list(off.function_events) == []
    with torch.autograd.profiler.profile() as tprof:
        with torch.autograd.profiler.record_function("legacy"):
            pass
    assert [e.name for e in tprof.function_events] == ["legacy"]
