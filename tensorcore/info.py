"""`tensorcore info`: versions, devices and backends, and why cuda is not available when it is not."""

import platform


def add_arguments(parser):
    pass


def _version(dist):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def cuda_lines():
    """The ``cuda`` lines of the report: available (how), or not available and why; driver; versions."""
    from . import cuda

    lines = []
    try:
        available = cuda.is_available()
        reason = cuda.unavailable_reason()
    except ImportError as e:
        available, reason = False, f"{type(e).__name__}: {e}"
    if available:
        how = "simulated (Numba's CUDA simulator)" if cuda.is_simulated() else f"{cuda.device_count()} device(s)"
        lines.append(f"cuda       available: {how}")
    else:
        lines.append(f"cuda       not available: {reason}")
    release = cuda.driver_release()
    lines.append(f"driver     {release or 'none loaded'} (CUDA {cuda.CUDA_MAJOR} needs {cuda.MIN_DRIVER} or newer)")
    versions = {d: _version(d) for d in ("cupy-cuda13x", "numba", "numba-cuda")}
    lines.append("gpu stack  " + "  ".join(f"{d} {v or '-'}" for d, v in versions.items()))
    return lines


def run(args):
    import numpy as np

    import tensorcore as tc

    print(f"tensorcore {tc.__version__}  python {platform.python_version()}  numpy {np.__version__}")
    print(f"machine    {platform.machine()}  {platform.processor() or platform.platform()}")
    for line in cuda_lines():
        print(line)
    return 0
