"""The benchmark record: one dict per (op, shape, backend), and the JSON file that holds a run.

A record always has the keys in `RECORD_KEYS`. `status` is "ok" (timed), "failed: <why>" (the
correctness gate rejected the result, so nothing was timed) or "unavailable: <why>" (the backend
or op is missing here); timing fields are None unless the status is "ok". `gflops` is set for
compute-bound ops and `gbps` for memory-bound ones; `fraction_of_ceiling` is the achieved rate
over the ceiling measured in the same run on the same device (GFLOP/s over the GEMM ceiling,
GB/s over the copy ceiling).

A run file is `{"schema": SCHEMA, "suite", "machine", "ceilings", "backends", "records", ...}`,
written atomically (a temporary file in the same folder, then a rename).

Example:
    rec = make_record("matmul", (64, 64, 64), "float32", "cpu", "numpy", timing=t, flops=2 * 64**3)
    write_json("k.json", {"suite": "kernels", "records": [rec]})
"""

from __future__ import annotations

import json
import math
import os
import tempfile

SCHEMA = "tensorcore.bench/1"

RECORD_KEYS = ("op", "shape", "dtype", "device", "backend", "status", "median_s", "min_s", "max_s", "runs",
               "flops", "bytes", "gflops", "gbps", "fraction_of_ceiling")

STATUS_OK = "ok"


def make_record(op, shape, dtype, device, backend, *, timing=None, status=STATUS_OK, flops=None, nbytes=None,
                memory_bound=False, ceilings=None, **extra):
    """A record for one benchmark. With a Timing, rates come from the median time.

    `memory_bound` picks the rate that matters (GB/s against the copy ceiling, else GFLOP/s
    against the GEMM ceiling); `ceilings` is the dict of `ceilings.cpu_ceilings()` for that device.
    """
    rec = {"op": op, "shape": [int(s) for s in shape] if isinstance(shape, (tuple, list)) else shape,
           "dtype": str(dtype), "device": device, "backend": backend, "status": status,
           "median_s": None, "min_s": None, "max_s": None, "runs": None,
           "flops": flops, "bytes": nbytes, "gflops": None, "gbps": None, "fraction_of_ceiling": None}
    if timing is not None and status == STATUS_OK:
        rec.update(median_s=timing.median_s, min_s=timing.min_s, max_s=timing.max_s, runs=timing.runs)
        if flops:
            rec["gflops"] = flops / timing.median_s / 1e9
        if nbytes:
            rec["gbps"] = nbytes / timing.median_s / 1e9
        if ceilings:
            if memory_bound and rec["gbps"] and ceilings.get("gbps"):
                rec["fraction_of_ceiling"] = rec["gbps"] / ceilings["gbps"]
            elif not memory_bound and rec["gflops"] and ceilings.get("gflops"):
                rec["fraction_of_ceiling"] = rec["gflops"] / ceilings["gflops"]
    if flops and nbytes:
        rec["intensity"] = flops / nbytes
    rec["memory_bound"] = bool(memory_bound)
    rec.update(extra)
    return rec


def validate_record(rec):
    """Raise ValueError if `rec` does not follow the schema (keys, types, status, timing consistency)."""
    missing = [k for k in RECORD_KEYS if k not in rec]
    if missing:
        raise ValueError(f"record {rec.get('op')!r}: missing keys {missing}")
    status = rec["status"]
    if not isinstance(status, str) or not (status == STATUS_OK or status.startswith(("failed: ", "unavailable: "))):
        raise ValueError(f"record {rec['op']!r}: bad status {status!r}")
    timed = [rec[k] for k in ("median_s", "min_s", "max_s", "runs")]
    if status == STATUS_OK:
        if any(v is None for v in timed):
            raise ValueError(f"record {rec['op']!r}: status ok but timing missing")
        if not (0 < rec["min_s"] <= rec["median_s"] <= rec["max_s"]) or rec["runs"] < 1:
            raise ValueError(f"record {rec['op']!r}: inconsistent timing {timed}")
        if (rec["flops"] or rec["bytes"]) and rec["gflops"] is None and rec["gbps"] is None:
            raise ValueError(f"record {rec['op']!r}: has flops/bytes but neither gflops nor gbps")
        for k in ("gflops", "gbps", "fraction_of_ceiling"):
            v = rec[k]
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"record {rec['op']!r}: {k}={v!r}")
    elif any(v is not None for v in timed):
        raise ValueError(f"record {rec['op']!r}: status {status!r} but timed")
    return rec


def _clean(obj):
    """JSON-safe: tuples to lists, NumPy scalars to Python numbers, NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path, payload):
    """Write `payload` (with `schema` added) as JSON, atomically: readers see the old or the new file."""
    payload = _clean({"schema": SCHEMA, **payload})
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bench-", suffix=".json.tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def read_json(path):
    with open(path) as f:
        payload = json.load(f)
    if payload.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a tensorcore benchmark file (schema {payload.get('schema')!r})")
    for rec in payload.get("records", []):
        validate_record(rec)
    return payload
