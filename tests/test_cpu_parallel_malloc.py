"""cpu_malloc: freed large buffers stay in the process (no page faults on reuse), behind one switch."""

import os
import subprocess
import sys
import textwrap

import pytest

GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")

# Allocate, write and free 3 MiB buffers of growing sizes (as a step's activations; under NumPy's 4 MiB
# huge-page cut, above glibc's dynamic mmap threshold each time), then count the page faults of the same
# again: with the policy the blocks come back from the heap, untouched by the OS.
_PROBE = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from tensorcore.backends import cpu_malloc
    print(cpu_malloc.retain_freed_memory(), cpu_malloc.retain_freed_memory())
    def round_trip():
        for k in range(8):
            a = np.empty((3 << 18) + 16384 * k, dtype=np.float32)
            a.fill(1.0)
            del a
    round_trip()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    round_trip()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _probe(**env):
    full = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES" and not k.startswith("MALLOC_")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=full, check=True)
    first, faults = out.stdout.split("\n")[:2]
    return first, int(faults)


@pytest.mark.skipif(not GLIBC, reason="the policy sets glibc's malloc thresholds; this libc is not glibc")
def test_retained_memory_takes_no_page_faults_and_the_switch_turns_it_off():
    first, faults = _probe()
    assert first == "True True"  # set once, the second call reports the same
    # 8 x 3 MiB written (0 faults measured; a few for NumPy's and Python's own small blocks at most)
    assert faults < 50, faults
    first, faults_off = _probe(TENSORCORE_RETAIN_FREED_MEMORY="0")
    assert first == "False False"
    assert faults_off > 400, faults_off  # glibc's defaults: the blocks went back to the OS (849 measured)


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_user_malloc_settings_are_left_alone():
    first, _ = _probe(GLIBC_TUNABLES="glibc.malloc.trim_threshold=1000000")
    assert first == "False False"


def test_the_kernels_loader_applies_it_when_a_family_loads():
    from tensorcore.backends import cpu_malloc, cpu_parallel

    if not cpu_parallel.available():
        pytest.skip("numba is not installed: no kernel family loads")
    cpu_parallel.kernels("elementwise")
    assert cpu_malloc._done is not None  # tried (True on glibc unless switched off or user-tuned)
    if GLIBC and cpu_malloc.enabled and not cpu_malloc._user_tuned():
        assert cpu_malloc._done is True
