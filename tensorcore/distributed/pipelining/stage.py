"""PipelineStage: one part of a model on one rank, and the point-to-point messages between parts.

Stage s runs on rank `stage_ranks[s]`. Forward, it receives its inputs from stage s - 1 and sends
its outputs to stage s + 1; backward, it receives the gradients of its outputs from stage s + 1 and
sends the gradients of its inputs to stage s - 1. Every message is a non-blocking MPI Isend/Irecv
(process_group's backends), with the process group's deadline on every wait.

Shapes are found at run time (torch's "dynamic" mode): before a step's first activation, stage s
sends stage s + 1 a small header (number of tensors; per tensor: dtype, requires_grad, shape), so
the receiver can allocate every micro-batch's buffer and post its receives early. `input_args`
(an example micro-batch input) is then checked against the header.
"""

import time
from contextlib import contextmanager

import numpy as np

from ... import nn
from ...errors import ArgumentError, ShapeError
from .. import process_group as pg
from ..errors import DistributedError

MAX_TENSORS = 8  # tensors passed from one stage to the next
MAX_DIMS = 8
HEADER_LEN = 1 + MAX_TENSORS * (3 + MAX_DIMS)
DTYPES = tuple(np.dtype(d) for d in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                                     "bool"))
TAG_HEADER, TAG_TIED = 0, 1
_TAGS = 32000  # MPI guarantees tags up to at least 32767


def message_tag(kind, microbatch, index):
    """The MPI tag of activation (kind 0) or gradient (kind 1) `index` of `microbatch` (wraps; MPI keeps order)."""
    return 2 + (kind + 2 * (index + MAX_TENSORS * microbatch)) % _TAGS


def describe(meta):
    """'(4, 16) float64, (4,) int64' for a list of (shape, dtype, requires_grad)."""
    return ", ".join(f"{tuple(s)} {d}" for s, d, _ in meta) or "nothing"


def encode_header(meta, stage_index):
    """An int64 array describing the tensors a stage sends: [n, then per tensor dtype, requires_grad, ndim, dims]."""
    if len(meta) > MAX_TENSORS:
        raise DistributedError(f"pipeline stage {stage_index}: sends {len(meta)} tensors to the next stage; "
                               f"at most {MAX_TENSORS}")
    header = np.zeros(HEADER_LEN, dtype=np.int64)
    header[0] = len(meta)
    for i, (shape, dtype, requires_grad) in enumerate(meta):
        if np.dtype(dtype) not in DTYPES or len(shape) > MAX_DIMS:
            raise DistributedError(f"pipeline stage {stage_index}: output {i} is {tuple(shape)} {dtype}; a stage "
                                   f"sends tensors of up to {MAX_DIMS} dims of {', '.join(map(str, DTYPES))}")
        at = 1 + i * (3 + MAX_DIMS)
        header[at: at + 3] = DTYPES.index(np.dtype(dtype)), bool(requires_grad), len(shape)
        header[at + 3: at + 3 + len(shape)] = shape
    return header


def decode_header(header):
    """The inverse of encode_header: a list of (shape, dtype, requires_grad)."""
    meta = []
    for i in range(int(header[0])):
        at = 1 + i * (3 + MAX_DIMS)
        code, requires_grad, ndim = (int(v) for v in header[at: at + 3])
        meta.append((tuple(int(d) for d in header[at + 3: at + 3 + ndim]), DTYPES[code], bool(requires_grad)))
    return meta


def tensor_meta(tensors):
    return [(tuple(t.shape), np.dtype(t.dtype), bool(t.requires_grad)) for t in tensors]


def as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class PipelineStage:
    """One stage of a pipeline: `submodule` runs as stage `stage_index` of `num_stages` (torch's names).

    device: where received tensors are made (default: the submodule's parameters' device, else cpu).
    input_args: an example micro-batch input (a Tensor or a tuple), checked against what arrives.
    output_args: an example micro-batch output, checked against what the submodule returns.
    group: None (stage i runs on rank i; the job has num_stages ranks), or the list of the ranks that
        run stages 0..num_stages-1 (several pipelines in one job: e.g. [0, 1] and [2, 3]).
    A submodule with `pipeline_tied_parameters = {name: (stage_a, stage_b)}` (see split.split_gpt) has
    that parameter's gradient summed between the two stages after each step, as one shared weight.

    Example (under `mpirun -n 2`):
        stages = pipeline_split(model, 2)
        stage = PipelineStage(stages[rank], rank, 2)
        schedule = ScheduleGPipe(stage, n_microbatches=4, loss_fn=nn.CrossEntropyLoss())
        schedule.step(x) if rank == 0 else schedule.step(target=y, losses=losses)
    """

    def __init__(self, submodule, stage_index, num_stages, device=None, input_args=None, output_args=None, *,
                 group=None):
        if not isinstance(submodule, nn.Module):
            raise ArgumentError(f"PipelineStage: submodule must be an nn.Module, got {type(submodule).__name__}")
        for name, v in (("num_stages", num_stages), ("stage_index", stage_index)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ArgumentError(f"PipelineStage: {name} must be an int, got {v!r}")
        if num_stages < 1 or not 0 <= stage_index < num_stages:
            raise ArgumentError(f"PipelineStage: stage_index {stage_index} is not in 0..{num_stages - 1} "
                                f"(num_stages {num_stages})")
        self.submod, self.stage_index, self.num_stages = submodule, int(stage_index), int(num_stages)
        self.is_first, self.is_last = self.stage_index == 0, self.stage_index == self.num_stages - 1
        self.stage_ranks = self._ranks(group)
        self.group_rank = self.stage_ranks[self.stage_index]
        self.device = device if device is not None else _module_device(submodule)
        self.input_meta = None if input_args is None else tensor_meta(as_tuple(input_args))
        self.output_meta = None if output_args is None else tensor_meta(as_tuple(output_args))
        self.tied_parameters = dict(getattr(submodule, "pipeline_tied_parameters", {}) or {})
        self.output_chunks = []
        self._begin_step(0, False)
        self._open_channels()

    def _open_channels(self):
        """Under the NCCL backend with a cuda device: open the NCCL channels to the neighbours (and tied stages) now."""
        if self.num_stages == 1 or getattr(self.device, "type", "cpu") != "cuda":
            return
        backend = self._backend()
        if hasattr(backend, "open_channels"):
            stages = {self.stage_index - 1, self.stage_index + 1}
            stages |= {s for pair in self.tied_parameters.values() if self.stage_index in pair for s in pair}
            backend.open_channels([self.stage_ranks[s] for s in sorted(stages)
                                   if 0 <= s < self.num_stages and s != self.stage_index])

    def _ranks(self, group):
        if self.num_stages == 1 and group is None:
            return [pg.get_rank() if pg.is_initialized() else 0]
        if not pg.is_initialized():
            raise DistributedError(f"PipelineStage: {self.num_stages} stages need a process group; call "
                                   f"init_process_group() under `mpirun -n {self.num_stages}`")
        rank, world = pg.get_rank(), pg.get_world_size()
        if group is None:
            if world != self.num_stages:
                raise DistributedError(f"PipelineStage: {self.num_stages} stages on {world} ranks; with group=None "
                                       f"stage i runs on rank i: launch {self.num_stages} ranks or pass group=[ranks]")
            ranks = list(range(world))
        else:
            ranks = [int(r) for r in getattr(group, "ranks", group)]
            if len(ranks) != self.num_stages or len(set(ranks)) != len(ranks) or not all(0 <= r < world for r in ranks):
                raise DistributedError(f"PipelineStage: group {ranks} must list {self.num_stages} distinct ranks "
                                       f"in 0..{world - 1}, one per stage")
        if ranks[self.stage_index] != rank:
            raise DistributedError(f"PipelineStage: stage {self.stage_index} runs on rank {ranks[self.stage_index]} "
                                   f"(stage ranks {ranks}), but this is rank {rank}")
        return ranks

    # --- one step's state ------------------------------------------------------------------------------
    def _begin_step(self, n_microbatches, has_backward):
        self.n_microbatches, self.has_backward = n_microbatches, has_backward
        self._inputs, self._outputs = {}, {}
        self._fwd_recv, self._bwd_recv = {}, {}
        self._fwd_posted = 0  # micro-batches whose activation receives are posted
        self._sends = []
        self._in_meta = None if not self.is_first else []
        self._out_meta = None
        self.output_chunks = []
        self.busy_s = self.busy_cpu_s = 0.0
        self.peak_in_flight = 0
        self._tied_before = {}  # the tied gradients before this step (gradient accumulation over steps)
        if has_backward and self.tied_parameters:
            self._tied_before = {name: None if p.grad is None else p.grad._data.copy()
                                 for name, p, _, _ in self._tied()}

    @contextmanager
    def _busy(self):
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.busy_s += time.perf_counter() - start
            self.busy_cpu_s += time.thread_time() - cpu  # less than busy_s when the rank lost its core

    def _backend(self):
        return pg._require(f"pipeline stage {self.stage_index}")

    def _what(self, work, text):
        work.label = f"pipeline stage {self.stage_index} of {self.num_stages}: {text}"
        return work

    # --- forward ---------------------------------------------------------------------------------------
    def post_forward_recvs(self, upto):
        """Post the receives of the activations of micro-batches up to `upto` (exclusive), shapes permitting."""
        if self.is_first:
            return
        backend = self._backend()
        if self._in_meta is None:
            header = np.zeros(HEADER_LEN, dtype=np.int64)
            work = backend.recv(header, self.stage_ranks[self.stage_index - 1], TAG_HEADER)
            self._what(work, "the shapes of the inputs from the previous stage").wait()
            self._in_meta = decode_header(header)
            self._check_meta(self.input_meta, self._in_meta, "input_args", "receives")
        xp = self.device.backend.xp
        for i in range(self._fwd_posted, min(upto, self.n_microbatches)):
            arrays, works = [], []
            for t, (shape, dtype, _) in enumerate(self._in_meta):
                array = xp.empty(shape, dtype=dtype)
                work = backend.recv(array, self.stage_ranks[self.stage_index - 1], message_tag(0, i, t))
                arrays.append(array)
                works.append(self._what(work, f"activation {t} of micro-batch {i}"))
            self._fwd_recv[i] = (arrays, works)
            self._fwd_posted = i + 1

    def _check_meta(self, declared, actual, name, verb):
        if declared is not None and [m[:2] for m in declared] != [m[:2] for m in actual]:
            raise ShapeError(f"pipeline stage {self.stage_index}: {name} declares {describe(declared)} per "
                             f"micro-batch, but the stage {verb} {describe(actual)}")

    def _forward_inputs(self, microbatch, args):
        from ...tensor import _make

        if self.is_first:
            if microbatch == 0 and self.input_meta is not None:
                self._check_meta(self.input_meta, tensor_meta(as_tuple(args)), "input_args", "is given")
            return as_tuple(args)
        self.post_forward_recvs(microbatch + 1)
        arrays, works = self._fwd_recv.pop(microbatch)
        for w in works:
            w.wait()
        return tuple(_make(a, self.device, rg and self.has_backward, None)
                     for a, (_, _, rg) in zip(arrays, self._in_meta))

    def forward_one_chunk(self, microbatch, args=()):
        """Run the submodule on micro-batch `microbatch` (received, or `args` on the first stage); send it on."""
        from ...grad_mode import no_grad

        inputs = self._forward_inputs(microbatch, args)
        with self._busy():
            if self.has_backward:
                output = self.submod(*inputs)
            else:
                with no_grad():
                    output = self.submod(*inputs)
        outputs = as_tuple(output)
        self._check_outputs(microbatch, outputs)
        self._inputs[microbatch] = inputs
        self._outputs[microbatch] = outputs
        self.peak_in_flight = max(self.peak_in_flight, len(self._outputs))  # micro-batches held for backward
        if self.is_last:
            self.output_chunks.append(output)
        else:
            self._send_activations(microbatch, outputs)
        return output

    def _check_outputs(self, microbatch, outputs):
        from ...tensor import Tensor

        for t, out in enumerate(outputs):
            if not isinstance(out, Tensor):
                raise DistributedError(f"pipeline stage {self.stage_index}: output {t} of micro-batch {microbatch} "
                                       f"is {type(out).__name__}; a stage returns a Tensor or a tuple of Tensors")
        meta = tensor_meta(outputs)
        if self._out_meta is None:
            self._check_meta(self.output_meta, meta, "output_args", "returns")
            self._out_meta = meta
        elif [m[:2] for m in meta] != [m[:2] for m in self._out_meta]:
            raise ShapeError(f"pipeline stage {self.stage_index}: micro-batch {microbatch} gives {describe(meta)}, "
                             f"micro-batch 0 gave {describe(self._out_meta)}")

    def _send_activations(self, microbatch, outputs):
        backend = self._backend()
        dst = self.stage_ranks[self.stage_index + 1]
        if microbatch == 0:
            header = encode_header(self._out_meta, self.stage_index)
            self._sends.append(self._what(backend.send(header, dst, TAG_HEADER), "the shapes of the outputs"))
        for t, out in enumerate(outputs):
            data = out.detach()._data
            work = backend.send(data, dst, message_tag(0, microbatch, t))
            self._sends.append(self._what(work, f"activation {t} of micro-batch {microbatch}"))
        if self.has_backward:  # post the receive of these outputs' gradients now: its shape is known
            xp = self.device.backend.xp
            arrays, works = [], []
            for t, out in enumerate(outputs):
                if out.requires_grad:
                    array = xp.empty(out.shape, dtype=out.dtype)
                    work = backend.recv(array, dst, message_tag(1, microbatch, t))
                    arrays.append((t, array))
                    works.append(self._what(work, f"gradient {t} of micro-batch {microbatch}"))
            self._bwd_recv[microbatch] = (arrays, works)

    # --- backward --------------------------------------------------------------------------------------
    def backward_one_chunk(self, microbatch, loss=None):
        """Backward through micro-batch `microbatch`: from `loss` (last stage) or the received output gradients."""
        from ...engine import backward
        from ...tensor import _make

        outputs = self._outputs.pop(microbatch)
        inputs = self._inputs.pop(microbatch)
        if self.is_last:
            roots, grads = [loss], None
        else:
            arrays, works = self._bwd_recv.pop(microbatch)
            for w in works:
                w.wait()
            roots = [outputs[t] for t, _ in arrays]
            grads = [_make(a, self.device, False, None) for _, a in arrays]
        with self._busy():
            if roots:
                backward(roots, grads)
        if not self.is_first:
            self._send_input_grads(microbatch, inputs)

    def _send_input_grads(self, microbatch, inputs):
        backend = self._backend()
        src = self.stage_ranks[self.stage_index - 1]
        xp = self.device.backend.xp
        for t, (x, (_, _, rg)) in enumerate(zip(inputs, self._in_meta)):
            if not rg:
                continue
            grad = x.grad._data if x.grad is not None else xp.zeros(x.shape, dtype=x.dtype)  # an unused input
            work = backend.send(grad, src, message_tag(1, microbatch, t))
            self._sends.append(self._what(work, f"input gradient {t} of micro-batch {microbatch}"))

    # --- the end of a step -----------------------------------------------------------------------------
    def finish_step(self, grad_scale_factor):
        """Wait for the sends; divide the gradients by grad_scale_factor; sum the tied parameters' gradients."""
        for w in self._sends:
            w.wait()
        self._sends = []
        if not self.has_backward:
            return
        if grad_scale_factor != 1:
            for p in self.submod.parameters():
                if p.grad is not None:
                    p.grad._data /= grad_scale_factor
        self._sum_tied_gradients(grad_scale_factor)

    def _tied(self):
        """[(name, parameter, the other stage's rank, this stage is the lower of the two)] for this stage."""
        params = dict(self.submod.named_parameters())
        found = []
        for name in sorted(self.tied_parameters):
            stages = tuple(self.tied_parameters[name])
            if self.stage_index not in stages or len(set(stages)) == 1:
                continue
            if name not in params:
                raise DistributedError(f"pipeline stage {self.stage_index}: tied parameter {name!r} is not a "
                                       f"parameter of this stage's submodule")
            other = stages[0] if stages[1] == self.stage_index else stages[1]
            found.append((name, params[name], self.stage_ranks[other], self.stage_index < other))
        return found

    def _sum_tied_gradients(self, grad_scale_factor):
        """Each tied copy's gradient becomes the sum of this step's gradients of both copies (plus what it held)."""
        backend = self._backend() if self.tied_parameters else None
        for name, p, peer, lower in self._tied():
            if p.grad is None:
                p.grad = _zeros_like(p)
            before = self._tied_before.get(name)
            base = None if before is None else before / grad_scale_factor  # what it held, scaled as torch does
            mine = p.grad._data if base is None else p.grad._data - base
            theirs = self.device.backend.xp.empty_like(mine)
            what = f"the gradient of tied parameter {name!r}"
            recv = self._what(backend.recv(theirs, peer, TAG_TIED), what)
            send = self._what(backend.send(mine, peer, TAG_TIED), what)
            recv.wait()
            send.wait()
            # NOTE: the same expression in the same order on both stages, so the copies stay bitwise equal.
            total = mine + theirs if lower else theirs + mine
            p.grad._data[...] = total if base is None else base + total


def _zeros_like(p):
    from ...tensor import _make

    return _make(p.device.backend.xp.zeros(p.shape, dtype=p.dtype), p.device, False, None)


def _module_device(module):
    from ...device import device as make_device

    for p in module.parameters():
        return p.device
    return make_device("cpu")
