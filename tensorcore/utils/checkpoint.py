"""Activation checkpointing (torch.utils.checkpoint): keep a segment's inputs, recompute its insides in backward.

`checkpoint(fn, *args, use_reentrant=False)` returns fn(*args) but keeps none of the activations fn's
ops would save for backward; backward runs fn again (with the RNG state of the forward restored, so
dropout draws the same masks, and the same autocast state) and backpropagates through the recomputed
graph. Memory falls from every activation of the segment to its inputs, for one extra forward.

Two variants, as in PyTorch:
- use_reentrant=False (recommended): forward records the segment's graph only long enough to find the
  tensors it reads that require grad (the parameters, closed-over tensors), then drops it; one node per
  output stands in for the segment, with edges to the inputs and to those tensors. So `tc.autograd.grad`
  works, gradients reach closed-over leaves, and `create_graph=True` (double backward) works.
- use_reentrant=True (PyTorch's default when use_reentrant is not given, with a warning): forward runs
  under no_grad; backward recomputes and runs a nested `backward()` that accumulates the parameters'
  `.grad` directly. As in PyTorch it refuses `tc.autograd.grad` and at least one input must require grad.
"""

import warnings

from ..autograd import Function
from ..errors import ArgumentError, GradientError
from ..grad_mode import enable_grad, modes, no_grad
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default", debug=False,
               early_stop=True, preserve_rng_state=True, **kwargs):
    """function(*args, **kwargs), with its activations recomputed in backward instead of kept.

    Example:
        h = checkpoint(block, x, use_reentrant=False)   # same value and gradients as block(x)
    """
    if use_reentrant is None:
        warnings.warn("tensorcore.utils.checkpoint: the use_reentrant parameter should be passed explicitly; "
                      "use_reentrant=False is recommended (it defaults to True, as in PyTorch)", stacklevel=2)
        use_reentrant = True
    if context_fn is not None or debug:
        raise ArgumentError("checkpoint: context_fn= and debug=True are not supported")
    if determinism_check not in ("default", "none"):
        raise ArgumentError(f"checkpoint: determinism_check must be 'default' or 'none', got {determinism_check!r}")
    if not callable(function):
        raise ArgumentError(f"checkpoint: function must be callable, got {type(function).__name__}")
    if use_reentrant:
        if kwargs:
            raise ArgumentError("checkpoint: unexpected keyword arguments with use_reentrant=True: " + ",".join(kwargs))
        return _reentrant(function, args, bool(preserve_rng_state))
    return _non_reentrant(function, args, kwargs, bool(preserve_rng_state))


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run `functions` (an nn.Sequential or a list of modules) in `segments` chunks, checkpointing all but the
    last: y = f_n(...f_1(input)); each chunk keeps only its input."""
    if use_reentrant is None:
        warnings.warn("tensorcore.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
                      "passed explicitly; use_reentrant=False is recommended (it defaults to True, as in "
                      "PyTorch)", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ArgumentError("checkpoint_sequential: unexpected keyword arguments: " + ",".join(kwargs))
    from ..nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)
    if not isinstance(segments, int) or isinstance(segments, bool) or not 1 <= segments <= max(1, len(functions)):
        raise ArgumentError(f"checkpoint_sequential: segments must be an int in [1, {len(functions)}] (the number "
                            f"of functions), got {segments!r}")

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)


# --- what both variants share: the forward's RNG and autocast state, replayed -------------------------

class _Replay:
    """The RNG state (and autocast state) of the forward, restored around the recomputation."""

    def __init__(self, preserve_rng_state):
        from .. import amp

        self.rng = get_rng_state() if preserve_rng_state else None
        self.autocast = amp.autocast_state()

    def run(self, function, args, kwargs):
        from .. import amp

        now = get_rng_state() if self.rng is not None else None
        if self.rng is not None:
            set_rng_state(self.rng)
        try:
            with enable_grad(), amp.restored_autocast_state(self.autocast):
                return function(*args, **kwargs)
        finally:
            if now is not None:
                set_rng_state(now)


def _detached(args):
    """Each Tensor argument as a new leaf (requiring grad where the argument does; one leaf for a Tensor passed
    twice); the rest unchanged."""
    memo = {}
    for a in args:
        if isinstance(a, Tensor) and id(a) not in memo:
            memo[id(a)] = a.detach().requires_grad_(a.requires_grad)
    return tuple(memo[id(a)] if isinstance(a, Tensor) else a for a in args)


def _outputs(out, op):
    if isinstance(out, Tensor):
        return (out,), True
    if isinstance(out, (tuple, list)):
        return tuple(out), False
    raise ArgumentError(f"{op}: the checkpointed function must return a Tensor or a tuple, got {type(out).__name__}")


# --- use_reentrant=False ---------------------------------------------------------------------------------

class _Segment:
    """One checkpointed call: how to rerun it, the leaves it reads, and the recomputed graph while in use."""

    def __init__(self, function, args, kwargs, replay, n_outputs):
        self.function, self.args, self.kwargs, self.replay = function, args, kwargs, replay
        self.pending = n_outputs  # outputs whose backward has not run yet
        self.recomputed = None

    def grads(self, index, g, targets):
        """d(output index)/d(targets) through the recomputed graph, g as the output's gradient."""
        create_graph = modes.grad_enabled  # the engine turns grad mode on only under create_graph
        if self.recomputed is None or self.recomputed[2] != create_graph:
            # NOTE: under create_graph the recomputation reads the original inputs, so the gradient stays
            # connected to their history (double backward); the nested grad then walks that history too.
            inputs = self.args if create_graph else _detached(self.args)
            outs, _ = _outputs(self.replay.run(self.function, inputs, self.kwargs), "checkpoint")
            self.recomputed = (outs, inputs, create_graph)
        outs, inputs, _ = self.recomputed
        # The detached inputs stand for the segment's Tensor arguments; the other targets are read directly.
        swap = {id(a): d for a, d in zip(self.args, inputs) if isinstance(a, Tensor)}
        wanted = [swap.get(id(t), t) for t in targets]
        self.pending -= 1
        out = outs[index]
        if not out.requires_grad:
            grads = (None,) * len(wanted)
        else:
            from ..engine import grad

            grads = grad(out, wanted, g, retain_graph=True, create_graph=create_graph, allow_unused=True)
        if self.pending == 0:
            self.recomputed = None  # the recomputed activations go now
        return grads


class _CheckpointOutput(Function):
    """Stands in the graph for one output of a checkpointed segment; backward recomputes the segment."""

    op_name = "checkpoint"

    @staticmethod
    def forward(ctx, *arrays, segment, index, value, targets):
        ctx.segment, ctx.index, ctx.targets = segment, index, targets
        return value

    @staticmethod
    def backward(ctx, g):
        grads = ctx.segment.grads(ctx.index, g, ctx.targets)
        return tuple(grads)


def _non_reentrant(function, args, kwargs, preserve):
    if not modes.grad_enabled:
        return function(*args, **kwargs)
    replay = _Replay(preserve)
    inputs = _detached(args)
    with enable_grad():
        outs, single = _outputs(function(*inputs, **kwargs), "checkpoint")
    mine = {id(t) for t in inputs if isinstance(t, Tensor)}
    read = _leaves_read(outs, mine)
    targets = list({id(a): a for a in args if isinstance(a, Tensor) and a.requires_grad}.values()) + read
    if not targets:
        return outs[0] if single else outs
    segment = _Segment(function, args, kwargs, replay, sum(isinstance(o, Tensor) and o.requires_grad for o in outs))
    results = []
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            results.append(o)
            continue
        if not o.requires_grad:
            results.append(o)
            continue
        results.append(_CheckpointOutput.apply(*targets, segment=segment, index=i, value=o._data, targets=targets))
    # outs (and with them the recorded graph and its saved activations) are dropped on return
    return results[0] if single else tuple(results)


def _leaves_read(outs, inputs):
    """The leaf tensors requiring grad that the outputs' graphs reach, other than the segment's own inputs.

    # NOTE: the walk stops at the segment's inputs (new leaves), so it visits only the segment's nodes,
    # unless the function closes over a non-leaf tensor: then it walks that tensor's history as well
    # (correct, gradients reach those leaves through the recomputation, but slower)."""
    seen, found, stack = set(), {}, [o._node for o in outs if isinstance(o, Tensor) and o._node is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for nxt in node.next:
            if nxt is None:
                continue
            if isinstance(nxt, Tensor):
                if id(nxt) not in inputs:
                    found.setdefault(id(nxt), nxt)
            else:
                stack.append(nxt)
    for o in outs:  # an output that is itself a leaf parameter (the identity on a parameter)
        if isinstance(o, Tensor) and o._node is None and o.requires_grad and id(o) not in inputs:
            found.setdefault(id(o), o)
    return list(found.values())


# --- use_reentrant=True ----------------------------------------------------------------------------------

class _ReentrantCheckpoint(Function):
    """PyTorch's CheckpointFunction: forward under no_grad, backward recomputes and backpropagates inside."""

    op_name = "checkpoint"

    @staticmethod
    def forward(ctx, *arrays, run):
        ctx.run = run
        return run.value

    @staticmethod
    def backward(ctx, g):
        if _inside_grad_call():
            raise GradientError("checkpoint: use_reentrant=True is not compatible with tc.autograd.grad; "
                                "use use_reentrant=False")
        run = ctx.run
        inputs = _detached(run.args)
        outs, _ = _outputs(run.replay.run(run.function, inputs, {}), "checkpoint")
        out = next(o for o in outs if isinstance(o, Tensor))
        if out.requires_grad:
            from ..engine import backward

            backward(out, g)
        return tuple(d.grad for d in inputs if isinstance(d, Tensor))


class _ReentrantRun:
    def __init__(self, function, args, replay, value):
        self.function, self.args, self.replay, self.value = function, args, replay, value


def _reentrant(function, args, preserve):
    replay = _Replay(preserve)
    with no_grad():
        out = function(*args)
    outs, single = _outputs(out, "checkpoint")
    if len([o for o in outs if isinstance(o, Tensor)]) != 1:
        raise ArgumentError("checkpoint: use_reentrant=True supports one Tensor output here; "
                            "use use_reentrant=False for several")
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not tensors:
        raise ArgumentError("checkpoint: use_reentrant=True needs at least one Tensor argument")
    if not any(t.requires_grad for t in tensors) and modes.grad_enabled:
        warnings.warn("checkpoint: none of the inputs have requires_grad=True; gradients will be None",
                      stacklevel=3)
    o = next(o for o in outs if isinstance(o, Tensor))
    r = _ReentrantCheckpoint.apply(*tensors, run=_ReentrantRun(function, args, replay, o._data))
    return r if single else tuple(r if x is o else x for x in outs)


def _inside_grad_call():
    """True when the running backward pass is a tc.autograd.grad (the engine's _run was given inputs=)."""
    return modes.in_grad_call
