"""Plain-text tables for the terminal (and the short markdown summaries in bench/results/)."""

from __future__ import annotations


def fmt_time(s):
    """Seconds in the unit that reads best: 1.23 us, 4.56 ms, 7.89 s."""
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.2f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_shape(shape):
    if isinstance(shape, (list, tuple)):
        return "x".join(str(s) for s in shape)
    return str(shape)


def table(rows, headers, markdown=False):
    """Rows of strings -> an aligned table (or a markdown one)."""
    rows = [[str(c) for c in r] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def rate(rec):
    if rec.get("gbps") is not None and rec.get("memory_bound"):
        return f"{rec['gbps']:.1f} GB/s"
    if rec.get("gflops") is not None:
        return f"{rec['gflops']:.1f} GFLOP/s"
    if rec.get("gbps") is not None:
        return f"{rec['gbps']:.1f} GB/s"
    return "-"


def kernel_rows(records):
    rows = []
    for r in records:
        frac = r.get("fraction_of_ceiling")
        ok = r["status"] == "ok"
        rows.append([r["op"], r.get("label", ""), fmt_shape(r["shape"]), r["backend"],
                     fmt_time(r["median_s"]), fmt_time(r["min_s"]), fmt_time(r["max_s"]),
                     r["runs"] if ok else "-", rate(r) if ok else "-",
                     f"{frac * 100:.0f}%" if frac is not None else "-", r["status"]])
    return rows


KERNEL_HEADERS = ["op", "layer", "shape", "backend", "median", "min", "max", "runs", "rate", "of ceiling", "status"]


def ceilings_lines(ceilings):
    lines = []
    for dev, c in ceilings.items():
        if "error" in c:
            lines.append(f"{dev} ceilings: unavailable: {c['error']}")
            continue
        lines.append(f"{dev} ceilings: {c['gflops']:.1f} GFLOP/s ({c['gemm']['what']}), "
                     f"{c['gbps']:.1f} GB/s ({c['copy']['what']})")
    return lines


def roofline_lines(roof):
    """What `of ceiling` is measured against: the best rate and bandwidth of the run, per device."""
    return [f"{dev} roofline (the 'of ceiling' column): {c['peak_gflops']:.1f} GFLOP/s ({c['peak_from']}), "
            f"{c['gbps']:.1f} GB/s ({c['gbps_from']})" for dev, c in roof.items()]


def backends_lines(backends):
    width = max((len(name) for name in backends), default=0)
    return [f"  {name:<{width}}  {state}" for name, state in backends.items()]


def machine_line(m):
    gpu = ", ".join(f"{g['name']} (driver {g['driver']})" for g in m.get("gpus") or []) or "no GPU"
    blas = m.get("blas") or {}
    blas_s = f"{blas.get('library')} {blas.get('version')} kernel {blas.get('architecture')}"
    libs = " ".join(f"{k} {v}" for k, v in (m.get("libraries") or {}).items())
    return (f"{m['date']}  {m['cpu']} ({m['cores']} cores), {gpu}; BLAS {blas_s}; {libs}; "
            f"load average {m.get('load_average')}")
