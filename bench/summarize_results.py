"""Markdown tables of recorded runs, for bench/README.md.

    python bench/summarize_results.py bench/results/<tag>-train.json bench/results/<tag>-overhead.json ...
"""

import sys

from tensorcore.bench.record import read_json
from tensorcore.bench.report import fmt_shape, fmt_time, rate, table


def train_md(p):
    rows = []
    for r in p["records"]:
        if r["status"] != "ok":
            rows.append([r["op"], r["backend"], "-", "-", "-", "-", "-", r["status"]])
            continue
        goal = r.get("goal_ratio_vs_torch")
        ratio = r.get("ratio_vs_torch")
        rows.append([r["op"], r["backend"], f"{r['batch']}, {r['optimizer']}", fmt_time(r["median_s"]),
                     f"{fmt_time(r['min_s'])} / {fmt_time(r['max_s'])} ({r['runs']} x {r.get('steps_per_sample', 1)})",
                     f"{ratio:.2f}x" if ratio else "-",
                     f"{r['paired_ratio_median']:.2f}x" if r.get("paired_ratio_median") else "-",
                     (f"<= {goal}x: {'met' if r.get('meets_goal') else '**missed**'}" if goal and ratio
                      and r["backend"] == "tensorcore" else "")])
    return table(rows, ["what", "framework", "batch, optimizer", "median", "min / max (rounds x steps)",
                        "vs PyTorch", "paired", "goal"], markdown=True)


def overhead_md(p):
    pairs = {}
    for r in p["records"]:
        pairs.setdefault((r["mode"], r["size"], r["op"]), {})[r["backend"]] = r
    rows = []
    for (mode, size, op), d in pairs.items():
        a, b = d.get("tensorcore"), d.get("torch")
        rows.append([mode, size, op, fmt_time(a["median_s"]) if a else "-", fmt_time(b["median_s"]) if b else "-",
                     f"{a['ratio_vs_torch']:.2f}x" if a and a.get("ratio_vs_torch") else "-"])
    out = table(rows, ["mode", "size", "op", "tensorcore", "PyTorch", "ratio"], markdown=True)
    summary = p.get("summary") or {}
    if summary:
        out += "\n\nGeometric mean of the ratios: " + ", ".join(f"{k}: **{v:.2f}x**" for k, v in summary.items())
    return out


def kernels_md(p, ops=None):
    rows = []
    for r in p["records"]:
        if ops and r["op"] not in ops:
            continue
        frac = r.get("fraction_of_ceiling")
        rows.append([r["op"], r.get("label", ""), fmt_shape(r["shape"]), r["backend"], fmt_time(r["median_s"]),
                     rate(r) if r["status"] == "ok" else "-", f"{frac * 100:.0f}%" if frac else "-", r["status"]])
    c = p.get("ceilings", {}).get("cpu")
    head = ""
    if c:
        head = (f"CPU ceilings measured in the same run: {c['gflops']:.0f} GFLOP/s ({c['gemm']['what']}), "
                f"{c['gbps']:.1f} GB/s ({c['copy']['what']}).\n\n")
    return head + table(rows, ["op", "layer", "shape", "backend", "median", "rate", "of ceiling", "status"],
                        markdown=True)


def main(paths):
    for path in paths:
        p = read_json(path)
        m = p["machine"]
        print(f"\n### {p['suite']} ({path})\n\n`{m['command']}`, {m['date']}, load average {m.get('load_average')} "
              f"-> {m.get('load_average_end')}\n")
        print({"train": train_md, "overhead": overhead_md, "kernels": kernels_md}[p["suite"]](p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
