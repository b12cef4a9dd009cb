"""Keep freed large CPU buffers in the process (glibc malloc) instead of handing them back to the OS.

A training step allocates and frees the same large activations and gradients every step. With
glibc's defaults a freed block above its (dynamic) mmap threshold, or a free top of the heap above
its trim threshold, goes back to the OS, and the next step's first write to each of its 4 KiB pages
takes a page fault (the kernel zeroes it). Measured on the 2-core Xeon VM, one thread: the MNIST
convnet step took ~4800-5300 page faults, 79 ms of CPU against 61-68 ms with the thresholds below
(0 faults); LeNet-5 660 faults, 6.5 against 5.5 ms (bench/results/2026-12-01-cpu2-session5-convnets.md).

    retain_freed_memory()   # called when the first multi-core kernel family loads (cpu_parallel.kernels)

What it costs: the process keeps up to TRIM_THRESHOLD bytes of freed heap (its RSS does not shrink
after a peak), and blocks below MMAP_THRESHOLD come from the heap (fragmentation can hold some more).
It changes the whole process's malloc, as PyTorch users do with jemalloc or tcmalloc, so it is one
switch: TENSORCORE_RETAIN_FREED_MEMORY=0 in the environment (or `enabled = False` before the first
kernel loads) leaves malloc alone; so does any libc but glibc, and a user's own MALLOC_* / GLIBC_TUNABLES.
"""

import ctypes
import os

enabled = os.environ.get("TENSORCORE_RETAIN_FREED_MEMORY", "1") != "0"
MMAP_THRESHOLD = 32 << 20  # glibc's largest (its dynamic threshold's ceiling); mallopt refuses more
TRIM_THRESHOLD = 128 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers (malloc.h)
_done = None  # None: not tried; True: set; False: left alone


def _user_tuned():
    """Whether the user already chose malloc's thresholds through the environment."""
    return "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ)


def retain_freed_memory():
    """mallopt(M_MMAP_THRESHOLD, 32 MiB) and mallopt(M_TRIM_THRESHOLD, 128 MiB) once; True when they were set."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if not enabled or _user_tuned():
        return False
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols (libc's among them); no ldconfig lookup
        mallopt, version = libc.mallopt, libc.gnu_get_libc_version  # glibc only
    except (OSError, AttributeError):
        return False
    del version
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
