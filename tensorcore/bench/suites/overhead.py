"""Per-op overhead: small ops on 1-element and 32x64 tensors, tensorcore against PyTorch CPU eager.

On a 1-element tensor an op's time is all overhead (argument checks, dispatch, the tape, allocating
the result); at 32x64 the arithmetic starts to show. Each op is timed forward only (inputs that do
not require grad: no tape) and forward+backward (inputs that require grad, then `y.backward(g)`),
tensorcore and PyTorch alternating. Goal (issue 2): tensorcore's per-op overhead at most PyTorch's,
i.e. a ratio <= 1 on the 1-element tensors.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from ..gate import RTOL, relative_error
from ..record import make_record
from ..report import fmt_time, table
from ..timing import measure_alternating

SIZES = {"1": (1,), "32x64": (32, 64)}
MODES = ("forward", "forward+backward")


def _ops(lib):
    """name -> (fn(a, b), needs b, b's shape from a's shape). `lib` is tensorcore or torch."""
    return {
        "add": (lambda a, b: a + b, lambda s: s),
        "mul": (lambda a, b: a * b, lambda s: s),
        "matmul": (lambda a, b: a @ b, lambda s: (s[-1], s[-1])),
        "relu": (lambda a, b: lib.relu(a), None),
        "exp": (lambda a, b: lib.exp(a), None),
        "sum": (lambda a, b: a.sum(), None),
        "reshape": (lambda a, b: a.reshape(-1), None),
    }


OPS = tuple(_ops(None))


def _inputs(rng, shape, b_shape, op):
    if op == "matmul" and len(shape) == 1:
        shape = (1, 1)  # a 1-element matmul: (1, 1) @ (1, 1)
    a = rng.standard_normal(shape, dtype=np.float32)
    if b_shape is None:
        return a, None
    return a, rng.standard_normal(b_shape(a.shape), dtype=np.float32)


def _region(fn, a, b, mode, grad):
    """A zero-argument callable: the op forward, or forward then backward with the gradient `grad`."""
    if mode == "forward":
        return lambda: fn(a, b)

    def fwd_bwd():
        fn(a, b).backward(grad)

    return fwd_bwd


def build_pair(op, size, mode, rng, torch=None):
    """(tensorcore region, torch region or None) for one op/size/mode, on the same data."""
    import tensorcore as tc

    fn_tc, b_shape = _ops(tc)[op]
    a_np, b_np = _inputs(rng, SIZES[size], b_shape, op)
    req = mode != "forward"
    a = tc.tensor(a_np, requires_grad=req)
    b = tc.tensor(b_np, requires_grad=req) if b_np is not None else None
    out_np = np.asarray(fn_tc(a, b).detach().numpy())
    g_np = np.ones_like(out_np)
    g = tc.tensor(g_np) if req else None
    tc_region = _region(fn_tc, a, b, mode, g)
    if torch is None:
        return tc_region, None
    fn_t, _ = _ops(torch)[op]
    ta = torch.tensor(a_np, requires_grad=req)
    tb = torch.tensor(b_np, requires_grad=req) if b_np is not None else None
    tg = torch.tensor(g_np) if req else None
    # Same computation: compare the forward values once, with the float32 tolerance of the kernel gate
    # (the relative error ||a - b|| / ||b||: two float32 BLAS calls may sum in different orders).
    ref = fn_t(ta, tb).detach().numpy()
    err = relative_error(out_np, ref) if out_np.shape == ref.shape else float("inf")
    if not err <= RTOL["float32"]:
        raise AssertionError(f"{op} {size}: tensorcore and PyTorch disagree (shapes {out_np.shape} and {ref.shape}, "
                             f"relative error {err:.1e} > {RTOL['float32']:.0e})")
    return tc_region, _region(fn_t, ta, tb, mode, tg)


def run_suite(quick=False, rounds=None, ops=OPS, sizes=tuple(SIZES), progress=None):
    say = progress or (lambda line: None)
    rng = np.random.default_rng(0)
    try:
        import torch

        torch_state = "ok"
        # NOTE: never call torch.set_num_threads(n) here "to be explicit": with n > 1 (even the value
        # it already has), PyTorch 2.13 then runs a 2048-element exp on its thread pool, 1.8 us ->
        # 11.5 ms on a busy 2-core machine. The peer keeps PyTorch's defaults.
    except ImportError as e:
        torch, torch_state = None, f"unavailable: torch not installed ({e})"
    n_rounds = rounds or (5 if quick else 9)
    target = 0.01 if quick else 0.03
    records = []
    for mode in MODES:
        for size in sizes:
            for op in ops:
                common = dict(op=f"{op}", shape=list(SIZES[size]), dtype="float32", device="cpu", mode=mode,
                              size=size)
                try:
                    tc_fn, t_fn = build_pair(op, size, mode, rng, torch)
                except AssertionError as e:
                    records.append(make_record(backend="tensorcore", status=f"failed: {e}", **common))
                    continue
                except Exception as e:  # noqa: BLE001
                    records.append(make_record(backend="tensorcore", status=f"failed: {e.__class__.__name__}: {e}",
                                               **common))
                    continue
                fns = [tc_fn] + ([t_fn] if t_fn is not None else [])
                timings, samples = measure_alternating(fns, warmup=3, rounds=n_rounds, target_sample_s=target)
                extra = {}
                if len(timings) == 2:
                    extra = {"ratio_vs_torch": timings[0].median_s / timings[1].median_s,
                             "paired_ratio_median": statistics.median(a / b for a, b in zip(*samples))}
                records.append(make_record(backend="tensorcore", timing=timings[0], **common, **extra))
                if len(timings) == 2:
                    records.append(make_record(backend="torch", timing=timings[1], **common))
                say(f"  {mode:<17} {size:<6} {op:<8} tensorcore {fmt_time(timings[0].median_s):>10}"
                    + (f"  torch {fmt_time(timings[1].median_s):>10}  ratio {extra['ratio_vs_torch']:.2f}x"
                       if extra else ""))
    return {"records": records, "backends": {"tensorcore": "ok", "torch-cpu": torch_state},
            "summary": summarize(records)}


def summarize(records):
    """Geometric mean of the tensorcore/PyTorch ratios per mode and size (the goal: <= 1 at size 1)."""
    out = {}
    for mode in MODES:
        for size in SIZES:
            ratios = [r["ratio_vs_torch"] for r in records
                      if r["backend"] == "tensorcore" and r.get("mode") == mode and r.get("size") == size
                      and r.get("ratio_vs_torch")]
            if ratios:
                out[f"{mode} {size}"] = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
    return out


def format_table(result):
    recs = result["records"]
    by_key = {}
    for r in recs:
        by_key.setdefault((r["mode"], r["size"], r["op"]), {})[r["backend"]] = r
    rows = []
    for (mode, size, op), pair in by_key.items():
        tcr, tr = pair.get("tensorcore"), pair.get("torch")
        ratio = tcr.get("ratio_vs_torch") if tcr else None
        rows.append([mode, size, op, fmt_time(tcr["median_s"]) if tcr else "-", fmt_time(tr["median_s"]) if tr else "-",
                     f"{ratio:.2f}x" if ratio else "-",
                     f"{tcr['paired_ratio_median']:.2f}x" if tcr and tcr.get("paired_ratio_median") else "-",
                     tcr["status"] if tcr else "-"])
    text = table(rows, ["mode", "size", "op", "tensorcore", "torch", "ratio", "paired", "status"])
    summary = result.get("summary") or {}
    if summary:
        text += "\n\ngeometric mean tensorcore/PyTorch per-op time (goal <= 1.00x at size 1):\n"
        text += "\n".join(f"  {k:<24} {v:.2f}x" for k, v in summary.items())
    return text
