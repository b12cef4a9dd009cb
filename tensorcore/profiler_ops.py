"""The profiler's op events: while a profile collects, every public op is swapped for a timing wrapper.

Zero cost outside a profile: nothing here runs on an op call unless a profile is collecting. When the first
profile starts collecting (profiler._sessions becomes non-empty), `activate()` finds every attribute that IS
one of the ops (the functions of registry.OPS, the few public functions wrapping one through `__wrapped__`,
as out_arg's `out=`, and the explicit EXTRA_* names below: Tensor.to/float/clone, the in-place methods,
the operator dunders that hold their op in a closure, the creation functions) in every tensorcore module and
on Tensor, and sets it to the op's wrapper; `deactivate()`, when the last one stops, puts the very same
original objects back (only where the wrapper still stands).

An event is one user-visible call: an op called inside an op (F.linear's matmul, an op's Tensor methods) is
not timed on its own, so each call counts once and nested ops add no events. Events are named as PyTorch
names them ("aten::add", "aten::linear", "aten::cross_entropy_loss", "aten::select" for x[0], ...), carry
their inputs' shapes (a Tensor's shape, [] for anything else, PyTorch's convention) under record_shapes, and
nest under the enclosing record_function region of their thread. As in PyTorch, a profile records the ops
of the thread that started it: ops on other threads run unrecorded unless their own thread has a profile.
"""

import functools
import sys
import threading
import time

from .profiler_events import FunctionEvent

_lock = threading.Lock()
_local = threading.local()  # .busy: this thread is inside a timed op (nested ops are not timed)
_swapped = []  # (owner, attribute, original, wrapper) while active
_wrappers = {}  # id(original) -> (original, wrapper): one wrapper per function, reused

# registry names whose PyTorch event is named otherwise
_ATEN = {"cross_entropy": "aten::cross_entropy_loss", "nll_loss": "aten::nll_loss_nd", "functional_pad": "aten::pad",
         "Tensor.unfold": "aten::unfold", "unfold": "aten::im2col", "fold": "aten::col2im", "cond": "aten::linalg_cond"}

_TO = ("to", "float", "double", "half", "bfloat16", "long", "int", "short", "char", "byte", "bool", "cpu", "cuda",
       "type_as")
EXTRA_TENSOR = dict(
    {name: "aten::to" for name in _TO},
    clone="aten::clone", detach="aten::detach", zero_="aten::zero_", fill_="aten::fill_", copy_="aten::copy_",
    normal_="aten::normal_", uniform_="aten::uniform_", bernoulli_="aten::bernoulli_", item="aten::item",
    __radd__="aten::add", __rsub__="aten::rsub", __rmul__="aten::mul", __rtruediv__="aten::div",
    __rdiv__="aten::div", __rpow__="aten::pow", __rmatmul__="aten::matmul", __abs__="aten::abs",
    __mod__="aten::remainder", __rmod__="aten::remainder", __floordiv__="aten::floor_divide",
    __rfloordiv__="aten::floor_divide", __iadd__="aten::add_", __isub__="aten::sub_", __imul__="aten::mul_",
    __itruediv__="aten::div_", __idiv__="aten::div_", __ipow__="aten::pow_", __imod__="aten::remainder_",
    __ifloordiv__="aten::floor_divide_", __rand__="aten::bitwise_and", __ror__="aten::bitwise_or",
    __rxor__="aten::bitwise_xor", __rlshift__="aten::bitwise_left_shift",
    __rrshift__="aten::bitwise_right_shift", __iand__="aten::bitwise_and_", __ior__="aten::bitwise_or_",
    __ixor__="aten::bitwise_xor_", __ilshift__="aten::bitwise_left_shift_",
    __irshift__="aten::bitwise_right_shift_")
EXTRA_TOP = ("zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange", "linspace",
             "logspace", "eye", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like",
             "randint_like", "clone")


def aten_name(registered):
    """The event name of the op registered as `registered` (a str; getitem's depends on the index)."""
    if registered in _ATEN:
        return _ATEN[registered]
    for prefix in ("linalg.", "special."):
        if registered.startswith(prefix):
            return "aten::" + prefix[:-1] + "_" + registered[len(prefix):]
    return "aten::" + registered


def _index_name(index, default):
    from .tensor import Tensor

    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(p, (Tensor, list)) or hasattr(p, "__array__") for p in parts):
        return default
    if all(isinstance(p, int) for p in parts):
        return "aten::select"
    return "aten::slice"


def _getitem_name(args, kwargs):
    return _index_name(args[1], "aten::index") if len(args) > 1 else "aten::index"


def _setitem_name(args, kwargs):
    if len(args) > 2:
        name = _index_name(args[1], "aten::index_put_")
        if name == "aten::index_put_":
            return name
        return "aten::fill_" if isinstance(args[2], (int, float, complex, bool)) else "aten::copy_"
    return "aten::copy_"


_DYNAMIC = {"getitem": _getitem_name}


def _shapes(args, kwargs):
    tensor = sys.modules["tensorcore.tensor"].Tensor
    return [list(a.shape) if isinstance(a, tensor) else [] for a in (*args, *kwargs.values())]


def _emit(sessions, name, start, end, args, kwargs):
    thread = threading.get_native_id()
    shapes = _shapes(args, kwargs) if any(s.record_shapes for s in sessions) else ()
    for session in sessions:
        stack = sys.modules["tensorcore.profiler"]._user_stack() if session.with_stack else ()
        session._buffer.append(FunctionEvent(name, start, end, thread, "cpu_op",
                                             shapes if session.record_shapes else (), stack))


def _make_wrapper(fn, name):
    """fn, timed as the event `name` (a str, or a function of (args, kwargs) giving it) under this thread's
    profiles; called plainly when the thread has none or is already inside a timed op."""
    from . import profiler

    sessions_now, perf = profiler._sessions, time.perf_counter_ns
    named = name if callable(name) else None

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        local = _local
        if getattr(local, "busy", False):
            return fn(*args, **kwargs)
        me = threading.get_ident()
        sessions = [s for s in sessions_now if s._op_thread == me]
        if not sessions:
            return fn(*args, **kwargs)
        local.busy = True
        start = perf()
        try:
            return fn(*args, **kwargs)
        finally:
            end = perf()
            local.busy = False
            _emit(sessions, named(args, kwargs) if named else name, start, end, args, kwargs)

    timed._profiled_op = fn
    return timed


def _catalog():
    """id(function) -> (function, event name) for every function that is an op's public face."""
    from . import ops  # noqa: F401  (every op module registered)
    from .ops.registry import OPS
    from .tensor import Tensor

    found = {}
    for registered, fn in OPS.items():
        found.setdefault(id(fn), (fn, _DYNAMIC.get(registered) or aten_name(registered)))
    methods = vars(Tensor)
    for attr, value in methods.items():
        if attr.endswith("_") and not attr.startswith("_") and attr[:-1] in OPS and callable(value):
            found.setdefault(id(value), (value, "aten::" + attr))
    for attr, name in EXTRA_TENSOR.items():
        value = methods.get(attr)
        if callable(value) and not isinstance(value, type):
            found.setdefault(id(value), (value, name))
    setitem = methods.get("__setitem__")
    if callable(setitem):
        found.setdefault(id(setitem), (setitem, _setitem_name))
    top = sys.modules.get("tensorcore")
    for attr in (*EXTRA_TOP, *(a for a in vars(top) if a.endswith("_") and not a.startswith("_")
                               and a[:-1] in OPS)):
        value = getattr(top, attr, None)
        if callable(value) and not isinstance(value, type):
            found.setdefault(id(value), (value, "aten::" + attr))
    return found


def _owners():
    from .tensor import Tensor

    yield Tensor
    for name, module in list(sys.modules.items()):
        if (name == "tensorcore" or name.startswith("tensorcore.")) and name not in (__name__, "tensorcore.profiler"):
            if isinstance(getattr(module, "__dict__", None), dict):  # (sys.modules may hold None placeholders)
                yield module


def activate():
    """Swap every public op for its timing wrapper (a no-op when already swapped)."""
    with _lock:
        if _swapped:
            return
        found = _catalog()
        for owner in _owners():
            for attr, value in list(vars(owner).items()):
                entry = found.get(id(value))
                if entry is None:
                    if not callable(value) or isinstance(value, type):
                        continue
                    try:
                        inner = getattr(value, "__wrapped__", None)
                    except Exception:  # an object whose attribute lookup fails: not an op
                        continue
                    if inner is None or id(inner) not in found:
                        continue
                    entry = (value, found[id(inner)][1])  # a public wrapper of an op (out=): timed as that op
                if entry[0] is not value:
                    continue
                cached = _wrappers.get(id(value))
                if cached is None or cached[0] is not value:
                    cached = _wrappers[id(value)] = (value, _make_wrapper(value, entry[1]))
                setattr(owner, attr, cached[1])
                _swapped.append((owner, attr, value, cached[1]))


def deactivate():
    """Put every original op back where its wrapper stands, unless a profile collects again (checked under
    the lock that activate() holds, so a profile starting on another thread keeps its wrappers)."""
    from . import profiler

    with _lock:
        if profiler._sessions:
            return
        while _swapped:
            owner, attr, original, wrapper = _swapped.pop()
            if vars(owner).get(attr) is wrapper:
                setattr(owner, attr, original)
        # a module imported during the profile may have copied a wrapper (`from .ops.nn import relu`)
        originals = {id(wrapper): original for original, wrapper in _wrappers.values()}
        for owner in _owners():
            for attr, value in list(vars(owner).items()):
                if id(value) in originals and getattr(value, "_profiled_op", None) is originals[id(value)]:
                    setattr(owner, attr, originals[id(value)])


def active():
    return bool(_swapped)
