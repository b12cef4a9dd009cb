"""Pipeline schedules: GPipe (all forwards, then all backwards) and 1F1B (one forward, one backward).

A schedule splits a step's batch into `n_microbatches` equal micro-batches along dim 0, runs its
stage's list of actions ("F", i) and ("B", i), and at the end divides every parameter gradient by
n_microbatches (torch's `scale_grads=True`): with a mean-reducing loss_fn the gradients are then
those of the whole batch's mean loss. `losses` gets one (unscaled) loss per micro-batch, as in torch.

Overlap: the receives of the next micro-batches' activations are posted before they are needed
(all m under GPipe; the warm-up depth under 1F1B), each output gradient's receive is posted as soon
as its forward is done, and every send is non-blocking (waited for at the end of the step).

The bubble: with p stages of equal cost, a step lasts (m + p - 1) micro-batch slots of which each
stage computes m, so each stage idles (p - 1) / (m + p - 1) of the step. `last_step_times` holds
the measured figures of the last step.
"""

import time

import numpy as np

from ...errors import ArgumentError, ShapeError
from ..errors import DistributedError
from .stage import PipelineStage, as_tuple


def gpipe_actions(stage_index, num_stages, n_microbatches):
    """GPipe's order on every stage: F0 F1 ... F(m-1), then B0 B1 ... B(m-1)."""
    return [("F", i) for i in range(n_microbatches)] + [("B", i) for i in range(n_microbatches)]


def one_f_one_b_actions(stage_index, num_stages, n_microbatches):
    """1F1B (torch's order): num_stages - stage_index warm-up forwards, then B, F alternating, then the last Bs."""
    warmup = min(n_microbatches, num_stages - stage_index)
    actions = [("F", i) for i in range(warmup)]
    forward, backward = warmup, 0
    while backward < n_microbatches:
        actions.append(("B", backward))
        backward += 1
        if forward < n_microbatches:
            actions.append(("F", forward))
            forward += 1
    return actions


def expected_bubble(num_stages, n_microbatches):
    """The idle fraction of a step with equal stages and free messages: (p - 1) / (m + p - 1)."""
    return (num_stages - 1) / (n_microbatches + num_stages - 1)


class StepTimes:
    """One stage's times over one step: wall (step start to end), busy (forward, loss, backward compute).

    busy_cpu_s is the CPU time of those computations: below busy_s when the rank waited for a core.
    """

    def __init__(self, stage_index, num_stages, n_microbatches, wall_s, busy_s, busy_cpu_s=None):
        self.stage_index, self.num_stages, self.n_microbatches = stage_index, num_stages, n_microbatches
        self.wall_s, self.busy_s, self.busy_cpu_s = wall_s, busy_s, busy_cpu_s

    @property
    def idle_s(self):
        return max(self.wall_s - self.busy_s, 0.0)

    @property
    def bubble(self):
        """The measured idle fraction idle / wall."""
        return self.idle_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def expected_bubble(self):
        return expected_bubble(self.num_stages, self.n_microbatches)

    def as_dict(self):
        return {"stage": self.stage_index, "wall_s": self.wall_s, "busy_s": self.busy_s, "busy_cpu_s": self.busy_cpu_s,
                "idle_s": self.idle_s, "bubble": self.bubble, "expected_bubble": self.expected_bubble}

    def __repr__(self):
        return (f"StepTimes(stage {self.stage_index}/{self.num_stages}, m={self.n_microbatches}: wall "
                f"{self.wall_s * 1e3:.2f} ms, busy {self.busy_s * 1e3:.2f} ms, bubble {self.bubble:.3f} "
                f"(expected {self.expected_bubble:.3f}))")


class _PipelineSchedule:
    actions = staticmethod(gpipe_actions)

    def __init__(self, stage, n_microbatches, loss_fn=None, scale_grads=True):
        name = type(self).__name__
        if not isinstance(stage, PipelineStage):
            raise ArgumentError(f"{name}: stage must be a PipelineStage, got {type(stage).__name__}")
        if isinstance(n_microbatches, bool) or not isinstance(n_microbatches, (int, np.integer)) or n_microbatches < 1:
            raise ArgumentError(f"{name}: n_microbatches must be an int >= 1, got {n_microbatches!r}")
        if loss_fn is not None and not callable(loss_fn):
            raise ArgumentError(f"{name}: loss_fn must be callable, got {type(loss_fn).__name__}")
        self._stage, self._n_microbatches, self._loss_fn = stage, int(n_microbatches), loss_fn
        self._has_backward = loss_fn is not None
        self.scale_grads = bool(scale_grads)
        self.last_step_times = None

    def step(self, *args, target=None, losses=None, **kwargs):
        """Run one step on the whole batch: `step(x)` on the first stage, `step(target=y, losses=l)` on the last.

        Middle stages call `step()`. Returns the last stage's outputs (all micro-batches, concatenated
        along dim 0; their graphs are already used, as in torch), None elsewhere. Gradients accumulate
        in the parameters' `.grad`.
        """
        from ...grad_mode import is_grad_enabled

        stage, m = self._stage, self._n_microbatches
        where = f"{type(self).__name__} step on pipeline stage {stage.stage_index} of {stage.num_stages}"
        if kwargs:
            raise ArgumentError(f"{where}: keyword inputs are not supported ({', '.join(sorted(kwargs))})")
        if self._has_backward and not is_grad_enabled():
            raise DistributedError(f"{where}: backward needs grad mode; under no_grad use a schedule without loss_fn")
        if losses is not None and not isinstance(losses, list):
            raise ArgumentError(f"{where}: losses must be a list, got {type(losses).__name__}")
        arg_mbs = [()] * m
        if stage.is_first:
            if not args:
                raise ArgumentError(f"{where}: the first stage takes the batch: step(x)")
            arg_mbs = _split(args, m, where, "input")
        targets = None
        if stage.is_last and self._has_backward:
            if target is None:
                raise ArgumentError(f"{where}: the last stage with a loss_fn needs step(target=y)")
            targets = [t[0] for t in _split((target,), m, where, "target")]
        start = time.perf_counter()
        stage._begin_step(m, self._has_backward)
        internal_losses = []
        prefetch = self._prefetch()
        for kind, i in self.actions(stage.stage_index, stage.num_stages, m):
            if kind == "F":
                stage.post_forward_recvs(i + prefetch)
                output = stage.forward_one_chunk(i, arg_mbs[i])
                if targets is not None:
                    with stage._busy():
                        internal_losses.append(self._loss_fn(output, targets[i]))
            elif self._has_backward:
                stage.backward_one_chunk(i, loss=internal_losses[i] if targets is not None else None)
        stage.finish_step(m if self.scale_grads else 1)
        self.last_step_times = StepTimes(stage.stage_index, stage.num_stages, m, time.perf_counter() - start,
                                         stage.busy_s, stage.busy_cpu_s)
        if targets is not None and losses is not None:
            losses.clear()
            losses.extend(internal_losses)
        if stage.is_last:
            return _merge(stage.output_chunks)
        return None

    def _prefetch(self):
        return self._n_microbatches


class ScheduleGPipe(_PipelineSchedule):
    """GPipe (Huang et al., 2019): F0..F(m-1) then B0..B(m-1) on every stage; holds m micro-batches' activations.

    Example:
        schedule = ScheduleGPipe(stage, n_microbatches=4, loss_fn=nn.CrossEntropyLoss())
        losses = []
        out = schedule.step(target=y, losses=losses)     # on the last stage; step(x) on the first
    """

    actions = staticmethod(gpipe_actions)


class Schedule1F1B(_PipelineSchedule):
    """1F1B (PipeDream-Flush): after a warm-up, one forward then one backward; at most p - s micro-batches in flight.

    Needs n_microbatches >= num_stages (as torch). The same bubble as GPipe, less activation memory.
    """

    actions = staticmethod(one_f_one_b_actions)

    def __init__(self, stage, n_microbatches, loss_fn=None, scale_grads=True):
        super().__init__(stage, n_microbatches, loss_fn, scale_grads)
        if self._n_microbatches < stage.num_stages:
            raise ArgumentError(f"Schedule1F1B: n_microbatches ({self._n_microbatches}) must be >= the number of "
                                f"stages ({stage.num_stages})")

    def _prefetch(self):
        return self._stage.num_stages - self._stage.stage_index


def _split(args, m, where, what):
    """Each Tensor argument cut into m equal views along dim 0; other arguments passed to every micro-batch."""
    from ...tensor import Tensor

    columns = []
    for k, a in enumerate(args):
        if not isinstance(a, Tensor):
            columns.append([a] * m)
            continue
        if a.ndim == 0 or a.shape[0] % m:
            n = "a 0-d tensor" if a.ndim == 0 else f"{a.shape[0]} is not divisible by {m}"
            raise ShapeError(f"{where}: {what} {k} of shape {tuple(a.shape)} does not split into {m} equal "
                             f"micro-batches along dim 0 ({n})")
        size = a.shape[0] // m
        columns.append([a[i * size: (i + 1) * size] for i in range(m)])
    return [tuple(col[i] for col in columns) for i in range(m)]


def _merge(chunks):
    from ... import cat

    if not chunks:
        return None
    parts = [as_tuple(c) for c in chunks]
    merged = tuple(cat([p[t] for p in parts]) if parts[0][t].ndim else parts[0][t] for t in range(len(parts[0])))
    return merged if isinstance(chunks[0], (tuple, list)) else merged[0]
