"""Pipeline parallelism in one process: the schedules' action lists, their bubble, splitting, one-stage steps, errors.

The multi-process equivalence (2 and 4 stages against one process) is tests/test_pipeline_mpi.py.
"""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.distributed import DistributedError
from tensorcore.distributed.pipelining import (
    PipelineStage,
    Schedule1F1B,
    ScheduleGPipe,
    expected_bubble,
    gpipe_actions,
    one_f_one_b_actions,
    pipeline_split,
    split_gpt,
    split_sequential,
)
from tensorcore.distributed.pipelining.stage import decode_header, encode_header, message_tag
from tensorcore.models.gpt import GPT
from tensorcore.models.mlp import mlp

ACTIONS = {"gpipe": gpipe_actions, "1f1b": one_f_one_b_actions}


def simulate(actions, p, m, forward_cost=1.0, backward_cost=2.0):
    """Run every stage's action list with the pipeline's dependencies; (finish time, busy time) per stage.

    F(s, i) needs F(s-1, i); B(s, i) needs B(s+1, i) (and F(s, i)). Messages are free. Raises on a deadlock.
    """
    lists = [list(actions(s, p, m)) for s in range(p)]
    done, clock, position = {}, [0.0] * p, [0] * p
    while any(position[s] < len(lists[s]) for s in range(p)):
        progressed = False
        for s in range(p):
            if position[s] == len(lists[s]):
                continue
            kind, i = lists[s][position[s]]
            needs = [("F", s - 1, i)] if kind == "F" and s > 0 else []
            needs += [("B", s + 1, i)] if kind == "B" and s < p - 1 else []
            needs += [("F", s, i)] if kind == "B" else []
            if all(n in done for n in needs):
                start = max([clock[s]] + [done[n] for n in needs])
                clock[s] = start + (forward_cost if kind == "F" else backward_cost)
                done[(kind, s, i)] = clock[s]
                position[s] += 1
                progressed = True
        assert progressed, f"deadlock at {position}"
    busy = m * (forward_cost + backward_cost)
    return max(clock), busy


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize("p,m", [(1, 1), (2, 4), (4, 4), (4, 8), (3, 7)])
def test_every_micro_batch_goes_forward_then_backward_once(schedule, p, m):
    for s in range(p):
        actions = ACTIONS[schedule](s, p, m)
        assert sorted(actions) == sorted([("F", i) for i in range(m)] + [("B", i) for i in range(m)])
        assert all(actions.index(("F", i)) < actions.index(("B", i)) for i in range(m))
        in_flight = peak = 0
        for kind, _ in actions:
            in_flight += 1 if kind == "F" else -1
            peak = max(peak, in_flight)
        assert peak == (m if schedule == "gpipe" else min(m, p - s))  # 1F1B's activation memory bound


def test_1f1b_is_torchs_order():
    assert one_f_one_b_actions(0, 2, 4) == [("F", 0), ("F", 1), ("B", 0), ("F", 2), ("B", 1), ("F", 3), ("B", 2),
                                            ("B", 3)]
    assert one_f_one_b_actions(1, 2, 4) == [("F", 0), ("B", 0), ("F", 1), ("B", 1), ("F", 2), ("B", 2), ("F", 3),
                                            ("B", 3)]


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize("p,m", [(2, 4), (4, 4), (4, 8), (4, 16)])
def test_simulated_bubble_is_p_minus_1_over_m_plus_p_minus_1(schedule, p, m):
    """With equal stages and free messages both schedules take (m + p - 1) slots of (forward + backward)."""
    makespan, busy = simulate(ACTIONS[schedule], p, m)
    assert makespan == pytest.approx((m + p - 1) * 3.0)
    assert 1 - busy / makespan == pytest.approx(expected_bubble(p, m))
    assert expected_bubble(4, 4) == pytest.approx(3 / 7)


def make_mlp():
    tc.manual_seed(0)
    return mlp(in_features=6, hidden=(16, 12, 10), num_classes=3).to(tc.float64)


def data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return tc.tensor(rng.standard_normal((n, 6))), tc.tensor(rng.integers(0, 3, n))


@pytest.mark.parametrize("schedule", [ScheduleGPipe, Schedule1F1B])
def test_one_stage_gradients_are_the_whole_batch_mean_losss(schedule):
    """torch's scale_grads=True: the micro-batch losses' gradients summed then divided by m = the full-batch mean's."""
    x, y = data()
    ref = make_mlp()
    loss = nn.CrossEntropyLoss()(ref(x), y)
    loss.backward()
    model = make_mlp()
    sched = schedule(PipelineStage(model, 0, 1), 4, loss_fn=nn.CrossEntropyLoss())
    losses = ["stale"]
    out = sched.step(x, target=y, losses=losses)
    assert len(losses) == 4 and np.mean([float(v) for v in losses]) == pytest.approx(float(loss), abs=1e-12)
    np.testing.assert_allclose(out.numpy(), ref(x).numpy(), rtol=0, atol=1e-12)
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12)
    times = sched.last_step_times
    assert 0 < times.busy_s <= times.wall_s and times.expected_bubble == 0.0
    # scale_grads=False: the sum of the micro-batch gradients (for a loss_fn that sums)
    model.zero_grad()
    ScheduleGPipe(PipelineStage(model, 0, 1), 4, loss_fn=nn.CrossEntropyLoss(), scale_grads=False).step(x, target=y)
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), 4 * q.grad.numpy(), rtol=0, atol=1e-12)


def test_split_sequential_keeps_names_and_balances_parameters():
    model = make_mlp()  # Flatten, Linear(6,16), ReLU, Linear(16,12), ReLU, Linear(12,10), ReLU, Linear(10,3)
    stages = split_sequential(model, 4)
    assert [list(s._modules) for s in stages] == [["0", "1", "2"], ["3", "4"], ["5", "6"], ["7"]]
    merged = {k: v for s in stages for k, v in s.state_dict().items()}
    assert list(merged) == list(model.state_dict())
    x = data()[0]
    h = x
    for s in stages:
        h = s(h)
    np.testing.assert_array_equal(h.numpy(), model(x).numpy())
    two = split_sequential(tc.models.mlp(), 2)  # 784-64-64-10: the first Linear holds 91% of the parameters
    assert [list(s._modules) for s in two] == [["0", "1", "2"], ["3", "4", "5"]]
    assert [list(s._modules) for s in split_sequential(model, 3, split_points=[2, 5])] == [
        ["0", "1"], ["2", "3", "4"], ["5", "6", "7"]]
    with pytest.raises(tc.ArgumentError, match=r"split_points \[5, 2\] must be 2 increasing"):
        split_sequential(model, 3, split_points=[5, 2])
    with pytest.raises(tc.ArgumentError, match="cannot cut 4 parts into 5 stages"):
        split_sequential(model, 5)
    with pytest.raises(tc.ArgumentError, match="cannot cut a Linear"):
        pipeline_split(nn.Linear(2, 2), 2)


def test_split_gpt_chains_to_the_whole_model_and_ties_the_head():
    tc.manual_seed(0)
    model = GPT(vocab_size=11, block_size=8, n_layer=3, n_head=2, n_embd=16).to(tc.float64)
    idx = tc.tensor(np.random.default_rng(0).integers(0, 11, (2, 8)))
    for p in (1, 2, 3):
        stages = split_gpt(model, p)
        h = idx
        for s in stages:
            h = s(h)
        np.testing.assert_allclose(h.numpy(), model(idx).numpy(), rtol=0, atol=1e-12)
        keys = set().union(*(s.state_dict() for s in stages))
        assert keys == set(model.state_dict())
        if p > 1:
            tied = {"wte.weight": (0, p - 1)}
            assert stages[0].pipeline_tied_parameters == stages[-1].pipeline_tied_parameters == tied
            assert stages[-1].wte.weight is not model.wte.weight  # a copy, equal at the start
            np.testing.assert_array_equal(stages[-1].wte.weight.numpy(), model.wte.weight.numpy())
    assert [len(s.h) for s in split_gpt(model, 2)] == [2, 1]
    with pytest.raises(tc.ArgumentError, match="cannot cut 3 parts into 4 stages"):
        split_gpt(model, 4)


def test_header_round_trip_and_tags():
    meta = [((4, 8, 16), np.dtype("float64"), True), ((4, 8), np.dtype("int64"), False)]
    assert decode_header(encode_header(meta, 0)) == meta
    with pytest.raises(DistributedError, match="stage 2: output 0 is \\(2,\\) complex128"):
        encode_header([((2,), np.dtype("complex128"), False)], 2)
    tags = {message_tag(k, i, t) for k in (0, 1) for i in range(64) for t in range(8)}
    assert len(tags) == 2 * 64 * 8 and min(tags) >= 2


def test_bad_input_is_named():
    model = make_mlp()
    stage = PipelineStage(model, 0, 1, input_args=tc.zeros(2, 6, dtype=tc.float64))
    sched = ScheduleGPipe(stage, 4, loss_fn=nn.CrossEntropyLoss())
    x, y = data(10)
    with pytest.raises(tc.ShapeError, match=r"stage 0 of 1: input 0 of shape \(10, 6\) does not split into 4 equal "
                                            r"micro-batches along dim 0 \(10 is not divisible by 4\)"):
        sched.step(x, target=y)
    x, y = data(8)
    with pytest.raises(tc.ShapeError, match=r"target 0 of shape \(6,\) does not split"):
        sched.step(x, target=y[:6])
    with pytest.raises(tc.ShapeError, match=r"stage 0: input_args declares \(2, 6\) float64 per micro-batch, but "
                                            r"the stage is given \(2, 6\) float32"):
        sched.step(x.float(), target=y)
    with pytest.raises(tc.ArgumentError, match="needs step\\(target=y\\)"):
        sched.step(x)
    with pytest.raises(tc.ArgumentError, match="takes the batch"):
        sched.step(target=y)
    with pytest.raises(tc.ArgumentError, match="losses must be a list"):
        sched.step(x, target=y, losses=())
    with tc.no_grad(), pytest.raises(DistributedError, match="backward needs grad mode"):
        sched.step(x, target=y)
    with tc.no_grad():  # forward only
        assert ScheduleGPipe(PipelineStage(model, 0, 1), 2).step(x).shape == (8, 3)
    stage = PipelineStage(model, 0, 1, output_args=tc.zeros(2, 4, dtype=tc.float64))
    with pytest.raises(tc.ShapeError, match=r"stage 0: output_args declares \(2, 4\) float64 per micro-batch, but "
                                            r"the stage returns \(2, 3\) float64"):
        ScheduleGPipe(stage, 4, loss_fn=nn.CrossEntropyLoss()).step(x, target=y)
    with pytest.raises(DistributedError, match="2 stages need a process group"):
        PipelineStage(model, 0, 2)
    with pytest.raises(tc.ArgumentError, match="stage_index 3 is not in 0..1"):
        PipelineStage(model, 3, 2)
    with pytest.raises(tc.ArgumentError, match="submodule must be an nn.Module"):
        PipelineStage(lambda v: v, 0, 1)
    with pytest.raises(tc.ArgumentError, match="n_microbatches must be an int >= 1"):
        ScheduleGPipe(PipelineStage(model, 0, 1), 0)
    with pytest.raises(tc.ArgumentError, match="stage must be a PipelineStage"):
        Schedule1F1B(model, 4)


class _Event:
    def __init__(self, block=False, disable_timing=False):
        self.done = False

    def record(self, stream=None):
        self.stream, self.done = stream, True


class _Stream:
    made = 0

    def __init__(self, non_blocking=False):
        assert non_blocking
        _Stream.made += 1
        self.ptr, self.waited = 100 + _Stream.made, []

    def wait_event(self, event):
        self.waited.append(event)


class _DeviceArray:
    def __init__(self, n):
        self.size, self.dtype, self.nbytes = n, np.dtype("float32"), 4 * n
        self.data = type("Mem", (), {"ptr": 7})()


def test_nccl_channels_one_communicator_and_stream_per_direction(monkeypatch):
    """nccl_p2p against stand-ins for CuPy and NCCL (no GPU here): the calls, streams and events."""
    import types

    from tensorcore.distributed import nccl_p2p

    calls = []

    class Comm:
        def __init__(self, n, uid, rank):
            calls.append(("init", n, uid[:2], rank))

        def send(self, ptr, count, dtype, peer, stream):
            calls.append(("send", count, dtype, peer, stream))

        def recv(self, ptr, count, dtype, peer, stream):
            calls.append(("recv", count, dtype, peer, stream))

        def destroy(self):
            calls.append(("destroy",))

    def exchange(backend, peer, uid, sending):
        calls.append(("uid", peer, sending))
        if not sending:
            uid[:] = np.arange(128) + 5

    monkeypatch.setattr(nccl_p2p, "exchange_unique_id", exchange)
    for rank, peer in ((0, 1), (1, 0)):
        calls.clear()
        backend = types.SimpleNamespace(
            rank=rank, timeout=5.0, fail=None, nccl_dtypes={np.dtype("float32"): 5}, _device_array=lambda a: (a, None),
            cupy=types.SimpleNamespace(cuda=types.SimpleNamespace(Event=_Event, Stream=_Stream)),
            nccl=types.SimpleNamespace(get_unique_id=lambda: tuple(range(128)), NcclCommunicator=Comm))
        channels = nccl_p2p.NCCLChannels(backend)
        channels.open([peer, rank])  # itself is skipped
        uid = (0, 1) if rank == 0 else (5, 6)
        assert calls == [("uid", peer, rank == 0), ("init", 2, uid, rank)] * 2
        (_, out_stream, out_peer), (_, in_stream, in_peer) = channels.channel(rank, peer), channels.channel(peer, rank)
        assert out_stream is not in_stream and out_peer == in_peer == 1 - rank
        calls.clear()
        work = channels.send(_DeviceArray(6), peer, tag=3)
        assert work.wait() and calls == [("send", 6, 5, 1 - rank, out_stream.ptr)] and len(out_stream.waited) == 1
        work = channels.recv(_DeviceArray(4), peer, tag=3)
        assert work.wait() and calls[-1] == ("recv", 4, 5, 1 - rank, in_stream.ptr)
        assert "nccl recv of 4 float32 (16 B) from rank" in work.what
        with pytest.raises(DistributedError, match="needs src"):
            channels.recv(_DeviceArray(4), None, tag=0)
        channels.close()
        assert calls[-2:] == [("destroy",), ("destroy",)] and channels.channels == {}


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize("scale_grads", [True, False])
def test_one_stage_step_against_torch_pipelining(schedule, scale_grads, tmp_path):
    """torch.distributed.pipelining (a world of one, gloo) is the oracle: losses, output and gradients."""
    torch = pytest.importorskip("torch")
    tdist = pytest.importorskip("torch.distributed")
    pipelining = pytest.importorskip("torch.distributed.pipelining")
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).to(tc.float64)
    model.load_state_dict({k: tc.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x, y = data()
    tdist.init_process_group("gloo", store=tdist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)
    try:
        torch_class = {"gpipe": pipelining.ScheduleGPipe, "1f1b": pipelining.Schedule1F1B}[schedule]
        torch_sched = torch_class(pipelining.PipelineStage(ref, 0, 1, torch.device("cpu")), 4,
                                  loss_fn=torch.nn.CrossEntropyLoss(), scale_grads=scale_grads)
        want_losses = []
        want = torch_sched.step(torch.tensor(x.numpy()), target=torch.tensor(y.numpy()), losses=want_losses)
    finally:
        tdist.destroy_process_group()
    ours = {"gpipe": ScheduleGPipe, "1f1b": Schedule1F1B}[schedule]
    losses = []
    got = ours(PipelineStage(model, 0, 1), 4, loss_fn=nn.CrossEntropyLoss(), scale_grads=scale_grads).step(
        x, target=y, losses=losses)
    np.testing.assert_allclose([float(v) for v in losses], [v.item() for v in want_losses], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=0, atol=1e-12)
    assert got.requires_grad == want.requires_grad
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12, err_msg=name)
