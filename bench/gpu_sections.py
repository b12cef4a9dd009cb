"""The GPU check's section side: the Context each section gets, the environment report and the test
sections (pytest in-process, every outcome kept as it happens).

Every figure is written to ``<work>/<section>.jsonl`` the moment it is measured, so a section killed
by its timeout or a crash still brings back what it had. Each measurement is caught on its own.
"""

from __future__ import annotations

import json
import math
import platform
import re
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Skip messages that mean "no GPU here" (tests/kernel_helpers.py, tests/conftest.py).
NO_GPU_SKIP = re.compile(r"GPU|cuda device not available|no CUDA|NUMBA_ENABLE_CUDASIM|driver", re.IGNORECASE)


class InjectedFault(RuntimeError):
    """A failure asked for through TENSORCORE_GPU_CHECK_FAULTS (the rehearsal)."""


def describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:500]


class Context:
    """What a section gets: sizes, the array module, a timer, fault points and a place for records."""

    def __init__(self, section: str, work: Path, *, simulate: bool, quick: bool, faults: dict):
        self.section = section
        self.simulate = simulate
        self.quick = quick
        self.faults = faults
        self._events = open(Path(work) / f"{section}.jsonl", "a")
        self._xp = None

    # output --------------------------------------------------------------------------------------
    def emit(self, event: str, **data):
        self._events.write(json.dumps({"event": event, **data}, default=str) + "\n")
        self._events.flush()

    def record(self, name: str, **fields):
        """One measurement (``ms``, ``ref_ms``, ``flops``, ``bytes``, ``error`` ...), written at once."""
        self.emit("record", name=name, **fields)
        shown = {k: v for k, v in fields.items() if k in ("ms", "ref_ms", "rel_err", "error", "ref_error")}
        print(f"  {name}: {shown}", flush=True)

    def fault(self, target: str):
        if self.faults.get(target) == "raise":
            raise InjectedFault(f"injected fault {target}:raise")

    # arrays and time -----------------------------------------------------------------------------
    @property
    def xp(self):
        if self._xp is None:
            if self.simulate:
                import numpy as xp
            else:
                import cupy as xp
            self._xp = xp
        return self._xp

    def size(self, full, quick, sim):
        return sim if self.simulate else (quick if self.quick else full)

    def randn(self, shape, dtype="float32", seed=0):
        import numpy as np

        if self.simulate:
            return np.random.default_rng(seed).standard_normal(shape).astype(dtype)
        rs = self.xp.random.RandomState(seed)
        return rs.standard_normal(shape, dtype=self.xp.float32).astype(dtype)

    def sync(self):
        if not self.simulate:
            self.xp.cuda.get_current_stream().synchronize()

    def time(self, fn, samples=None, min_ms=20.0) -> float:
        """Median ms per call: warm-up (JIT) first, then ``samples`` batches between CUDA events, each
        long enough (``min_ms``) to hide launch latency. In the simulator: one timed call."""
        fn()
        self.sync()
        if self.simulate:
            t = time.perf_counter()
            fn()
            return (time.perf_counter() - t) * 1e3
        samples = samples or (3 if self.quick else 7)
        cp = self.xp
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        inner = max(1, min(200, int(math.ceil(min_ms / max(cp.cuda.get_elapsed_time(start, end), 1e-3)))))
        times = []
        for _ in range(samples):
            start.record()
            for _ in range(inner):
                fn()
            end.record()
            end.synchronize()
            times.append(cp.cuda.get_elapsed_time(start, end) / inner)
        return statistics.median(times)

    def rel_err(self, out, ref) -> float:
        xp = self.xp
        out, ref = xp.asarray(out, dtype=xp.float64), xp.asarray(ref, dtype=xp.float64)
        return float(xp.linalg.norm((out - ref).ravel()) / max(float(xp.linalg.norm(ref.ravel())), 1e-30))

    def guarded(self, name, setup):
        """``setup()`` (allocating inputs, building a model), or None with the failure recorded under
        ``name``: one size or layer that cannot be set up (out of memory ...) costs only its own figure."""
        try:
            return setup()
        except Exception as e:
            self.record(name, error=f"setup: {describe(e)}")
            return None

    def compare(self, name, ours, ref=None, *, ref_name=None, check=None, **fields):
        """Time ``ours`` and ``ref`` and run ``check`` (a relative error), each caught on its own, so
        our figure survives a failing reference and the reverse."""
        rec = dict(fields, ref=ref_name)
        try:
            self.fault(self.section)
            rec["ms"] = self.time(ours)
        except Exception as e:
            rec["error"] = describe(e)
        if ref is not None:
            try:
                self.fault(self.section + ".ref")
                rec["ref_ms"] = self.time(ref)
            except Exception as e:
                rec["ref_error"] = describe(e)
        if check is not None and "error" not in rec:
            try:
                rec["rel_err"] = float(check())
            except Exception as e:
                rec["check_error"] = describe(e)
        self.record(name, **rec)
        return rec


def gpu_unavailable():
    """Why tensorcore cannot use a real GPU here (tc.cuda's diagnosis), or None."""
    import tensorcore as tc

    return tc.cuda.unavailable_reason()


# ------------------------------------------------------------------------------------------- environment


def _version(dist):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _try(fn):
    try:
        return fn()
    except Exception as e:
        return f"unavailable ({describe(e)})"


def environment(ctx: Context):
    """GPU, driver, CUDA runtime, compute capability, library versions, nvJitLink; where imports come from."""
    import tensorcore.kernels

    import tensorcore as tc

    info = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": platform.node(),
        "python": sys.version.split()[0],
        "simulated": ctx.simulate,
        "tensorcore_from": str(Path(tc.__file__).parent),
        "kernels_from": str(Path(tensorcore.kernels.__file__).parent),
        "versions": {
            d: _version(d) for d in ("numpy", "numba", "numba-cuda", "cupy-cuda13x", "torch", "cuda-bindings")
        },
        "driver_release": tc.cuda.driver_release(),
        "cuda_unavailable_reason": tc.cuda.unavailable_reason(),
        "nvjitlink": _try(
            lambda: ".".join(map(str, __import__("cuda.bindings.nvjitlink").bindings.nvjitlink.version()))
        ),
    }
    if ctx.simulate:
        info["gpu"] = "none (Numba CUDA simulator)"
    else:
        info.update(_gpu_info())
    ctx.emit("info", **info)
    for k, v in info.items():
        print(f"  {k}: {v}", flush=True)


def _gpu_info() -> dict:
    out = {}

    def cupy_props():
        import cupy

        rt = cupy.cuda.runtime
        props = rt.getDeviceProperties(0)
        name = props["name"]
        return {
            "gpu": name.decode() if isinstance(name, bytes) else name,
            "compute_capability": f"{props['major']}.{props['minor']}",
            "sm_count": props["multiProcessorCount"],
            "memory_gib": round(props["totalGlobalMem"] / 2**30, 1),
            "driver_cuda": rt.driverGetVersion(),
            "cuda_runtime": rt.runtimeGetVersion(),
        }

    props = _try(cupy_props)
    out.update(props if isinstance(props, dict) else {"gpu": props})

    def libraries():  # cuRAND and cuBLAS: what cupy-cuda13x[ctk] brings
        import cupy

        a = cupy.random.standard_normal((4, 4), dtype=cupy.float32)
        return {"curand": "ok", "cublas": "ok" if float(abs(a @ a).sum()) >= 0 else "?"}

    out["cupy_libraries"] = _try(libraries)

    def numba_side():
        from numba import cuda
        from numba.cuda.cudadrv import driver

        dev = cuda.get_current_device()
        return {"numba_sees": f"{dev.name} cc {dev.compute_capability}", "numba_nvjitlink": driver._have_nvjitlink()}

    out["numba"] = _try(numba_side)

    def torch_side():
        import torch

        return {"torch_cuda": torch.version.cuda, "torch_sees_gpu": torch.cuda.is_available()}

    out["torch"] = _try(torch_side)

    def smi():
        import subprocess

        q = "--query-gpu=name,driver_version,clocks.max.sm,power.limit"
        r = subprocess.run(["nvidia-smi", q, "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
        return r.stdout.strip()

    out["nvidia_smi"] = _try(smi)
    return out


# --------------------------------------------------------------------------------------------- test runs


class _LiveCases:
    """A pytest plugin writing each test's outcome to the section's events as it finishes, so a
    section killed by its timeout (a hung kernel) still brings back every test that ran."""

    def __init__(self, ctx):
        self.ctx = ctx

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when != "call" and not report.passed):
            outcome = "passed" if report.passed else "skipped" if report.skipped else None
            if outcome is None:
                outcome = "failure" if report.when == "call" else "error"
            message = report.longrepr[2] if report.skipped and isinstance(report.longrepr, tuple) else report.longrepr
            module, _, name = report.nodeid.partition("::")
            case = {
                "classname": module.removesuffix(".py").replace("/", "."),
                "name": name,
                "time": f"{report.duration:.3f}",
                "outcome": outcome,
                "message": str(message or "")[:2000],
            }
            self.ctx.emit("testcase", **case)

    def pytest_collectreport(self, report):
        if report.failed:  # a module that does not import: an error, not silence
            self.ctx.emit(
                "testcase",
                classname=report.nodeid.removesuffix(".py").replace("/", "."),
                name="(collection)",
                time="0",
                outcome="error",
                message=str(report.longrepr)[:2000],
            )


def count_cases(cases) -> dict:
    """Counts of test cases by outcome; a skip for lack of a GPU is counted apart, never as passed."""
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "skipped_no_gpu": 0}
    key = {"passed": "passed", "failure": "failed", "error": "errors", "skipped": "skipped"}
    for case in cases:
        counts[key[case["outcome"]]] += 1
        if case["outcome"] == "skipped" and NO_GPU_SKIP.search(case["message"]):
            counts["skipped_no_gpu"] += 1
    return {**counts, "cases": list(cases)}


def run_pytest(ctx: Context, label: str, files, marker: str, extra=()):
    """pytest in this process (the checkout's imports are set up), without -x; every outcome kept."""
    import pytest

    args = [*files, "-q", "-m", marker, "-p", "no:cacheprovider", "-rs", "--rootdir", str(ROOT)]
    t0 = time.perf_counter()
    try:
        ctx.fault(ctx.section)
        rc = int(pytest.main([*args, *extra], plugins=[_LiveCases(ctx)]))
    except Exception as e:
        ctx.record(f"pytest {label}", error=describe(e))
        return
    ctx.emit("tests_done", label=label, marker=marker, rc=rc, seconds=round(time.perf_counter() - t0, 2))


def parse_junit(path: Path) -> dict:
    """Counts and cases of a pytest JUnit file (the same shape as the live cases)."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            el = case.find(tag)
            if el is not None:
                outcome, message = tag, el.get("message", "") or (el.text or "")
                break
        cases.append(
            {
                "classname": case.get("classname", ""),
                "name": case.get("name", ""),
                "time": case.get("time", "0"),
                "outcome": outcome,
                "message": message[:2000],
            }
        )
    return count_cases(cases)


def correctness(ctx: Context):
    """Every kernel against its NumPy reference on the device (tests/test_kernels_*.py)."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_kernels_*.py"))
    if ctx.simulate:  # the simulator is slow: two families prove the plumbing (CI runs them all)
        run_pytest(ctx, "kernels", files, "kernels and not gpu", ["-k", "optim or launch"])
    else:
        run_pytest(ctx, "kernels", files, "kernels or gpu")


def cuda_tests(ctx: Context):
    """The cuda device's tests (tests/test_cuda_device.py, tests/test_cuda_graphs.py), the ones CI runs on
    the simulated device, and the GPU-only ones (a whole training step captured in a CUDA graph)."""
    files = ["tests/test_cuda_device.py", "tests/test_cuda_graphs.py"]
    if ctx.simulate:
        run_pytest(ctx, "cuda device", files, "cuda and not gpu", ["-k", "live or mixing or copies"])
    else:
        run_pytest(ctx, "cuda device", files, "cuda or gpu")
