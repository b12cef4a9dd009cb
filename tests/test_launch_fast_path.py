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
    types, out = _launch._key_and_pack([a, b, 7, 2.5, np.float32(0.5), True, _launch.Flat(a)])
    assert out[:9] == [0, 0, 15, 4, 4096, 3, 5, 20, 4]  # meminfo, parent, size, itemsize, data, shape, strides
    assert out[9:16] == [0, 0, 4, 8, 8192, 4, 16]
    assert type(out[16]) is int and out[16] == 7  # an int64 parameter: 8 bytes, as Numba passes size fields
    assert type(out[17]) is ctypes.c_double and out[17].value == 2.5  # a Python float is a float64 to Numba
    assert type(out[18]) is ctypes.c_float and out[18].value == 0.5
    assert out[19] is True
    assert out[20:] == [0, 0, 15, 4, 4096, 15, 4]  # Flat: the 1-D view, made by no reshape
    assert types == (("f", 2, True), ("d", 1, False), int, float, np.float32, bool, ("f", 1, True))


def test_scalars_are_packed_once_per_type_and_value():
    from tensorcore.kernels import _launch

    one = _launch._key_and_pack([np.float32(0.25), 0.25, np.float64(0.25)])[1]
    again = _launch._key_and_pack([np.float32(0.25), 0.25, np.float64(0.25)])[1]
    assert [type(c) for c in one] == [ctypes.c_float, ctypes.c_double, ctypes.c_double]
    assert all(a is b for a, b in zip(one, again))  # the hyperparameters of a step: no ctypes object per launch
    other = _launch._key_and_pack([np.float32(0.5)])[1][0]
    assert type(other) is ctypes.c_float and other.value == 0.5


def test_the_overload_key_sees_dtype_rank_layout_and_scalar_types():
    from tensorcore.kernels import _launch

    def key(*args):
        return _launch._key_and_pack(args)[0]

    c = FakeDeviceArray((4, 6), np.float32, 64)
    assert key(c, 1) == key(FakeDeviceArray((4, 6), np.float32, 128), 5)
    assert key(c) != key(FakeDeviceArray((4, 3), np.float32, 64, strides=(24, 8)))  # strided: 'A' layout
    assert key(c) != key(FakeDeviceArray((4, 6), np.float64, 64)) and key(c) != key(FakeDeviceArray((24,), "f4", 64))
    assert key(1) != key(1.0) != key(True)
    assert key(None) is None and key("text") is None  # the dispatcher takes those
    assert _launch._key_and_pack([_launch.Flat(FakeDeviceArray((4, 3), np.float32, 64, strides=(24, 8)))]) == (
        None, None)  # fmt: skip


def test_fast_path_is_used_after_the_first_launch(monkeypatch):
    """The first launch goes through the dispatcher and records the compiled kernel; the second is
    packed here and handed to cuda.core.launch."""
    from tensorcore.kernels import _launch

    dispatched, fast = [], []

    class Dispatcher:
        def __getitem__(self, config):
            return lambda *args: dispatched.append((config, args))

    monkeypatch.setattr(_launch, "FAST_LAUNCH", True)
    monkeypatch.setattr(_launch, "_fast", {})
    monkeypatch.setattr(_launch, "_fast_entry", lambda kernel, converted, packed, stream: "compiled")
    monkeypatch.setattr(_launch, "_core_stream", lambda s: "stream")
    monkeypatch.setattr(_launch, "_config", lambda g, b: (g, b))
    monkeypatch.setattr(_launch, "_core_launch", lambda *a: fast.append(a))
    kernel, x = Dispatcher(), FakeDeviceArray((8,), np.float32, 1024)
    _launch.launch(kernel, 2, 256, 0, x, 3)
    _launch.launch(kernel, 2, 256, 0, x, 3)
    assert len(dispatched) == 1 and len(fast) == 1
    stream, config, k, *args = fast[0]
    assert (stream, config, k) == ("stream", (2, 256), "compiled") and args[:7] == [0, 0, 8, 4, 1024, 8, 4]
    monkeypatch.setattr(_launch, "_fast_entry", lambda *a: False)  # a refused kernel stays on the dispatcher
    _launch.launch(kernel, 2, 256, 0, x, 3.5)
    _launch.launch(kernel, 2, 256, 0, x, 3.5)
    assert len(dispatched) == 3 and len(fast) == 1


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
    assert len(results) == 8 and all(x["launches"] >= 1 and x["us_per_launch"] > 0 for x in results)
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
    assert any(e for e in _launch._fast.values())  # a compiled kernel recorded: the ABI check passed
