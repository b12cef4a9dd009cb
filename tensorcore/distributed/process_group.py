"""The process group: one per process, set up by init_process_group, used by every collective.

The ranks are the processes of one MPI job (`mpirun -n 4 python train.py`); rank and world size
come from the launcher. Collectives on Tensors work in place on `tensor._data` and bump the tensor's
version counter, as an in-place op would. With `async_op=True` they return a `Work` handle
at once; otherwise they wait. Every wait has a deadline (`timeout`): a rank that died or hangs makes
the others print which collective did not complete and abort the job, instead of hanging forever.
"""

import datetime
import os
import pickle
import sys

import numpy as np

from .backends import DEFAULT_TIMEOUT, TIMEOUT_ENV, MPIBackend, NCCLBackend, Work
from .errors import DistributedError

_group = None  # the backend object while initialized
_previous_excepthook = None

REDUCE_OPS = ("sum", "mean", "max", "min", "prod")


def is_available():
    """True when mpi4py can be imported (tensorcore's `mpi` extra is installed)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def init_process_group(backend="mpi", timeout=None, abort_on_exception=True):
    """Join the job's process group: rank and world size come from the MPI launcher.

    backend: "mpi" (CPU arrays; device arrays staged through host memory) or "nccl" (CuPy arrays through
    NCCL on the GPU `local_rank % device_count`, host arrays through MPI).
    timeout: seconds (or a datetime.timedelta) any collective may take before this rank aborts the job;
    default the environment variable TENSORCORE_DIST_TIMEOUT, else 300 s.
    abort_on_exception: an uncaught exception on any rank aborts all ranks (MPI_Abort) at once,
    instead of leaving the others waiting for it until the timeout.

    Run as a single process (no mpirun) it is a world of size 1.

    Example:
        dist.init_process_group("mpi")        # under `mpirun -n 4 python train.py`
        print(dist.get_rank(), dist.get_world_size())
    """
    global _group, _previous_excepthook
    if _group is not None:
        raise DistributedError("init_process_group: already initialized (call destroy_process_group first)")
    if backend not in ("mpi", "nccl"):
        raise DistributedError(f"init_process_group: unknown backend {backend!r} (expected 'mpi' or 'nccl')")
    timeout = _as_timeout(timeout)
    _group = NCCLBackend(timeout) if backend == "nccl" else MPIBackend(timeout)
    if abort_on_exception and _previous_excepthook is None:
        _previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught_exception


def _as_timeout(timeout):
    if timeout is None:
        timeout = os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT)
        try:
            timeout = float(timeout)
        except ValueError:
            raise DistributedError(f"{TIMEOUT_ENV}={timeout!r} is not a number of seconds") from None
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise DistributedError(f"init_process_group: timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def _abort_on_uncaught_exception(exc_type, exc, tb):
    (_previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)
    if _group is not None and _group.size > 1:
        _group.fail(f"uncaught {exc_type.__name__} (traceback above); stopping the other ranks.")


def destroy_process_group():
    """Leave the process group (MPI itself is finalized at exit). init_process_group may be called again."""
    global _group, _previous_excepthook
    group = _require("destroy_process_group")
    _group = None
    if _previous_excepthook is not None:
        sys.excepthook, _previous_excepthook = _previous_excepthook, None
    group.free()


def is_initialized():
    return _group is not None


def _require(what):
    if _group is None:
        raise DistributedError(f"{what}: the process group is not initialized; call init_process_group() first")
    return _group


def get_rank():
    """This process's rank, 0 .. world_size - 1."""
    return _require("get_rank").rank


def get_world_size():
    """The number of processes in the job."""
    return _require("get_world_size").size


def get_local_rank():
    """This process's rank among the processes on its machine."""
    return _require("get_local_rank").local_rank


def get_backend():
    """"mpi" or "nccl"."""
    return _require("get_backend").name


def get_timeout():
    """The seconds any collective may take before this rank aborts the job."""
    return _require("get_timeout").timeout


def is_main_process():
    """True on rank 0, and in a process that never called init_process_group."""
    return _group is None or _group.rank == 0


def _group_backend():
    """The backend object (for DistributedDataParallel, which works on flat arrays)."""
    return _require("DistributedDataParallel")


# --- collectives on Tensors --------------------------------------------------------------------------


def _check_tensor(tensor, what):
    from ..tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise DistributedError(f"{what}: expected a Tensor, got {type(tensor).__name__}")


def _done(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def barrier(async_op=False):
    """Wait until every rank has called barrier()."""
    return _done(_require("barrier").barrier(), async_op)


def all_reduce(tensor, op="sum", async_op=False):
    """Reduce `tensor` over all ranks, in place: every rank ends with the same result.

    op: "sum", "mean" (floating tensors), "max", "min" or "prod".

    Example:
        t = tc.tensor([float(dist.get_rank())])
        dist.all_reduce(t, op="sum")          # on 2 ranks: t == [1.0] everywhere
    """
    group = _require("all_reduce")
    _check_tensor(tensor, "all_reduce")
    if op not in REDUCE_OPS:
        raise DistributedError(f"all_reduce: unknown op {op!r} (expected one of {', '.join(REDUCE_OPS)})")
    if op == "mean" and tensor.dtype.kind != "f":
        raise DistributedError(f"all_reduce: op='mean' needs a floating tensor, got {tensor.dtype}")
    tensor._version += 1
    return _done(group.all_reduce(tensor._data, op), async_op)


def broadcast(tensor, src=0, async_op=False):
    """Copy rank `src`'s tensor into `tensor` on every other rank, in place (shapes and dtypes must agree).

    Example:
        dist.broadcast(weights, src=0)
    """
    group = _require("broadcast")
    _check_tensor(tensor, "broadcast")
    _check_src(group, src, "broadcast")
    tensor._version += 1
    return _done(group.broadcast(tensor._data, int(src)), async_op)


def _check_src(group, src, what):
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < group.size:
        raise DistributedError(f"{what}: src must be a rank in 0..{group.size - 1}, got {src!r}")


def all_gather(tensor_list, tensor=None, async_op=False):
    """Gather every rank's `tensor` (same shape and dtype on all ranks) into a list indexed by rank.

    Two forms, as in PyTorch and for convenience:
        dist.all_gather(out_list, t)          # fills out_list[r] with rank r's t, in place
        parts = dist.all_gather(t)            # returns a new list of world_size tensors

    With async_op=True, returns (work, list) in the second form and work in the first.
    """
    from ..tensor import _make

    group = _require("all_gather")
    if tensor is None:
        tensor, tensor_list = tensor_list, None
    _check_tensor(tensor, "all_gather")
    xp = tensor.device.backend.xp
    out = xp.empty((group.size, *tensor.shape), dtype=tensor.dtype)
    if tensor_list is not None:
        tensor_list = list(tensor_list) if not isinstance(tensor_list, list) else tensor_list
        if len(tensor_list) != group.size:
            raise DistributedError(f"all_gather: tensor_list has {len(tensor_list)} tensors for {group.size} ranks")
        for i, t in enumerate(tensor_list):
            _check_tensor(t, "all_gather")
            if t.shape != tensor.shape or t.dtype != tensor.dtype:
                raise DistributedError(
                    f"all_gather: tensor_list[{i}] is {t.shape} {t.dtype}, the input is {tensor.shape} {tensor.dtype}"
                )
    work = group.all_gather(tensor._data, out)
    if tensor_list is None:
        result = [_make(out[r], tensor.device, False, None) for r in range(group.size)]
        if async_op:
            return work, result
        work.wait()
        return result
    inner = work._finish

    def fill():
        if inner is not None:
            inner()
        for r, t in enumerate(tensor_list):
            t._data[...] = out[r]
            t._version += 1

    work._finish = fill
    return _done(work, async_op)


# --- point to point on Tensors (pipeline parallelism) ------------------------------------------------------


def _check_p2p(group, tensor, peer, tag, what, any_source=False):
    _check_tensor(tensor, what)
    if peer is None and any_source:
        pass
    elif isinstance(peer, bool) or not isinstance(peer, (int, np.integer)) or not 0 <= peer < group.size:
        raise DistributedError(f"{what}: the peer must be a rank in 0..{group.size - 1}, got {peer!r}")
    elif peer == group.rank:
        raise DistributedError(f"{what}: rank {group.rank} cannot {what.split()[0]} to or from itself")
    upper = group.comm.Get_attr(group.MPI.TAG_UB) or 32767
    if isinstance(tag, bool) or not isinstance(tag, (int, np.integer)) or not 0 <= tag <= upper:
        raise DistributedError(f"{what}: tag must be an integer in 0..{upper}, got {tag!r}")


def _no_subgroups(group, what):
    if group is not None:
        raise DistributedError(f"{what}: process subgroups are not supported (group must be None: the whole job)")


def isend(tensor, dst, group=None, tag=0):
    """Start sending `tensor` to rank `dst`; returns a Work (do not change the tensor before work.wait()).

    The receiver's `irecv`/`recv` with the same tag must name a tensor of the same size and dtype.

    Example:
        work = dist.isend(activation, dst=rank + 1)
        ...                                   # compute the next micro-batch meanwhile
        work.wait()
    """
    backend = _require("isend")
    _no_subgroups(group, "isend")
    _check_p2p(backend, tensor, dst, tag, "send")
    return backend.send(tensor._data, int(dst), int(tag))


def irecv(tensor, src=None, group=None, tag=0):
    """Start receiving into `tensor` (in place) from rank `src` (None: any rank); returns a Work.

    Example:
        work = dist.irecv(buffer, src=rank - 1)
        work.wait()                           # buffer now holds the sender's tensor
    """
    backend = _require("irecv")
    _no_subgroups(group, "irecv")
    _check_p2p(backend, tensor, src, tag, "recv", any_source=True)
    tensor._version += 1
    return backend.recv(tensor._data, None if src is None else int(src), int(tag))


def send(tensor, dst, group=None, tag=0):
    """Send `tensor` to rank `dst` and wait until its buffer may be reused (the peer calls recv)."""
    isend(tensor, dst, group, tag).wait()


def recv(tensor, src=None, group=None, tag=0):
    """Receive into `tensor` (in place) from rank `src` (None: any rank); returns the sender's rank.

    Example:
        if dist.get_rank() == 0:
            dist.send(tc.ones(3), dst=1)
        else:
            t = tc.zeros(3)
            dist.recv(t, src=0)               # t == [1, 1, 1]
    """
    backend = _require("recv")
    _no_subgroups(group, "recv")
    _check_p2p(backend, tensor, src, tag, "recv", any_source=True)
    tensor._version += 1
    status = backend.make_status()
    backend.recv(tensor._data, None if src is None else int(src), int(tag), status).wait()
    return status.Get_source() if src is None else int(src)


# --- collectives on Python objects (pickled) ------------------------------------------------------------


def all_gather_object(obj):
    """Every rank's picklable `obj`, as a list indexed by rank (for small things: names, shapes, metrics).

    Example:
        names = dist.all_gather_object(socket.gethostname())
    """
    group = _require("all_gather_object")
    payload = np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)
    sizes = np.zeros(group.size, dtype=np.int64)
    group.all_gather(np.array(payload.size, dtype=np.int64), sizes).wait()
    data = np.zeros(int(sizes.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    req = group.comm.Iallgatherv(payload, [data, (sizes, offsets)])
    Work(group, f"all_gather_object ({payload.size} bytes)", req.Test, keep=(payload, data)).wait()
    # NOTE: unpickling data from the other ranks of our own job (the same trust as torch.distributed).
    return [pickle.loads(data[o : o + s].tobytes()) for o, s in zip(offsets, sizes)]


def broadcast_object(obj, src=0):
    """Rank `src`'s picklable `obj`, on every rank."""
    group = _require("broadcast_object")
    _check_src(group, src, "broadcast_object")
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL) if group.rank == src else b""
    size = np.array(len(payload), dtype=np.int64)
    group.broadcast(size, int(src)).wait()
    data = np.frombuffer(payload, dtype=np.uint8).copy() if group.rank == src else np.empty(int(size), np.uint8)
    group.broadcast(data, int(src)).wait()
    return pickle.loads(data.tobytes())


__all__ = [
    "Work",
    "all_gather",
    "all_gather_object",
    "all_reduce",
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
    "recv",
    "send",
]
