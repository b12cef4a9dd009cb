"""DistributedDataParallel: data-parallel training, one model replica per process.

    dist.init_process_group("mpi")
    model = nn.parallel.DistributedDataParallel(net)      # same weights everywhere, from rank 0
    loss_fn(model(x_local), y_local).backward()           # .grad = the average over all ranks
    opt.step()                                            # every rank takes the same step

How gradients are averaged:
* The trainable parameters are grouped into buckets of about `bucket_cap_mb` megabytes, in reverse
  registration order (roughly the order backward produces their gradients: last layer first).
* A post-accumulate-grad hook on each parameter counts its gradient in. When every parameter of a
  bucket has its gradient, the bucket's gradients are copied into one flat buffer and a non-blocking
  all-reduce of it starts, while backward carries on through the earlier layers. Buckets always start
  in the same order on every rank (bucket k+1 never before bucket k), as MPI and NCCL require.
* A callback queued with `autograd.queue_callback` runs when backward ends: it starts the buckets still
  waiting (parameters that got no gradient count as zeros), waits for all of them and writes
  sum / world_size back into each `.grad`.
* A parameter used twice in the forward pass (shared weights) gets its gradient in two pieces. How many
  pieces each parameter gets is learned from the previous backward pass; a bucket that received more
  after it was sent is sent again at the end (the ranks agree on this by one small all-reduce of flags).
"""

import contextlib
import hashlib
import weakref

import numpy as np

from .. import autograd
from ..distributed import process_group as _pg
from ..distributed.errors import DistributedError
from ..tensor import _make
from .module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """A group of parameters whose gradients travel together in one flat buffer."""

    __slots__ = ("index", "params", "offsets", "numel", "buffer", "pending", "work", "late")

    def __init__(self, index, params):
        self.index = index
        self.params = params  # [(parameter index, Parameter)]
        self.offsets = []
        n = 0
        for _, p in params:
            self.offsets.append(n)
            n += p._data.size
        self.numel = n
        self.buffer = None
        self.pending = 0
        self.work = None
        self.late = False

    def fill(self):
        """Copy the parameters' gradients into the flat buffer (zeros for a parameter with none)."""
        p0 = self.params[0][1]
        xp = p0.device.backend.xp
        if self.buffer is None or self.buffer.dtype != p0.dtype or type(self.buffer) is not type(p0._data):
            self.buffer = xp.empty(self.numel, dtype=p0.dtype)
        for (_, p), off in zip(self.params, self.offsets):
            view = self.buffer[off : off + p._data.size]
            if p.grad is None:
                view[...] = 0
            else:
                view[...] = p.grad._data.reshape(-1)


class DistributedDataParallel(Module):
    """Wrap `module` so that backward averages its gradients over all ranks of the process group.

    At construction, checks that every rank built the same model (parameter and buffer names, shapes
    and dtypes; a mismatch raises DistributedError on every rank naming the first difference) and
    copies rank 0's parameters and buffers to all ranks. Calling it calls `module`; when
    broadcast_buffers is True, rank 0's buffers (e.g. BatchNorm running statistics) are copied to all
    ranks before each forward that records for backward, as in PyTorch (forward passes under no_grad
    communicate nothing; call `sync_buffers()` before evaluating if ranks must agree).
    Inside `with model.no_sync():` backward only accumulates local gradients; the first backward
    after it averages everything accumulated.

    bucket_cap_mb: the size of a gradient bucket in megabytes (one all-reduce per bucket; a parameter
    bigger than that gets a bucket of its own).

    Example:
        dist.init_process_group("mpi")
        model = DistributedDataParallel(nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10)))
        opt = tc.optim.SGD(model.parameters(), lr=0.1)
        loss = nn.CrossEntropyLoss()(model(x), y); loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init__(self, module, bucket_cap_mb=25, broadcast_buffers=True):
        super().__init__()
        if not isinstance(module, Module):
            raise DistributedError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise DistributedError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb!r}")
        group = _pg._group_backend()
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = bucket_cap_mb
        self._group = group
        self._world = group.size
        named = list(module.named_parameters())
        _check_same_model(group, named, list(module.named_buffers()))
        with autograd.no_grad():
            _broadcast_coalesced(group, [p for _, p in named] + list(module.buffers()))

        trainable = [p for _, p in named if p.requires_grad]
        self._params = trainable
        self._buckets = _make_buckets(trainable, int(bucket_cap_mb * 1024 * 1024))
        self._bucket_of = [None] * len(trainable)
        for b in self._buckets:
            for i, _ in b.params:
                self._bucket_of[i] = b
        self._expected = [1] * len(trainable)  # gradient pieces per parameter per backward, learned
        self._counts = [0] * len(trainable)
        self._next = 0  # the next bucket to start
        self._inflight = []
        self._in_backward = False
        self._sync = True
        self.buckets_started_in_backward = 0  # in the last backward, before its end (overlapped with it)
        if self._world > 1:  # in a world of one there is nothing to average: backward is left alone
            me = weakref.ref(self)
            for i, p in enumerate(trainable):
                p.register_post_accumulate_grad_hook(_make_hook(me, i))

    # --- the module interface -------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        # NOTE: buffers are synchronised only in forward passes that record (training steps, which every
        # rank takes in lockstep); under no_grad (evaluation, perhaps of shards of different lengths) a
        # forward is purely local, so it can never wait for a rank that does not call it.
        if self.broadcast_buffers and self._world > 1 and autograd.is_grad_enabled():
            self.sync_buffers()
        return self.module(*args, **kwargs)

    def sync_parameters(self):
        """Copy rank 0's parameters and buffers to every rank (as at construction); a collective."""
        with autograd.no_grad():
            _broadcast_coalesced(self._group, list(self.module.parameters()) + list(self.module.buffers()))

    def sync_buffers(self):
        """Copy rank 0's buffers (e.g. BatchNorm running statistics) to every rank; a collective."""
        buffers = list(self.module.buffers())
        if buffers and self._world > 1:
            with autograd.no_grad():
                _broadcast_coalesced(self._group, buffers)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside only accumulate local gradients (gradient accumulation without traffic).

        Example:
            with model.no_sync():
                loss_fn(model(x1), y1).backward()      # local
            loss_fn(model(x2), y2).backward()          # averages the sum of both
        """
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    @property
    def bucket_sizes(self):
        """The number of parameters in each bucket, in the order they are sent."""
        return [len(b.params) for b in self._buckets]

    def extra_repr(self):
        return f"world_size={self._world}, buckets={len(self._buckets)}, bucket_cap_mb={self.bucket_cap_mb}"

    # --- backward: the hooks and the end-of-backward callback ----------------------------------------------
    def _on_grad(self, i):
        if not self._sync:
            return
        if not self._in_backward:
            self._start_backward()
        self._counts[i] += 1
        count, expected = self._counts[i], self._expected[i]
        bucket = self._bucket_of[i]
        if count == expected:
            bucket.pending -= 1
            if bucket.pending == 0:
                self._start_ready_buckets()
        elif count > expected and bucket.work is not None:
            bucket.late = True
        # Let the library progress the all-reduces in flight (MPI moves data only inside MPI calls).
        self._inflight = [w for w in self._inflight if not w.is_completed()]

    def _start_backward(self):
        self._in_backward = True
        self._counts = [0] * len(self._params)
        for b in self._buckets:
            b.pending = sum(1 for i, _ in b.params if self._expected[i] > 0)
            b.work, b.late = None, False
        self._next = 0
        self._inflight = []
        autograd.queue_callback(self._finish_backward)

    def _start_ready_buckets(self):
        while self._next < len(self._buckets) and self._buckets[self._next].pending <= 0:
            self._start(self._buckets[self._next])
            self._next += 1

    def _start(self, bucket):
        bucket.fill()
        bucket.work = self._group.all_reduce(bucket.buffer, "sum")
        bucket.work.label = f"DistributedDataParallel gradient bucket {bucket.index} of {len(self._buckets)}"
        self._inflight.append(bucket.work)

    def _finish_backward(self):
        self._in_backward = False
        self.buckets_started_in_backward = self._next  # the rest start now: their overlap was lost
        for bucket in self._buckets[self._next :]:
            self._start(bucket)
        self._next = len(self._buckets)
        for bucket in self._buckets:
            bucket.work.wait()
        if self._world > 1:
            self._resend_late_buckets()
        for bucket in self._buckets:
            _write_back(bucket, self._world)
        self._expected = self._counts
        self._inflight = []

    def _resend_late_buckets(self):
        """Buckets that got more gradient after they were sent, on any rank, are sent again (in order)."""
        flags = np.array([b.late for b in self._buckets], dtype=np.int32)
        self._group.all_reduce(flags, "max").wait()
        late = [b for b, flag in zip(self._buckets, flags) if flag]
        for bucket in late:
            self._start(bucket)
        for bucket in late:
            bucket.work.wait()


def _make_hook(ddp_ref, i):
    def hook(param):
        ddp = ddp_ref()
        if ddp is not None:
            ddp._on_grad(i)

    return hook


def _write_back(bucket, world):
    """.grad = the reduced sum / world size, in place where the parameter has a gradient array."""
    xp = bucket.params[0][1].device.backend.xp
    for (_, p), off in zip(bucket.params, bucket.offsets):
        view = bucket.buffer[off : off + p._data.size].reshape(p.shape)
        if p.grad is not None:
            xp.divide(view, world, out=p.grad._data)
        elif view.any():  # the sum is the same on every rank, so all ranks decide alike
            p.grad = _make(view / world, p.device, False, None)


def _make_buckets(params, cap_bytes):
    """Reverse registration order, split where the size would pass cap_bytes or the dtype/device changes."""
    buckets, current, size = [], [], 0
    for i in reversed(range(len(params))):
        p = params[i]
        if current:
            first = current[0][1]
            if size + p._data.nbytes > cap_bytes or p.dtype != first.dtype or p.device is not first.device:
                buckets.append(_Bucket(len(buckets), current))
                current, size = [], 0
        current.append((i, p))
        size += p._data.nbytes
    if current:
        buckets.append(_Bucket(len(buckets), current))
    return buckets


def _check_same_model(group, named_params, named_buffers):
    """Every rank must hold the same parameter and buffer names, shapes and dtypes: else a clear error on all."""
    mine = [("parameter", n, tuple(p.shape), str(p.dtype)) for n, p in named_params]
    mine += [("buffer", n, tuple(b.shape), str(b.dtype)) for n, b in named_buffers]
    if group.size == 1:
        return
    # First a 64-bit digest per rank (one small all-gather); the full lists only when they differ.
    digest = np.frombuffer(hashlib.blake2b(repr(mine).encode(), digest_size=8).digest(), dtype=np.int64).copy()
    digests = np.zeros(group.size, dtype=np.int64)
    group.all_gather(digest.reshape(()), digests).wait()
    if (digests == digests[0]).all():
        return
    everyone = _pg.all_gather_object(mine)
    reference = everyone[0]
    for rank, theirs in enumerate(everyone[1:], start=1):
        if theirs == reference:
            continue
        ref_by_name = {(kind, name): (shape, dtype) for kind, name, shape, dtype in reference}
        their_by_name = {(kind, name): (shape, dtype) for kind, name, shape, dtype in theirs}
        detail = f"rank 0 has {len(reference)} parameters and buffers, rank {rank} has {len(theirs)}"
        keys = [(kind, name) for kind, name, _, _ in reference]
        keys += [(kind, name) for kind, name, _, _ in theirs if (kind, name) not in ref_by_name]
        for key in keys:  # the first difference in the order the model registers them
            a, b = ref_by_name.get(key), their_by_name.get(key)
            if a != b:
                detail = f"{key[0]} {key[1]!r} is {_describe(a)} on rank 0 but {_describe(b)} on rank {rank}"
                break
        raise DistributedError(
            f"DistributedDataParallel: the model differs across ranks: {detail}. Every rank must build the same model."
        )


def _describe(signature):
    return "missing" if signature is None else f"shape {signature[0]} {signature[1]}"


def _broadcast_coalesced(group, tensors):
    """Copy rank 0's values of `tensors` to every rank: one broadcast per (dtype, device), in place."""
    if group.size == 1 or not tensors:
        return
    groups = {}
    for t in tensors:
        groups.setdefault((str(t.dtype), t.device), []).append(t)
    for (dtype, device), ts in groups.items():
        xp = device.backend.xp
        flat = xp.concatenate([t._data.reshape(-1) for t in ts]) if group.rank == 0 else xp.empty(
            sum(t._data.size for t in ts), dtype=dtype)
        group.broadcast(flat, 0).wait()
        if group.rank != 0:
            off = 0
            for t in ts:
                t._data[...] = flat[off : off + t._data.size].reshape(t.shape)
                t._version += 1
                off += t._data.size
