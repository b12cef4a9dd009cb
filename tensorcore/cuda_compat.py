"""torch.cuda's housekeeping calls that scripts make on any machine (manual_seed_all, empty_cache,
current_device, memory_allocated ...), re-exported by tensorcore/cuda.py.

tensorcore draws every random number on the host from one generator (tc.manual_seed), so the cuda seeding
calls seed nothing: they leave the host stream alone, as torch.cuda.manual_seed leaves torch's CPU stream."""

from .errors import DeviceError


def _available():
    from . import cuda

    return cuda.is_available()


def manual_seed(seed):
    """Accepted and ignored: tensorcore's random numbers come from tc.manual_seed's generator on every device."""
    int(seed)


manual_seed_all = manual_seed


def seed_all():
    pass


def empty_cache():
    """Give CuPy's cached device memory back (a no-op without a GPU)."""
    if _available():
        from .backends import cuda as backend

        pool = getattr(backend.xp, "get_default_memory_pool", None)
        if callable(pool):
            pool().free_all_blocks()


def current_device():
    """The index of the current device (0); raises DeviceError without one, as torch's does."""
    if not _available():
        from . import cuda

        raise DeviceError(f"current_device: no cuda device ({cuda.unavailable_reason()})")
    return 0


def set_device(device):
    """Only device 0 exists to tensorcore; other indices are refused."""
    index = getattr(device, "index", device)
    if index not in (None, 0, "cuda", "cuda:0"):
        raise DeviceError(f"set_device: tensorcore drives one cuda device (0), got {device!r}")


def get_device_name(device=None):
    if not _available():
        from . import cuda

        raise DeviceError(f"get_device_name: no cuda device ({cuda.unavailable_reason()})")
    from .backends import cuda as backend

    if backend.simulated:
        return "Numba CUDA simulator"
    props = backend.xp.cuda.runtime.getDeviceProperties(0)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def memory_allocated(device=None):
    """Bytes held by CuPy's memory pool for tensors (0 without a GPU)."""
    if not _available():
        return 0
    from .backends import cuda as backend

    pool = getattr(backend.xp, "get_default_memory_pool", None)
    return int(pool().used_bytes()) if pool else 0


def memory_reserved(device=None):
    if not _available():
        return 0
    from .backends import cuda as backend

    pool = getattr(backend.xp, "get_default_memory_pool", None)
    return int(pool().total_bytes()) if pool else 0


max_memory_allocated = memory_allocated
max_memory_reserved = memory_reserved


def reset_peak_memory_stats(device=None):
    pass


def is_bf16_supported(including_emulation=True):
    return _available()
