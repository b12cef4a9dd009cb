"""torch.profiler (and torch.autograd.profiler): profile, record_function, schedule, tensorboard_trace_handler,
key_averages().table(), export_chrome_trace.

What is timed: the record_function regions (wall time, time.perf_counter_ns, per thread), under a schedule
one ProfilerStep#N region per step, as PyTorch's, and each user-visible op call ("aten::linear",
"aten::add", ... with input shapes under record_shapes): while a profile collects, the public op functions
are swapped for timing wrappers, and the originals come back when the last one stops, so ops cost nothing
more outside a profile (tensorcore/profiler_ops.py). Ops nested in an op are not timed on their own; op
events are recorded for the thread that started the profile, as torch's; backward's nodes are not timed.
CPU time only; asking for ProfilerActivity.CUDA warns once. Self time is a region's time less its direct
children's, on the same thread. Trace files are written atomically (tensorcore/atomic.py). profile_memory,
with_flops and with_modules are accepted and add no columns.
"""

import enum
import functools
import json
import os
import sys
import threading
import time
import types
import warnings

from . import profiler_ops
from .atomic import atomic_write
from .errors import ArgumentError, TensorcoreError
from .profiler_events import EventList, FunctionEvent, FunctionEventAvg, _link, _write_trace

_sessions = []  # the profiles collecting events now (record_function appends to each)


class ProfilerActivity(enum.Enum):
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)


def supported_activities():
    return {ProfilerActivity.CPU}


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """torch.profiler.schedule: step -> ProfilerAction. After skip_first steps, cycles of `wait` idle steps,
    `warmup` steps and `active` recorded steps (the last one saves), `repeat` times (0: forever)."""
    for name, value, least in (("wait", wait, 0), ("warmup", warmup, 0), ("active", active, 1),
                               ("repeat", repeat, 0), ("skip_first", skip_first, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ArgumentError(f"schedule: {name} must be an int >= {least}, got {value!r}")

    def schedule_fn(step):
        if step < 0:
            raise ArgumentError(f"schedule: step must be >= 0, got {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        at = step % cycle
        if at < wait:
            return ProfilerAction.NONE
        if at < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if at < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _always_record(step):
    return ProfilerAction.RECORD


def _user_stack():
    frames, frame = [], sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "tensorcore" and not module.startswith("tensorcore."):
            frames.append(f"{frame.f_code.co_filename}({frame.f_lineno}): {frame.f_code.co_name}")
        frame = frame.f_back
    return frames


def _emit(name, start_ns, end_ns, category="user_annotation", input_shapes=()):
    thread = threading.get_native_id()
    for session in list(_sessions):
        stack = _user_stack() if session.with_stack else ()
        shapes = input_shapes if session.record_shapes else ()
        session._buffer.append(FunctionEvent(name, start_ns, end_ns, thread, category, shapes, stack))


class record_function:  # noqa: N801  (torch's name)
    """Time a region under every active profile: `with record_function("name"):` or `@record_function("name")`."""

    def __init__(self, name, args=None):
        if not isinstance(name, str):
            raise ArgumentError(f"record_function: name must be a str, got {type(name).__name__}")
        if args is not None and not isinstance(args, str):
            raise ArgumentError(f"record_function: args must be a str or None, got {type(args).__name__}")
        self.name, self.args = name, args
        self._start = None

    def __enter__(self):
        self._start = time.perf_counter_ns() if _sessions else None
        return self

    def __exit__(self, *exc):
        if self._start is not None:
            _emit(self.name, self._start, time.perf_counter_ns())
            self._start = None
        return False

    def __call__(self, fn):
        name, args = self.name, self.args

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with record_function(name, args):  # a fresh region per call (recursion nests)
                return fn(*a, **k)

        return wrapper


def record_op(name, fn, *inputs, **params):
    """fn(*inputs, **params), timed as a 'cpu_op' event with its inputs' shapes when a profile is active:
    what an op-dispatch hook in the engine would call."""
    if not _sessions:
        return fn(*inputs, **params)
    start = time.perf_counter_ns()
    try:
        return fn(*inputs, **params)
    finally:
        shapes = [list(x.shape) if hasattr(x, "shape") else [] for x in inputs]
        _emit(name, start, time.perf_counter_ns(), "cpu_op", shapes)


def _by_start(events):
    """The events in the order they began (a region is appended when it ends), as torch lists them."""
    return sorted(events, key=lambda e: (e.start_ns, -e.end_ns))


class profile:  # noqa: N801  (torch's name)
    """torch.profiler.profile: a context manager (or start()/stop()) that collects record_function regions.

    Example:
        with tc.profiler.profile(schedule=tc.profiler.schedule(wait=1, warmup=1, active=2),
                                 on_trace_ready=tc.profiler.tensorboard_trace_handler("./log")) as prof:
            for batch in loader:
                train_step(batch)
                prof.step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes=False,
                 profile_memory=False, with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False, use_cuda=None,
                 custom_trace_id_callback=None):
        activities = set(activities) if activities is not None else {ProfilerActivity.CPU}
        for a in activities:
            if not isinstance(a, ProfilerActivity):
                raise ArgumentError(f"profile: activities must be ProfilerActivity values, got {a!r}")
        if use_cuda or activities - {ProfilerActivity.CPU}:
            warnings.warn("tensorcore.profiler records CPU time only: device activities are not traced",
                          stacklevel=2)
        if schedule is not None and not callable(schedule):
            raise ArgumentError(f"profile: schedule must be callable (see profiler.schedule), got {schedule!r}")
        self.activities = activities
        self.schedule = schedule or _always_record
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.record_shapes, self.with_stack = bool(record_shapes), bool(with_stack)
        self.profile_memory, self.with_flops, self.with_modules = profile_memory, with_flops, with_modules
        self.step_num = 0
        self.current_action = ProfilerAction.NONE
        self._buffer, self._finished, self._metadata = [], None, {}
        self._step_region = None
        self._running = False

    # --- the schedule --------------------------------------------------------------------------------
    def start(self):
        if self._running:
            raise TensorcoreError("profile.start: the profiler is already running")
        self._running = True
        self.current_action = self.schedule(self.step_num)
        if self.current_action in _RECORDING:
            self._collect()
        self._open_step()

    def stop(self):
        if not self._running:
            return
        try:
            self._close_step()
        finally:
            self._running = False
            if self.current_action in _RECORDING:
                self._save()  # (the ops are restored before on_trace_ready runs, even if it raises)

    def step(self):
        """Mark the end of a step: the schedule decides what the next one does."""
        self._close_step()
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if previous in _RECORDING and (previous is ProfilerAction.RECORD_AND_SAVE
                                       or self.current_action not in _RECORDING):
            self._save(keep_ops=self.current_action in _RECORDING)  # (collecting again at once)
        if self.current_action in _RECORDING and self not in _sessions:
            self._collect()
        self._open_step()

    def _collect(self):
        self._buffer = []
        self._op_thread = threading.get_ident()  # its op events: the ops of this thread (as torch's)
        _sessions.append(self)
        profiler_ops.activate()  # the first collecting profile swaps the ops for their timing wrappers

    def _save(self, keep_ops=False):
        if self in _sessions:
            _sessions.remove(self)
        if not keep_ops:
            profiler_ops.deactivate()  # the last one out: the very same op functions as before the profile
        self._finished = EventList(_link(_by_start(self._buffer)))
        self._buffer = []
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def _open_step(self):
        if self.record_steps and self._running:
            self._step_region = record_function(f"ProfilerStep#{self.step_num}").__enter__()

    def _close_step(self):
        if self._step_region is not None:
            self._step_region.__exit__(None, None, None)
            self._step_region = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # --- results -------------------------------------------------------------------------------------
    def events(self):
        """The events of the trace being recorded, else of the last saved one."""
        if self in _sessions:
            return EventList(_link(_by_start(self._buffer)))
        return self._finished if self._finished is not None else EventList()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0, group_by_overload_name=False):
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path):
        _write_trace(self.events(), path, self._metadata)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        """One 'frame;frame;name value' line per event with a stack (flame graph input), written atomically."""
        if metric not in ("self_cpu_time_total", "self_cuda_time_total", "self_device_time_total"):
            raise ArgumentError(f"export_stacks: metric must be self_cpu_time_total, got {metric!r}")
        lines = [";".join(list(reversed(e.stack)) + [e.name]) + f" {int(getattr(e, metric))}"
                 for e in self.events() if e.stack]
        with atomic_write(os.fspath(path)) as f:
            f.write(("\n".join(lines) + "\n").encode("utf-8"))

    def add_metadata(self, key, value):
        self._metadata[str(key)] = str(value)

    def add_metadata_json(self, key, value):
        self._metadata[str(key)] = json.loads(value)


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """torch.profiler.tensorboard_trace_handler: an on_trace_ready that writes each trace to
    dir_name/<worker>.<time ns>.pt.trace.json(.gz), atomically."""

    def handler(prof):
        try:
            os.makedirs(dir_name, exist_ok=True)
        except OSError as exc:
            raise TensorcoreError(f"tensorboard_trace_handler: Can't create directory: {dir_name} ({exc})") from exc
        import socket

        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler


class _AutogradProfile(profile):
    """torch.autograd.profiler.profile: the older spelling (enabled=, use_cuda=); the results on the object."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False, with_flops=False,
                 profile_memory=False, with_stack=False, with_modules=False, use_kineto=False, use_cpu=True,
                 experimental_config=None, acc_events=False, custom_trace_id_callback=None):
        super().__init__(record_shapes=record_shapes, with_stack=with_stack, use_cuda=use_cuda)
        self.enabled = enabled

    def start(self):
        if self.enabled:
            super().start()

    @property
    def function_events(self):
        return self.events()

    def table(self, sort_by=None, row_limit=100, **kwargs):
        return self.key_averages().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def total_average(self):
        return self.events().total_average()

    @property
    def self_cpu_time_total(self):
        return self.events().self_cpu_time_total


class emit_nvtx:  # noqa: N801
    """Accepted: there is no NVTX here; the block runs as written."""

    def __init__(self, enabled=True, record_shapes=False):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


emit_itt = emit_nvtx

autograd_profiler = types.ModuleType("tensorcore.autograd.profiler", "torch.autograd.profiler's names")
for _name, _value in (("profile", _AutogradProfile), ("record_function", record_function), ("EventList", EventList),
                      ("FunctionEvent", FunctionEvent), ("FunctionEventAvg", FunctionEventAvg),
                      ("emit_nvtx", emit_nvtx), ("emit_itt", emit_itt)):
    setattr(autograd_profiler, _name, _value)
del _name, _value
