"""Pipeline parallelism across processes: run under `mpirun -n 4` by `python -m tensorcore.distributed.launch_tests`.

The central check: 2 and 4 stages, GPipe and 1F1B, 4 micro-batches, float64: the same losses and the same
(gathered) parameters, to 1e-6, as one process with whole batches, after 20 optimizer steps, for the MLP
(tensorcore/models/mlp.py) and the GPT (tensorcore/models/gpt.py). Two stages run as two pipelines side by
side (ranks [0, 1] and [2, 3]); four stages use all four ranks.
"""

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import tensorcore as tc  # noqa: E402
import tensorcore.distributed as dist  # noqa: E402
from tensorcore import nn  # noqa: E402
from tensorcore.distributed.pipelining import (  # noqa: E402
    PipelineStage,
    Schedule1F1B,
    ScheduleGPipe,
    expected_bubble,
    gather_state_dict,
    pipeline_split,
)
from tensorcore.models.gpt import GPT  # noqa: E402
from tensorcore.models.mlp import mlp  # noqa: E402

from .mpi_helpers import process_group_fixture  # noqa: E402

pytestmark = pytest.mark.mpi
WORLD = 4
SCHEDULES = {"gpipe": ScheduleGPipe, "1f1b": Schedule1F1B}


group = process_group_fixture(WORLD)


def stage_ranks(num_stages):
    """The ranks of this rank's pipeline: [0, 1] or [2, 3] for 2 stages, [0, 1, 2, 3] for 4."""
    rank = dist.get_rank()
    first = rank - rank % num_stages
    return list(range(first, first + num_stages))


def build(model_name):
    tc.manual_seed(0)
    if model_name == "mlp":  # four Linear layers: one per stage with 4 stages
        return mlp(in_features=6, hidden=(16, 12, 10), num_classes=3).to(tc.float64)
    return GPT(vocab_size=11, block_size=8, n_layer=4, n_head=2, n_embd=16).to(tc.float64)


def batches(model_name, steps=20, batch=8):
    rng = np.random.default_rng(42)
    if model_name == "mlp":
        return [(tc.tensor(rng.standard_normal((batch, 6))), tc.tensor(rng.integers(0, 3, batch)))
                for _ in range(steps)]
    return [(tc.tensor(rng.integers(0, 11, (batch, 8))), tc.tensor(rng.integers(0, 11, (batch, 8))))
            for _ in range(steps)]


def loss_fn(output, target):
    """Mean cross-entropy over every position (the MLP's (B, C) logits or the GPT's (B, T, V))."""
    return nn.functional.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))


def optimizer(model_name, params):
    if model_name == "mlp":
        return tc.optim.Adam(params, lr=0.01, weight_decay=1e-3)
    # NOTE: not Adam for the GPT: the key bias c_attn.bias[C:2C] has a zero gradient in exact arithmetic
    # (softmax ignores a constant added to every score), so its gradient is rounding noise, ~1e-18, that Adam
    # normalises into steps of +-lr whose signs differ between any two orders of summation.
    return tc.optim.SGD(params, lr=0.5, momentum=0.9, weight_decay=1e-3)


def one_process(model_name, data):
    model = build(model_name)
    opt = optimizer(model_name, model.parameters())
    losses = []
    for x, y in data:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses, {k: v.numpy() for k, v in model.state_dict().items()}


def pipelined(model_name, data, num_stages, schedule, n_microbatches=4):
    ranks = stage_ranks(num_stages)
    index = ranks.index(dist.get_rank())
    submodule = pipeline_split(build(model_name), num_stages)[index]
    stage = PipelineStage(submodule, index, num_stages, group=ranks)
    sched = SCHEDULES[schedule](stage, n_microbatches, loss_fn=loss_fn)
    opt = optimizer(model_name, stage.submod.parameters())
    mean_losses = []
    for x, y in data:
        opt.zero_grad()
        losses = []
        if stage.is_first:
            sched.step(x)
        elif stage.is_last:
            sched.step(target=y, losses=losses)
            assert len(losses) == n_microbatches
            mean_losses.append(float(np.mean([float(v) for v in losses])))
        else:
            sched.step()
        opt.step()
    # Everyone learns the losses of its pipeline's last stage, and the whole model's weights.
    last = dist.all_gather_object(mean_losses if stage.is_last else None)
    losses = [v for r, v in enumerate(last) if r in ranks and v is not None]
    assert len(losses) == 1
    return losses[0], gather_state_dict(stage), stage, sched


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize("num_stages", [2, 4])
@pytest.mark.parametrize("model_name", ["mlp", "gpt"])
def test_pipeline_matches_one_process(model_name, num_stages, schedule):
    data = batches(model_name)
    want_losses, want = one_process(model_name, data)
    got_losses, got, stage, _ = pipelined(model_name, data, num_stages, schedule)
    np.testing.assert_allclose(got_losses, want_losses, rtol=0, atol=1e-6)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6, err_msg=name)
    # The weights moved (the check is not passing on untouched weights) ...
    assert max(np.abs(want[k] - v.numpy()).max() for k, v in build(model_name).state_dict().items()) > 1e-3
    # GPipe holds all 4 micro-batches' activations for backward, 1F1B at most num_stages - stage_index.
    assert stage.peak_in_flight == (4 if schedule == "gpipe" else min(4, num_stages - stage.stage_index))
    # ... and each rank holds only its own stage's parameters.
    own = sum(int(p.numel()) for p in stage.submod.parameters())
    assert own < sum(v.size for v in want.values())
    if model_name == "gpt" and stage.tied_parameters:  # the head's copy of wte equals the embedding's
        assert stage.tied_parameters == {"wte.weight": (0, num_stages - 1)}


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
def test_bubble_is_measured_and_printed(schedule):
    """Per-stage busy and idle time over a step, against (p - 1) / (m + p - 1). Printed, not asserted on time."""
    width, m, p = 64, 8, WORLD
    tc.manual_seed(0)
    model = nn.Sequential(*[layer for _ in range(p) for layer in (nn.Linear(width, width), nn.Tanh())])
    stage = PipelineStage(pipeline_split(model, p)[dist.get_rank()], dist.get_rank(), p)
    sched = SCHEDULES[schedule](stage, m, loss_fn=lambda out, y: ((out - y) ** 2).mean())
    x, y = tc.randn(8 * m, width), tc.randn(8 * m, width)
    for _ in range(3):
        sched.step(x) if stage.is_first else sched.step(target=y) if stage.is_last else sched.step()
    times = dist.all_gather_object(sched.last_step_times.as_dict())
    if dist.get_rank() == 0:
        print(f"\n{schedule}, {p} stages, {m} micro-batches: expected bubble {expected_bubble(p, m):.3f}")
        for t in times:
            print(f"  stage {t['stage']}: wall {t['wall_s'] * 1e3:7.2f} ms  busy {t['busy_s'] * 1e3:7.2f} ms  "
                  f"idle {t['idle_s'] * 1e3:7.2f} ms  bubble {t['bubble']:.3f}")
    for t in times:
        assert 0 < t["busy_s"] <= t["wall_s"] and 0 <= t["bubble"] < 1
        assert t["expected_bubble"] == pytest.approx(3 / 11)


def test_forward_only_schedule_returns_the_outputs():
    """loss_fn=None: forward only (evaluation); the last stage returns the whole batch's output."""
    data = batches("gpt", steps=1)
    x = data[0][0]
    ref = build("gpt")(x).numpy()
    ranks = stage_ranks(4)
    stage = PipelineStage(pipeline_split(build("gpt"), 4)[dist.get_rank()], dist.get_rank(), 4, group=ranks)
    out = ScheduleGPipe(stage, 2).step(x) if stage.is_first else ScheduleGPipe(stage, 2).step()
    if stage.is_last:
        np.testing.assert_allclose(out.numpy(), ref, rtol=0, atol=1e-12)
        assert not out.requires_grad
    else:
        assert out is None
    assert all(p.grad is None for p in stage.submod.parameters())


def test_point_to_point():
    rank, world = dist.get_rank(), dist.get_world_size()
    right, left = (rank + 1) % world, (rank - 1) % world
    out = tc.tensor(np.arange(5.0) + 10 * rank)
    got = tc.zeros(5, dtype=tc.float64)
    recv = dist.irecv(got, src=left, tag=7)
    send = dist.isend(out, dst=right, tag=7)
    recv.wait()
    send.wait()
    np.testing.assert_array_equal(got.numpy(), np.arange(5.0) + 10 * left)
    # Blocking forms, and a receive from any rank that reports its sender.
    if rank == 0:
        sources = []
        for _ in range(world - 1):
            t = tc.zeros(1, dtype=tc.int64)
            sources.append(dist.recv(t))
            assert t.item() == sources[-1]
        assert sorted(sources) == list(range(1, world))
    else:
        dist.send(tc.tensor([rank]), dst=0)
    with pytest.raises(dist.DistributedError, match="to or from itself"):
        dist.isend(out, dst=rank)
    with pytest.raises(dist.DistributedError, match="peer must be a rank in 0..3"):
        dist.irecv(got, src=world)
    with pytest.raises(dist.DistributedError, match="tag must be an integer"):
        dist.isend(out, dst=right, tag=-1)
    with pytest.raises(dist.DistributedError, match="subgroups are not supported"):
        dist.send(out, right, group=object())
    dist.barrier()


def test_bad_input_names_the_stage_and_the_shapes():
    """Errors every stage detects before sending anything (no rank is left waiting)."""
    rank = dist.get_rank()
    ranks = stage_ranks(2)
    index = ranks.index(rank)
    stage = PipelineStage(pipeline_split(build("mlp"), 2)[index], index, 2, group=ranks)
    sched = ScheduleGPipe(stage, 4, loss_fn=loss_fn)
    x, y = tc.zeros(10, 6, dtype=tc.float64), tc.zeros(10, dtype=tc.int64)
    if stage.is_first:
        match = r"stage 0 of 2: input 0 of shape \(10, 6\) does not split into 4 equal micro-batches"
        with pytest.raises(tc.ShapeError, match=match):
            sched.step(x)
    else:
        match = r"stage 1 of 2: target 0 of shape \(10,\) does not split into 4 equal micro-batches"
        with pytest.raises(tc.ShapeError, match=match):
            sched.step(target=y)
        with pytest.raises(tc.ArgumentError, match="last stage with a loss_fn needs step"):
            sched.step()
    with pytest.raises(tc.ArgumentError, match=r"n_microbatches \(2\) must be >= the number of stages \(2\)|"
                                               r"n_microbatches \(1\) must be >= the number of stages \(2\)"):
        Schedule1F1B(stage, 1)
    with pytest.raises(dist.DistributedError, match="2 stages on 4 ranks"):
        PipelineStage(stage.submod, index, 2)
    with pytest.raises(dist.DistributedError, match=f"stage {1 - index} runs on rank {ranks[1 - index]}"):
        PipelineStage(stage.submod, 1 - index, 2, group=ranks)
    with pytest.raises(tc.ArgumentError, match=r"stage_index 2 is not in 0..1"):
        PipelineStage(stage.submod, 2, 2, group=ranks)
    dist.barrier()


def test_tensorcore_train_pipeline_parallel_matches_one_process(capsys):
    """`tensorcore train --pipeline-parallel 4`: the same printed losses and accuracies as one process."""
    from tensorcore import data, train

    try:
        data.find_files("fashion-mnist")
    except Exception:  # noqa: BLE001 - the data set is optional on a developer machine
        pytest.skip("Fashion-MNIST is not installed")
    common = ["--model", "lenet5", "--epochs", "1", "--limit", "400", "--batch-size", "40", "--quiet"]
    # 360 training samples: 9 whole batches, so dropping a partial last batch changes nothing
    assert train.main(common + ["--pipeline-parallel", "4", "--microbatches", "4", "--pipeline-schedule", "1f1b"]) == 0
    piped = capsys.readouterr().out
    if dist.get_rank() == 0:
        assert train.main(common) == 0
        plain = capsys.readouterr().out

        def figures(text):
            return [line.split("(")[0].strip() for line in text.splitlines() if line.startswith(("epoch", "test"))]

        assert figures(piped) == figures(plain) and len(figures(plain)) == 2
        assert "pipeline parallel: 4 stages (1f1b, 4 micro-batches of 10)" in piped
    with pytest.raises(tc.TensorcoreError, match="--pipeline-parallel 2 runs stage i on rank i: launch 2 ranks"):
        train.main(common + ["--pipeline-parallel", "2"])
    with pytest.raises(tc.TensorcoreError, match="--batch-size 40 does not split into --microbatches 3"):
        train.main(common + ["--pipeline-parallel", "4", "--microbatches", "3"])
    dist.barrier()


def test_tensorcore_train_gpt_pipeline_parallel_matches_one_process(capsys, tmp_path):
    """`tensorcore train --model gpt --pipeline-parallel 4 --save`: the same losses and saved weights as one process."""
    import os

    from tensorcore import train

    if not os.path.isdir(os.environ.get("TENSORCORE_FORTUNES", "/usr/share/games/fortunes")):
        pytest.skip("the fortunes corpus is not installed")
    piped_path, plain_path = dist.broadcast_object((str(tmp_path / "piped.npz"), str(tmp_path / "plain.npz")))
    common = ["--model", "gpt", "--dataset", "fortunes", "--steps", "6", "--eval-every", "3", "--batch-size", "8",
              "--block-size", "16", "--val-batches", "1", "--quiet", "--optimizer", "sgd", "--lr", "0.1"]
    # (SGD: Adam turns the rounding noise of the key bias's zero gradient into +-lr steps; see optimizer())
    assert train.main(common + ["--pipeline-parallel", "4", "--microbatches", "4", "--save", piped_path]) == 0
    piped = capsys.readouterr().out
    if dist.get_rank() == 0:
        assert train.main(common + ["--save", plain_path]) == 0
        plain = capsys.readouterr().out

        def figures(text):  # [train loss, val loss] per report (float32: compared to 1e-4)
            return [[float(line.split("train loss ")[1].split()[0]), float(line.split("val loss ")[1].split()[0])]
                    for line in text.splitlines() if line.startswith("step ")]

        assert len(figures(plain)) == 2
        np.testing.assert_allclose(figures(piped), figures(plain), rtol=0, atol=1e-4)
        got, want = tc.load(piped_path)["state"], tc.load(plain_path)["state"]
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_allclose(got[name].numpy(), want[name].numpy(), rtol=0, atol=1e-5, err_msg=name)
    dist.barrier()


def test_tied_gradients_accumulate_over_steps_without_zero_grad():
    """Two steps without zero_grad (torch divides what .grad held by m again): the tied wte copies stay one weight."""
    ranks = stage_ranks(2)
    index = ranks.index(dist.get_rank())
    stage = PipelineStage(pipeline_split(build("gpt"), 2)[index], index, 2, group=ranks)
    sched = ScheduleGPipe(stage, 4, loss_fn=loss_fn)
    ref = build("gpt")
    for i, (x, y) in enumerate(batches("gpt", steps=2)):
        sched.step(x) if stage.is_first else sched.step(target=y)
        if i == 1:
            for p in ref.parameters():
                p.grad._data /= 4
        loss_fn(ref(x), y).backward()
    grads = dist.all_gather_object({n: p.grad.numpy() for n, p in stage.submod.named_parameters()})
    mine = [grads[r] for r in ranks]
    np.testing.assert_array_equal(mine[0]["wte.weight"], mine[1]["wte.weight"])  # bitwise: one weight
    for name, p in ref.named_parameters():
        got = mine[0][name] if name in mine[0] else mine[1][name]
        np.testing.assert_allclose(got, p.grad.numpy(), rtol=0, atol=1e-12, err_msg=name)
    dist.barrier()
