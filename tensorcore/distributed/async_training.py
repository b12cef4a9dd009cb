"""Asynchronous data-parallel training: ranks that do not wait for each other (or wait rarely).

* Local SGD (Lin et al. 2018, "Don't use large mini-batches, use local SGD"): every rank steps its own
  optimizer on its own batches and the models are averaged every `period` steps.
  - `PeriodicModelAverager(period, warmup_steps=0, process_group=None)` (PyTorch's
    torch.distributed.algorithms.model_averaging.averagers): a blocking average every `period` steps.
  - `AsyncModelAverager(period, process_group=None)`: the averaging all-reduce is non-blocking. A rank
    starts round k after `period` local steps, keeps training while it runs, and when it completes adds
    (average - its snapshot) to its parameters: x <- x + (mean_r s_r - s). A fast rank never waits for a
    slow one; it simply takes more local steps per round. `finish(params)` ends with identical models.
  - `PostLocalSGDOptimizer(optim, averager)` (PyTorch's name): optim.step(), then the averager.
* An asynchronous parameter server on MPI one-sided communication (RMA), `ParameterServerOptimizer(optim)`:
  the parameters live in an MPI window on rank `server_rank`. Each rank steps its own optimizer on its
  local copy and pushes the change with one atomic fetch-and-add (MPI_Get_accumulate, MPI_SUM) under a
  shared passive-target lock: the server's vector gains the rank's update and the rank gets back the
  vector with everyone's updates so far. No rank waits for another (Hogwild-style, updates may be stale
  by the other ranks' in-flight steps). `finish()` gives every rank the server's final parameters.

Both work on CPU parameters (cuda ones go through host memory) of one dtype. See README.md.
"""

import time

import numpy as np

from ..optim.optimizer import Optimizer
from .backends import Work
from .errors import DistributedError
from .tensor_parallel.comm import _world


def _params(params):
    """A flat list of Tensors from parameters or parameter groups."""
    out = []
    for p in params:
        if isinstance(p, dict):
            out.extend(p["params"])
        else:
            out.append(p)
    if not out:
        raise DistributedError("model averaging: got no parameters")
    if len({p.dtype for p in out}) != 1:
        raise DistributedError(f"model averaging: parameters of several dtypes ({sorted({str(p.dtype) for p in out})})")
    return out


def _flatten(params):
    """One contiguous host (NumPy) vector of all params."""
    return np.concatenate([np.asarray(_host(p._data)).reshape(-1) for p in params])


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def _unflatten_add(params, flat):
    """params += flat (a host vector in params' layout), in place."""
    offset = 0
    for p in params:
        n = int(np.prod(p.shape))
        p._data += p.device.backend.xp.asarray(flat[offset : offset + n].reshape(p.shape))
        p._version += 1
        offset += n


def _unflatten_set(params, flat):
    offset = 0
    for p in params:
        n = int(np.prod(p.shape))
        p._data[...] = p.device.backend.xp.asarray(flat[offset : offset + n].reshape(p.shape))
        p._version += 1
        offset += n


class PeriodicModelAverager:
    """Average the parameters over the group (blocking) at steps warmup_steps, +period, +2 period, ...

    Example (PyTorch's):
        averager = PeriodicModelAverager(period=4, warmup_steps=100)
        for x, y in loader:
            opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
            averager.average_parameters(model.parameters())
    """

    def __init__(self, period, warmup_steps=0, process_group=None):
        if isinstance(period, bool) or not isinstance(period, int) or period < 1:
            raise DistributedError(f"PeriodicModelAverager: period must be a positive integer, got {period!r}")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise DistributedError(f"PeriodicModelAverager: warmup_steps must be >= 0, got {warmup_steps!r}")
        self.period, self.warmup_steps = period, warmup_steps
        self.process_group = _world("PeriodicModelAverager") if process_group is None else process_group
        self.step = 0

    def average_parameters(self, params):
        """x <- mean over ranks of x, on the scheduled steps; then step += 1."""
        if self.step >= self.warmup_steps and (self.step - self.warmup_steps) % self.period == 0:
            params = _params(params)
            flat = _flatten(params)
            group = self.process_group
            if group.size > 1:
                group.all_reduce(flat, "mean").wait()
            _unflatten_set(params, flat)
        self.step += 1

    def finish(self, params):
        """Nothing is pending in a blocking averager: a final average makes the models identical."""
        params = _params(params)
        flat = _flatten(params)
        if self.process_group.size > 1:
            self.process_group.all_reduce(flat, "mean").wait()
        _unflatten_set(params, flat)


class AsyncModelAverager:
    """Local SGD whose averaging never blocks: x <- x + (mean_r s_r - s) when round k's all-reduce completes.

    A rank starts a round (snapshot s of its parameters, non-blocking all-reduce of s) once it has taken
    `period` local steps since its last round completed, and checks after every step whether the
    all-reduce is done. Rounds are matched by their number on every rank, on a communicator of their own.

    Example:
        averager = AsyncModelAverager(period=8)
        opt = PostLocalSGDOptimizer(tc.optim.SGD(model.parameters(), lr=0.1), averager)
        ... training loop calling opt.step() ...
        averager.finish(model.parameters())        # every rank ends with the same parameters
    """

    def __init__(self, period, process_group=None):
        if isinstance(period, bool) or not isinstance(period, int) or period < 1:
            raise DistributedError(f"AsyncModelAverager: period must be a positive integer, got {period!r}")
        self.period = period
        group = _world("AsyncModelAverager") if process_group is None else process_group
        self.process_group = group
        self._comm = group.comm.Dup()  # the rounds' all-reduces, ordered by round on every rank
        self._control = group.comm.Dup()  # finish()'s agreement on the number of rounds
        self.step = 0
        self.rounds_started = 0
        self.rounds_completed = 0
        self._since = 0  # local steps since the last round completed (or started, before any completed)
        self._pending = None  # (snapshot, buffer, request)

    def _start(self, params):
        snapshot = _flatten(params)
        buffer = snapshot.copy()
        request = self._comm.Iallreduce(self.process_group.MPI.IN_PLACE, buffer, op=self.process_group.MPI.SUM)
        self._pending = (snapshot, buffer, request)
        self.rounds_started += 1

    def _complete(self, params):
        snapshot, buffer, _ = self._pending
        self._pending = None
        buffer /= self.process_group.size
        _unflatten_add(params, buffer - snapshot)
        self.rounds_completed += 1
        self._since = 0

    def average_parameters(self, params):
        """After a local step: apply a finished round; start the next after `period` steps. Never blocks."""
        params = _params(params)
        self.step += 1
        self._since += 1
        if self.process_group.size == 1:
            return
        if self._pending is not None and self._pending[2].Test():
            self._complete(params)
        if self._pending is None and self._since >= self.period:
            self._start(params)

    def finish(self, params):
        """Bring every rank to the same number of rounds, wait for them, then average exactly (blocking)."""
        params = _params(params)
        group = self.process_group
        if group.size == 1:
            return
        counts = np.array([self.rounds_started], dtype=np.int64)
        request = self._control.Iallreduce(group.MPI.IN_PLACE, counts, op=group.MPI.MAX)
        Work(group, "AsyncModelAverager.finish: agreeing on the number of rounds", request.Test, keep=counts).wait()
        while self.rounds_started < int(counts[0]) or self._pending is not None:
            if self._pending is None:
                self._start(params)
            request = self._pending[2]
            Work(group, f"AsyncModelAverager round {self.rounds_started}", request.Test).wait()
            self._complete(params)
        flat = _flatten(params)
        request = self._comm.Iallreduce(group.MPI.IN_PLACE, flat, op=group.MPI.SUM)
        Work(group, "AsyncModelAverager.finish: the final average", request.Test, keep=flat).wait()
        _unflatten_set(params, flat / group.size)


class _Wrapper(Optimizer):
    """An optimizer around another (`self.optim`): its param groups, state and defaults are the inner one's,
    so lr schedulers and GradScaler work on the wrapper. (Optimizer.__init__ is not called.)"""

    @property
    def param_groups(self):
        return self.optim.param_groups

    @property
    def state(self):
        return self.optim.state

    @property
    def defaults(self):
        return self.optim.defaults

    def zero_grad(self, set_to_none=True):
        self.optim.zero_grad(set_to_none)

    def __repr__(self):
        return f"{type(self).__name__}({self.optim!r})"


class PostLocalSGDOptimizer(_Wrapper):
    """optim.step(), then averager.average_parameters(optim's parameters) (PyTorch's PostLocalSGDOptimizer).

    Example:
        opt = PostLocalSGDOptimizer(tc.optim.Adam(model.parameters()), PeriodicModelAverager(period=4))
    """

    def __init__(self, optim, averager):
        self.optim, self.averager = optim, averager

    def step(self, closure=None):
        loss = self.optim.step(closure)
        self.averager.average_parameters(self.optim.param_groups)
        return loss

    def state_dict(self):
        sd = self.optim.state_dict()
        sd["step"] = self.averager.step
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        self.averager.step = int(state_dict.pop("step", 0))
        self.optim.load_state_dict(state_dict)

    def finish(self):
        """Wait for the averager's rounds and end with the same parameters on every rank (a collective)."""
        self.averager.finish(self.optim.param_groups)


class ParameterServerOptimizer(_Wrapper):
    """optim on each rank's local copy; every step pushes its change to the server and pulls everyone's.

    x_server += (x_after_step - x_before_step) atomically (MPI_Get_accumulate, MPI_SUM, passive target);
    the rank's copy becomes the returned server vector plus its own change. No rank waits for another.

    Example:
        opt = ParameterServerOptimizer(tc.optim.SGD(model.parameters(), lr=0.05))   # collective
        ... training loop calling opt.step() ...
        opt.finish()          # every rank holds the server's parameters (collective)
    """

    def __init__(self, optim, process_group=None, server_rank=0):
        group = _world("ParameterServerOptimizer") if process_group is None else process_group
        if isinstance(server_rank, bool) or not isinstance(server_rank, int) or not 0 <= server_rank < group.size:
            raise DistributedError(f"ParameterServerOptimizer: server_rank must be in 0..{group.size - 1}, "
                                   f"got {server_rank!r}")
        self.optim, self.process_group, self.server_rank = optim, group, server_rank
        self._list = _params(optim.param_groups)
        MPI = group.MPI
        self._comm = group.comm.Dup()
        flat = _flatten(self._list)
        self._dtype, self._size = flat.dtype, flat.size
        if flat.dtype not in (np.float32, np.float64):
            raise DistributedError(f"ParameterServerOptimizer: parameters must be float32 or float64, got {flat.dtype}")
        nbytes = flat.nbytes if group.rank == server_rank else 0
        self._window = MPI.Win.Allocate(nbytes, flat.itemsize, comm=self._comm)
        if group.rank == server_rank:  # the server's vector starts as the server rank's parameters
            self._window.Lock(server_rank, MPI.LOCK_EXCLUSIVE)
            self._window.Put(flat, server_rank)
            self._window.Unlock(server_rank)
        self._barrier()
        self.pull()
        self.pushes = 0
        self.seconds_communicating = 0.0

    def _barrier(self):
        Work(self.process_group, "ParameterServerOptimizer barrier", self._comm.Ibarrier().Test).wait()

    def pull(self):
        """This rank's parameters <- the server's (an atomic read)."""
        MPI = self.process_group.MPI
        out = np.empty(self._size, self._dtype)
        self._window.Lock(self.server_rank, MPI.LOCK_SHARED)
        self._window.Get_accumulate(np.zeros(1, self._dtype), out, self.server_rank,
                                    target=(0, self._size, _mpi_type(MPI, self._dtype)), op=MPI.NO_OP)
        self._window.Unlock(self.server_rank)
        _unflatten_set(self._list, out)

    def step(self, closure=None):
        before = _flatten(self._list)
        loss = self.optim.step(closure)
        delta = _flatten(self._list) - before
        t0 = time.perf_counter()
        MPI = self.process_group.MPI
        result = np.empty_like(delta)
        self._window.Lock(self.server_rank, MPI.LOCK_SHARED)
        self._window.Get_accumulate(delta, result, self.server_rank, op=MPI.SUM)
        self._window.Unlock(self.server_rank)
        _unflatten_set(self._list, result + delta)
        self.seconds_communicating += time.perf_counter() - t0
        self.pushes += 1
        return loss

    def state_dict(self):
        return self.optim.state_dict()

    def load_state_dict(self, state_dict):
        self.optim.load_state_dict(state_dict)

    def finish(self):
        """Wait until every rank has pushed its last update, then give every rank the server's parameters."""
        self._barrier()
        self.pull()
        self._barrier()

    def close(self):
        """Free the window (a collective)."""
        if self._window is not None:
            self._window.Free()
            self._window = None


def _mpi_type(MPI, dtype):
    return {np.dtype(np.float64): MPI.DOUBLE, np.dtype(np.float32): MPI.FLOAT}[np.dtype(dtype)]
