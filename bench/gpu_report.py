"""The GPU check's results: one JSON, one JUnit XML, one log and the short table, rewritten after
every section (bench/gpu_check.py). Derived figures (TFLOP/s, GB/s, ratios) are computed here, so a
section only records what it measured."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

FILES = ("gpu_check.json", "gpu_check.xml", "gpu_check.log", "gpu_check.txt")
#: The goals on H200 (issue 10), compared in ``achieved``.
GOALS = {"sgemm_4096_vs_cublas": 0.50, "memory_bound_vs_copy": 0.80, "conv_time_vs_cudnn_max": 2.0}


def _atomic_write(path: Path, text: str):
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def ceilings(state) -> dict:
    out = {}
    for s in state["sections"]:
        for r in s["records"]:
            if s["name"] == "ceilings" and r.get("ms") and r.get("bytes"):
                out["copy_gbs"] = r["bytes"] / r["ms"] / 1e6
            if s["name"] == "ceilings" and r.get("ms") and r.get("flops"):
                out["sgemm_tflops"] = r["flops"] / r["ms"] / 1e9
    return out


def derived(record, ceil) -> dict:
    """TFLOP/s, GB/s, fraction of the copy ceiling and speed relative to the reference (> 1: faster)."""
    d = {}
    ms = record.get("ms")
    if ms:
        if record.get("flops"):
            d["tflops"] = record["flops"] / ms / 1e9
        if record.get("bytes"):
            d["gbs"] = record["bytes"] / ms / 1e6
            if ceil.get("copy_gbs"):
                d["vs_copy"] = d["gbs"] / ceil["copy_gbs"]
        if record.get("ref_ms"):
            d["vs_ref"] = record["ref_ms"] / ms
    return d


def achieved(state, ceil) -> dict:
    out = {}
    for s in state["sections"]:
        if s["name"] == "compile":
            continue
        for r in s["records"]:
            d = derived(r, ceil)
            if r["name"].startswith("matmul NN 4096x4096x4096") and "vs_ref" in d:
                out["sgemm_4096_vs_cublas"] = d["vs_ref"]
            if s["name"] in ("elementwise", "softmax") and "vs_copy" in d:
                out["memory_bound_vs_copy"] = min(out.get("memory_bound_vs_copy", 9e9), d["vs_copy"])
            if s["name"] == "conv" and "vs_ref" in d:
                out["conv_time_vs_cudnn_max"] = max(out.get("conv_time_vs_cudnn_max", 0.0), 1 / d["vs_ref"])
    return out


def payload(state) -> dict:
    ceil = ceilings(state)
    info = {}
    sections = []
    for s in state["sections"]:
        info.update(s.get("info", {}))
        entry = {k: v for k, v in s.items() if k != "log"}
        entry["records"] = [{**r, **derived(r, ceil)} for r in s["records"]]
        sections.append(entry)
    return {
        "run": state["run"],
        "environment": info,
        "ceilings": ceil,
        "goals": GOALS,
        "achieved": achieved(state, ceil),
        "summary": {s["name"]: s["status"] for s in state["sections"]},
        "sections": sections,
    }


def junit(state) -> str:
    """One testsuite per section: pytest's own test cases for the test sections, one case per
    measurement for the others, and one case for a section that crashed, hung or was skipped."""
    root = ET.Element("testsuites", name="gpu_check")
    for s in state["sections"]:
        suite = ET.SubElement(root, "testsuite", name=s["name"])
        cases = []
        for case in (s.get("tests") or {}).get("cases", []):
            el = ET.Element("testcase", classname=case["classname"], name=case["name"], time=str(case["time"]))
            if case["outcome"] in ("failure", "error", "skipped"):
                ET.SubElement(el, case["outcome"], message=case.get("message", "")[:2000])
            cases.append(el)
        for r in s["records"]:
            el = ET.Element(
                "testcase", classname=f"gpu_check.{s['name']}", name=r["name"], time=str((r.get("ms") or 0) / 1e3)
            )
            errors = [r[k] for k in ("error", "ref_error", "check_error") if r.get(k)]
            if errors:
                ET.SubElement(el, "failure", message="; ".join(errors)[:2000])
            cases.append(el)
        if s["status"] in ("timeout", "crashed", "failed", "skipped", "no-gpu") or not cases:
            el = ET.Element(
                "testcase", classname="gpu_check", name=f"section {s['name']}", time=str(s.get("seconds", 0))
            )
            message = s.get("reason") or s.get("error") or s.get("unavailable") or s["status"]
            tag = "skipped" if s["status"] in ("skipped", "no-gpu") else ("failure" if s["status"] != "ok" else None)
            if tag:
                ET.SubElement(el, tag, message=str(message)[:2000])
            cases.append(el)
        suite.extend(cases)
        counts = {"tests": len(cases), "failures": 0, "skipped": 0}
        for el in cases:
            counts["failures"] += el.find("failure") is not None or el.find("error") is not None
            counts["skipped"] += el.find("skipped") is not None
        suite.attrib.update({k: str(v) for k, v in counts.items()})
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def log(state) -> str:
    parts = []
    for s in state["sections"]:
        parts.append(f"===== {s['name']}: {s['status']} ({s.get('seconds', 0)} s) {s.get('reason', '')}\n")
        parts.append(s.get("log", ""))
    return "".join(parts)


def _fmt(v, spec):
    width = "".join(c for c in spec.split(".")[0] if c.isdigit())
    return f"{'-':>{width or 1}}" if v is None else format(v, spec)


def compile_lines(records) -> list:
    """The compile section in a few lines: per family, kernels, compile seconds (sum, slowest), median launch."""
    import statistics

    families = {}
    for r in records:
        families.setdefault(r.get("family", r["name"]), []).append(r)
    lines = [f"{'family':<12} {'kernels':>7} {'compile s':>9} {'slowest':<38} {'launch us':>9}  errors"]
    for fam, recs in families.items():
        ok = [r for r in recs if r.get("compile_s") is not None]
        slow = max(ok, key=lambda r: r["compile_s"], default=None)
        launch = [r["launch_us"] for r in ok if r.get("launch_us") is not None]
        errors = sum(bool(r.get("error")) for r in recs)
        total = sum(r["compile_s"] for r in ok) if ok else None
        slowest = f"{slow['name']} {slow['compile_s']:.2f}" if slow else "-"
        median = statistics.median(launch) if launch else None
        lines.append(
            f"{fam:<12} {len(recs):>7} {_fmt(total, '9.2f')} {slowest[:38]:<38} {_fmt(median, '9.1f')}  {errors or ''}"
        )
    return lines


def table(state) -> str:
    """The short table: each section's status, then each measurement with its derived figures."""
    ceil = ceilings(state)
    p = state["run"]
    where = "simulated" if p["simulate"] else "GPU"
    lines = [f"gpu_check ({where}), {p.get('wall_s', 0):.0f} s of a {p['budget_s']:.0f} s budget"]
    info = {}
    for s in state["sections"]:
        info.update(s.get("info", {}))
    if info:
        lines.append(
            f"GPU {info.get('gpu')}  driver {info.get('driver_release') or '-'}  "
            f"CUDA runtime {info.get('cuda_runtime', '-')}  compute capability {info.get('compute_capability', '-')}"
        )
    lines.append("")
    lines.append(f"{'section':<12} {'status':<9} {'s':>6}  note")
    for s in state["sections"]:
        note = s.get("reason") or s.get("error") or s.get("unavailable") or ""
        t = s.get("tests")
        if t:
            note = (
                f"{t['passed']} passed, {t['failed']} failed, {t['errors']} errors, {t['skipped']} skipped "
                f"({t['skipped_no_gpu']} for lack of a GPU) {note}"
            )
        if s.get("injected_faults"):
            note = f"[injected {', '.join(s['injected_faults'])}] {note}"
        lines.append(f"{s['name']:<12} {s['status']:<9} {s.get('seconds', 0):>6.1f}  {str(note)[:90]}")
    lines.append("")
    lines.append(
        f"{'section':<12} {'measurement':<40} {'ms':>9} {'TFLOP/s':>8} {'GB/s':>7} {'vs copy':>7} {'vs ref':>7}  error"
    )
    for s in state["sections"]:
        if s["name"] == "compile":
            continue
        for r in s["records"]:
            d = derived(r, ceil)
            err = r.get("error") or r.get("ref_error") or r.get("check_error") or ""
            which = "" if not err else ("ours: " if r.get("error") else "ref: " if r.get("ref_error") else "check: ")
            lines.append(
                f"{s['name']:<12} {r['name'][:40]:<40} {_fmt(r.get('ms'), '9.3f')} {_fmt(d.get('tflops'), '8.2f')} "
                f"{_fmt(d.get('gbs'), '7.0f')} {_fmt(d.get('vs_copy'), '7.2f')} {_fmt(d.get('vs_ref'), '7.2f')}  "
                f"{(which + err)[:60]}"
            )
    compiled = [r for s in state["sections"] if s["name"] == "compile" for r in s["records"]]
    if compiled:
        title = "compile time and near-empty launch (one block, size-1 arrays) per kernel family:"
        lines += ["", title, *compile_lines(compiled)]
    return "\n".join(lines) + "\n"


def write(out: Path, state):
    """Rewrite the four result files in ``out`` (each atomically)."""
    _atomic_write(out / "gpu_check.json", json.dumps(payload(state), indent=1, default=str))
    _atomic_write(out / "gpu_check.xml", junit(state))
    _atomic_write(out / "gpu_check.log", log(state))
    _atomic_write(out / "gpu_check.txt", table(state))
