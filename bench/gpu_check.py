"""The first run on a GPU machine: one command, nothing installed, every figure brought back.

    python bench/gpu_check.py --out DIR [--budget SECONDS] [--sections a,b,...] [--list] [--quick]
    python bench/gpu_check.py --out DIR --simulate     # the rehearsal: Numba's simulator, tiny sizes

It runs from a plain checkout (no ``pip install``, no network): it imports ``tensorcore`` and
``tensorcore.kernels`` from this checkout itself (:func:`use_checkout`). Sections, in order of value
(``--list``): the environment report, every kernel's correctness (pytest), compile time and empty-launch
cost of each kernel, the copy and SGEMM ceilings, kernel timings against cuBLAS/CuPy/PyTorch, training
steps against PyTorch, the cuda test suite, NCCL last.

One failure costs only itself: each section runs in its own process with its own timeout (a crash, a
sticky CUDA error or a hang loses that section only), each measurement inside a section is caught on
its own, and a section that would overrun ``--budget`` is skipped and listed. After every section DIR
is rewritten with everything so far: ``gpu_check.json`` (every figure), ``gpu_check.xml`` (JUnit),
``gpu_check.log`` (all output) and ``gpu_check.txt`` (the short table, also printed last). Compiled
kernels are cached on disk (``NUMBA_CACHE_DIR``, outside DIR) so later sections reuse them.

Faults for the rehearsal: ``TENSORCORE_GPU_CHECK_FAULTS=gemm:raise,conv.ref:raise,pool:crash,nccl:hang``
(``S:raise``: each of our measurements in section S raises; ``S.ref:raise``: each reference raises;
``S:crash``: the section's process aborts; ``S:hang``: it hangs until its timeout).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
FAULTS_ENV = "TENSORCORE_GPU_CHECK_FAULTS"
LOG_TAIL_BYTES = 2 * 2**20  # of each section's output kept in gpu_check.log (16 MiB per file comes back)

# name, "module:function" in bench/, (timeout s, estimate s) on a GPU, the same in the simulator.
SECTIONS = [
    ("environment", "gpu_sections:environment", (90, 15), (60, 4)),
    ("correctness", "gpu_sections:correctness", (300, 150), (120, 10)),
    ("compile", "gpu_kernels:compile_and_launch", (240, 90), (120, 6)),
    ("ceilings", "gpu_kernels:ceilings", (60, 20), (60, 3)),
    ("gemm", "gpu_kernels:gemm", (180, 60), (60, 3)),
    ("elementwise", "gpu_kernels:elementwise", (60, 15), (60, 3)),
    ("softmax", "gpu_kernels:softmax", (60, 15), (60, 3)),
    ("conv", "gpu_kernels:conv", (240, 100), (60, 15)),  # 4 more kernels to compile, each pass timed alone
    ("pool", "gpu_kernels:pool", (60, 10), (60, 3)),
    ("optim", "gpu_kernels:optim", (60, 10), (60, 3)),
    ("attention", "gpu_seq:attention", (240, 60), (120, 8)),
    ("layer_norm", "gpu_seq:layer_norm", (90, 15), (60, 4)),
    ("half", "gpu_f16:half_precision", (150, 40), (90, 6)),
    ("embedding", "gpu_seq:embedding", (90, 15), (60, 4)),
    ("train", "gpu_train:train_steps", (180, 60), (90, 6)),
    ("graphs", "gpu_graphs:graphs", (120, 40), (30, 2)),
    ("cuda_tests", "gpu_sections:cuda_tests", (240, 60), (120, 10)),
    ("nccl", "gpu_train:nccl", (60, 15), (8, 3)),
]
NAMES = [s[0] for s in SECTIONS]


def use_checkout():
    """Make ``tensorcore`` and ``tensorcore.kernels`` import from this checkout, installed or not.

    ``kernels/`` installs as ``tensorcore.kernels``; from a plain checkout a meta-path finder, first
    in line (before any installed copy), maps both packages to their folders here.
    """
    import importlib.abc
    import importlib.util

    class CheckoutFinder(importlib.abc.MetaPathFinder):
        folders = {"tensorcore": ROOT / "tensorcore", "tensorcore.kernels": ROOT / "kernels"}

        def find_spec(self, name, path=None, target=None):
            folder = self.folders.get(name)
            if folder is None:
                return None
            return importlib.util.spec_from_file_location(
                name, folder / "__init__.py", submodule_search_locations=[str(folder)]
            )

    if not any(type(f).__name__ == "CheckoutFinder" for f in sys.meta_path):
        sys.meta_path.insert(0, CheckoutFinder())
    for p in (str(BENCH), str(ROOT)):
        if p not in sys.path:
            sys.path.insert(0, p)


def parse_faults(text: str) -> dict:
    """``"gemm:raise,nccl:hang"`` -> ``{"gemm": "raise", "nccl": "hang"}``."""
    faults = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        target, _, mode = item.partition(":")
        if mode not in ("raise", "crash", "hang"):
            raise SystemExit(f"{FAULTS_ENV}: {item!r}: the mode must be raise, crash or hang")
        faults[target] = mode
    return faults


# ------------------------------------------------------------------------------------------------- child


def run_child(name: str, work: Path, simulate: bool, quick: bool) -> int:
    """Run one section in this process (the parent starts one process per section)."""
    use_checkout()
    faults = parse_faults(os.environ.get(FAULTS_ENV, ""))
    mode = faults.get(name)
    if mode == "hang":
        print(f"injected fault {name}:hang: sleeping until the timeout", flush=True)
        time.sleep(10**6)
    if mode == "crash":
        print(f"injected fault {name}:crash: aborting", flush=True)
        os.abort()
    import gpu_sections

    ctx_args = dict(simulate=simulate, quick=quick, faults=faults)
    if not simulate and name != "environment":
        reason = gpu_sections.gpu_unavailable()
        if reason:  # every later figure needs the GPU: say why there is none, measure nothing
            gpu_sections.Context(name, work, **ctx_args).emit("unavailable", reason=reason)
            print(f"no GPU: {reason}", flush=True)
            return 0
    module_name, fn_name = dict((s[0], s[1]) for s in SECTIONS)[name].split(":")
    fn = getattr(importlib.import_module(module_name), fn_name)
    ctx = gpu_sections.Context(name, work, **ctx_args)
    try:
        fn(ctx)
    except Exception as e:  # recorded; the section's figures so far are already on disk
        import traceback

        traceback.print_exc()
        ctx.emit("error", error=gpu_sections.describe(e))
        return 1
    return 0


# ------------------------------------------------------------------------------------------------ parent


def _child_env(simulate: bool, cache_dir: Path) -> dict:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    if simulate:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
        env["TENSORCORE_CUDA_SIM"] = "1"
    else:
        env.pop("NUMBA_ENABLE_CUDASIM", None)
        env.pop("TENSORCORE_CUDA_SIM", None)
    return env


def run_section(name, timeout, args, work: Path, env) -> dict:
    """Run one section in a fresh process; return its entry for the results (status, records, ...)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--work", str(work)]
    cmd += ["--simulate"] * args.simulate + ["--quick"] * args.quick
    log_path = work / f"{name}.log"
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
            status = "ok" if rc == 0 else ("crashed" if rc < 0 else "failed")
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc, status = None, "timeout"
    entry = {"name": name, "status": status, "rc": rc, "seconds": round(time.monotonic() - t0, 2), "timeout": timeout}
    if status == "crashed":
        try:
            entry["reason"] = f"the process died ({signal.Signals(-rc).name})"
        except ValueError:
            entry["reason"] = f"the process died (signal {-rc})"
    elif status == "timeout":
        entry["reason"] = f"killed after its {timeout:.0f} s timeout"
    entry.update(read_events(work / f"{name}.jsonl"))
    if status == "ok" and entry.get("error"):
        status = entry["status"] = "failed"
    if status == "ok":
        entry["status"] = judge(entry, args.simulate)
    injected = {t: m for t, m in parse_faults(os.environ.get(FAULTS_ENV, "")).items() if t.split(".")[0] == name}
    if injected:
        entry["injected_faults"] = [f"{t}:{m}" for t, m in injected.items()]
    text = log_path.read_bytes()
    entry["log"] = text[-LOG_TAIL_BYTES:].decode(errors="replace")
    return entry


def read_events(path: Path) -> dict:
    """What a section wrote as it went: records, environment info, test counts, a section error."""
    import gpu_sections

    out = {"records": []}
    if not path.exists():
        return out
    cases, done = [], None
    for line in path.read_text().splitlines():
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        kind = ev.pop("event")
        if kind == "record":
            out["records"].append(ev)
        elif kind == "info":
            out.setdefault("info", {}).update(ev)
        elif kind == "testcase":
            cases.append(ev)
        elif kind == "tests_done":
            done = ev
        elif kind in ("error", "unavailable"):
            out[kind] = ev.get("error") or ev.get("reason")
    if cases or done:
        out["tests"] = {**gpu_sections.count_cases(cases), **(done or {"complete": False})}
    return out


def judge(entry, simulate) -> str:
    """A section that exited cleanly: ``ok`` only if it measured something and nothing failed. A test
    skipped for lack of a GPU is never counted as passed: on a GPU run it makes the section ``no-gpu``."""
    if entry.get("unavailable"):
        return "no-gpu"
    tests = entry.get("tests")
    if tests is not None:
        if tests["failed"] or tests["errors"] or tests.get("rc") not in (None, 0, 5):
            return "failed"
        if tests["skipped_no_gpu"] and not simulate:
            return "no-gpu"
        return "ok" if tests["passed"] else "no-tests"
    if any(r.get("error") or r.get("ref_error") or r.get("check_error") for r in entry["records"]):
        return "partial"
    return "ok" if entry["records"] or entry.get("info") else "empty"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="folder for the results (at most 4 files, rewritten after every section)")
    ap.add_argument("--budget", type=float, default=540.0, help="seconds for the whole run (default 540)")
    ap.add_argument("--sections", default="", help="comma-separated subset (see --list)")
    ap.add_argument("--list", action="store_true", help="list the sections with their timeouts and exit")
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    ap.add_argument("--simulate", "--dry-run", action="store_true", help="no GPU: Numba's simulator, tiny sizes")
    ap.add_argument("--cache-dir", help="NUMBA_CACHE_DIR for the sections (default: a folder in the temp dir)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    if args.child:
        return run_child(args.child, Path(args.work), args.simulate, args.quick)
    timing = 3 if args.simulate else 2
    if args.list:
        for s in SECTIONS:
            print(f"{s[0]:<12} timeout {s[timing][0]:>4} s  estimate {s[timing][1]:>4} s  ({s[1]})")
        return 0
    if not args.out:
        ap.error("--out DIR is required")
    wanted = [s for s in args.sections.split(",") if s]
    unknown = sorted(set(wanted) - set(NAMES))
    if unknown:
        ap.error(f"unknown sections {unknown}; choose from {NAMES}")
    faults = parse_faults(os.environ.get(FAULTS_ENV, ""))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(args.cache_dir or Path(tempfile.gettempdir()) / "tensorcore-gpu-check-numba-cache")
    cache_dir.mkdir(parents=True, exist_ok=True)
    env = _child_env(args.simulate, cache_dir)
    import gpu_report  # noqa: E402  (bench/ is on sys.path when run as a script)

    state = {
        "run": {
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if argv is None else "main()",
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "budget_s": args.budget,
            "simulate": args.simulate,
            "quick": args.quick,
            "faults": faults,
            "numba_cache_dir": str(cache_dir),
            "checkout": str(ROOT),
        },
        "sections": [],
    }
    start = time.monotonic()
    reserve = 3.0  # seconds kept for the last write of the results
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as tmp:
        for name, _, real, sim in SECTIONS:
            if wanted and name not in wanted and name != "environment":
                continue
            timeout, estimate = sim if args.simulate else real
            left = args.budget - (time.monotonic() - start) - reserve
            if estimate > left:
                entry = {
                    "name": name,
                    "status": "skipped",
                    "reason": f"budget: needs about {estimate} s, {left:.0f} s left",
                    "records": [],
                    "seconds": 0.0,
                }
            else:
                print(f"=== {name} (timeout {min(timeout, left):.0f} s)", flush=True)
                entry = run_section(name, min(timeout, left), args, Path(tmp), env)
                sys.stdout.write(entry["log"][-20000:])
            state["sections"].append(entry)
            state["run"]["wall_s"] = round(time.monotonic() - start, 2)
            print(
                f"=== {name}: {entry['status']}" + (f" ({entry['reason']})" if entry.get("reason") else ""), flush=True
            )
            gpu_report.write(out, state)
    table = gpu_report.table(state)
    print()
    print(f"results in {out}: " + ", ".join(sorted(p.name for p in out.iterdir())))
    print(table)
    fine = ("ok", "skipped") + (("no-gpu",) if args.simulate else ())  # the simulator has no NCCL
    bad = [s for s in state["sections"] if s["status"] not in fine]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    sys.exit(main())
