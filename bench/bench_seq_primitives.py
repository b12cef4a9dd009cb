"""Benchmark: the char GPT's sequence primitives, tensorcore (NumPy path and Numba kernels) against PyTorch.

One process, one thread each, interleaved rounds of a few calls; CPU time (time.process_time: the
wall clock of a loaded shared machine mostly measures the other jobs), median and minimum per call.
Shapes: the GPT of issue 15 (batch 16, block 64, 4 heads of 32, 128 dims, MLP 512, vocab 113).
tensorcore's backward is its primitive from saved forward results; PyTorch's is forward + backward
minus its forward (autograd has no separate entry), both reported.

    python bench/bench_seq_primitives.py [--rounds 30] [--md PATH] [--json PATH]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

from tensorcore.backends import cpu, cpu_parallel  # noqa: E402
from tensorcore.bench.machine import describe  # noqa: E402


def _kernels(on):
    def wrap(fn):
        def run():
            cpu_parallel.enabled = on
            return fn()

        return run

    return wrap


def cases(rng):
    """{op: {"tensorcore numpy": fn, "tensorcore kernels": fn, "pytorch": fn}} at the GPT's shapes."""
    f32 = np.float32
    q, k, v, do = (rng.standard_normal((16, 64, 3, 4, 32), dtype=f32).transpose(2, 0, 3, 1, 4)[0] for _ in range(4))
    out, lse = cpu.attention_forward(q, k, v, None, True, None)
    x = rng.standard_normal((1024, 128), dtype=f32) + 1
    w, b, dy = rng.standard_normal(128, dtype=f32), rng.standard_normal(128, dtype=f32), rng.standard_normal(x.shape,
                                                                                                            dtype=f32)
    _, mean, rstd = cpu.layer_norm_forward(x, w, b, 1e-5)
    h, gh = rng.standard_normal((16, 64, 512), dtype=f32), rng.standard_normal((16, 64, 512), dtype=f32)
    idx, demb = rng.integers(0, 113, (16, 64)), rng.standard_normal((16, 64, 128), dtype=f32)
    wemb = rng.standard_normal((113, 128), dtype=f32)
    t = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in
         dict(q=q, k=k, v=v, do=do, x=x, w=w, b=b, dy=dy, h=h, gh=gh, demb=demb).items()}
    leaves = {n: t[n].clone().requires_grad_() for n in ("q", "k", "v", "x", "w", "b", "h")}
    temb = torch.zeros(113, 128, requires_grad=True)
    tidx = torch.from_numpy(idx)

    def sdpa():
        return TF.scaled_dot_product_attention(leaves["q"], leaves["k"], leaves["v"], is_causal=True)

    def both(fwd, grad):
        def run():
            fwd().backward(grad)

        return run

    ops = {
        "attention forward": (lambda: cpu.attention_forward(q, k, v, None, True, None), sdpa),
        "attention backward": (lambda: cpu.attention_backward(q, k, v, out, lse, do, None, True, None), None),
        "attention forward+backward": (lambda: cpu.attention_backward(q, k, v, *cpu.attention_forward(
            q, k, v, None, True, None), do, None, True, None), both(sdpa, t["do"])),
        "layer_norm forward": (lambda: cpu.layer_norm_forward(x, w, b, 1e-5),
                               lambda: TF.layer_norm(leaves["x"], (128,), leaves["w"], leaves["b"])),
        "layer_norm forward+backward": (lambda: cpu.layer_norm_backward(dy, x, w, *cpu.layer_norm_forward(
            x, w, b, 1e-5)[1:]), both(lambda: TF.layer_norm(leaves["x"], (128,), leaves["w"], leaves["b"]), t["dy"])),
        "gelu tanh forward": (lambda: cpu.gelu(h, "tanh"), lambda: TF.gelu(leaves["h"], approximate="tanh")),
        "gelu tanh forward+backward": (lambda: (cpu.gelu(h, "tanh"), cpu.gelu_backward(h, gh, "tanh")),
                                       both(lambda: TF.gelu(leaves["h"], approximate="tanh"), t["gh"])),
        "embedding forward+backward": (lambda: (cpu.embedding_forward(wemb, idx),
                                                cpu.embedding_backward(demb, idx, 113, None)),
                                       both(lambda: TF.embedding(tidx, temb), t["demb"])),
    }
    return {op: {"tensorcore numpy": _kernels(False)(ours), "tensorcore kernels": _kernels(True)(ours),
                 **({"pytorch": theirs} if theirs else {})} for op, (ours, theirs) in ops.items()}


def measure(table, rounds, inner=5):
    times = {op: {who: [] for who in fns} for op, fns in table.items()}
    for fns in table.values():
        for fn in fns.values():
            fn()
    for _ in range(rounds):
        for op, fns in table.items():
            for who, fn in fns.items():
                t0 = time.process_time()
                for _ in range(inner):
                    fn()
                times[op][who].append((time.process_time() - t0) / inner)
    cpu_parallel.enabled = True
    return {op: {who: {"median_s": float(np.median(v)), "min_s": float(np.min(v))} for who, v in per.items()}
            for op, per in times.items()}


def markdown(result, machine):
    lines = ["# The char GPT's sequence primitives: tensorcore vs PyTorch (CPU, one thread, same process)", "",
             f"- command: `{machine['command']}`",
             f"- machine: {machine['cpu']}, {machine['cores']} cores, date {machine['date']}, "
             f"load {machine['load_average']}", "- CPU time per call, median / min over interleaved rounds", "",
             "| op | tensorcore NumPy | tensorcore kernels | PyTorch | kernels / PyTorch (medians) |",
             "| --- | --- | --- | --- | --- |"]
    for op, per in result.items():
        cell = {w: f"{1e3 * r['median_s']:.3f} / {1e3 * r['min_s']:.3f} ms" for w, r in per.items()}
        ratio = (f"{per['tensorcore kernels']['median_s'] / per['pytorch']['median_s']:.2f}"
                 if "pytorch" in per else "-")
        lines.append(f"| {op} | {cell['tensorcore numpy']} | {cell['tensorcore kernels']} | "
                     f"{cell.get('pytorch', '-')} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--md")
    p.add_argument("--json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    machine = describe(" ".join(["python", *sys.argv]))
    result = measure(cases(np.random.default_rng(0)), args.rounds)
    text = markdown(result, machine)
    print(text)
    for path, body in ((args.md, text), (args.json, json.dumps({"machine": machine, "results": result}, indent=1))):
        if path:
            with open(path + ".tmp", "w") as f:
                f.write(body)
            os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
