"""Point-to-point messages of device (CuPy) arrays through NCCL: one channel per direction between two ranks.

A channel is a 2-rank NCCL communicator with a CUDA stream of its own. NCCL matches the sends and
receives of one communicator in order (tags are not used), and a send or a receive holds its
stream until the peer's matching call. On one shared stream, a receive posted early (as the
pipeline schedules post them) would hold every later kernel, and two ranks sending to each other
would deadlock; a channel per direction, on its own stream, keeps the two directions and the
compute independent. A send waits (on its channel's stream) for the kernels that produced its
array; its Work, and a receive's, poll a CUDA event recorded after the NCCL call.

Opening a channel is a collective of its two ranks. `open(peers)` opens a rank's channels to and
from each peer in one global order (pairs sorted by (lower rank, higher rank)), so no two ranks wait
for each other in a cycle; PipelineStage opens its neighbours' at construction. A channel not yet
open is opened at its first message (both ranks must then reach it).

This file is used by NCCLBackend (backends.py), which imports it lazily; it imports neither CuPy nor
mpi4py itself.
"""

import numpy as np

from .errors import DistributedError

CHANNEL_TAG = 32767  # the MPI tag of the unique-id message (pipeline messages use lower tags)


def exchange_unique_id(backend, peer, uid, sending):
    """Send (sending=True) or receive the channel's NCCL unique id (128 values) to or from `peer` through MPI."""
    from .backends import MPIBackend

    work = (MPIBackend.send if sending else MPIBackend.recv)(backend, uid, peer, CHANNEL_TAG)
    work.label = f"opening an NCCL channel with rank {peer}"
    work.wait()


class NCCLChannels:
    """The NCCL channels of one rank, keyed by direction (src, dst)."""

    def __init__(self, backend):
        self.backend = backend
        self.channels = {}

    def open(self, peers):
        me = self.backend.rank
        for low, high in sorted({(min(me, p), max(me, p)) for p in peers if p != me}):
            self.channel(low, high)
            self.channel(high, low)

    def channel(self, src, dst):
        """(communicator, stream, the peer's rank in the communicator) of the direction src -> dst."""
        found = self.channels.get((src, dst))
        if found is not None:
            return found
        b = self.backend
        low, high = min(src, dst), max(src, dst)
        uid = np.zeros(128, dtype=np.int64)
        if b.rank == low:
            uid[:] = b.nccl.get_unique_id()
        exchange_unique_id(b, high if b.rank == low else low, uid, sending=b.rank == low)
        comm = b.nccl.NcclCommunicator(2, tuple(int(v) for v in uid), 0 if b.rank == low else 1)
        found = self.channels[(src, dst)] = (comm, b.cupy.cuda.Stream(non_blocking=True), 1 if b.rank == low else 0)
        return found

    def send(self, array, dst, tag):
        from .backends import Work, _describe_p2p

        b = self.backend
        buf, _ = b._device_array(array)
        comm, stream, peer = self.channel(b.rank, dst)
        stream.wait_event(_record(b, None))  # after the kernels that produced the array
        comm.send(buf.data.ptr, buf.size, b.nccl_dtypes[buf.dtype], peer, stream.ptr)
        done = _record(b, stream)
        return Work(b, _describe_p2p("nccl send", array, "to", dst, tag), lambda: done.done, keep=(buf, done))

    def recv(self, array, src, tag):
        from .backends import Work, _describe_p2p

        b = self.backend
        if src is None:
            raise DistributedError("nccl backend: a receive of a device array needs src (NCCL has no any-source "
                                   "receive)")
        buf, copy_back = b._device_array(array)
        comm, stream, peer = self.channel(src, b.rank)
        stream.wait_event(_record(b, None))  # after earlier work on the buffer
        comm.recv(buf.data.ptr, buf.size, b.nccl_dtypes[buf.dtype], peer, stream.ptr)
        done = _record(b, stream)
        return Work(b, _describe_p2p("nccl recv", array, "from", src, tag), lambda: done.done, copy_back,
                    keep=(buf, done))

    def close(self, abort=False):
        channels, self.channels = self.channels, {}
        for comm, _, _ in channels.values():
            if abort:
                try:
                    comm.abort()
                except Exception:  # noqa: BLE001 - aborting anyway
                    pass
            else:
                comm.destroy()


def _record(backend, stream):
    event = backend.cupy.cuda.Event(block=False, disable_timing=True)
    event.record(stream)
    return event
