"""Benchmark: one training step of the char GPT and of the LSTM LM, tensorcore against PyTorch on the CPU.

Same process, same weights (copied through state_dict), same batch, one thread each, alternating
rounds; reports the median CPU time (time.process_time: on a shared, loaded machine the wall clock
mostly measures the other jobs) and the median wall time of each, and the CPU-time ratio. A step is
forward, cross-entropy, zero_grad, backward and an Adam step. Targets (issue 15): GPT <= 1.0x,
LSTM <= 1.5x. Writes bench/results/seq_step_cpu.{json,md}.

    python bench/bench_seq_step.py [--rounds 30] [--model gpt,char_lstm] [--numpy] [--torch-threads 0]

tensorcore runs as installed by default: its Numba CPU kernels on when numba is there (one thread
next to PyTorch, see backends/cpu_parallel.py); --numpy times the NumPy-only path. tensorcore runs on
one thread; PyTorch on --torch-threads (1 by default; 0: its default, one per core, whose CPU time
then counts every thread's).

GPT: 4 layers, 4 heads, 128 dims, block 64, batch 16, vocab 113 (fortunes' characters).
LSTM LM: embedding 64, 2 layers of 256, block 64, batch 16.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402
from gpt_vs_torch import build  # noqa: E402

import tensorcore as tc  # noqa: E402
from tensorcore.bench.machine import describe  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGET = {"gpt": 1.0, "char_lstm": 1.5}


def steps(model_name, vocab=113, batch=16, block=64, seed=0):
    ours, theirs = build(model_name, vocab, seed)
    opt_o = tc.optim.Adam(ours.parameters(), lr=1e-3)
    opt_t = torch.optim.Adam(theirs.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, vocab, (batch, block)), rng.integers(0, vocab, (batch, block))
    xo, yo = tc.tensor(x), tc.tensor(y.reshape(-1))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.reshape(-1))

    def step_ours():
        lo = ours(xo)
        loss = tc.nn.functional.cross_entropy(lo.reshape(-1, vocab), yo)
        opt_o.zero_grad()
        loss.backward()
        opt_o.step()
        return loss.item()

    def step_theirs():
        lt = theirs(xt)
        loss = TF.cross_entropy(lt.reshape(-1, vocab), yt)
        opt_t.zero_grad()
        loss.backward()
        opt_t.step()
        return loss.item()

    return step_ours, step_theirs


def measure(model_name, rounds):
    step_ours, step_theirs = steps(model_name)
    first = (step_ours(), step_theirs())
    if abs(first[0] - first[1]) > 1e-4 * abs(first[1]):
        raise SystemExit(f"{model_name}: first losses differ ({first}); the two models are not the same")
    for _ in range(2):
        step_ours()
        step_theirs()
    cpu = {"tensorcore": [], "pytorch": []}
    wall = {"tensorcore": [], "pytorch": []}
    for _ in range(rounds):
        for name, step in (("tensorcore", step_ours), ("pytorch", step_theirs)):
            c0, w0 = time.process_time(), time.perf_counter()
            step()
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    med = {k: float(np.median(v)) for k, v in cpu.items()}
    low = {k: float(np.min(v)) for k, v in cpu.items()}
    med_wall = {k: float(np.median(v)) for k, v in wall.items()}
    ratio = med["tensorcore"] / med["pytorch"]
    return {"model": model_name, "rounds": rounds, "first_loss": first, "median_cpu_s": med, "min_cpu_s": low,
            "median_wall_s": med_wall, "min_ratio": low["tensorcore"] / low["pytorch"], "ratio": ratio,
            "wall_ratio": med_wall["tensorcore"] / med_wall["pytorch"], "target": TARGET[model_name],
            "meets_target": ratio <= TARGET[model_name], "cpu_s": cpu, "wall_s": wall}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--model", default="gpt,char_lstm")
    p.add_argument("--numpy", action="store_true", help="tensorcore's Numba CPU kernels off (NumPy only)")
    p.add_argument("--parallel", action="store_true", help="(the default; kept for old command lines)")
    p.add_argument("--torch-threads", type=int, default=1, help="PyTorch's threads (0: its default, one per core)")
    p.add_argument("--out", default=RESULTS)
    p.add_argument("--name", default="seq_step_cpu")
    args = p.parse_args(argv)
    torch_threads = args.torch_threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(torch_threads)
    tc.backends.cpu_parallel.enabled = not args.numpy
    parallel = tc.backends.cpu_parallel.enabled and tc.backends.cpu_parallel.available()
    results = [measure(m, args.rounds) for m in args.model.split(",")]
    record = {"machine": describe(" ".join(["python", *sys.argv])), "threads": 1, "torch_threads": torch_threads,
              "parallel_kernels": parallel,
              "results": results}
    base = os.path.join(args.out, args.name)
    with open(base + ".json.tmp", "w") as f:
        json.dump(record, f, indent=1)
    os.replace(base + ".json.tmp", base + ".json")
    lines = [f"# Training step, tensorcore (1 thread) vs PyTorch ({torch_threads} thread"
             f"{'s' if torch_threads > 1 else ''}), CPU, same process, alternating rounds", "",
             f"- command: `{record['machine']['command']}`",
             f"- machine: {record['machine']['cpu']}, {record['machine']['cores']} cores, date "
             f"{record['machine']['date']}, load {record['machine']['load_average']}",
             f"- tensorcore Numba CPU kernels: {'on' if parallel else 'off (NumPy)'}", "",
             "| model | tensorcore CPU ms (median / min) | PyTorch CPU ms (median / min) | CPU ratio (medians) | "
             "ratio of minima | wall ratio | target | met |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r['model']} | {1e3 * r['median_cpu_s']['tensorcore']:.1f} / "
                     f"{1e3 * r['min_cpu_s']['tensorcore']:.1f} | {1e3 * r['median_cpu_s']['pytorch']:.1f} / "
                     f"{1e3 * r['min_cpu_s']['pytorch']:.1f} | {r['ratio']:.2f} | {r['min_ratio']:.2f} | "
                     f"{r['wall_ratio']:.2f} | "
                     f"<= {r['target']} | {r['meets_target']} |")
        print(lines[-1], flush=True)
    with open(base + ".md.tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(base + ".md.tmp", base + ".md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
