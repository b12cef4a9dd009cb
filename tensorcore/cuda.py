"""tc.cuda: is the cuda device usable here (and if not, why), how many, is it simulated; synchronize;
CUDA graphs (CUDAGraph, graph, make_graphed_callables, graph_pool_handle, is_current_stream_capturing:
tensorcore/cuda_graphs.py).

Nothing here imports CuPy or Numba until asked.
"""

import functools

from .cuda_graphs import (  # noqa: F401  (tc.cuda's public names, as torch.cuda's)
    CUDAGraph,
    graph,
    graph_pool_handle,
    is_current_stream_capturing,
    make_graphed_callables,
)

#: The CUDA release our CuPy and kernels are built for (cupy-cuda13x, numba-cuda[cu13]) ...
CUDA_MAJOR = 13
#: ... and the oldest NVIDIA driver that runs it (CUDA 13.0 needs the R580 driver).
MIN_DRIVER = 580
_DRIVER_VERSION_FILE = "/proc/driver/nvidia/version"


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


# ------------------------------------------------------------------------------------ why not (diagnosis)


def driver_release(path=_DRIVER_VERSION_FILE):
    """The loaded NVIDIA kernel driver's release, e.g. ``"580.65.06"``, or None (no driver, not Linux)."""
    try:
        with open(path) as f:
            text = f.read(4096)
    except OSError:
        return None
    for word in text.split():
        head = word.split(".")[0]
        if "." in word and head.isdigit() and len(head) >= 3:
            return word
    return None


def _cuda_text(version):
    """``12020`` -> ``"12.2"`` (CUDA's integer version encoding)."""
    return f"{version // 1000}.{version % 1000 // 10}"


def explain_driver(driver_cuda, release=None, needed_cuda=CUDA_MAJOR * 1000):
    """Why a driver supporting CUDA ``driver_cuda`` (e.g. 12020) cannot run CUDA ``needed_cuda`` code, or None.

    >>> explain_driver(12020, "535.104.05")
    'driver 535 is older than CUDA 13 needs (580 or newer; this one supports CUDA 12.2)'
    """
    if driver_cuda // 1000 >= needed_cuda // 1000:  # minor-version compatibility within a major release
        return None
    name = f"driver {release.split('.')[0]}" if release else "the NVIDIA driver"
    supports = f"this one supports CUDA {_cuda_text(driver_cuda)}" if driver_cuda > 0 else "it reports no CUDA"
    need = needed_cuda // 1000
    floor = f"{MIN_DRIVER} or newer; " if need == CUDA_MAJOR else ""
    return f"{name} is older than CUDA {need} needs ({floor}{supports})"


def diagnose(cupy, release=None):
    """Why real CUDA cannot be used through the imported ``cupy`` module (a sentence), or None.

    Tells apart no driver, a driver too old for the CUDA runtime CuPy was built for, and no GPU.
    ``release`` defaults to :func:`driver_release`.
    """
    runtime = cupy.cuda.runtime
    release = release if release is not None else driver_release()
    try:
        needed = int(runtime.runtimeGetVersion())
    except Exception:  # the runtime CuPy was built against, as a fallback
        needed = CUDA_MAJOR * 1000
    try:
        driver_cuda = int(runtime.driverGetVersion())
    except Exception as e:
        return f"no usable NVIDIA driver (libcuda could not be loaded: {type(e).__name__}: {e})"
    if driver_cuda == 0:
        where = f"kernel module {release} is loaded but libcuda reports nothing" if release else "none is loaded"
        return f"no NVIDIA driver ({where}); a CUDA {needed // 1000} GPU needs driver {MIN_DRIVER} or newer"
    too_old = explain_driver(driver_cuda, release, needed_cuda=needed)
    if too_old:
        return too_old
    try:
        count = int(runtime.getDeviceCount())
    except Exception as e:
        return f"CuPy cannot reach a GPU ({type(e).__name__}: {e})"
    if count == 0:
        return "no CUDA GPU found (the driver sees no device)"
    return None


@functools.lru_cache(maxsize=1)
def _diagnose_once(cupy):
    return diagnose(cupy)


from .cuda_compat import (  # noqa: E402, F401  (torch.cuda's housekeeping names)
    current_device,
    empty_cache,
    get_device_name,
    is_bf16_supported,
    manual_seed,
    manual_seed_all,
    max_memory_allocated,
    max_memory_reserved,
    memory_allocated,
    memory_reserved,
    reset_peak_memory_stats,
    seed_all,
    set_device,
)


def __getattr__(name):
    if name == "amp":  # tc.cuda.amp.autocast / GradScaler, as torch.cuda.amp
        from .amp import cuda_amp

        return cuda_amp
    raise AttributeError(f"module 'tensorcore.cuda' has no attribute {name!r}")
