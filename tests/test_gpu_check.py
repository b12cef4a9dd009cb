"""The rehearsal of the first GPU run: bench/gpu_check.py from a copy of the checkout that is not
installed, in the simulated cuda mode, tiny sizes, injected faults; and tc.cuda's reasons for no GPU.

The copy runs under a sitecustomize that removes the editable install's import hook, so ``import
tensorcore`` works there only through the script's own checkout imports (checked by a control).
"""

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# One xdist worker runs this module: the copy of the checkout and the rehearsal (about 2 min) are module
# fixtures, computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("gpu_check_rehearsal")
ROOT = Path(__file__).resolve().parent.parent
FAULTS = "gemm:raise,conv.ref:raise,pool:crash,nccl:hang"
BUDGET = 200
HIDE_INSTALL = """
import os, sys
# The editable install's import hook, and a path entry pointing at the original checkout (older installs).
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
sys.path[:] = [p for p in sys.path if not p or os.path.realpath(p) != {root!r}]
"""


def _files_of_checkout():
    r = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True)
    if r.returncode == 0:
        return [p for p in r.stdout.splitlines() if (ROOT / p).is_file()]
    return [
        str(p.relative_to(ROOT))
        for d in ("tensorcore", "kernels", "bench", "tests")
        for p in (ROOT / d).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]


@pytest.fixture(scope="module")
def plain_checkout(tmp_path_factory):
    """``(copy of the checkout, environment without the installed tensorcore)``."""
    base = tmp_path_factory.mktemp("plain")
    clone = base / "checkout"
    for rel in _files_of_checkout():
        dst = clone / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dst)
    site = base / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE_INSTALL.format(root=os.path.realpath(ROOT)))
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_ENABLE_CUDASIM", "TENSORCORE_CUDA_SIM")}
    env["PYTHONPATH"] = str(site)
    env.pop("TENSORCORE_GPU_CHECK_FAULTS", None)
    return clone, env


def test_the_copy_is_not_installed(plain_checkout, tmp_path):
    """The control: in this environment nothing but the script's own imports can find tensorcore."""
    _, env = plain_checkout
    r = subprocess.run(
        [sys.executable, "-c", "import tensorcore"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert r.returncode != 0 and "No module named 'tensorcore'" in r.stderr, r.stdout + r.stderr


@pytest.fixture(scope="module")
def rehearsal(plain_checkout, tmp_path_factory):
    clone, env = plain_checkout
    out = tmp_path_factory.mktemp("out")
    cmd = [
        sys.executable,
        str(clone / "bench" / "gpu_check.py"),
        "--simulate",
        "--out",
        str(out),
        "--budget",
        str(BUDGET),
        "--cache-dir",
        str(tmp_path_factory.mktemp("numba-cache")),
    ]
    t0 = time.monotonic()
    r = subprocess.run(
        cmd,
        cwd=tmp_path_factory.mktemp("cwd"),
        env=dict(env, TENSORCORE_GPU_CHECK_FAULTS=FAULTS),
        capture_output=True,
        text=True,
        timeout=BUDGET + 60,
    )
    wall = time.monotonic() - t0
    results = json.loads((out / "gpu_check.json").read_text())
    return clone, out, r, wall, results, {s["name"]: s for s in results["sections"]}


def test_rehearsal_finishes_within_budget_and_writes_its_files(rehearsal):
    _, out, r, wall, results, _ = rehearsal
    assert wall < BUDGET, wall
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]  # the injected faults fail the run
    names = sorted(p.name for p in out.iterdir())
    assert names == ["gpu_check.json", "gpu_check.log", "gpu_check.txt", "gpu_check.xml"]
    assert all((out / n).stat().st_size < 16 * 2**20 for n in names)
    assert results["run"]["simulate"] and results["run"]["faults"] == {
        "gemm": "raise",
        "conv.ref": "raise",
        "pool": "crash",
        "nccl": "hang",
    }


def test_environment_report_comes_first_and_imports_come_from_the_copy(rehearsal):
    clone, _, _, _, results, _ = rehearsal
    assert results["sections"][0]["name"] == "environment" and results["sections"][0]["status"] == "ok"
    env = results["environment"]
    assert Path(env["tensorcore_from"]) == clone / "tensorcore"
    assert Path(env["kernels_from"]) == clone / "kernels"
    assert env["versions"]["numba"] and env["versions"]["numba-cuda"]
    for key in ("gpu", "driver_release", "cuda_unavailable_reason", "nvjitlink", "python"):
        assert key in env


def test_each_injected_fault_costs_only_itself(rehearsal):
    _, _, _, _, _, sec = rehearsal
    gemm = sec["gemm"]
    assert gemm["injected_faults"] == ["gemm:raise"] and gemm["status"] == "partial"
    assert gemm["records"] and all("injected fault gemm:raise" in r["error"] for r in gemm["records"])
    assert all(r["ref_ms"] > 0 for r in gemm["records"])  # the reference's figure survives ours failing
    conv = sec["conv"]
    assert all(r["ms"] > 0 and "injected fault conv.ref:raise" in r["ref_error"] for r in conv["records"])
    assert sec["pool"]["status"] == "crashed" and "SIGABRT" in sec["pool"]["reason"]
    assert sec["nccl"]["status"] == "timeout" and sec["nccl"]["injected_faults"] == ["nccl:hang"]
    assert sec["nccl"]["seconds"] >= sec["nccl"]["timeout"]
    untouched = [
        "environment",
        "correctness",
        "compile",
        "ceilings",
        "elementwise",
        "softmax",
        "optim",
        "train",
        "cuda_tests",
    ]
    assert {n: sec[n]["status"] for n in untouched} == dict.fromkeys(untouched, "ok"), {
        n: (sec[n]["status"], sec[n].get("log", "")[-1500:]) for n in untouched if sec[n]["status"] != "ok"
    }


def test_figures_tests_and_compile_costs_are_recorded(rehearsal):
    _, _, _, _, results, sec = rehearsal
    tests = sec["correctness"]["tests"]
    assert tests["passed"] > 0 and tests["failed"] == tests["errors"] == 0
    assert sec["cuda_tests"]["tests"]["passed"] > 0
    compiled = sec["compile"]["records"]
    gemms = [r for r in compiled if r["name"].startswith("gemm_NN_128x128x8_float32")]
    # (the simulator compiles nothing: compile_s is about 0 there; on a GPU it is the NVVM + ptxas time)
    assert gemms and gemms[0]["compile_s"] >= 0 and gemms[0]["first_launch_ms"] > 0 and gemms[0]["launch_us"] > 0
    assert {r["family"] for r in compiled} >= {"gemm", "conv", "pool", "activations", "softmax", "optim"}
    assert results["ceilings"]["copy_gbs"] > 0
    soft = sec["softmax"]["records"][0]
    assert soft["rel_err"] < 1e-5 and soft["gbs"] > 0


def test_junit_log_and_the_table_printed_last(rehearsal):
    _, out, r, _, _, _ = rehearsal
    root = ET.parse(out / "gpu_check.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites)[0] == "environment" and "nccl" in suites
    pytest_cases = [c for c in suites["correctness"].iter("testcase") if c.get("classname", "").startswith("tests.")]
    assert pytest_cases and all(c.find("failure") is None for c in pytest_cases)
    assert any(c.find("failure") is not None for c in suites["gemm"].iter("testcase"))
    assert any(c.find("failure") is not None for c in suites["nccl"].iter("testcase"))
    log = (out / "gpu_check.log").read_text()
    assert "injected fault pool:crash" in log and "injected fault nccl:hang" in log
    table = (out / "gpu_check.txt").read_text()
    assert r.stdout.rstrip().endswith(table.rstrip())
    assert "[injected pool:crash]" in table and "compile time" in table


def test_a_section_that_would_overrun_the_budget_is_skipped_and_listed(plain_checkout, tmp_path):
    clone, env = plain_checkout
    cmd = [
        sys.executable,
        str(clone / "bench" / "gpu_check.py"),
        "--simulate",
        "--out",
        str(tmp_path),
        "--budget",
        "12",
        "--sections",
        "correctness,nccl",
    ]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    status = {s["name"]: s for s in results["sections"]}
    assert list(status) == ["environment", "correctness", "nccl"], r.stdout + r.stderr
    assert status["correctness"]["status"] == "skipped" and "budget" in status["correctness"]["reason"]
    assert status["nccl"]["status"] == "no-gpu"  # small enough to fit; the simulator has no NCCL
    assert r.returncode == 0
    skipped = [
        c for c in ET.parse(tmp_path / "gpu_check.xml").getroot().iter("testcase") if c.find("skipped") is not None
    ]
    assert any("correctness" in c.get("name") for c in skipped)


def test_list_names_every_section_in_order():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--list"], capture_output=True, text=True)
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names[0] == "environment" and names[1] == "correctness" and names[-1] == "nccl"
    assert names.index("train") < names.index("cuda_tests") < names.index("nccl")


# ----------------------------------------------------------------------------- tc.cuda: why not available


class _FakeRuntime:
    def __init__(self, driver=13000, runtime=13000, count=1, count_error=None, driver_error=None):
        self.driver, self.runtime, self.count = driver, runtime, count
        self.count_error, self.driver_error = count_error, driver_error

    def driverGetVersion(self):  # noqa: N802 (CuPy's names)
        if self.driver_error:
            raise self.driver_error
        return self.driver

    def runtimeGetVersion(self):  # noqa: N802
        return self.runtime

    def getDeviceCount(self):  # noqa: N802
        if self.count_error:
            raise self.count_error
        return self.count


def _fake_cupy(**kw):
    from types import SimpleNamespace

    return SimpleNamespace(cuda=SimpleNamespace(runtime=_FakeRuntime(**kw)))


def test_reasons_name_the_driver_that_is_too_old():
    from tensorcore import cuda

    reason = cuda.diagnose(
        _fake_cupy(driver=12020, count_error=RuntimeError("cudaErrorInsufficientDriver")), release="535.104.05"
    )
    assert reason == "driver 535 is older than CUDA 13 needs (580 or newer; this one supports CUDA 12.2)"
    assert cuda.diagnose(_fake_cupy(driver=13000, runtime=13020), release="580.65.06") is None  # minor versions mix


def test_reasons_tell_no_driver_and_no_gpu_apart():
    from tensorcore import cuda

    assert "no NVIDIA driver" in cuda.diagnose(_fake_cupy(driver=0), release="")
    assert "libcuda could not be loaded" in cuda.diagnose(_fake_cupy(driver_error=OSError("libcuda.so.1")))
    assert "no CUDA GPU found" in cuda.diagnose(_fake_cupy(count=0), release="580.65.06")


def test_driver_release_reads_the_kernel_module_version(tmp_path):
    from tensorcore import cuda

    f = tmp_path / "version"
    f.write_text(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 07:09:58 UTC 2025\n"
        "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"
    )
    assert cuda.driver_release(f) == "580.65.06"
    assert cuda.driver_release(tmp_path / "missing") is None


def test_info_says_why_cuda_is_not_available_here():
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_ENABLE_CUDASIM", "TENSORCORE_CUDA_SIM")}
    r = subprocess.run([sys.executable, "-m", "tensorcore", "info"], capture_output=True, text=True, env=env)
    import tensorcore as tc

    line = next(line for line in r.stdout.splitlines() if line.startswith("cuda "))
    if tc.cuda.is_available():
        assert "available" in line
    else:
        assert line.endswith(tc.cuda.unavailable_reason()) and "not available: " in line
    assert "driver " in r.stdout and "CUDA 13 needs 580" in r.stdout


# ------------------------------------------------------------- a test skipped for lack of a GPU never passes

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.test_kernels_gemm" name="test_sim" time="0.1"/>
<testcase classname="tests.test_kernels_gemm" name="test_gpu" time="0.0">
  <skipped type="pytest.skip" message="needs a real CUDA GPU (none found, or running in the simulator)"/></testcase>
<testcase classname="tests.test_kernels_gemm" name="test_other" time="0.0">
  <skipped type="pytest.skip" message="only meaningful where the grid is small"/></testcase>
</testsuite></testsuites>
"""


@pytest.fixture
def bench_modules(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import gpu_check
    import gpu_sections

    return gpu_check, gpu_sections


def test_a_gpu_skip_is_counted_apart_and_fails_a_gpu_run(bench_modules, tmp_path):
    gpu_check, gpu_sections = bench_modules
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    tests = gpu_sections.parse_junit(path)
    assert (tests["passed"], tests["skipped"], tests["skipped_no_gpu"]) == (1, 2, 1)
    entry = {"records": [], "tests": tests}
    assert gpu_check.judge(entry, simulate=False) == "no-gpu"  # on a GPU machine: not a pass
    assert gpu_check.judge(entry, simulate=True) == "ok"  # the simulator has no GPU by design
    assert gpu_check.judge({"records": [], "tests": dict(tests, passed=0, skipped_no_gpu=0)}, False) == "no-tests"
    assert gpu_check.judge({"records": [], "unavailable": "driver 535 is older"}, False) == "no-gpu"


def test_fault_spec_is_checked(bench_modules):
    gpu_check, _ = bench_modules
    assert gpu_check.parse_faults("gemm:raise, nccl:hang") == {"gemm": "raise", "nccl": "hang"}
    with pytest.raises(SystemExit, match="raise, crash or hang"):
        gpu_check.parse_faults("gemm:explode")
