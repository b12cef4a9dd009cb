"""The measured ceilings every result is compared with, measured in the same run.

CPU: a large float32 GEMM through NumPy's BLAS (the compute ceiling, GFLOP/s) and a large copy
(`np.copyto`, bytes read plus bytes written: the bandwidth ceiling, GB/s).
GPU: a large float32 GEMM through CuPy/cuBLAS with TF32 off (so it is a true FP32 ceiling) and a
device-to-device copy (read plus write), both timed with CUDA events.

Example:
    c = cpu_ceilings(gemm_n=2048, copy_mib=256)
    c["gflops"], c["gbps"]
"""

from __future__ import annotations

import os

import numpy as np

from .timing import cuda_event_timer, measure


def gemm_flops(m, k, n):
    return 2.0 * m * k * n


def cpu_ceilings(gemm_n=2048, copy_mib=256, min_time=0.5, seed=0):
    """Measure the CPU ceilings: {"gflops", "gbps", "gemm", "copy"} (medians of repeated runs).

    The GEMM is `gemm_n`^3 in float32 on random data; the copy moves `copy_mib` MiB (far larger than
    the last-level cache) from one buffer to another.
    """
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((gemm_n, gemm_n), dtype=np.float32)
    b = rng.standard_normal((gemm_n, gemm_n), dtype=np.float32)
    c = np.empty((gemm_n, gemm_n), np.float32)
    t_gemm = measure(lambda: np.matmul(a, b, out=c), warmup=1, min_runs=3, max_runs=20, min_time=min_time)
    n = copy_mib * (1 << 20) // 4
    src = rng.standard_normal(n, dtype=np.float32)
    dst = np.empty_like(src)
    t_copy = measure(lambda: np.copyto(dst, src), warmup=1, min_runs=3, max_runs=30, min_time=min_time)
    moved = 2.0 * src.nbytes
    gflops = gemm_flops(gemm_n, gemm_n, gemm_n) / t_gemm.median_s / 1e9
    gbps = moved / t_copy.median_s / 1e9
    return {
        "device": "cpu",
        "gflops": gflops,
        "gbps": gbps,
        "gemm": {"what": f"numpy float32 matmul {gemm_n}x{gemm_n}x{gemm_n}", "median_s": t_gemm.median_s,
                 "min_s": t_gemm.min_s, "max_s": t_gemm.max_s, "runs": t_gemm.runs,
                 "best_gflops": gemm_flops(gemm_n, gemm_n, gemm_n) / t_gemm.min_s / 1e9},
        "copy": {"what": f"np.copyto of {copy_mib} MiB (read + write counted)", "median_s": t_copy.median_s,
                 "min_s": t_copy.min_s, "max_s": t_copy.max_s, "runs": t_copy.runs,
                 "best_gbps": moved / t_copy.min_s / 1e9},
    }


def fp32_cublas(cupy):
    """Make cuBLAS run float32 GEMMs in true FP32 (the ceiling our FP32 kernels are compared with)."""
    # NOTE: CuPy runs float32 GEMM on TF32 tensor cores only when CUPY_TF32=1 (read at import);
    # refuse that, and set the handle's math mode to the default (no TF32) as well.
    if os.environ.get("CUPY_TF32", "0") != "0":
        raise RuntimeError("CUPY_TF32 is set: the cuBLAS ceiling would use TF32, not FP32; unset it")
    try:
        from cupy.cuda import cublas

        cublas.setMathMode(cupy.cuda.device.get_cublas_handle(), cublas.CUBLAS_DEFAULT_MATH)
    except (ImportError, AttributeError):  # other CuPy layouts: the default is already FP32
        pass


def device_copy(cupy, dst, src):
    """dst[...] = src as one device-to-device memcpy on the current stream (the bandwidth ceiling)."""
    rt = cupy.cuda.runtime
    rt.memcpyAsync(dst.data.ptr, src.data.ptr, src.nbytes, rt.memcpyDeviceToDevice,
                   cupy.cuda.get_current_stream().ptr)


def gpu_ceilings(gemm_n=8192, copy_mib=1024, seed=0):
    """Measure the GPU ceilings with CuPy: cuBLAS SGEMM (TF32 off) and a device-to-device copy.

    Raises ImportError when CuPy is missing and a CUDA error when there is no GPU; callers report
    that as "unavailable".
    """
    import cupy

    fp32_cublas(cupy)
    rs = cupy.random.RandomState(seed)
    a = rs.standard_normal((gemm_n, gemm_n), dtype=cupy.float32)
    b = rs.standard_normal((gemm_n, gemm_n), dtype=cupy.float32)
    c = cupy.empty((gemm_n, gemm_n), cupy.float32)
    t_gemm = cuda_event_timer(lambda: cupy.matmul(a, b, out=c), warmup=2, min_runs=5, max_runs=20, min_time=0.5)
    n = copy_mib * (1 << 20) // 4
    src = rs.standard_normal(n, dtype=cupy.float32)
    dst = cupy.empty_like(src)
    t_copy = cuda_event_timer(lambda: device_copy(cupy, dst, src), warmup=2, min_runs=10, max_runs=50, min_time=0.5)
    moved = 2.0 * src.nbytes
    return {
        "device": "cuda",
        "gflops": gemm_flops(gemm_n, gemm_n, gemm_n) / t_gemm.median_s / 1e9,
        "gbps": moved / t_copy.median_s / 1e9,
        "gemm": {"tf32": False, "what": f"cuBLAS SGEMM (TF32 off) {gemm_n}^3", "median_s": t_gemm.median_s,
                 "min_s": t_gemm.min_s, "max_s": t_gemm.max_s, "runs": t_gemm.runs},
        "copy": {"what": f"device-to-device copy of {copy_mib} MiB (read + write counted)",
                 "median_s": t_copy.median_s, "min_s": t_copy.min_s, "max_s": t_copy.max_s, "runs": t_copy.runs},
    }


def _shape_text(shape):
    return "x".join(str(s) for s in shape) if isinstance(shape, (list, tuple)) else str(shape)


def roofline(ceilings, records):
    """Per device, the roofline every timed result sits under: {"peak_gflops", "peak_from", "gbps", "gbps_from"}.

    The peak is the best rate measured in the run (the GEMM probe or any timed op, whichever is
    higher), the bandwidth likewise (the copy probe or any op's bytes / median time), so no point
    (intensity, GFLOP/s) lies above min(peak, bandwidth x intensity): a probe of one size is not
    the machine's ceiling when another size or library runs faster.
    """
    out = {}
    for dev, c in (ceilings or {}).items():
        if not c or "error" in c:
            continue
        best = {"gflops": (c.get("gflops") or 0.0, f"GEMM probe: {c.get('gemm', {}).get('what', '?')}"),
                "gbps": (c.get("gbps") or 0.0, f"copy probe: {c.get('copy', {}).get('what', '?')}")}
        for r in records:
            if r.get("device") != dev or r.get("status") != "ok":
                continue
            for key in ("gflops", "gbps"):
                if r.get(key) and r[key] > best[key][0]:
                    best[key] = (r[key], f"{r['backend']} {r['op']} {_shape_text(r['shape'])}")
        out[dev] = {"peak_gflops": best["gflops"][0], "peak_from": best["gflops"][1],
                    "gbps": best["gbps"][0], "gbps_from": best["gbps"][1]}
    return out


def apply_roofline(records, roof):
    """Set each timed record's `fraction_of_ceiling` against its device's roofline (so it is at most 1)."""
    for r in records:
        c = roof.get(r.get("device"))
        if c is None or r.get("status") != "ok":
            continue
        if r.get("memory_bound") and r.get("gbps") and c["gbps"]:
            r["fraction_of_ceiling"] = r["gbps"] / c["gbps"]
        elif r.get("gflops") and c["peak_gflops"]:
            r["fraction_of_ceiling"] = r["gflops"] / c["peak_gflops"]
    return records
