"""Grad mode and anomaly mode, per thread (as in PyTorch): a `no_grad` block in one thread never
turns recording off in another.

`modes` is a `threading.local`: each thread starts from the class defaults below.
"""

import functools
import threading


class _Modes(threading.local):
    grad_enabled = True
    anomaly = False  # check every op's output and every gradient for NaN/Inf
    anomaly_forward = False  # anomaly checks of forward outputs (off while the engine runs backward rules)
    in_grad_call = False  # the running backward pass is a tc.autograd.grad (inputs=), not a backward()


modes = _Modes()

# Threads with anomaly mode on. A hot path reads this module global (cheap) before the thread-local `modes`
# (a dearer read): `if grad_mode.anomaly_threads and modes.anomaly_forward: ...`. A thread that ends with
# anomaly mode on keeps the count above 0: the other threads then only pay the thread-local read again.
anomaly_threads = 0
_anomaly_lock = threading.Lock()
# Threads inside autograd.graph.saved_tensors_hooks: recording reads this before the thread's own stack.
saved_hooks_threads = 0


def is_grad_enabled():
    return modes.grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode to `self.mode` and restores it on exit."""

    mode = True

    def __enter__(self):
        self.prev = modes.grad_enabled
        modes.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        modes.grad_enabled = self.prev

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradMode):
    """`tc.set_grad_enabled(False)` turns recording off now; as a context manager, until the block ends."""

    def __init__(self, mode):
        self.mode = bool(mode)
        _GradMode.__enter__(self)

    def __enter__(self):
        return self


class no_grad(_GradMode):
    """`with tc.no_grad():` or `@tc.no_grad()`: ops inside record nothing."""

    mode = False


class enable_grad(_GradMode):
    """Turns recording back on inside a no_grad region."""

    mode = True


class inference_mode(_GradMode):
    """`with tc.inference_mode():` like no_grad (tensorcore keeps no extra inference state)."""

    def __init__(self, mode=True):
        self.mode = not mode


def set_detect_anomaly(mode):
    """Check every op's output and every gradient for NaN/Inf in this thread (off by default: no cost)."""
    global anomaly_threads
    mode = bool(mode)
    with _anomaly_lock:
        if mode != modes.anomaly:
            anomaly_threads += 1 if mode else -1
        modes.anomaly = modes.anomaly_forward = mode


def is_anomaly_enabled():
    return modes.anomaly


class detect_anomaly:
    """`with tc.detect_anomaly():` a NaN or Inf raises AnomalyError naming the op and where it was made."""

    def __init__(self, mode=True, check_nan=True):
        self.mode = bool(mode) and bool(check_nan)

    def __enter__(self):
        self.prev = modes.anomaly
        set_detect_anomaly(self.mode)
        return self

    def __exit__(self, *exc):
        set_detect_anomaly(self.prev)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.mode):
                return fn(*args, **kwargs)

        return wrapper
