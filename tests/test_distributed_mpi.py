"""Data parallelism across real processes: run under `mpirun -n 2` by `python -m tensorcore.distributed.launch_tests`.

Every rank runs every test; a test's assertions hold on every rank. The central check: two ranks, each
with half of every batch, end with the same weights (to 1e-6, float64) as one process with whole batches,
after 20 steps of SGD and of Adam.
"""

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import tensorcore as tc  # noqa: E402
import tensorcore.distributed as dist  # noqa: E402
from tensorcore import nn  # noqa: E402
from tensorcore.data import DataLoader, TensorDataset  # noqa: E402
from tensorcore.nn.parallel import DistributedDataParallel  # noqa: E402

from .mpi_helpers import process_group_fixture  # noqa: E402

pytestmark = pytest.mark.mpi


group = process_group_fixture()


def mlp(seed, widths=(6, 16, 12, 3)):
    tc.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers).to(tc.float64)


def data(n=96, features=6, classes=3):
    rng = np.random.default_rng(123)
    return rng.standard_normal((n, features)), rng.integers(0, classes, n)


def weights(model):
    return [p.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("bucket_cap_mb", [25, 0.0005])  # one bucket; several (0.5 kB: 4 buckets)
def test_two_ranks_match_one_process_with_the_whole_batch(optimizer, bucket_cap_mb):
    rank, world = dist.get_rank(), dist.get_world_size()
    x, y = data()
    dataset = TensorDataset(x, y)
    per_rank_batch, steps = 4, 20
    make_opt = {
        "sgd": lambda ps: tc.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
        "adam": lambda ps: tc.optim.Adam(ps, lr=0.01),
    }[optimizer]
    loss_fn = nn.CrossEntropyLoss()

    # Data parallel: every rank starts from a different init; DDP copies rank 0's (seed 0).
    model = DistributedDataParallel(mlp(seed=rank), bucket_cap_mb=bucket_cap_mb)
    if bucket_cap_mb < 1:
        assert len(model.bucket_sizes) >= 3
    opt = make_opt(model.parameters())
    sampler = dist.DistributedSampler(dataset, shuffle=True, seed=7)
    loader = DataLoader(dataset, batch_size=per_rank_batch, sampler=sampler)

    # The reference: one process, the same shards concatenated into whole batches.
    ref = mlp(seed=0)
    ref_opt = make_opt(ref.parameters())
    shards = [dist.DistributedSampler(dataset, num_replicas=world, rank=r, shuffle=True, seed=7) for r in range(world)]
    ref_loaders = [DataLoader(dataset, batch_size=per_rank_batch, sampler=s) for s in shards]

    step = 0
    while step < steps:
        for (xb, yb), *ref_batches in zip(loader, *ref_loaders):
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            # Every bucket's all-reduce started inside backward, as soon as its gradients were there.
            assert model.buckets_started_in_backward == len(model.bucket_sizes)
            opt.step()
            ref_opt.zero_grad()
            xr = tc.cat([b[0] for b in ref_batches])
            yr = tc.cat([b[1] for b in ref_batches])
            loss_fn(ref(xr), yr).backward()
            ref_opt.step()
            step += 1
            if step == steps:
                break
    assert step == steps and sampler.epoch >= 1  # crossed an epoch boundary: reshuffled shards
    for got, want in zip(weights(model), weights(ref)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    # And every rank holds the same weights.
    everyone = dist.all_gather_object(weights(model))
    for other in everyone[1:]:
        for a, b in zip(everyone[0], other):
            np.testing.assert_array_equal(a, b)


class SharedWeights(nn.Module):
    """One Linear applied twice: its gradient arrives in two pieces (the late-bucket path)."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 5)
        self.shared = nn.Linear(5, 5)
        self.out = nn.Linear(5, 2)

    def forward(self, x):
        h = self.inp(x).tanh()
        h = self.shared(h).tanh()
        h = self.shared(h).tanh()
        return self.out(h)


@pytest.mark.parametrize("bucket_cap_mb", [25, 1e-5])
def test_shared_weights_and_no_sync_accumulation(bucket_cap_mb):
    rank, world = dist.get_rank(), dist.get_world_size()
    tc.manual_seed(0)
    ref = SharedWeights().to(tc.float64)
    tc.manual_seed(0)
    model = DistributedDataParallel(SharedWeights().to(tc.float64), bucket_cap_mb=bucket_cap_mb)
    rng = np.random.default_rng(5)
    batches = [rng.standard_normal((world, 3, 4)) for _ in range(3)]
    for step in range(3):  # the first backward learns that `shared` gets two pieces
        xs = batches[step]
        model.zero_grad()
        (model(tc.tensor(xs[rank])) ** 2).mean().backward()
        ref.zero_grad()
        for r in range(world):
            ((ref(tc.tensor(xs[r])) ** 2).mean() / world).backward()
        for (name, p), q in zip(model.module.named_parameters(), ref.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12, err_msg=name)
    # no_sync: two local backward passes, then one synchronised one averages the sum of all three.
    model.zero_grad()
    ref.zero_grad()
    for xs in batches:
        if xs is not batches[-1]:
            with model.no_sync():
                (model(tc.tensor(xs[rank])) ** 2).mean().backward()
        else:
            (model(tc.tensor(xs[rank])) ** 2).mean().backward()
        for r in range(world):
            ((ref(tc.tensor(xs[r])) ** 2).mean() / world).backward()
    for p, q in zip(model.module.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12)


def test_unused_parameter_on_one_rank():
    """A parameter that gets a gradient on one rank only: the other contributes zeros, no hang."""
    rank, world = dist.get_rank(), dist.get_world_size()

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 2)
            self.b = nn.Linear(3, 2)

        def forward(self, x, use_b):
            return self.a(x) + (self.b(x) if use_b else 0)

    tc.manual_seed(0)
    model = DistributedDataParallel(Branchy().to(tc.float64))
    x = tc.tensor(np.ones((2, 3)))
    for _ in range(2):
        model.zero_grad()
        model(x, use_b=(rank == 1)).sum().backward()
        np.testing.assert_allclose(model.module.b.weight.grad.numpy(), np.full((2, 3), 2.0 / world))
        np.testing.assert_allclose(model.module.a.weight.grad.numpy(), np.full((2, 3), 2.0))


def test_mismatched_models_are_detected_at_start_up_on_every_rank():
    rank = dist.get_rank()
    net = nn.Sequential(nn.Linear(4, 8 + rank), nn.ReLU(), nn.Linear(8 + rank, 2))
    with pytest.raises(dist.DistributedError, match=r"differs across ranks: parameter '0.weight' is shape \(8, 4\)"):
        DistributedDataParallel(net)
    # Different dtypes and a missing layer are caught too.
    net = nn.Sequential(nn.Linear(4, 2)) if rank == 0 else nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 2))
    with pytest.raises(dist.DistributedError, match="missing on rank 0"):
        DistributedDataParallel(net)
    net = nn.Linear(4, 2).to(tc.float64 if rank else tc.float32)
    with pytest.raises(dist.DistributedError, match="float32 on rank 0 but shape"):
        DistributedDataParallel(net)


def test_buffers_follow_rank_0():
    rank = dist.get_rank()
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model = DistributedDataParallel(net.to(tc.float64))
    x = tc.tensor(np.random.default_rng(rank).standard_normal((8, 3)))
    model(x)  # each rank updates its running stats from its own batch
    model(x)  # ... and the next forward starts from rank 0's
    stats = dist.all_gather_object(net[1].running_mean.numpy())
    assert not np.array_equal(stats[0], stats[1])  # rank 1 updated from rank 0's, with its own batch
    model.module.eval()
    model(x)  # recording: synchronised
    stats = dist.all_gather_object(net[1].running_mean.numpy())
    np.testing.assert_array_equal(stats[0], stats[1])
    model.train()
    with tc.no_grad():
        for _ in range(rank + 1):  # a different number of forward passes per rank: no collective inside
            model(x)
    model.sync_buffers()
    stats = dist.all_gather_object(net[1].running_mean.numpy())
    np.testing.assert_array_equal(stats[0], stats[1])


def test_collectives():
    rank, world = dist.get_rank(), dist.get_world_size()
    t = tc.tensor([float(rank), 1.0, -float(rank)], dtype=tc.float64)
    dist.all_reduce(t)
    np.testing.assert_allclose(t.numpy(), [world * (world - 1) / 2, world, -world * (world - 1) / 2])
    for op, want in [("mean", (world - 1) / 2), ("max", world - 1), ("min", 0), ("prod", 0 if world > 1 else 1)]:
        t = tc.tensor([float(rank)])
        dist.all_reduce(t, op=op)
        assert t.item() == want, op
    i = tc.tensor([rank + 1], dtype=tc.int64)
    work = dist.all_reduce(i, op="sum", async_op=True)
    work.wait()
    assert work.is_completed() and i.item() == world * (world + 1) // 2
    b = tc.tensor(np.full((2, 3), rank, dtype=np.float32))
    dist.broadcast(b, src=world - 1)
    assert (b.numpy() == world - 1).all()
    parts = dist.all_gather(tc.tensor([rank, 10 * rank]))
    assert [p.tolist() for p in parts] == [[r, 10 * r] for r in range(world)]
    out = [tc.zeros(2) for _ in range(world)]
    dist.all_gather(out, tc.ones(2) * rank, async_op=True).wait()
    assert [o.tolist() for o in out] == [[float(r)] * 2 for r in range(world)]
    # A non-contiguous tensor is reduced in place all the same.
    base = tc.tensor(np.arange(12.0).reshape(3, 4))
    view = tc.tensor(np.zeros(1))
    view.data = base.data[:, ::2]
    dist.all_reduce(view)
    np.testing.assert_allclose(base.numpy()[:, ::2], world * np.arange(12.0).reshape(3, 4)[:, ::2])
    np.testing.assert_allclose(base.numpy()[:, 1::2], np.arange(12.0).reshape(3, 4)[:, 1::2])
    assert dist.broadcast_object({"from": rank}, src=1) == {"from": 1}
    assert dist.all_gather_object(rank) == list(range(world))
    dist.barrier()


def test_metrics_and_rank_0_checkpoints(tmp_path):
    rank, world = dist.get_rank(), dist.get_world_size()
    m = dist.average_metrics({"loss": float(rank), "acc": 0.5})
    assert m == {"loss": (world - 1) / 2, "acc": 0.5}
    # Weighted: rank r has r + 1 samples.
    m = dist.average_metrics({"loss": float(rank)}, weight=rank + 1)
    assert m["loss"] == pytest.approx(sum(r * (r + 1) for r in range(world)) / sum(r + 1 for r in range(world)))
    path = dist.broadcast_object(str(tmp_path / "ckpt.npz"))  # one path for all ranks (same machine)
    wrote = dist.save_on_rank0({"rank": tc.tensor([float(rank)])}, path)
    assert wrote == (rank == 0)
    assert tc.load(path)["rank"].tolist() == [0.0]  # written once, by rank 0, before anyone reads
    with pytest.raises(dist.DistributedError, match="different sets of metrics"):
        dist.average_metrics({"loss": 1.0} if rank == 0 else {"loss": 1.0, "extra": 2.0})


def test_keras_fit_distributed(tmp_path):
    """fit(distributed=True): every rank ends with the same weights and the same (averaged) history."""
    from tensorcore.keras.callbacks import Callback, EarlyStopping, ModelCheckpoint
    from tensorcore.keras.layers import Dense
    from tensorcore.keras.models import Sequential

    rank = dist.get_rank()
    tc.manual_seed(rank)  # different initial weights and shuffles on each rank: fit must align them
    rng = np.random.default_rng(0)
    x = rng.standard_normal((203, 10)).astype(np.float32)
    y = (x @ rng.standard_normal((10, 3))).argmax(1)
    model = Sequential([Dense(16, activation="relu", input_dim=10), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    class Seen(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.last = dict(logs)

    seen = Seen()
    path = dist.broadcast_object(str(tmp_path / "keras.npz"))
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0, distributed=True,
                        callbacks=[seen, ModelCheckpoint(path), EarlyStopping(monitor="val_loss", patience=5)])
    everyone = dist.all_gather_object((model.get_weights(), history.history, seen.last))
    for weights, hist, last in everyone[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(weights, everyone[0][0]))
        assert hist == everyone[0][1] and last == everyone[0][2]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    dist.barrier()
    assert tc.load(path)  # written by rank 0 (ModelCheckpoint runs there only)


def test_tensorcore_train_distributed(tmp_path):
    """`tensorcore train --distributed`: rank 0 writes the checkpoint, of the plain model, resumable anywhere."""
    import sys

    from tensorcore import data, train

    try:
        data.find_files("fashion-mnist")
    except Exception:  # noqa: BLE001 - the data set is optional on a developer machine
        pytest.skip("Fashion-MNIST is not installed")
    path = dist.broadcast_object(str(tmp_path / "train.npz"))
    stdout = sys.stdout
    try:
        code = train.main(["--model", "mlp", "--distributed", "--epochs", "1", "--limit", "640", "--batch-size", "32",
                           "--quiet", "--save", path])
    finally:
        sys.stdout = stdout
    assert code == 0
    dist.barrier()
    state = tc.load(path)
    assert state["epoch"] == 1 and all(not k.startswith("module.") for k in state["model"])
    model = train.build_model("mlp", 10, (784,))
    model.load_state_dict(state["model"])  # a plain model takes it: resumable without --distributed


def test_sampler_shards_cover_the_data_set_once_per_epoch_across_ranks():
    world = dist.get_world_size()
    n = 10 * world
    sampler = dist.DistributedSampler(range(n), seed=3)
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        shards = dist.all_gather_object(sampler.indices().tolist())
        assert sorted(i for shard in shards for i in shard) == list(range(n))
        epochs.append(shards)
    assert epochs[0] != epochs[1] != epochs[2]
