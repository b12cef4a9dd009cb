"""What a training script needs around the collectives: rank-0 checkpoints, averaged metrics, one-call setup."""

import numbers
import zlib

import numpy as np

from . import process_group as pg
from .errors import DistributedError


def save_on_rank0(obj, path, barrier=True):
    """tc.save(obj, path) on rank 0 only, then (barrier=True) wait until it is written on every rank.

    Without a process group it just saves. Returns True on the rank that wrote.

    Example:
        dist.save_on_rank0({"model": model.module.state_dict(), "opt": opt.state_dict()}, "ckpt.npz")
    """
    from ..serialization import save

    wrote = False
    if pg.is_main_process():
        save(obj, path)
        wrote = True
    if barrier and pg.is_initialized() and pg.get_world_size() > 1:
        pg.barrier()
    return wrote


def average_metrics(metrics, weight=1.0):
    """Average a dict of numbers over all ranks (one all-reduce): {name: mean over ranks}.

    weight: this rank's weight (e.g. its number of samples) for a weighted mean, as when the shards
    differ in length. Without a process group the metrics come back as floats. Every rank must pass
    the same keys.

    Example:
        m = dist.average_metrics({"loss": total_loss / n, "accuracy": correct / n}, weight=n)
    """
    keys = sorted(metrics)
    values = []
    for k in keys:
        v = metrics[k]
        v = v.item() if hasattr(v, "item") else v
        if not isinstance(v, numbers.Real):
            raise DistributedError(f"average_metrics: {k!r} is {type(v).__name__}, expected a number")
        values.append(float(v))
    if not pg.is_initialized() or pg.get_world_size() == 1:
        return dict(zip(keys, values))
    from ..tensor import tensor

    # Every rank must send a vector of the same length and meaning: check the keys first (max of +x and -x).
    digest = zlib.crc32("\0".join(keys).encode())
    check = tensor(np.array([len(keys), -len(keys), digest, -digest], dtype=np.int64))
    pg.all_reduce(check, "max")
    c = check.numpy()
    if c[0] != -c[1] or c[2] != -c[3]:
        raise DistributedError(f"average_metrics: the ranks passed different sets of metrics (this rank: {keys})")
    vector = tensor(np.array([v * weight for v in values] + [float(weight)], dtype=np.float64))
    pg.all_reduce(vector, "sum")
    total = vector.numpy()
    return {k: float(s / total[-1]) for k, s in zip(keys, total[:-1])}


def wrap_for_training(model, loader=None, backend="mpi", bucket_cap_mb=25, shuffle=True, seed=0):
    """Make a model and loader data-parallel in one call (initializing the process group if needed).

    Returns (ddp_model, loader): the model wrapped in DistributedDataParallel and, if a DataLoader is
    given, a new one over the same dataset with a DistributedSampler (same batch size per rank, same
    drop_last) so each rank sees its own shard, reshuffled every epoch with the shared seed.

    Example:
        model, loader = dist.wrap_for_training(model, loader)
        opt = tc.optim.SGD(model.parameters(), lr=0.1)   # build the optimizer on the wrapped model
    """
    from ..data import DataLoader
    from ..nn.parallel import DistributedDataParallel
    from .sampler import DistributedSampler

    if not pg.is_initialized():
        pg.init_process_group(backend)
    ddp = model if isinstance(model, DistributedDataParallel) else DistributedDataParallel(model, bucket_cap_mb)
    if loader is None:
        return ddp, None
    sampler = DistributedSampler(loader.dataset, shuffle=shuffle, seed=seed, drop_last=loader.drop_last)
    new_loader = DataLoader(loader.dataset, batch_size=loader.batch_size, drop_last=loader.drop_last,
                            sampler=sampler, collate_fn=loader.collate_fn)
    return ddp, new_loader


def nccl_selftest(verbose=True):
    """Run the NCCL backend end to end on this machine's GPU(s); for the GPU check script.

    Under mpirun every rank takes a GPU (local rank modulo the GPU count); run alone it is a world of
    size 1. Checks all_reduce (sum, mean, max), broadcast and all_gather on CuPy arrays through NCCL,
    an MPI all_reduce of a host array alongside, and a DistributedDataParallel step on a cuda model
    if tensorcore's cuda device is available. Returns a dict of results; raises AssertionError on a
    wrong value.

    Example:
        python -c "import tensorcore.distributed as d; d.nccl_selftest()"
    """
    import cupy

    own_group = not pg.is_initialized()
    if own_group:
        pg.init_process_group("nccl", abort_on_exception=False)
    group = pg._require("nccl_selftest")
    if group.name != "nccl":
        raise DistributedError("nccl_selftest: the process group uses the mpi backend; init it with backend='nccl'")
    rank, world = group.rank, group.size
    results = {"world_size": world, "rank": rank, "device": group.device_index}
    try:
        x = cupy.arange(1 << 20, dtype=cupy.float32) + rank
        group.all_reduce(x, "sum").wait()
        expected = cupy.arange(1 << 20, dtype=cupy.float32) * world + world * (world - 1) / 2
        assert bool(cupy.allclose(x, expected)), "nccl all_reduce(sum) gave a wrong value"
        m = cupy.full(1000, float(rank), dtype=cupy.float64)
        group.all_reduce(m, "mean").wait()
        assert bool(cupy.allclose(m, (world - 1) / 2)), "nccl all_reduce(mean) gave a wrong value"
        mx = cupy.full(10, rank, dtype=cupy.int64)
        group.all_reduce(mx, "max").wait()
        assert int(mx[0]) == world - 1, "nccl all_reduce(max) gave a wrong value"
        b = cupy.full(100, 7.0 if rank == 0 else -1.0, dtype=cupy.float32)
        group.broadcast(b, 0).wait()
        assert bool((b == 7.0).all()), "nccl broadcast gave a wrong value"
        out = cupy.empty((world, 3), dtype=cupy.float32)
        group.all_gather(cupy.full(3, float(rank), dtype=cupy.float32), out).wait()
        assert bool((out[:, 0] == cupy.arange(world)).all()), "nccl all_gather gave a wrong value"
        host = np.full(4, float(rank))
        group.all_reduce(host, "sum").wait()
        assert host[0] == world * (world - 1) / 2, "mpi all_reduce next to nccl gave a wrong value"
        # Bandwidth of a 64 MB float32 all-reduce (algorithm bandwidth: bytes / time).
        big = cupy.ones(16 << 20, dtype=cupy.float32)
        group.all_reduce(big, "sum").wait()
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        for _ in range(5):
            group.all_reduce(big, "sum")
        stop.record()
        stop.synchronize()
        ms = cupy.cuda.get_elapsed_time(start, stop) / 5
        results["allreduce_64MB_ms"] = ms
        results["allreduce_64MB_algbw_GBps"] = big.nbytes / (ms * 1e-3) / 1e9
        results["ddp"] = _ddp_on_cuda(rank)
        results["ok"] = True
    finally:
        if own_group:
            pg.destroy_process_group()
    if verbose and rank == 0:
        print("nccl_selftest:", results)
    return results


def _ddp_on_cuda(rank):
    """One DDP step on tensorcore's cuda device, when it exists; compares with the CPU result."""
    try:
        import tensorcore as tc
        from tensorcore import nn

        dev = tc.device(f"cuda:{pg._require('ddp').device_index}")
        _ = dev.backend
    except Exception as e:  # noqa: BLE001 - the cuda device is optional here
        return f"skipped ({type(e).__name__}: {e})"
    from ..nn.parallel import DistributedDataParallel

    tc.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1)).to(tc.float64)
    x = tc.tensor(np.random.default_rng(rank).standard_normal((4, 8)))
    model = DistributedDataParallel(net.to(dev))
    loss = (model(x.to(dev)) ** 2).mean()
    loss.backward()
    grads = [p.grad.numpy() for p in model.parameters()]
    return f"ok ({len(grads)} gradients averaged on {dev})"
