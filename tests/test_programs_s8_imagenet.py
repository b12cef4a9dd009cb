"""pytorch/examples imagenet/main.py's machinery (AverageMeter, accuracy with topk=(1, 5), SGD with momentum and
weight decay, StepLR, save_checkpoint + model_best copy, --resume of model/optimizer/scheduler) under
`import tensorcore as torch`, against PyTorch: an interrupted and resumed run equals the uninterrupted one."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, no_dropout, state_arrays

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def data(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.normal(0, 1, (n, 3, 8, 8)).astype(np.float32)
    x[np.arange(n), y % 3, y % 8, :] += 2.0
    return x, y.astype(np.int64)


def test_imagenet_training_and_resume_match_torch(tmp_path):
    ours, theirs = both("imagenet")
    train_xy, val_xy = data(32, 0), data(16, 1)
    torch.manual_seed(0)
    th_model = no_dropout(theirs.Net())
    init = state_arrays(th_model)
    runs = {}
    for name, mod in (("ours", ours), ("theirs", theirs)):
        full, part = tmp_path / f"{name}_full", tmp_path / f"{name}_part"
        full.mkdir(), part.mkdir()
        models = []
        for _ in range(3):
            m = no_dropout(mod.Net())
            m.load_state_dict({k: mod.torch.tensor(v) for k, v in init.items()})
            models.append(m)
        uninterrupted = mod.main_worker(models[0], train_xy, val_xy, str(full), epochs=4)
        first = mod.main_worker(models[1], train_xy, val_xy, str(part), epochs=2)
        resumed = mod.main_worker(models[2], train_xy, val_xy, str(part), epochs=4,
                                  resume=str(part / "checkpoint.pth.tar"))
        runs[name] = uninterrupted, first, resumed
        assert (part / "model_best.pth.tar").is_file()
    (got_full, got_first, got_resumed), (want_full, _, want_resumed) = runs["ours"], runs["theirs"]
    close([h[:2] for h in got_full[0]], [h[:2] for h in want_full[0]], rtol=1e-4, atol=1e-5,
          what="(train loss, val acc@1) per epoch")
    assert [h[2] for h in got_full[0]] == pytest.approx([h[2] for h in want_full[0]])  # StepLR(step_size=2)
    assert len(got_resumed[0]) == 2  # epochs 2 and 3, after the checkpoint of epoch 2
    close(got_first[0] + got_resumed[0], got_full[0], rtol=1e-5, atol=1e-6, what="interrupted + resumed = whole")
    close([h[:2] for h in got_resumed[0]], [h[:2] for h in want_resumed[0]], rtol=1e-4, atol=1e-5)
    for k, v in state_arrays(want_full[1]).items():
        close(state_arrays(got_full[1])[k], v, rtol=1e-3, atol=1e-5, what=k)


def test_imagenet_accuracy_and_meters():
    ours, theirs = both("imagenet")
    rng = np.random.default_rng(3)
    out, target = rng.normal(size=(12, 10)).astype(np.float32), rng.integers(0, 10, 12)
    got = ours.accuracy(ours.torch.tensor(out), ours.torch.tensor(target), topk=(1, 5))
    want = theirs.accuracy(torch.tensor(out), torch.tensor(target), topk=(1, 5))
    assert [tuple(g.shape) for g in got] == [tuple(w.shape) for w in want] == [(1,), (1,)]
    close([g.item() for g in got], [w.item() for w in want])
    meter = ours.AverageMeter('Acc@1', ':6.2f')
    meter.update(got[0][0], 12)
    meter.update(got[1][0], 4)
    ref = theirs.AverageMeter('Acc@1', ':6.2f')
    ref.update(want[0][0], 12)
    ref.update(want[1][0], 4)
    assert str(meter) == str(ref) and meter.summary() == ref.summary()
    meter.all_reduce("cpu")
    ref.all_reduce("cpu")
    assert (meter.sum, meter.count) == pytest.approx((ref.sum, ref.count))
