"""The generated GEMM kernels go to Numba's disk cache (kernels/_gemm_tiled.py's _define): with
NUMBA_CACHE_DIR set their source is a real file, so Numba's cache accepts them, and a second process
loads the compiled kernel instead of compiling it (read from Numba's cache log; needs a GPU)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from .kernel_helpers import SIMULATOR, requires_gpu

pytestmark = pytest.mark.skipif(SIMULATOR, reason="the simulator caches nothing (run without NUMBA_ENABLE_CUDASIM)")


def test_generated_source_is_a_file_numbas_cache_takes(tmp_path, monkeypatch):
    from numba.cuda.dispatcher import CUDACache
    from tensorcore.kernels import _gemm_tiled as g

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    plain = g.make_kernel(False, True, np.float32, None, g.SMALL_TILE)
    assert plain.__code__.co_filename.startswith("<generated")
    with pytest.raises(RuntimeError, match="cannot cache"):
        CUDACache(plain)  # why the generated kernels compiled again in every GPU-check section
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    fn = g.make_kernel(False, True, np.float32, None, g.SMALL_TILE)
    path = fn.__code__.co_filename
    assert os.path.dirname(path) == str(tmp_path / "tensorcore_generated") and os.path.isfile(path)
    with open(path) as f:
        assert f.read() == fn.source == plain.source
    stamp = os.stat(path).st_mtime_ns
    again = g.make_kernel(False, True, np.float32, None, g.SMALL_TILE)
    assert again.__code__.co_filename == path and os.stat(path).st_mtime_ns == stamp  # not rewritten
    assert CUDACache(fn).cache_path.startswith(str(tmp_path))
    other = g.make_kernel(True, False, np.float32, "relu", g.SMALL_TILE)
    assert other.__code__.co_filename != path


_LAUNCH = """
import numpy as np, cupy
from tensorcore.kernels import gemm
a, b = cupy.asarray(np.ones((5, 7), np.float32)), cupy.asarray(np.ones((7, 3), np.float32))
assert float(gemm.matmul(a, b).sum()) == 105.0
"""


@requires_gpu
def test_a_second_process_loads_the_gemm_kernel_from_the_disk_cache(tmp_path):
    pytest.importorskip("cupy")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_DEBUG_CACHE="1")
    runs = [subprocess.run([sys.executable, "-c", _LAUNCH], env=env, capture_output=True, text=True, timeout=600)
            for _ in range(2)]
    cold, warm = (r.stdout + r.stderr for r in runs)
    assert all(r.returncode == 0 for r in runs), cold + warm
    assert "gemm_NN" in cold and "data saved" in cold, cold
    assert "data loaded" in warm and "data saved" not in warm, warm
