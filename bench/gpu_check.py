"""The one prepared GPU check: kernel tests on the GPU, then every kernel timed against its ceiling.

Run on a machine with a CUDA GPU, CuPy and (optionally) PyTorch, in well under 8 minutes::

    python bench/gpu_check.py                 # everything; the short table is printed last
    python bench/gpu_check.py --quick         # smaller sizes, fewer repetitions
    python bench/gpu_check.py --sections ceilings,gemm
    python bench/gpu_check.py --dry-run       # no GPU: Numba's simulator, tiny sizes, NumPy timing

What it does, in order (each step is a *section*, a function in ``SECTIONS``):

1. ``environment``: GPU name, driver, CUDA runtime, library versions, date.
2. ``tests``: ``pytest -m "kernels or gpu"`` over tests/test_kernels_*.py on the real GPU.
3. ``ceilings``: the same-run ceilings: device-to-device copy bandwidth (bytes read + written) and
   cuBLAS SGEMM through CuPy with TF32 off (``CUPY_TF32=0``).
4. ``gemm``, ``elementwise``, ``softmax``, ``conv``, ``pool``, ``optim``: each kernel's median time
   (CUDA events around a batch of calls, after warm-up/JIT), its FLOP/s or GB/s, and the ratio to
   the ceiling and to the CuPy/cuBLAS (or PyTorch/cuDNN) equivalent, plus a correctness check
   against that equivalent.

Results (every figure, the environment, the goals) go to ``bench/results/gpu_check-<date>.json``.

Adding a section (for example training-step timings): write ``def my_section(ctx): ...`` that calls
``ctx.record(...)`` (and ``ctx.time(fn)`` for timings), then append ``("name", my_section)`` to
``SECTIONS`` or call :func:`register_section`. ``ctx.xp`` is CuPy (NumPy in ``--dry-run``),
``ctx.k`` the kernel modules, ``ctx.quick``/``ctx.dry`` the size switches.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

#: The issue's goals on H200, checked in the summary.
GOALS = {
    "sgemm_4096_vs_cublas": 0.50,
    "memory_bound_vs_copy": 0.80,
    "conv_vs_cudnn_time_ratio": 2.0,
}


# ----------------------------------------------------------------------------------------------- context


class Context:
    """What a section gets: the array module, the kernels, a timer and a place for records."""

    def __init__(self, dry: bool, quick: bool):
        self.dry = dry
        self.quick = quick
        self.records: list[dict] = []
        self.info: dict = {}
        self.ceilings: dict = {}
        if dry:
            import numpy as xp

            self.cupy = None
        else:
            os.environ.setdefault("CUPY_TF32", "0")  # FP32 means FP32 (no TF32 in cuBLAS)
            import cupy as xp

            self.cupy = xp
        self.xp = xp
        from tensorcore.kernels import activations, conv, gemm, optim, pool, softmax

        self.k = argparse.Namespace(
            gemm=gemm, activations=activations, softmax=softmax, conv=conv, pool=pool, optim=optim
        )

    # sizes -------------------------------------------------------------------------------------------
    def size(self, full, quick, dry):
        return dry if self.dry else (quick if self.quick else full)

    def randn(self, shape, dtype="float32", seed=0):
        xp = self.xp
        if self.dry:
            import numpy as np

            return np.random.default_rng(seed).standard_normal(shape).astype(dtype)
        xp.random.seed(seed)
        return xp.random.standard_normal(shape, dtype=xp.float32).astype(dtype)

    def sync(self):
        if not self.dry:
            self.cupy.cuda.get_current_stream().synchronize()

    # timing ------------------------------------------------------------------------------------------
    def time(self, fn, samples=None, min_ms=20.0):
        """Median milliseconds per call of ``fn``: warm-up (JIT) first, then ``samples`` batches of
        calls between CUDA events, each batch long enough (``min_ms``) to hide launch latency."""
        samples = samples or (3 if self.quick or self.dry else 7)
        fn()
        self.sync()
        if self.dry:
            t = time.perf_counter()
            fn()
            return (time.perf_counter() - t) * 1e3
        cp = self.cupy
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        one = max(cp.cuda.get_elapsed_time(start, end), 1e-3)
        inner = max(1, min(200, int(math.ceil(min_ms / one))))
        times = []
        for _ in range(samples):
            start.record()
            for _ in range(inner):
                fn()
            end.record()
            end.synchronize()
            times.append(cp.cuda.get_elapsed_time(start, end) / inner)
        return statistics.median(times)

    def rel_err(self, out, ref):
        xp = self.xp
        out = xp.asarray(out, dtype=xp.float64)
        ref = xp.asarray(ref, dtype=xp.float64)
        return float(xp.linalg.norm((out - ref).ravel()) / max(float(xp.linalg.norm(ref.ravel())), 1e-30))

    def record(
        self, section, name, *, ms=None, flops=None, nbytes=None, ref=None, ref_ms=None, err=None, note="", **extra
    ):
        """Store one measurement; derived TFLOP/s, GB/s and ratios are added here."""
        rec = {
            "section": section,
            "name": name,
            "ms": ms,
            "flops": flops,
            "bytes": nbytes,
            "ref": ref,
            "ref_ms": ref_ms,
            "rel_err": err,
            "note": note,
            **extra,
        }
        if ms:
            if flops:
                rec["tflops"] = flops / ms / 1e9
            if nbytes:
                rec["gbs"] = nbytes / ms / 1e6
                copy = self.ceilings.get("copy_gbs")
                if copy:
                    rec["vs_copy"] = rec["gbs"] / copy
            if ref_ms:
                rec["vs_ref"] = ref_ms / ms  # > 1: faster than the reference
        self.records.append(rec)
        return rec


SECTIONS: list = []


def register_section(name, fn=None):
    """Add a section (usable as a decorator): ``fn(ctx)`` runs after the existing ones."""
    if fn is None:
        return lambda f: register_section(name, f)
    SECTIONS.append((name, fn))
    return fn


# ---------------------------------------------------------------------------------------------- sections


def environment(ctx: Context):
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "python": sys.version.split()[0],
        "dry_run": ctx.dry,
        "quick": ctx.quick,
    }
    versions = {}
    for mod in ("numpy", "numba", "numba_cuda", "cupy", "torch"):
        try:
            m = __import__(mod)
            versions[mod] = getattr(m, "__version__", "?")
        except Exception:
            versions[mod] = None
    info["versions"] = versions
    if not ctx.dry:
        cp = ctx.cupy
        dev = cp.cuda.Device()
        props = cp.cuda.runtime.getDeviceProperties(dev.id)
        name = props["name"]
        info["gpu"] = name.decode() if isinstance(name, bytes) else name
        info["sm_count"] = props["multiProcessorCount"]
        info["memory_gib"] = props["totalGlobalMem"] / 2**30
        info["driver"] = cp.cuda.runtime.driverGetVersion()
        info["cuda_runtime"] = cp.cuda.runtime.runtimeGetVersion()
        try:
            smi = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            info["nvidia_smi"] = smi.stdout.strip()
        except Exception:
            pass
    else:
        info["gpu"] = "none (Numba CUDA simulator)"
    ctx.info.update(info)
    print(f"GPU: {info['gpu']}  versions: {versions}")


def tests(ctx: Context):
    """The kernel tests on the real GPU (the simulator's tests at real sizes plus the gpu-marked ones)."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_kernels_*.py"))
    marker = "kernels and not gpu" if ctx.dry else "kernels or gpu"
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-m", marker, "-p", "no:cacheprovider", *files]
    if ctx.dry:
        cmd += ["-k", "optim"]  # the simulator is slow: one family proves the plumbing
    env = dict(os.environ)
    if ctx.dry:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=240)
        out, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT", -1
    summary = [ln for ln in out.strip().splitlines() if ln.strip()][-1:] or [""]
    ctx.record(
        "tests",
        "pytest " + marker,
        ms=(time.perf_counter() - t) * 1e3,
        passed=rc == 0,
        note=summary[0],
        output_tail=out[-4000:],
    )
    print(f"tests: rc={rc} {summary[0]}")


def ceilings(ctx: Context):
    xp = ctx.xp
    n = ctx.size(256 * 2**20, 64 * 2**20, 2**12)  # float32 elements: 1 GiB, 256 MiB
    src = ctx.randn((n,))
    dst = xp.empty_like(src)

    def copy():
        if ctx.dry:
            dst[...] = src
        else:
            ctx.cupy.cuda.runtime.memcpyAsync(
                dst.data.ptr,
                src.data.ptr,
                src.nbytes,
                ctx.cupy.cuda.runtime.memcpyDeviceToDevice,
                ctx.cupy.cuda.get_current_stream().ptr,
            )

    ms = ctx.time(copy)
    ctx.ceilings["copy_gbs"] = 2 * src.nbytes / ms / 1e6
    ctx.record("ceilings", "device copy", ms=ms, nbytes=2 * src.nbytes, note="memcpy D2D, read + write")
    m = ctx.size(8192, 4096, 64)
    a, b = ctx.randn((m, m)), ctx.randn((m, m), seed=1)
    ms = ctx.time(lambda: a @ b)
    ctx.ceilings["sgemm_tflops"] = 2 * m**3 / ms / 1e9
    ctx.record("ceilings", f"cuBLAS SGEMM {m}^3 (TF32 off)", ms=ms, flops=2 * m**3)
    print(f"ceilings: copy {ctx.ceilings['copy_gbs']:.0f} GB/s, SGEMM {ctx.ceilings['sgemm_tflops']:.1f} TFLOP/s")


def bench_gemm(ctx: Context):
    k = ctx.k.gemm
    sizes = [(4096, 4096, 4096), (8192, 1024, 4096), (1024, 4096, 9216)]
    if ctx.quick:
        sizes = sizes[:1]
    if ctx.dry:
        sizes = [(33, 17, 9)]
    for M, N, K in sizes:
        a, b = ctx.randn((M, K)), ctx.randn((K, N), seed=1)
        ms = ctx.time(lambda a=a, b=b: k.matmul(a, b))
        ref_ms = None if ctx.dry else ctx.time(lambda a=a, b=b: a @ b)
        err = ctx.rel_err(k.matmul(a, b), a @ b)
        ctx.record(
            "gemm", f"matmul NN {M}x{N}x{K}", ms=ms, flops=2 * M * N * K, ref="cuBLAS (CuPy)", ref_ms=ref_ms, err=err
        )
    # The layouts and the fused epilogue at one size.
    M, N, K = ctx.size((4096, 4096, 4096), (2048, 2048, 2048), (19, 23, 11))
    x, w, bias = ctx.randn((M, K)), ctx.randn((N, K), seed=1), ctx.randn((N,), seed=2)
    ms = ctx.time(lambda: k.matmul(x, w, bias=bias, activation="relu", trans_b=True))
    ctx.record(
        "gemm",
        f"linear relu(x w^T + b) {M}x{N}x{K}",
        ms=ms,
        flops=2 * M * N * K,
        ref="cuBLAS NT (no epilogue)",
        ref_ms=None if ctx.dry else ctx.time(lambda: x @ w.T),
    )
    g = ctx.randn((M, N), seed=3)
    ms = ctx.time(lambda: k.matmul(g, x, trans_a=True))
    ctx.record(
        "gemm",
        f"weight grad g^T x (TN) {N}x{K}x{M}",
        ms=ms,
        flops=2 * M * N * K,
        ref="cuBLAS TN",
        ref_ms=None if ctx.dry else ctx.time(lambda: g.T @ x),
    )


def bench_elementwise(ctx: Context):
    a = ctx.k.activations
    xp = ctx.xp
    n = ctx.size(64 * 2**20, 16 * 2**20, 1000)
    x, g = ctx.randn((n,)), ctx.randn((n,), seed=1)
    out = xp.empty_like(x)
    item = 4
    cases = [
        ("relu", lambda: a.relu(x, out=out), lambda: xp.maximum(x, 0, out=out), 2),
        ("relu_backward", lambda: a.relu_backward(x, g, out=out), lambda: xp.multiply(g, x > 0, out=out), 3),
        ("gelu", lambda: a.gelu(x, out=out), None, 2),
        ("gelu_backward", lambda: a.gelu_backward(x, g, out=out), None, 3),
        ("sigmoid", lambda: a.sigmoid(x, out=out), None, 2),
        ("tanh", lambda: a.tanh(x, out=out), lambda: xp.tanh(x, out=out), 2),
    ]
    for name, ours, ref, arrays in cases:
        ms = ctx.time(ours)
        ref_ms = None if (ctx.dry or ref is None) else ctx.time(ref)
        ctx.record(
            "elementwise", f"{name} {n}", ms=ms, nbytes=arrays * n * item, ref="CuPy" if ref else None, ref_ms=ref_ms
        )


def bench_softmax(ctx: Context):
    s = ctx.k.softmax
    xp = ctx.xp
    R, C = ctx.size((8192, 8192), (4096, 4096), (5, 40))
    x = ctx.randn((R, C))
    y = s.softmax(x)

    def cupy_softmax():
        e = xp.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    err = ctx.rel_err(y, cupy_softmax())
    ctx.record(
        "softmax",
        f"softmax {R}x{C}",
        ms=ctx.time(lambda: s.softmax(x, out=y)),
        nbytes=2 * R * C * 4,
        ref="CuPy (4 kernels)",
        ref_ms=None if ctx.dry else ctx.time(cupy_softmax),
        err=err,
    )
    g = ctx.randn((R, C), seed=1)
    out = xp.empty_like(x)
    ctx.record(
        "softmax",
        f"softmax_backward {R}x{C}",
        ms=ctx.time(lambda: s.softmax_backward(y, g, out=out)),
        nbytes=3 * R * C * 4,
    )
    ctx.record("softmax", f"log_softmax {R}x{C}", ms=ctx.time(lambda: s.log_softmax(x, out=out)), nbytes=2 * R * C * 4)
    Rc, Cc = ctx.size((65536, 1000), (16384, 1000), (7, 10))
    logits = ctx.randn((Rc, Cc))
    t = (xp.arange(Rc) * 7919 % Cc).astype(xp.int64)
    ctx.record(
        "softmax",
        f"softmax_cross_entropy {Rc}x{Cc}",
        ms=ctx.time(lambda: s.softmax_cross_entropy(logits, t, grad_scale=1.0 / Rc)),
        nbytes=2 * Rc * Cc * 4 + Rc * 12,
    )


# AlexNet (torchvision) convolutions at batch 128: (Cin, H, Cout, k, stride, pad).
ALEXNET = [
    (3, 224, 64, 11, 4, 2),
    (64, 27, 192, 5, 1, 2),
    (192, 13, 384, 3, 1, 1),
    (384, 13, 256, 3, 1, 1),
    (256, 13, 256, 3, 1, 1),
]


def bench_conv(ctx: Context):
    batch = ctx.size(128, 32, 2)
    layers = ALEXNET if not ctx.dry else [(3, 9, 4, 3, 2, 1)]
    torch = None
    if not ctx.dry:
        try:
            import torch

            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.benchmark = True
        except Exception:
            torch = None
    for i, layer in enumerate(layers, 1):
        _conv_layer(ctx, f"AlexNet conv{i} fwd+bwd (N={batch})", batch, layer, torch)


def _conv_layer(ctx: Context, name, batch, layer, torch):
    """Forward + input grad + weight grad of one layer, against PyTorch (cuDNN) when installed."""
    c = ctx.k.conv
    cin, hw, cout, kk, st, pad = layer
    x, w, b = ctx.randn((batch, cin, hw, hw)), ctx.randn((cout, cin, kk, kk), seed=1), ctx.randn((cout,), seed=2)
    y = c.conv2d_forward(x, w, b, stride=st, padding=pad)
    dy = ctx.randn(y.shape, seed=3)
    Ho = y.shape[2]
    flops = 2 * batch * cout * Ho * Ho * cin * kk * kk
    f_ms = ctx.time(lambda: c.conv2d_forward(x, w, b, stride=st, padding=pad, out=y))
    bi_ms = ctx.time(lambda: c.conv2d_backward_input(dy, w, x.shape, stride=st, padding=pad))
    bw_ms = ctx.time(lambda: c.conv2d_backward_weight(x, dy, w.shape, stride=st, padding=pad))
    ref_ms = err = None
    note = ""
    if torch is not None:
        try:
            tx = torch.as_tensor(x, device="cuda").requires_grad_(True)
            tw = torch.as_tensor(w, device="cuda").requires_grad_(True)
            tb = torch.as_tensor(b, device="cuda").requires_grad_(True)
            tdy = torch.as_tensor(dy, device="cuda")

            def torch_fb():
                out = torch.nn.functional.conv2d(tx, tw, tb, stride=st, padding=pad)
                torch.autograd.grad(out, (tx, tw), tdy)

            ref_ms = ctx.time(torch_fb)
            with torch.no_grad():
                ty = torch.nn.functional.conv2d(tx, tw, tb, stride=st, padding=pad)
            err = ctx.rel_err(y, ctx.xp.asarray(ty))
        except Exception as e:  # PyTorch without CUDA, or another CUDA runtime: no reference
            note = f"no PyTorch reference: {type(e).__name__}: {e}"[:200]
    total = f_ms + bi_ms + bw_ms
    ctx.record(
        "conv",
        name,
        ms=total,
        flops=3 * flops,
        ref="PyTorch/cuDNN",
        ref_ms=ref_ms,
        err=err,
        note=note,
        fwd_ms=f_ms,
        bwd_input_ms=bi_ms,
        bwd_weight_ms=bw_ms,
    )


def bench_pool(ctx: Context):
    p = ctx.k.pool
    shape = ctx.size((128, 64, 55, 55), (32, 64, 55, 55), (2, 3, 9, 9))
    x = ctx.randn(shape)
    y, idx = p.max_pool2d_forward(x, 3, 2)
    g = ctx.randn(y.shape, seed=1)
    ctx.record(
        "pool",
        f"max_pool 3/2 fwd {shape}",
        ms=ctx.time(lambda: p.max_pool2d_forward(x, 3, 2)),
        nbytes=x.nbytes + y.nbytes * 2,
    )
    ctx.record(
        "pool",
        f"max_pool 3/2 bwd {shape}",
        ms=ctx.time(lambda: p.max_pool2d_backward(g, idx, shape, 3, 2)),
        nbytes=x.nbytes + y.nbytes * 2,
    )
    ctx.record(
        "pool",
        f"avg_pool 3/2 fwd {shape}",
        ms=ctx.time(lambda: p.avg_pool2d_forward(x, 3, 2)),
        nbytes=x.nbytes + y.nbytes,
    )


def bench_optim(ctx: Context):
    o = ctx.k.optim
    xp = ctx.xp
    n = ctx.size(64 * 2**20, 16 * 2**20, 1000)
    p, g = ctx.randn((n,)), ctx.randn((n,), seed=1)
    m, v = xp.zeros_like(p), xp.zeros_like(p)
    ctx.record(
        "optim",
        f"adamw {n}",
        ms=ctx.time(lambda: o.adam_update(p, g, m, v, 1e-4, weight_decay=0.01, step=1, decoupled=True)),
        nbytes=7 * n * 4,
        note="reads p, g, m, v; writes p, m, v",
    )


SECTIONS += [
    ("environment", environment),
    ("tests", tests),
    ("ceilings", ceilings),
    ("gemm", bench_gemm),
    ("elementwise", bench_elementwise),
    ("softmax", bench_softmax),
    ("conv", bench_conv),
    ("pool", bench_pool),
    ("optim", bench_optim),
]

# The cuda device's sections (device tests, training steps vs PyTorch, NCCL): bench/gpu_train.py.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_train  # noqa: E402

gpu_train.register(register_section)


# ----------------------------------------------------------------------------------------------- summary


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(records) -> str:
    lines = [f"{'section':<12} {'kernel':<44} {'ms':>9} {'TFLOP/s':>8} {'GB/s':>7} {'vs copy':>7} {'vs ref':>7}"]
    for r in records:
        if r["section"] in ("tests",):
            lines.append(f"{'tests':<12} {r['note'][:44]:<44} {'passed' if r.get('passed') else 'FAILED':>9}")
            continue
        lines.append(
            f"{r['section']:<12} {r['name'][:44]:<44} {_fmt(r['ms'], '9.3f')} {_fmt(r.get('tflops'), '8.2f')} "
            f"{_fmt(r.get('gbs'), '7.0f')} {_fmt(r.get('vs_copy'), '7.2f')} {_fmt(r.get('vs_ref'), '7.2f')}"
        )
    return "\n".join(lines)


def goals(ctx: Context) -> dict:
    out = {}
    for r in ctx.records:
        if r["name"].startswith("matmul NN 4096x4096x4096") and r.get("vs_ref"):
            out["sgemm_4096_vs_cublas"] = r["vs_ref"]
        if r["section"] in ("elementwise", "softmax") and r.get("vs_copy"):
            out.setdefault("memory_bound_vs_copy_min", r["vs_copy"])
            out["memory_bound_vs_copy_min"] = min(out["memory_bound_vs_copy_min"], r["vs_copy"])
        if r["section"] == "conv" and r.get("ref_ms"):
            out.setdefault("conv_time_vs_cudnn_max", 0.0)
            out["conv_time_vs_cudnn_max"] = max(out["conv_time_vs_cudnn_max"], r["ms"] / r["ref_ms"])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="no GPU: Numba's CUDA simulator and tiny sizes")
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    ap.add_argument("--sections", default="", help="comma-separated subset of: " + ", ".join(n for n, _ in SECTIONS))
    ap.add_argument("--skip-tests", action="store_true", help="skip the pytest section")
    ap.add_argument("--out", default=str(RESULTS), help="folder for the JSON results")
    args = ap.parse_args(argv)
    if args.dry_run:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # before numba is imported (by Context)
    sys.path.insert(0, str(ROOT))
    ctx = Context(dry=args.dry_run, quick=args.quick)
    wanted = {s for s in args.sections.split(",") if s}
    t0 = time.perf_counter()
    for name, fn in SECTIONS:
        if (wanted and name not in wanted and name != "environment") or (args.skip_tests and name == "tests"):
            continue
        t = time.perf_counter()
        try:
            fn(ctx)
        except Exception as e:  # one broken section must not lose the others' figures
            traceback.print_exc()
            ctx.record(name, "section failed", note=f"{type(e).__name__}: {e}")
        print(f"[{name}] {time.perf_counter() - t:.1f} s", flush=True)
    payload = {
        "info": ctx.info,
        "ceilings": ctx.ceilings,
        "goals": GOALS,
        "achieved": goals(ctx),
        "records": ctx.records,
        "wall_s": time.perf_counter() - t0,
    }
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"gpu_check-{'dry-' if args.dry_run else ''}{stamp}.json"
    path.write_text(json.dumps(payload, indent=1, default=str))
    print()
    print(f"results: {path}  ({payload['wall_s']:.0f} s)  ceilings: {ctx.ceilings}")
    print(f"goals: {GOALS}  achieved: {payload['achieved']}")
    print(table(ctx.records))
    failed = [r for r in ctx.records if r["name"] == "section failed" or r.get("passed") is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
