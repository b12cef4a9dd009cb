"""Write bench/results/opinfo-coverage.md: how many of PyTorch's op_db entries tensorcore runs and agrees on.

Usage: python bench/opinfo_coverage.py [--cap N]   (needs torch and expecttest)
"""

import argparse
import datetime
import os
import platform
import sys
import time

from tensorcore.testing import opinfo


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cap", type=int, default=opinfo.SAMPLE_CAP, help="samples per entry")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "opinfo-coverage.md"))
    args = ap.parse_args()
    import torch

    start = time.perf_counter()
    rows = opinfo.run_op_db(cap=args.cap)
    s = opinfo.summary(rows)
    seconds = time.perf_counter() - start
    head = [
        "# PyTorch op_db coverage",
        "",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.node()} "
        f"({platform.machine()}, {os.cpu_count()} cpus); torch {torch.__version__}; python {sys.version.split()[0]}",
        f"- command: `python bench/opinfo_coverage.py --cap {args.cap}` ({seconds:.0f} s)",
        f"- op_db entries: {s['entries']}; tensorcore has {s['have']}; with at least one agreeing sample: {s['run']}",
        f"- samples: {s['samples']} counted: agree {s['agree']}, refused {s['refused']} (a named TensorcoreError), "
        f"differ {s['differ']} (silent differences), crash {s['crash']} (not a TensorcoreError); "
        f"agreement {s['agree_rate']:.1%}; {s['skip']} not counted (torch refused them, or complex/sparse inputs)",
        "",
    ]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(head) + opinfo.table(rows) + "\n" + opinfo.missing_and_skipped(rows) + "\n")
    os.replace(tmp, args.out)
    print("\n".join(head))


if __name__ == "__main__":
    main()
