"""PNG plots of a kernel-suite run: matmul GFLOP/s against size per backend, and a roofline.

The roofline puts every timed op at (arithmetic intensity = FLOPs / fewest bytes, achieved GFLOP/s)
under the ceilings measured in the same run: min(GEMM GFLOP/s, copy GB/s x intensity) per device.

Example:
    plot_kernels(read_json("k.json"), "k.png")
"""

from __future__ import annotations

MARKERS = {"matmul": "o", "conv2d_forward": "s", "conv2d_backward_input": "<", "conv2d_backward_weight": ">",
           "max_pool2d": "v", "relu": "^", "relu_backward": "d", "softmax_cross_entropy": "x"}


def plot_kernels(payload, path):
    """Write one PNG with two panels: matmul GFLOP/s vs size, and the roofline of every timed op."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    records = [r for r in payload["records"] if r["status"] == "ok"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5.5))
    m = payload.get("machine", {})
    fig.suptitle(f"tensorcore bench kernels: {m.get('cpu', '?')} ({m.get('cores', '?')} cores)"
                 + "".join(f", {g['name']}" for g in m.get("gpus") or []) + f"  {m.get('date', '')}", fontsize=10)

    # Panel 1: square matmul GFLOP/s against n, one line per backend, ceilings dashed.
    backends = sorted({r["backend"] for r in records if r["op"] == "matmul" and r.get("label") == "square"})
    for b in backends:
        pts = sorted((r["shape"][0], r["gflops"]) for r in records
                     if r["op"] == "matmul" and r.get("label") == "square" and r["backend"] == b)
        if pts:
            ax1.plot(*zip(*pts), marker="o", label=b)
    ax1.set_xscale("log", base=2)
    for dev, c in (payload.get("ceilings") or {}).items():
        if c.get("gflops"):
            ax1.axhline(c["gflops"], ls="--", lw=1, color="gray")
            ax1.annotate(f"{dev} GEMM ceiling {c['gflops']:.0f} GFLOP/s", (0.01, c["gflops"]),
                         xycoords=("axes fraction", "data"), va="bottom", fontsize=8, color="gray")
    ax1.set_yscale("log")
    ax1.set_xlabel("n (square float32 matmul n x n x n)")
    ax1.set_ylabel("GFLOP/s (median)")
    ax1.set_title("matmul")
    ax1.grid(True, which="both", alpha=0.3)
    if backends:
        ax1.legend(fontsize=8)

    # Panel 2: roofline.
    colors = {}
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for r in records:
        if not (r.get("flops") and r.get("bytes")):
            continue
        color = colors.setdefault(r["backend"], cycle[len(colors) % len(cycle)])
        ax2.scatter(r["flops"] / r["bytes"], r["flops"] / r["median_s"] / 1e9, marker=MARKERS.get(r["op"], "."),
                    color=color, s=22, alpha=0.8)
    xs = np.logspace(-2, 4, 200)
    for dev, c in (payload.get("ceilings") or {}).items():
        if c.get("gflops") and c.get("gbps"):
            ax2.plot(xs, np.minimum(c["gflops"], c["gbps"] * xs), ls="--", color="gray" if dev == "cpu" else "black",
                     lw=1.2, label=f"{dev} ceilings: {c['gflops']:.0f} GFLOP/s, {c['gbps']:.0f} GB/s")
    for b, color in colors.items():
        ax2.scatter([], [], color=color, label=b)
    for op, mk in MARKERS.items():
        if any(r["op"] == op for r in records):
            ax2.scatter([], [], color="k", marker=mk, label=op, s=18)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("arithmetic intensity (FLOP per byte moved, fewest bytes)")
    ax2.set_ylabel("achieved GFLOP/s (median)")
    ax2.set_title("roofline under the measured ceilings")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
