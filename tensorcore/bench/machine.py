"""What a benchmark ran on: CPU model and cores, GPU and driver, BLAS, library versions, date, command.

Nothing here imports torch, cupy or numba: versions come from package metadata, and the GPU from
`nvidia-smi` when it exists, so describing the machine is cheap and never fails.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import shutil
import subprocess
import sys
from importlib import metadata

LIBRARIES = ("tensorcore", "numpy", "torch", "cupy-cuda13x", "cupy", "numba", "numba-cuda", "matplotlib")


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions():
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def gpus():
    """[{name, driver, memory_mib}] from nvidia-smi; [] when there is no NVIDIA GPU."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            found.append({"name": parts[0], "driver": parts[1], "memory_mib": parts[2]})
    return found


def blas_info():
    """The BLAS NumPy calls and which kernel it picked (threadpoolctl's `architecture`, when installed).

    OpenBLAS built with DYNAMIC_ARCH picks its kernel at load time; OPENBLAS_CORETYPE overrides it,
    so the environment variables are recorded too.
    """
    info = {"env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))}}
    try:
        import numpy  # noqa: F401  (loads the BLAS so threadpoolctl can see it)
        import threadpoolctl

        pools = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            p = pools[0]
            info.update(library=p.get("internal_api"), version=p.get("version"),
                        architecture=p.get("architecture"), threads=p.get("num_threads"))
            return info
    except ImportError:
        info["note"] = "threadpoolctl not installed: kernel architecture unknown"
    try:
        import numpy

        deps = numpy.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        info.update(library=deps.get("name"), version=deps.get("version"))
    except Exception:  # noqa: BLE001  (show_config's format varies between NumPy versions)
        pass
    return info


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe(command=None):
    """One dict describing the machine, the software and the run: stored with every result."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command if command is not None else shlex.join(["tensorcore", *sys.argv[1:]]),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "gpus": gpus(),
        "blas": blas_info(),
        "libraries": library_versions(),
        "load_average": load_average(),
    }
