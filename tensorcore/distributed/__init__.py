"""tensorcore.distributed: data-parallel training across processes, on MPI (mpi4py) and NCCL (CuPy).

Launch one process per CPU core group or per GPU with MPI; each calls init_process_group():

    mpirun -n 4 python train.py                     # as root add --allow-run-as-root; more ranks
                                                    # than cores: --oversubscribe
    import tensorcore.distributed as dist
    dist.init_process_group("mpi")                  # or "nccl" for GPUs
    model = tc.nn.parallel.DistributedDataParallel(net)
    loader = DataLoader(train_set, batch_size=64, sampler=dist.DistributedSampler(train_set, seed=0))

Collectives work in place on Tensors (all_reduce, broadcast, all_gather, barrier; async_op=True gives
a Work handle to wait() on). Every wait has a deadline (timeout=, or TENSORCORE_DIST_TIMEOUT, default
300 s): a rank that died or hangs makes the others print which collective did not finish and abort
the job. An uncaught exception on any rank aborts all ranks at once. Point-to-point messages:
send, recv, isend, irecv. Pipeline parallelism: tensorcore.distributed.pipelining. See README.md here.
"""

from . import pipelining  # tc.distributed.pipelining: pipeline parallelism
from .backends import DEFAULT_TIMEOUT, TIMEOUT_ENV, Work
from .errors import DistributedError
from .helpers import average_metrics, nccl_selftest, save_on_rank0, wrap_for_training
from .process_group import (
    all_gather,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object,
    destroy_process_group,
    get_backend,
    get_local_rank,
    get_rank,
    get_timeout,
    get_world_size,
    init_process_group,
    irecv,
    is_available,
    is_initialized,
    is_main_process,
    isend,
    recv,
    send,
)
from .sampler import DistributedSampler

# Loaded on first use (they import the models): tc.distributed.tensor_parallel (Megatron-LM's layers),
# tc.distributed.optim (ZeroRedundancyOptimizer), tc.distributed.async_training (local SGD, parameter server).
_LAZY_SUBMODULES = ("async_training", "optim", "tensor_parallel")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_TIMEOUT",
    "DistributedError",
    "DistributedSampler",
    "TIMEOUT_ENV",
    "Work",
    "all_gather",
    "all_gather_object",
    "all_reduce",
    "average_metrics",
    "barrier",
    "broadcast",
    "broadcast_object",
    "destroy_process_group",
    "get_backend",
    "get_local_rank",
    "get_rank",
    "get_timeout",
    "get_world_size",
    "init_process_group",
    "irecv",
    "is_available",
    "is_initialized",
    "is_main_process",
    "isend",
    "nccl_selftest",
    "recv",
    "save_on_rank0",
    "send",
    "wrap_for_training",
]
