"""ZeRO across processes (run under `mpirun -n 2` by `python -m tensorcore.distributed.launch_tests`).

Two ranks with half of every batch and ZeroRedundancyOptimizer (stage 1 after DistributedDataParallel;
stage 2 reduce-scattering the gradients itself) take the same 20 steps as one process with whole
batches: the same losses and parameters to 1e-6 in float64, the same optimizer state once consolidated,
and each rank holds 1/N of the optimizer state.
"""

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import tensorcore as tc  # noqa: E402
import tensorcore.distributed as dist  # noqa: E402
from tensorcore import nn  # noqa: E402
from tensorcore.distributed.optim import ZeroRedundancyOptimizer, optimizer_state_bytes  # noqa: E402
from tensorcore.models.gpt import GPT  # noqa: E402
from tensorcore.nn.parallel import DistributedDataParallel  # noqa: E402

from .mpi_helpers import process_group_fixture  # noqa: E402

pytestmark = pytest.mark.mpi


group = process_group_fixture()


def mlp():
    tc.manual_seed(0)  # 355 parameters: not divisible by 2, so the last shard is padded
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 3)).to(tc.float64)


def gpt():
    tc.manual_seed(0)
    return GPT(11, block_size=8, n_layer=2, n_head=2, n_embd=16).to(tc.float64)


def lm_loss(logits, y):
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def groups_of(model, which):
    """Two parameter groups with different hyperparameters (weights / biases and norms)."""
    params = list(model.named_parameters())
    decay = [p for n, p in params if p.ndim >= 2]
    rest = [p for n, p in params if p.ndim < 2]
    lr = 0.1 if which == "mlp" else 1e-2
    return [{"params": decay, "weight_decay": 1e-2}, {"params": rest, "weight_decay": 0.0, "lr": lr / 2}]


CASES = {
    "mlp": (mlp, nn.functional.cross_entropy, tc.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    "gpt": (gpt, lm_loss, tc.optim.AdamW, {"lr": 1e-2}),
}


def batches(which, steps=20):
    rng = np.random.default_rng(11)
    if which == "mlp":
        return [(rng.standard_normal((8, 6)), rng.integers(0, 3, 8)) for _ in range(steps)]
    return [(rng.integers(0, 11, (4, 8)), rng.integers(0, 11, (4, 8))) for _ in range(steps)]


@pytest.mark.parametrize("stage", [1, 2])
@pytest.mark.parametrize("which", ["mlp", "gpt"])
def test_zero_matches_one_process_after_20_steps(which, stage):
    rank, world = dist.get_rank(), dist.get_world_size()
    build, loss_fn, opt_class, defaults = CASES[which]
    ref = build()
    ref_opt = opt_class(groups_of(ref, which), **defaults)
    net = build()
    model = DistributedDataParallel(net) if stage == 1 else net
    opt = ZeroRedundancyOptimizer(groups_of(net, which), optimizer_class=opt_class, zero_stage=stage, **defaults)
    want, got = [], []
    for x, y in batches(which):
        ref_opt.zero_grad()
        loss = loss_fn(ref(tc.tensor(x)), tc.tensor(y))
        loss.backward()
        ref_opt.step()
        want.append(loss.item())
        opt.zero_grad()
        mine = loss_fn(model(tc.tensor(x[rank::world])), tc.tensor(y[rank::world]))
        mine.backward()
        opt.step()
        got.append(float(np.mean(dist.all_gather_object(mine.item()))))
        if stage == 2:  # the full gradients were dropped: only this rank's shard of them is kept
            assert all(p.grad is None for p in net.parameters())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    for (name, p), q in zip(net.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=0, atol=1e-6, err_msg=name)
    # The consolidated state is the one-process optimizer's state.
    opt.consolidate_state_dict(to=world - 1)
    if rank != world - 1:
        with pytest.raises(dist.DistributedError, match="call consolidate_state_dict"):
            opt.state_dict()
    else:
        full, expect = opt.state_dict(), ref_opt.state_dict()
        assert [g["params"] for g in full["param_groups"]] == [g["params"] for g in expect["param_groups"]]
        assert [g["lr"] for g in full["param_groups"]] == [g["lr"] for g in expect["param_groups"]]
        assert sorted(full["state"]) == sorted(expect["state"])
        for i, st in expect["state"].items():
            for key, value in st.items():
                if key.startswith("_"):
                    continue
                if hasattr(value, "numpy"):
                    np.testing.assert_allclose(full["state"][i][key].numpy(), value.numpy(), atol=1e-9, err_msg=key)
                else:
                    assert full["state"][i][key] == value, key


def test_memory_per_rank_and_state_dict_round_trip():
    rank, world = dist.get_rank(), dist.get_world_size()
    net = gpt()
    model = DistributedDataParallel(net)
    opt = ZeroRedundancyOptimizer(net.parameters(), optimizer_class=tc.optim.Adam, lr=1e-3)
    ref = gpt()
    ref_opt = tc.optim.Adam(ref.parameters(), lr=1e-3)
    x, y = batches("gpt", 1)[0]
    for m, o in ((model, opt), (ref, ref_opt)):
        o.zero_grad()
        lm_loss(m(tc.tensor(x)), tc.tensor(y)).backward()
        o.step()
    numel = sum(p.numel() for p in ref.parameters())
    single = sum(p.numpy().nbytes for p in ref.parameters()) + optimizer_state_bytes(ref_opt)
    mem = opt.memory_bytes()
    mine = mem["parameter_shard"] + mem["optimizer_state"]
    print(f"\nZeRO stage 1, rank {rank} of {world}: parameter shard {mem['parameter_shard']:,} B + optimizer state "
          f"{mem['optimizer_state']:,} B = {mine:,} B; one process: parameters + state {single:,} B "
          f"({mine / single:.4f} = 1/{single / mine:.2f}); full parameter replica {mem['parameters']:,} B")
    shard = -(-numel // world)  # elements per shard, the last one padded
    assert mem["parameter_shard"] == shard * 8
    assert mem["optimizer_state"] * numel == optimizer_state_bytes(ref_opt) * shard  # exactly 1/N, up to padding
    assert abs(mine - single / world) <= 4 * 8 * (shard * world - numel)
    # A round trip through the consolidated state into a fresh ZeRO optimizer continues identically.
    opt.consolidate_state_dict(to=0)
    state = dist.broadcast_object({"state": {i: {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in s.items()}
                                             for i, s in opt.state_dict()["state"].items()},
                                   "param_groups": opt.state_dict()["param_groups"]} if rank == 0 else None)
    again = ZeroRedundancyOptimizer(net.parameters(), optimizer_class=tc.optim.Adam, lr=5.0)
    again.load_state_dict({"state": {i: {k: (tc.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                                     for i, s in state["state"].items()}, "param_groups": state["param_groups"]})
    assert again.param_groups[0]["lr"] == 1e-3
    for m, o in ((model, again), (ref, ref_opt)):
        o.zero_grad()
        lm_loss(m(tc.tensor(x)), tc.tensor(y)).backward()
        o.step()
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=0, atol=1e-9)


def test_bad_arguments():
    net = mlp()
    with pytest.raises(dist.DistributedError, match="zero_stage must be 1 or 2, got 3"):
        ZeroRedundancyOptimizer(net.parameters(), tc.optim.SGD, zero_stage=3, lr=0.1)
    with pytest.raises(dist.DistributedError, match="optimizer_class must be a tensorcore optimizer class"):
        ZeroRedundancyOptimizer(net.parameters(), "adam", lr=0.1)
    mixed = [nn.Parameter(tc.zeros(3)), nn.Parameter(tc.zeros(3).to(tc.float64))]
    with pytest.raises(dist.DistributedError, match="parameter group 0 mixes dtypes"):
        ZeroRedundancyOptimizer(mixed, tc.optim.SGD, lr=0.1)
    opt = ZeroRedundancyOptimizer(net.parameters(), tc.optim.SGD, lr=0.1)
    with pytest.raises(dist.DistributedError, match="to must be a rank in 0..1, got 5"):
        opt.consolidate_state_dict(to=5)


def test_parameters_changed_after_construction_are_respected():
    """ZeRO built before DistributedDataParallel broadcasts rank 0's weights: the shards follow the broadcast."""
    rank, world = dist.get_rank(), dist.get_world_size()
    tc.manual_seed(rank)  # a different init on every rank
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).to(tc.float64)
    opt = ZeroRedundancyOptimizer(net.parameters(), tc.optim.SGD, lr=0.1)
    model = DistributedDataParallel(net)  # now every rank holds rank 0's weights
    tc.manual_seed(0)
    ref = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).to(tc.float64)
    ref_opt = tc.optim.SGD(ref.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((2 * world, 4))
    opt.zero_grad()
    (model(tc.tensor(x[rank::world])) ** 2).mean().backward()
    opt.step()
    ref_opt.zero_grad()
    (ref(tc.tensor(x)) ** 2).mean().backward()
    ref_opt.step()
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=0, atol=1e-12)
