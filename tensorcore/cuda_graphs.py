"""CUDA graphs with PyTorch's names: tc.cuda.CUDAGraph, tc.cuda.graph, tc.cuda.make_graphed_callables,
tc.cuda.graph_pool_handle, tc.cuda.is_current_stream_capturing.

On a GPU, capture is CuPy's stream capture (``cupy.cuda.Stream.begin_capture`` / ``end_capture``):
every kernel queued on the capturing stream, CuPy's and ours (kernels/ launch on CuPy's current
stream), is recorded instead of run, and ``replay()`` launches the whole recording with one host
call (``cupy.cuda.Graph.launch``). Memory allocated during capture comes from the graph's private
pool (a ``cupy.cuda.MemoryPool``, PyTorch's "graph pool"), which the graph keeps, so every replay
reads and writes the same buffers. The pool may grow during capture: its ``cudaMalloc`` runs with
the thread's capture mode relaxed (``cuThreadExchangeStreamCaptureMode``), the exemption PyTorch's
allocator takes, so ``capture_error_mode`` means what it means in PyTorch for everything else.

A whole training step (forward, backward, optimizer) is captured into static tensors::

    for _ in range(3):                      # warm up: JIT compiles, optimizer state, gradients
        step()
    g = tc.cuda.CUDAGraph()
    with tc.cuda.graph(g):
        step()                              # recorded, not run
    for x, y in batches:
        static_x.copy_(x); static_y.copy_(y)
        g.replay()                          # the step on the new data; the loss lands in static_loss

What capture freezes, as in PyTorch: shapes, buffer addresses, and every value Python computed on
the host (the learning rate, Adam's step count and bias corrections, random seeds). Replay re-runs
the kernels, not the Python. No host transfer may happen inside capture (``.item()``, printing a
tensor, ``tc.tensor(numpy_array, device="cuda")``): CUDA refuses, and the capture is abandoned.

Simulated device (``TENSORCORE_CUDA_SIM=1``): NumPy runs eagerly and there is no stream to record,
so ``CUDAGraph.capture_begin`` (and ``tc.cuda.graph``) raise DeviceError saying so. There
``make_graphed_callables`` records each callable's forward and backward as a *Python replay*: the
very closures a GPU captures are called again on the same static buffers, and their results are
copied into the buffers of the first run. Its static-buffer and autograd plumbing is thus tested
without a GPU; only the recording itself needs one.
"""

from __future__ import annotations

import contextlib
import gc

from .errors import ArgumentError, DeviceError

_CAPTURE_MODES = ("default", "global", "thread_local", "relaxed")


def _backend():
    from .backends import cuda

    return cuda


def _require_gpu(what):
    be = _backend()
    if be.simulated:
        raise DeviceError(
            f"{what}: the simulated cuda device runs NumPy eagerly and has no stream to record a CUDA graph "
            "on; capture needs a GPU (make_graphed_callables works in the simulator through a Python replay)"
        )
    reason = be.unavailable_reason()
    if reason is not None:
        raise DeviceError(f"{what}: cuda is not available: {reason}")
    return be.xp


class _GraphPool:
    """A private memory pool for captures (what graph_pool_handle returns; graphs may share one)."""

    def __init__(self):
        import cupy

        self.pool = cupy.cuda.MemoryPool()

    def malloc(self, nbytes):
        """The pool's allocation, with the thread's capture mode relaxed around a possible cudaMalloc."""
        try:
            from cuda.bindings import driver
        except ImportError:  # no cuda-python: the capture must be 'relaxed' to let the pool grow
            return self.pool.malloc(nbytes)
        relaxed = driver.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED
        _, previous = driver.cuThreadExchangeStreamCaptureMode(relaxed)
        try:
            return self.pool.malloc(nbytes)
        finally:
            driver.cuThreadExchangeStreamCaptureMode(previous)


def graph_pool_handle():
    """A memory pool to share between captures: ``tc.cuda.graph(g2, pool=g1.pool())``."""
    _require_gpu("graph_pool_handle")
    return _GraphPool()


def is_current_stream_capturing():
    """True while the current CUDA stream is being captured (always False on the simulated device)."""
    be = _backend()
    if be.simulated or be.unavailable_reason() is not None:
        return False
    return bool(be.xp.cuda.get_current_stream().is_capturing())


class CUDAGraph:
    """A recorded sequence of GPU work, replayed with one launch (like torch.cuda.CUDAGraph).

    ``capture_begin``/``capture_end`` bracket the work on the current (non-default) stream;
    ``tc.cuda.graph(g)`` does that on a side stream and is the usual way in.
    """

    def __init__(self):
        self._graph = None
        self._pool = None
        self._stream = None
        self._allocator = None

    def capture_begin(self, pool=None, capture_error_mode="global"):
        """Start recording the work queued on the current stream (which must not be the default stream)."""
        xp = _require_gpu("CUDAGraph.capture_begin")
        if capture_error_mode not in _CAPTURE_MODES:
            raise ArgumentError(f"CUDAGraph.capture_begin: capture_error_mode must be one of {_CAPTURE_MODES}, "
                                f"got {capture_error_mode!r}")
        if self._graph is not None or self._stream is not None:
            raise ArgumentError("CUDAGraph.capture_begin: this graph already holds a capture; call reset() first")
        stream = xp.cuda.get_current_stream()
        if stream.ptr in (0, 1):
            raise DeviceError("CUDAGraph.capture_begin: CUDA cannot capture the default stream; use "
                              "`with tc.cuda.graph(g):`, which captures on a side stream")
        mode = {"default": 0, "global": 0, "thread_local": 1, "relaxed": 2}  # CUDA's cudaStreamCaptureMode values
        self._pool = pool if pool is not None else _GraphPool()
        self._allocator = xp.cuda.using_allocator(self._pool.malloc)
        self._allocator.__enter__()
        try:
            stream.begin_capture(mode[capture_error_mode])
        except BaseException:
            self._allocator.__exit__(None, None, None)
            self._allocator = None
            raise
        self._stream = stream

    def capture_end(self):
        """Stop recording; the graph is ready to replay."""
        if self._stream is None:
            raise ArgumentError("CUDAGraph.capture_end: no capture in progress (call capture_begin first)")
        stream, self._stream = self._stream, None
        try:
            self._graph = stream.end_capture()
        finally:
            self._allocator.__exit__(None, None, None)
            self._allocator = None

    def replay(self):
        """Launch the recorded work on the current stream."""
        if self._graph is None:
            raise ArgumentError("CUDAGraph.replay: nothing captured yet")
        self._graph.launch(stream=_backend().xp.cuda.get_current_stream())

    def reset(self):
        """Drop the recording (the private pool goes with it unless another graph shares it)."""
        self._graph = None
        self._pool = None

    def pool(self):
        """This graph's memory pool, to share with a later capture (``graph(g2, pool=g.pool())``)."""
        return self._pool


_side_streams: dict = {}


def _side_stream(xp):
    dev = xp.cuda.Device().id
    s = _side_streams.get(dev)
    if s is None:
        s = _side_streams[dev] = xp.cuda.Stream(non_blocking=True)
    return s


@contextlib.contextmanager
def graph(cuda_graph, pool=None, stream=None, capture_error_mode="global"):
    """Record the block's GPU work into ``cuda_graph`` (like torch.cuda.graph): the device is
    synchronized, the block runs on a side stream (or ``stream``) under capture, and its memory comes
    from the graph's pool (or ``pool``). Example: ``with tc.cuda.graph(g): loss = step()``."""
    xp = _require_gpu("graph")
    xp.cuda.Device().synchronize()
    gc.collect()
    side = stream if stream is not None else _side_stream(xp)
    with side:
        cuda_graph.capture_begin(pool=pool, capture_error_mode=capture_error_mode)
        try:
            yield cuda_graph
        except BaseException:  # the capture is abandoned; the block's own error is the one to see
            with contextlib.suppress(Exception):
                cuda_graph.capture_end()
            cuda_graph.reset()
            raise
        cuda_graph.capture_end()


# ------------------------------------------------------------------------------ make_graphed_callables


class _Recording:
    """A closure returning a tuple of Tensors (or None), recorded once; ``replay()`` refreshes the
    arrays of the first run's results (the static buffers): a CUDA graph on a GPU, a Python replay
    (the closure called again, its results copied in) on the simulated device."""

    def __init__(self, closure, pool):
        self.closure = closure
        if _backend().simulated:
            self.graph = None
            self.static = closure()
        else:
            self.graph = CUDAGraph()
            with graph(self.graph, pool=pool):
                self.static = closure()

    def replay(self):
        if self.graph is not None:
            self.graph.replay()
            return
        for s, new in zip(self.static, self.closure()):
            if s is not None:
                s._data[...] = new._data


def make_graphed_callables(callables, sample_args, num_warmup_iters=3, allow_unused_input=False, pool=None):
    """Graphed versions of ``callables`` (functions or Modules, each returning one Tensor), like
    torch.cuda.make_graphed_callables: each one's forward and backward are recorded once on its
    ``sample_args`` (which become its static inputs) after ``num_warmup_iters`` warm-up runs, and a
    call copies its arguments into the static inputs and replays. A Module is returned with its
    ``forward`` replaced. Example: ``model = tc.cuda.make_graphed_callables(model, (x,))``."""
    single = not isinstance(callables, tuple)
    if single:
        callables, sample_args = (callables,), (sample_args,)
    if len(callables) != len(sample_args):
        raise ArgumentError(f"make_graphed_callables: {len(callables)} callables but {len(sample_args)} "
                            "tuples of sample arguments")
    shared = pool if pool is not None or _backend().simulated else graph_pool_handle()
    out = tuple(_graphed(fn, tuple(args), num_warmup_iters, allow_unused_input, shared)
                for fn, args in zip(callables, sample_args))
    return out[0] if single else out


def _graphed(fn, static_inputs, warmups, allow_unused, pool):
    from . import autograd, engine, grad_mode
    from .nn import Module
    from .tensor import Tensor, _make

    if not all(isinstance(t, Tensor) and t.device.type == "cuda" for t in static_inputs):
        got = [str(t.device) if isinstance(t, Tensor) else type(t).__name__ for t in static_inputs]
        raise ArgumentError(f"make_graphed_callables: sample_args must be cuda Tensors, got {got}")
    module = fn if isinstance(fn, Module) else None
    params = tuple(p for p in module.parameters() if p.requires_grad) if module is not None else ()
    call = module.forward if module is not None else fn
    diff = tuple(t for t in static_inputs + params if t.requires_grad)
    state = {}

    def forward_closure():
        with grad_mode.enable_grad():
            y = call(*static_inputs)
        if not isinstance(y, Tensor):
            raise ArgumentError(f"make_graphed_callables: the callable must return one Tensor, got {type(y).__name__}")
        state["out"] = y
        return (y,)

    def backward_closure():
        grads = engine.grad(state["out"], diff, grad_outputs=static_grad_out, retain_graph=True,
                            allow_unused=allow_unused)
        return tuple(grads)

    side = None if _backend().simulated else _side_stream(_backend().xp)
    with side if side is not None else contextlib.nullcontext():
        for _ in range(warmups):
            (y,) = forward_closure()
            if y.requires_grad and diff:
                engine.grad(y, diff, grad_outputs=y.detach() * 0 + 1, allow_unused=allow_unused)
    if side is not None:
        side.synchronize()
    fwd = _Recording(forward_closure, pool)
    static_out = fwd.static[0]
    static_grad_out = _make(static_out._data.copy(), static_out.device, False, None)
    bwd = _Recording(backward_closure, pool) if static_out.requires_grad and diff else None
    slots = [t.requires_grad for t in static_inputs + params]

    class Graphed(autograd.Function):
        once_differentiable = True

        @staticmethod
        def forward(ctx, *arrays):
            for t, a in zip(static_inputs, arrays):
                if a is not t._data:
                    t._data[...] = a
            fwd.replay()
            return static_out._data

        @staticmethod
        def backward_arrays(ctx, g):
            static_grad_out._data[...] = g
            bwd.replay()
            grads, out = iter(bwd.static), []
            for need in slots:  # bwd.static holds the gradients of the inputs that need one, in order
                s = next(grads) if need else None
                out.append(None if s is None else s._data.copy())  # a copy: the next replay overwrites it
            return tuple(out)

        @staticmethod
        def backward(ctx, g):
            return tuple(None if a is None else _make(a, g.device, False, None)
                         for a in Graphed.backward_arrays(ctx, g._data))

    def graphed(*args):
        if len(args) != len(static_inputs):
            raise ArgumentError(f"graphed callable: expected {len(static_inputs)} arguments (as sample_args), "
                                f"got {len(args)}")
        for t, a in zip(static_inputs, args):
            if not isinstance(a, Tensor) or tuple(a.shape) != tuple(t.shape) or a.dtype != t.dtype:
                raise ArgumentError(f"graphed callable: arguments must match sample_args: {tuple(t.shape)} "
                                    f"{t.dtype}, got {getattr(a, 'shape', type(a).__name__)}")
        if bwd is not None and grad_mode.is_grad_enabled() and any(t.requires_grad for t in args + params):
            return Graphed.apply(*args, *params)
        for t, a in zip(static_inputs, args):
            if a._data is not t._data:
                t._data[...] = a._data
        fwd.replay()
        return _make(static_out._data, static_out.device, False, None)

    if module is not None:
        module.forward = graphed
        return module
    return graphed


__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing", "make_graphed_callables"]
