"""PNG plots of bench runs: kernels (matmul rate and a roofline), training steps, per-op overhead.

Each takes the payload a suite writes as JSON (so a recorded run can be drawn again later) and a
path. The roofline is the one `ceilings.roofline` computes: the best rate and the best bandwidth
measured in the run, so no point sits above it.

Example:
    plot_kernels(read_json("k.json"), "k.png")
    plot_train(read_json("t.json"), "t.png")
    plot_overhead(read_json("o.json"), "o.png")
"""

from __future__ import annotations

import math

from ..figures import pyplot, save
from .ceilings import roofline
from .report import fmt_time

MARKERS = {"matmul": "o", "conv2d_forward": "s", "conv2d_backward_input": "<", "conv2d_backward_weight": ">",
           "max_pool2d": "v", "relu": "^", "relu_backward": "d", "softmax_cross_entropy": "x"}

#: What each backend is, in a legend. "numpy" and "numba" are the names runs recorded before 2026-12-01 used.
BACKEND_LABELS = {
    "tensorcore-cpu": "tensorcore cpu (NumPy + BLAS)", "numpy": "tensorcore cpu (NumPy + BLAS)",
    "tensorcore-cuda": "tensorcore cuda (our Numba kernels)", "numba": "tensorcore cuda (our Numba kernels)",
    "tensorcore-cuda-sim": "tensorcore cuda, simulated", "numba-sim": "tensorcore cuda, simulated",
    "cupy": "CuPy (cuBLAS)", "torch-cpu": "PyTorch CPU", "torch-cuda": "PyTorch CUDA",
    "tensorcore": "tensorcore", "torch": "PyTorch", "numpy-manual": "hand-written NumPy (the floor)",
}
COLORS = {"tensorcore": "tab:blue", "torch": "tab:orange", "numpy-manual": "tab:green", "cupy": "tab:red"}


def label(backend):
    return BACKEND_LABELS.get(backend, backend)


def _color(backend):
    key = "tensorcore" if backend.startswith("tensorcore") or backend in ("numpy", "numba") else backend
    key = "torch" if key.startswith("torch") else key
    return COLORS.get(key, "tab:purple")


def _machine_title(what, payload):
    m = payload.get("machine", {})
    gpus = "".join(f", {g['name']}" for g in m.get("gpus") or [])
    return f"tensorcore bench {what}: {m.get('cpu', '?')} ({m.get('cores', '?')} cores){gpus}, {m.get('date', '')[:10]}"


def _plain_numbers(axis):
    """Tick labels 64, 128, 300 on a log axis, not 2^6 or 3 x 10^2."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if str(f"{v:g}")[0] in "1235" else ""))


def plot_kernels(payload, path):
    """Write one PNG with two panels: square matmul GFLOP/s against n, and the roofline of every timed op."""
    import numpy as np

    plt = pyplot()
    records = [r for r in payload["records"] if r["status"] == "ok"]
    roof = payload.get("roofline") or roofline(payload.get("ceilings"), records)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    fig.suptitle(_machine_title("kernels", payload), fontsize=10)

    # Panel 1: square matmul GFLOP/s against n, one line per backend, the device's peak dashed.
    square = [r for r in records if r["op"] == "matmul" and r.get("label") == "square"]
    for b in sorted({r["backend"] for r in square}):
        pts = sorted((r["shape"][0], r["gflops"]) for r in square if r["backend"] == b)
        dev = next(r["device"] for r in square if r["backend"] == b)
        ax1.plot(*zip(*pts), marker="o", color=_color(b), ls="-" if dev == "cpu" else "--", label=label(b))
    for dev, c in roof.items():
        if any(r["device"] == dev for r in square):
            ax1.axhline(c["peak_gflops"], ls=":", lw=1, color="gray")
            ax1.annotate(f"{dev} peak {c['peak_gflops']:.0f} GFLOP/s, best measured:\n{c['peak_from']}",
                         (0.02, c["peak_gflops"] * 0.97), xycoords=("axes fraction", "data"), va="top", fontsize=7,
                         color="dimgray")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    _plain_numbers(ax1.xaxis)
    _plain_numbers(ax1.yaxis)
    ax1.set_xlabel("n (float32 matmul of two n x n matrices)")
    ax1.set_ylabel("GFLOP/s (2 n^3 / median time)")
    ax1.set_title("square matmul", fontsize=10)
    ax1.grid(True, which="both", alpha=0.3)
    if square:
        ax1.legend(fontsize=8, loc="lower right")

    # Panel 2: every op with a FLOP and a byte count under min(peak, bandwidth x intensity).
    points = [r for r in records if r.get("flops") and r.get("bytes")]
    for r in points:
        ax2.scatter(r["flops"] / r["bytes"], r["gflops"], marker=MARKERS.get(r["op"], "."), color=_color(r["backend"]),
                    s=22, alpha=0.8)
    if points:
        lo = min(r["flops"] / r["bytes"] for r in points) / 3
        hi = max(r["flops"] / r["bytes"] for r in points) * 3
    else:
        lo, hi = 1e-2, 1e4
    xs = np.logspace(math.log10(lo), math.log10(hi), 200)
    for dev, c in roof.items():
        if c["peak_gflops"] and c["gbps"]:
            ax2.plot(xs, np.minimum(c["peak_gflops"], c["gbps"] * xs), ls="--", lw=1.2,
                     color="gray" if dev == "cpu" else "black",
                     label=f"{dev} roofline: {c['peak_gflops']:.0f} GFLOP/s, {c['gbps']:.0f} GB/s (best measured)")
    for b in sorted({r["backend"] for r in points}):
        ax2.scatter([], [], color=_color(b), label=label(b))
    for op, mk in MARKERS.items():
        if any(r["op"] == op for r in points):
            ax2.scatter([], [], color="k", marker=mk, label=op, s=18)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("arithmetic intensity (FLOP per byte, fewest bytes moved)")
    ax2.set_ylabel("achieved GFLOP/s (median)")
    ax2.set_title("roofline (the best measured rate and bandwidth)", fontsize=10)
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=6.5, loc="lower right")
    fig.tight_layout()
    return save(fig, path, dpi=90)


def plot_train(payload, path):
    """Write a PNG: each workload's median step time per framework, relative to PyTorch when it ran."""
    import numpy as np

    plt = pyplot()
    records = [r for r in payload["records"] if r["status"] == "ok"]
    groups = {}
    for r in records:
        groups.setdefault((r["op"], r["device"]), {})[r["backend"]] = r
    names = [b for b in ("tensorcore", "torch", "numpy-manual") if any(b in g for g in groups.values())]
    relative = all("torch" in g for g in groups.values()) and groups
    fig, ax = plt.subplots(figsize=(9, 1.4 + 0.9 * max(len(groups), 1)))
    height = 0.8 / max(len(names), 1)
    keys = list(groups)
    for j, b in enumerate(names):
        ys, xs, texts = [], [], []
        for i, key in enumerate(keys):
            r = groups[key].get(b)
            if r is None:
                continue
            ref = groups[key]["torch"]["median_s"] if relative else 1e-3
            ys.append(i + (j - (len(names) - 1) / 2) * height)
            xs.append(r["median_s"] / ref)
            texts.append(" " + fmt_time(r["median_s"]))
        ax.barh(ys, xs, height=height * 0.9, color=_color(b), label=label(b))
        for y, x, t in zip(ys, xs, texts):
            ax.text(x, y, t, va="center", fontsize=7)
    goal_label = "tensorcore's goal"
    for i, key in enumerate(keys):
        goal = groups[key].get("tensorcore", {}).get("goal_ratio_vs_torch")
        if relative and goal:
            ax.plot([goal, goal], [i - 0.45, i + 0.45], color="crimson", lw=1.5, label=goal_label)
            goal_label = None  # one legend entry
    ax.set_yticks(np.arange(len(keys)))
    ax.set_yticklabels([_workload(groups[k]) for k in keys], fontsize=8)
    ax.set_ylabel("workload (model, what is timed, batch, device)", fontsize=8)
    ax.invert_yaxis()
    if relative:
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_xlim(0, None)
        ax.set_xlabel("median step time relative to PyTorch (1 = as fast; lower is faster)")
    else:
        ax.set_xscale("log")
        ax.set_xlabel("median step time (ms)")
    ax.set_title(_machine_title("train", payload), fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return save(fig, path, dpi=90)


def _workload(group):
    r = next(iter(group.values()))
    what = r["op"].split(".")[0].replace("_", " ")
    return f"{r.get('model', r['op'])} {what}\nbatch {r.get('batch', '?')}, {r['device']}"


def plot_overhead(payload, path):
    """Write a PNG: per-op time tensorcore / PyTorch eager, per size, forward and forward+backward."""
    import numpy as np

    plt = pyplot()
    recs = [r for r in payload["records"] if r["backend"] == "tensorcore" and r["status"] == "ok"]
    modes = [m for m in ("forward", "forward+backward") if any(r["mode"] == m for r in recs)] or ["forward"]
    relative = bool(recs) and all(r.get("ratio_vs_torch") for r in recs)
    fig, axes = plt.subplots(1, len(modes), figsize=(5.2 * len(modes), 3.8), squeeze=False, sharey=relative)
    sizes = sorted({r["size"] for r in recs}, key=lambda s: math.prod(int(v) for v in s.split("x")))
    summary = payload.get("summary") or {}
    for ax, mode in zip(axes[0], modes):
        ops = list(dict.fromkeys(r["op"] for r in recs if r["mode"] == mode))
        width = 0.8 / max(len(sizes), 1)
        for j, size in enumerate(sizes):
            by_op = {r["op"]: r for r in recs if r["mode"] == mode and r["size"] == size}
            xs = [i + (j - (len(sizes) - 1) / 2) * width for i, op in enumerate(ops) if op in by_op]
            vals = [by_op[op]["ratio_vs_torch"] if relative else by_op[op]["median_s"] * 1e6 for op in ops
                    if op in by_op]
            gm = summary.get(f"{mode} {size}")
            ax.bar(xs, vals, width=width * 0.9, label=f"size {size}" + (f" (geometric mean {gm:.2f}x)" if gm else ""))
        ax.set_xticks(np.arange(len(ops)))
        ax.set_xticklabels(ops, fontsize=8)
        ax.set_title(mode, fontsize=10)
        if relative:
            ax.axhline(1.0, color="k", lw=0.8)
            ax.set_ylim(0, None)
            if ax is axes[0][0]:
                ax.set_ylabel("time per op: tensorcore / PyTorch eager")
        elif ax is axes[0][0]:
            ax.set_ylabel("time per op (us, median)")
        ax.set_xlabel("op (float32 tensors of the size shown)")
        ax.grid(True, axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(_machine_title("overhead", payload) + ("; below 1 = faster than PyTorch" if relative else ""),
                 fontsize=9)
    fig.tight_layout()
    return save(fig, path, dpi=90)
