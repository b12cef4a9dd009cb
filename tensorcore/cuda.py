"""tc.cuda: is the cuda device usable here, how many, is it simulated; synchronize.

Nothing here imports CuPy or Numba until asked.
"""


def _backend():
    from .backends import cuda

    return cuda


def is_available():
    """True when device 'cuda' can be used: a real GPU with CuPy, or the simulated device."""
    return _backend().unavailable_reason() is None


def is_simulated():
    """True when 'cuda' is Numba's CUDA simulator over NumPy arrays (TENSORCORE_CUDA_SIM=1)."""
    return _backend().simulated


def device_count():
    return _backend().device_count()


def unavailable_reason():
    """Why cuda cannot be used here (a sentence), or None."""
    return _backend().unavailable_reason()


def synchronize():
    """Wait for all queued work on the current device (nothing to wait for in simulated mode)."""
    be = _backend()
    if not be.simulated and is_available():
        be.xp.cuda.Device().synchronize()


def transfers():
    """Counts of explicit host <-> device copies so far: {'to_host': n, 'to_device': m}."""
    return dict(_backend().transfers)
