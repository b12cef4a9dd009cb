"""Process groups and blocking collectives on raw arrays, for the model-parallel layers and ZeRO.

A *group* is a backend object of process_group.py (MPIBackend or NCCLBackend) over a sub-communicator:
the same collectives (`all_reduce`, `broadcast`, `all_gather`, `barrier`), the same deadlines and the
same abort-on-failure, over a subset of the ranks. `new_group(ranks)` makes one (PyTorch's name), and
`initialize_model_parallel(tensor_parallel_size)` (Megatron-LM's) splits the world into tensor-parallel
groups of consecutive ranks and data-parallel groups of the ranks with the same tensor-parallel index.
Everything else here takes `group=None`: the tensor-parallel group once initialized, else the world.
"""

import copy

import numpy as np

from .. import process_group as pg
from ..backends import Work, describe
from ..errors import DistributedError

_tensor_parallel_group = None
_data_parallel_group = None
_built_on = None  # the world they were split from (a later init_process_group makes them stale)


def _world(what):
    if not pg.is_initialized():
        raise DistributedError(f"{what}: the process group is not initialized; call "
                               "tc.distributed.init_process_group() first")
    return pg._group_backend()


def _split(world, color):
    """A group of the ranks that pass the same `color` (None: this rank joins no group, gets None)."""
    mpi = world.MPI
    comm = world.comm.Split(mpi.UNDEFINED if color is None else int(color), key=world.rank)
    if color is None:
        return None
    group = copy.copy(world)  # the same backend class, timeout and MPI module; a communicator of its own
    group.comm = comm
    group.rank, group.size = comm.Get_rank(), comm.Get_size()
    group.world_ranks = tuple(int(r) for r in comm.allgather(world.rank))
    if hasattr(world, "nccl_comm"):  # NCCL: a communicator of the group's GPUs, its id sent through MPI
        uid = world.nccl.get_unique_id() if group.rank == 0 else None
        group.nccl_comm = world.nccl.NcclCommunicator(group.size, comm.bcast(uid, root=0), group.rank)
    return group


def new_group(ranks=None):
    """A group of `ranks` (world ranks; default all); every rank must call it. Non-members get None.

    Example:
        evens = new_group(range(0, dist.get_world_size(), 2))
    """
    world = _world("new_group")
    members = sorted({int(r) for r in (range(world.size) if ranks is None else ranks)})
    if not members or members[0] < 0 or members[-1] >= world.size:
        raise DistributedError(f"new_group: ranks must be a non-empty subset of 0..{world.size - 1}, got {members}")
    return _split(world, 0 if world.rank in members else None)


def initialize_model_parallel(tensor_parallel_size=1):
    """Split the world: tensor-parallel groups {0..t-1}, {t..2t-1}, ...; data-parallel groups {i, i+t, ...}.

    Example (4 ranks, t = 2): tensor-parallel groups {0, 1} and {2, 3}; data-parallel {0, 2} and {1, 3}.
    """
    global _tensor_parallel_group, _data_parallel_group, _built_on
    world = _world("initialize_model_parallel")
    t = tensor_parallel_size
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1 or world.size % t:
        raise DistributedError(f"initialize_model_parallel: tensor_parallel_size ({t!r}) must be a positive "
                               f"divisor of the world size ({world.size})")
    destroy_model_parallel()
    _tensor_parallel_group = _split(world, world.rank // t)
    _data_parallel_group = _split(world, world.rank % t)
    _built_on = world


def destroy_model_parallel():
    """Free the groups of initialize_model_parallel (layers built on them stop working)."""
    global _tensor_parallel_group, _data_parallel_group, _built_on
    if _current():
        for group in (_tensor_parallel_group, _data_parallel_group):
            group.free()  # the MPI communicator (and the NCCL one)
    _tensor_parallel_group = _data_parallel_group = _built_on = None


def _current():
    """True when initialize_model_parallel's groups belong to the current process group."""
    return _tensor_parallel_group is not None and pg.is_initialized() and pg._group_backend() is _built_on


def get_tensor_parallel_group():
    """The tensor-parallel group (initialize_model_parallel), else the world."""
    return _tensor_parallel_group if _current() else _world("get_tensor_parallel_group")


def get_data_parallel_group():
    """The data-parallel group (initialize_model_parallel), else the world."""
    return _data_parallel_group if _current() else _world("get_data_parallel_group")


def resolve(group, what):
    """`group`, or the tensor-parallel group (the world if none was initialized)."""
    if group is None:
        if _current():
            return _tensor_parallel_group
        return _world(what)
    if not hasattr(group, "comm") or not hasattr(group, "size"):
        raise DistributedError(f"{what}: group must come from new_group / initialize_model_parallel, "
                               f"got {type(group).__name__}")
    return group


# --- blocking collectives on arrays (new arrays out; inputs untouched) ---------------------------------


def all_reduce_array(group, array):
    """sum over the group's ranks of `array`."""
    out = _xp(array).array(array, order="C", copy=True)
    if group.size == 1:
        return out
    group.all_reduce(out, "sum").wait()
    return out


def all_gather_array(group, array):
    """(group.size, *array.shape): every rank's `array`, indexed by group rank."""
    xp = _xp(array)
    send = xp.ascontiguousarray(array)
    if group.size == 1:
        return send[None].copy()
    out = xp.empty((group.size, *array.shape), dtype=array.dtype)
    group.all_gather(send, out).wait()
    return out


def reduce_scatter_array(group, array):
    """This rank's block of the sum over ranks: array (group.size * m, ...) -> (m, ...), block `group.rank`."""
    xp = _xp(array)
    n = group.size
    if array.shape[0] % n:
        raise DistributedError(f"reduce_scatter: dim 0 of shape {tuple(array.shape)} is not divisible by the "
                               f"group size {n}")
    send = xp.ascontiguousarray(array)
    if n == 1:
        return send.copy()
    recv = xp.empty((array.shape[0] // n, *array.shape[1:]), dtype=array.dtype)
    if hasattr(group, "nccl_comm") and hasattr(send, "__cuda_array_interface__"):
        stream = group.cupy.cuda.get_current_stream().ptr
        group.nccl_comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, group.nccl_dtypes[send.dtype],
                                      group.nccl_ops["sum"], stream)
        group._enqueued(describe("nccl reduce_scatter", send), None, (send, recv)).wait()
        return recv
    host_send, _ = group._host(send)
    host_recv, copy_back = group._host(recv)
    req = group.comm.Ireduce_scatter_block(host_send, host_recv, op=group.MPI.SUM)
    Work(group, describe("reduce_scatter", send), req.Test, copy_back, keep=(host_send, host_recv, req)).wait()
    return recv


def _xp(array):
    if isinstance(array, np.ndarray):
        return np
    import cupy

    return cupy
