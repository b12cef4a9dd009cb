"""kernels/_launch.py's fast launch path: Numba's kernel ABI packed from the arrays themselves, and the
launch bench (bench/bench_launch_overhead.py) that times the wrappers with the driver call stubbed."""

import ctypes
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .kernel_helpers import GPU, assert_close, requires_gpu, to_device

ROOT = Path(__file__).resolve().parent.parent


class FakeDeviceArray:
    """An object with nothing but ``__cuda_array_interface__`` (as a Numba device array or PyTorch's)."""

    def __init__(self, shape, dtype, ptr, strides=None):
        self.shape, self.dtype, self.ndim = tuple(shape), np.dtype(dtype), len(shape)
        self.__cuda_array_interface__ = {
            "shape": self.shape, "typestr": self.dtype.str, "data": (ptr, False), "strides": strides, "version": 3,
        }  # fmt: skip


def test_pack_gives_numbas_array_and_scalar_layout():
    from tensorcore.kernels import _launch

    a = FakeDeviceArray((3, 5), np.float32, 4096)
    b = FakeDeviceArray((4,), np.float64, 8192, strides=(16,))
    out = _launch._pack([a, b, 7, 2.5, True], (None, None, ctypes.c_int64, ctypes.c_float, bool))
    assert out[:9] == [0, 0, 15, 4, 4096, 3, 5, 20, 4]  # meminfo, parent, size, itemsize, data, shape, strides
    assert out[9:16] == [0, 0, 4, 8, 8192, 4, 16]
    assert type(out[16]) is ctypes.c_int64 and out[16].value == 7
    assert type(out[17]) is ctypes.c_float and out[17].value == 2.5
    assert out[18] is True


def test_the_overload_key_sees_dtype_rank_layout_and_scalar_types():
    from tensorcore.kernels import _launch

    c = np.zeros((4, 6), np.float32)
    key = _launch._types_key
    assert key([c, 1]) == key([np.ones((4, 6), np.float32), 5])
    assert key([c]) != key([c[:, ::2]])  # a strided view compiles another overload ('A' layout)
    assert key([c]) != key([c.astype(np.float64)]) and key([c]) != key([c.reshape(-1)])
    assert key([1]) != key([1.0]) != key([True])


def test_fast_path_is_used_after_the_first_launch(monkeypatch):
    """The first launch goes through the dispatcher and records an entry; the second is packed here."""
    from tensorcore.kernels import _launch

    dispatched, fast = [], []

    class Dispatcher:
        def __getitem__(self, config):
            return lambda *args: dispatched.append((config, args))

    monkeypatch.setattr(_launch, "FAST_LAUNCH", True)
    monkeypatch.setattr(_launch, "_fast", {})
    monkeypatch.setattr(_launch, "_fast_entry", lambda k, conv, s: _launch._FastEntry("k", (None, ctypes.c_int64)))
    monkeypatch.setattr(_launch, "_core_stream", lambda s: "stream")
    monkeypatch.setattr(_launch, "_config", lambda g, b: (g, b))
    monkeypatch.setattr(_launch, "_core_launch", lambda *a: fast.append(a))
    monkeypatch.setattr(_launch, "kernel_arg", lambda x: x)
    kernel, x = Dispatcher(), FakeDeviceArray((8,), np.float32, 1024)
    _launch.launch(kernel, 2, 256, 0, x, 3)
    _launch.launch(kernel, 2, 256, 0, x, 3)
    assert len(dispatched) == 1 and len(fast) == 1
    stream, config, k, *args = fast[0]
    assert (stream, config, k) == ("stream", (2, 256), "k") and args[:7] == [0, 0, 8, 4, 1024, 8, 4]


@pytest.mark.slow
def test_launch_bench_runs_and_reports_every_case(tmp_path):
    out = tmp_path / "launch.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_launch_overhead.py"), "--repeat", "5", "--rounds", "1",
         "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    import json

    results = json.loads(out.read_text())["results"]
    assert len(results) == 7 and all(x["launches"] >= 1 and x["us_per_launch"] > 0 for x in results)
    assert "goal <= 10 us" in r.stdout


@requires_gpu
@pytest.mark.gpu
def test_fast_launch_on_the_gpu_gives_the_dispatchers_results():
    """On a GPU: the second and later launches take the fast path (an entry is recorded, so the ABI
    check against Numba's own packing passed) and compute the same thing."""
    from tensorcore.kernels import _launch, gemm

    assert GPU and _launch.FAST_LAUNCH
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((37, 29)).astype(np.float32), rng.standard_normal((29, 41)).astype(np.float32)
    ad, bd = to_device(a), to_device(b)
    for _ in range(3):
        assert_close(gemm.matmul(ad, bd), a.astype(np.float64) @ b, np.float32)
    assert any(isinstance(e, _launch._FastEntry) for e in _launch._fast.values())
