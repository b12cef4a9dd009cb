"""`tensorcore bench kernels | train | overhead | parallel | all`: benchmark suites with tables, JSON and plots.

  tensorcore bench kernels [--device cpu|cuda|all] [--ops matmul,conv2d,...] [--quick] [--json PATH] [--plot PATH]
  tensorcore bench train [--model mlp|lenet5|alexnet] [--device cpu|cuda|all] [--quick] [--json PATH] [--plot PATH]
  tensorcore bench overhead [--quick] [--json PATH] [--plot PATH]
  tensorcore bench parallel [--models lenet5,mnist_convnet,alexnet,mlp] [--threads default,1] [--rounds 5]
                            [--seconds 1.5] [--json PATH] [--md PATH]   (issue 19's workloads, one process each)
  tensorcore bench all [--quick] --out DIR        (all three; JSON, markdown and PNG per suite in DIR)

Every run prints the machine, the measured ceilings and which backends were unavailable and why.
"""

from __future__ import annotations

import os
import shlex
import sys
import time

from . import machine, report
from .record import write_json

DEVICES = {"cpu": ("cpu",), "cuda": ("cuda",), "all": ("cpu", "cuda")}


def _common(p, plot_help):
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (under a minute)")
    p.add_argument("--threads", type=int, default=None,
                   help="limit NumPy's BLAS (threadpoolctl) and PyTorch to N threads (default: theirs)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--md", metavar="PATH", help="write a short markdown summary (machine, command, table)")
    p.add_argument("--plot", metavar="PATH", help=plot_help)


def add_arguments(parser):
    from ..cli import HelpFormatter

    sub = parser.add_subparsers(dest="suite", required=True, metavar="{kernels,train,overhead,parallel,all}")

    def suite(name, help_text):
        return sub.add_parser(name, help=help_text, description=help_text, formatter_class=HelpFormatter)

    k = suite("kernels", "single ops across backends against the measured ceilings")
    k.add_argument("--device", choices=DEVICES, default="all", help="which backends to time")
    k.add_argument("--ops", default=None, help="comma-separated subset of matmul, conv2d, max_pool2d, relu, "
                   "softmax_cross_entropy, attention, layer_norm (default: all)")
    _common(k, "write a PNG: matmul GFLOP/s against size, and every op under the measured roofline")
    t = suite("train", "training steps, tensorcore against PyTorch, alternating")
    t.add_argument("--model", default=None, help="comma-separated: mlp,lenet5,alexnet (default: mlp,lenet5; "
                   "alexnet too without --quick)")
    t.add_argument("--device", choices=DEVICES, default="cpu", help="where the models train")
    t.add_argument("--rounds", type=int, default=None,
                   help="alternating timing rounds per framework (default: 5 with --quick, else 7; AlexNet 3)")
    _common(t, "write a PNG: each model's median step time per framework, relative to PyTorch")
    o = suite("overhead", "per-op overhead on small tensors, tensorcore against PyTorch")
    o.add_argument("--rounds", type=int, default=None,
                   help="alternating timing rounds per op (default: 5 with --quick, else 9)")
    _common(o, "write a PNG: each op's time relative to PyTorch eager, per size, forward and forward+backward")
    par = suite("parallel", "multi-core CPU training steps against PyTorch, each framework in its own process")
    par.add_argument("--models", default="lenet5,mnist_convnet,alexnet,mlp", help="comma-separated workloads")
    par.add_argument("--threads", default="default,1", help="comma-separated thread counts ('default' = every core)")
    par.add_argument("--rounds", type=int, default=5, help="alternating worker processes per framework")
    par.add_argument("--seconds", type=float, default=1.5, help="timed seconds per worker process")
    par.add_argument("--json", metavar="PATH", help="write the results as JSON")
    par.add_argument("--md", metavar="PATH", help="write the markdown table (machine, command, load)")
    a = suite("all", "kernels, train and overhead; results into --out")
    a.add_argument("--quick", action="store_true", help="small sizes and few repeats")
    a.add_argument("--threads", type=int, default=None,
                   help="limit NumPy's BLAS and PyTorch to N threads (default: theirs)")
    a.add_argument("--device", choices=DEVICES, default="all",
                   help="kernels on these devices (GPU backends are listed as unavailable without a GPU); "
                   "train runs on the CPU unless cuda is given")
    a.add_argument("--out", metavar="DIR", required=True, help="folder for <tag>-<suite>.json, .md and .png")
    a.add_argument("--tag", default=None, help="file name prefix (default: the date and the CPU count)")


def _command(args):
    argv = sys.argv[1:]
    if argv[:1] == ["bench"]:
        return shlex.join(["tensorcore", *argv])
    return f"tensorcore bench {args.suite} (called as {shlex.join(sys.argv[:1])})"


def set_threads(n):
    """Limit the BLAS NumPy uses and PyTorch's intra-op pool to `n` threads; returns what was set.

    On a small machine shared with other jobs, a 2-thread BLAS or OpenMP region waits for a thread
    the scheduler took away (a 4 ms tick): one thread per library is far less noisy there.
    """
    if not n:
        return None
    done = {}
    try:
        import threadpoolctl

        threadpoolctl.threadpool_limits(n, user_api="blas")
        done["blas"] = n
    except ImportError:
        done["blas"] = "unchanged (threadpoolctl not installed)"
    try:
        import torch

        if n != torch.get_num_threads():  # NOTE: see suites/overhead.py: set_num_threads(>1) hurts small ops
            torch.set_num_threads(n)
        done["torch"] = n
    except ImportError:
        pass
    return done


def run(args):
    if args.suite == "all":
        return run_all(args)
    if args.suite == "parallel":
        return run_parallel(args)
    threads = set_threads(getattr(args, "threads", None))
    meta = machine.describe(_command(args))
    meta["threads"] = threads
    print(f"tensorcore bench {args.suite}: {report.machine_line(meta)}", flush=True)
    runner = {"kernels": run_kernels, "train": run_train, "overhead": run_overhead}[args.suite]
    return runner(args, meta)


def _finish(args, meta, suite, payload, text):
    t_end = machine.load_average()
    payload = {"suite": suite, "machine": {**meta, "load_average_end": t_end}, **payload}
    if getattr(args, "json", None):
        write_json(args.json, payload)
        print(f"wrote {args.json}")
    if getattr(args, "md", None):
        _write_text(args.md, markdown_summary(suite, payload, text))
        print(f"wrote {args.md}")
    return payload


def _write_text(path, text):
    from ..serialization import atomic_write

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as f:
        f.write(text.encode())


def markdown_summary(suite, payload, text):
    m = payload["machine"]
    lines = [f"# tensorcore bench {suite}", "", f"- command: `{m['command']}`", f"- date: {m['date']}",
             f"- machine: {report.machine_line(m)}",
             f"- load average at start {m.get('load_average')}, at end {m.get('load_average_end')} "
             "(a 2-core machine shared with other jobs is noisy: compare medians and ratios, not single runs)",
             ""]
    if payload.get("ceilings"):
        lines += [f"- {line}" for line in report.ceilings_lines(payload["ceilings"])] + [""]
    if payload.get("backends"):
        lines += ["Backends:", ""] + [f"- {k}: {v}" for k, v in payload["backends"].items()] + [""]
    lines += ["```", text, "```", ""]
    return "\n".join(lines)


def _plot(args, suite, payload):
    if not getattr(args, "plot", None):
        return
    from . import plot

    try:
        getattr(plot, f"plot_{suite}")(payload, args.plot)
        print(f"wrote {args.plot}")
    except ImportError as e:
        print(f"tensorcore bench {suite}: no plot: {e}", file=sys.stderr)


# --- kernels --------------------------------------------------------------------------------------


def run_kernels(args, meta):
    from .suites import kernels

    ops = [o.strip() for o in args.ops.split(",") if o.strip()] if args.ops else None
    try:
        ops = kernels.normalize_ops(ops)
    except ValueError as e:
        print(f"tensorcore bench kernels: error: {e}", file=sys.stderr)
        return 2
    devices = DEVICES[args.device]
    t0 = time.perf_counter()

    def progress(rec):
        print(f"  {rec['op']:<24} {report.fmt_shape(rec['shape']):<22} {rec['backend']:<10} "
              f"{report.fmt_time(rec['median_s']):>10}  {report.rate(rec) if rec['status'] == 'ok' else rec['status']}",
              flush=True)

    result = kernels.run_suite(devices=devices, ops=ops, quick=args.quick, progress=progress)
    text = "\n".join([
        *report.ceilings_lines(result["ceilings"]),
        *report.roofline_lines(result.get("roofline") or {}),
        "backends:", *report.backends_lines(result["backends"]),
        "",
        report.table(report.kernel_rows(result["records"]), report.KERNEL_HEADERS),
    ])
    print()
    print(text)
    print(f"\n{len(result['records'])} results in {time.perf_counter() - t0:.1f} s")
    payload = _finish(args, meta, "kernels", {"quick": args.quick, "devices": list(devices), "ops": list(ops),
                                              **result}, text)
    _plot(args, "kernels", payload)
    failed = [r for r in result["records"] if r["status"].startswith("failed")]
    return 1 if failed else 0


# --- train ----------------------------------------------------------------------------------------


def run_train(args, meta):
    from .suites import train

    models = [m.strip() for m in args.model.split(",")] if args.model else list(train.default_models(args.quick))
    unknown = [m for m in models if m not in train.MODELS]
    if unknown:
        print(f"tensorcore bench train: error: unknown model {unknown[0]!r}; choose from {', '.join(train.MODELS)}",
              file=sys.stderr)
        return 2
    result = train.run_suite(models=models, devices=DEVICES[args.device], quick=args.quick, rounds=args.rounds,
                             progress=lambda line: print(line, flush=True))
    text = "\n".join(["frameworks:", *report.backends_lines(result["backends"]), "", train.format_table(result)])
    print()
    print(text)
    _plot(args, "train", _finish(args, meta, "train", {"quick": args.quick, **result}, text))
    return 1 if any(r["status"].startswith("failed") for r in result["records"]) else 0


# --- overhead -------------------------------------------------------------------------------------


def run_overhead(args, meta):
    from .suites import overhead

    result = overhead.run_suite(quick=args.quick, rounds=args.rounds, progress=lambda line: print(line, flush=True))
    text = "\n".join(["frameworks:", *report.backends_lines(result["backends"]), "", overhead.format_table(result)])
    print()
    print(text)
    _plot(args, "overhead", _finish(args, meta, "overhead", {"quick": args.quick, **result}, text))
    return 1 if any(r["status"].startswith("failed") for r in result["records"]) else 0


# --- parallel -------------------------------------------------------------------------------------


def run_parallel(args):
    from .suites import parallel

    argv = ["--models", args.models, "--threads", args.threads, "--rounds", str(args.rounds),
            "--seconds", str(args.seconds)]
    unknown = [m for m in args.models.split(",") if m not in parallel.MODELS]
    if unknown:
        print(f"tensorcore bench parallel: error: unknown model {unknown[0]!r}; choose from "
              f"{', '.join(parallel.MODELS)}", file=sys.stderr)
        return 2
    for flag in ("json", "md"):
        if getattr(args, flag):
            argv += [f"--{flag}", getattr(args, flag)]
    return parallel.main(argv, command=_command(args)) or 0


# --- all ------------------------------------------------------------------------------------------


def run_all(args):
    import argparse

    tag = args.tag or time.strftime("%Y-%m-%d") + f"-cpu{os.cpu_count()}"
    out = args.out
    status = 0
    for suite in ("kernels", "train", "overhead"):
        base = os.path.join(out, f"{tag}-{suite}")
        device = args.device if suite == "kernels" else ("cuda" if args.device == "cuda" else "cpu")
        ns = argparse.Namespace(suite=suite, quick=args.quick, json=base + ".json", md=base + ".md", device=device,
                                ops=None, plot=base + ".png", model=None, rounds=None,
                                threads=args.threads)
        meta = machine.describe(_command(args))
        meta["threads"] = set_threads(args.threads)
        print(f"\n=== tensorcore bench {suite}: {report.machine_line(meta)}", flush=True)
        runner = {"kernels": run_kernels, "train": run_train, "overhead": run_overhead}[suite]
        status = max(status, runner(ns, meta))
    return status
