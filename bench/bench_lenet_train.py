"""LeNet-5 training step and AlexNet forward+backward: tensorcore against PyTorch on the CPU.

    python bench/bench_lenet_train.py [--rounds 41] [--alexnet-rounds 5] [--no-alexnet] [--out bench/results]

Same process, same inputs, alternating rounds (tensorcore, torch, torch, tensorcore, ...) so load
from other processes hits both alike. Writes bench/results/lenet5_train_cpu.json and .md.

Workloads:
  * LeNet-5 (conv 1->6 5x5 pad 2, ReLU, max pool 2, conv 6->16 5x5, ReLU, pool, 400-120-84-10),
    one SGD step with momentum 0.9 on a batch of 64 28x28 images, float32: zero_grad, forward,
    cross-entropy, backward, step. Both models start from the same weights.
  * AlexNet (the paper's, 60,965,224 parameters, LRN and grouped convolutions; PyTorch's the same
    network built from torch.nn), forward + backward of one batch of 8 227x227 images.
The ratio is median(tensorcore) / median(torch); the paired ratio is the median of per-round ratios.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tensorcore as tc  # noqa: E402
import tensorcore.nn.functional as F  # noqa: E402
from tensorcore.bench.machine import describe  # noqa: E402
from tensorcore.bench.timing import measure_alternating  # noqa: E402
from tensorcore.models.alexnet import alexnet  # noqa: E402
from tensorcore.models.lenet5 import lenet5  # noqa: E402


def torch_lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def torch_alexnet(torch):
    nn = torch.nn

    def lrn():
        return nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)

    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, 1000))


def copy_weights(tc_model, torch_model, torch):
    """Give the torch model the tensorcore model's parameters (same order: conv/linear weight, bias)."""
    src = list(tc_model.parameters())
    dst = list(torch_model.parameters())
    assert len(src) == len(dst), (len(src), len(dst))
    with torch.no_grad():
        for s, d in zip(src, dst):
            d.copy_(torch.from_numpy(np.array(s.numpy())))


def _cpu_time_alternating(fns, rounds, inner):
    """Median CPU seconds (time.process_time) per call of each fn, in alternating rounds.

    CPU time leaves out the time a process waits for a core, so on a machine shared with other jobs
    it is steadier than wall-clock; it is a fair comparison only single-threaded (a spinning BLAS or
    OpenMP thread counts as busy).
    """
    samples = [[] for _ in fns]
    for r in range(rounds):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for i in order:
            t0 = time.process_time()
            for _ in range(inner):
                fns[i]()
            samples[i].append((time.process_time() - t0) / inner)
    return [statistics.median(s) for s in samples], samples


def bench_lenet(torch, rounds, batch=64, threads=None):
    """One configuration: threads=None is each library's default (all cores), 1 is single-threaded."""
    import contextlib

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    tc.manual_seed(0)
    model = lenet5()
    tmodel = torch_lenet(torch)
    copy_weights(model, tmodel, torch)
    opt = tc.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
    xt, yt = tc.tensor(x), tc.tensor(y)
    xx, yy = torch.from_numpy(x), torch.from_numpy(y)

    def tc_step():
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    def torch_step():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(xx), yy)
        loss.backward()
        topt.step()
        return loss

    default_threads = torch.get_num_threads()
    limit = threadpool_limits(limits=threads, user_api="blas") if threads else contextlib.nullcontext()
    try:
        if threads:
            torch.set_num_threads(threads)
        with limit:
            # Same weights, same batch: the first losses agree (both run the same network).
            l0, t0 = float(tc_step().item()), float(torch_step().item())
            assert abs(l0 - t0) < 1e-4 * max(1.0, abs(t0)), (l0, t0)
            (ta, tb), samples = measure_alternating([tc_step, torch_step], rounds=rounds, inner=5, warmup=3)
            cpu = _cpu_time_alternating([tc_step, torch_step], rounds, 5)[0] if threads == 1 else None
    finally:
        torch.set_num_threads(default_threads)
    out = {
        "workload": f"LeNet-5 SGD(momentum=0.9) step, batch {batch}, 1x28x28, float32",
        "threads": threads or f"default (torch {default_threads}, OpenBLAS all)",
        "first_loss": {"tensorcore": l0, "torch": t0},
        "tensorcore_median_ms": ta.median_s * 1e3,
        "torch_median_ms": tb.median_s * 1e3,
        "tensorcore_min_ms": ta.min_s * 1e3,
        "torch_min_ms": tb.min_s * 1e3,
        "ratio": ta.median_s / tb.median_s,
        "paired_ratio": statistics.median(a / b for a, b in zip(*samples)),
        "min_ratio": ta.min_s / tb.min_s,
        "rounds": rounds,
        "steps_per_sample": 5,
    }
    if cpu is not None:
        out.update(tensorcore_cpu_ms=cpu[0] * 1e3, torch_cpu_ms=cpu[1] * 1e3, cpu_ratio=cpu[0] / cpu[1])
    return out


def bench_alexnet(torch, rounds, batch=8):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, 3, 227, 227)).astype(np.float32)
    tc.manual_seed(0)
    model = alexnet()
    model.eval()  # no dropout: both frameworks compute the same function
    tmodel = torch_alexnet(torch).eval()
    copy_weights(model, tmodel, torch)
    xt, xx = tc.tensor(x), torch.from_numpy(x)

    def tc_fb():
        model.zero_grad()
        model(xt).sum().backward()

    def torch_fb():
        tmodel.zero_grad()
        tmodel(xx).sum().backward()

    with tc.no_grad():
        a = model(xt).numpy()
    with torch.no_grad():
        b = tmodel(xx).numpy()
    err = float(np.abs(a - b).max() / (np.abs(b).max() + 1e-12))
    (ta, tb), samples = measure_alternating([tc_fb, torch_fb], rounds=rounds, inner=1, warmup=1)
    return {
        "workload": f"AlexNet (paper, 60,965,224 parameters) forward + backward, batch {batch}, 3x227x227, float32",
        "max_relative_output_difference": err,
        "tensorcore_median_ms": ta.median_s * 1e3,
        "torch_median_ms": tb.median_s * 1e3,
        "ratio": ta.median_s / tb.median_s,
        "paired_ratio": statistics.median(a / b for a, b in zip(*samples)),
        "rounds": rounds,
    }


def write_markdown(path, result):
    m = result["machine"]
    lines = [
        "# LeNet-5 training step and AlexNet forward+backward: tensorcore vs PyTorch (CPU)",
        "",
        f"- date: {m['date']}",
        f"- command: `{result['command']}`",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, load average {m.get('load_average')}",
        f"- libraries: {', '.join(f'{k} {v}' for k, v in m['libraries'].items())}",
        f"- torch threads (default): {result['torch_threads']}",
        "",
        "| workload | threads | tensorcore (ms) | PyTorch (ms) | ratio | paired | best-of | CPU-time ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in ("lenet5", "lenet5_1thread"):
        le = result[key]
        cpu = f"{le['cpu_ratio']:.2f} ({le['tensorcore_cpu_ms']:.2f} / {le['torch_cpu_ms']:.2f} ms)" \
            if "cpu_ratio" in le else "-"
        lines.append(f"| {le['workload']} | {le['threads']} | {le['tensorcore_median_ms']:.2f} | "
                     f"{le['torch_median_ms']:.2f} | {le['ratio']:.2f} | {le['paired_ratio']:.2f} | "
                     f"{le['min_ratio']:.2f} | {cpu} |")
    if "alexnet" in result:
        a = result["alexnet"]
        lines.append(f"| {a['workload']} | default | {a['tensorcore_median_ms']:.0f} | {a['torch_median_ms']:.0f} | "
                     f"{a['ratio']:.2f} | {a['paired_ratio']:.2f} | - | - |")
    lines += ["", "Medians over alternating rounds in one process (see bench/bench_lenet_train.py); ratio = "
              "tensorcore / PyTorch, paired = median of per-round ratios, best-of = fastest tensorcore sample / "
              "fastest PyTorch sample. CPU time (time.process_time, single-threaded only) leaves out waiting for "
              "a core on a shared machine. Goal for LeNet-5: ratio <= 1.5.", ""]
    if result.get("notes"):
        lines += ["Notes:", ""] + [f"- {n}" for n in result["notes"]] + [""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=41)
    p.add_argument("--alexnet-rounds", type=int, default=5)
    p.add_argument("--no-alexnet", action="store_true")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("bench_lenet_train: PyTorch is not installed (pip install torch); nothing to compare against",
              file=sys.stderr)
        return 1
    command = "python bench/bench_lenet_train.py " + " ".join(argv if argv is not None else sys.argv[1:])
    result = {"command": command.strip(), "machine": describe(command.strip()),
              "torch_threads": torch.get_num_threads()}
    for key, threads in (("lenet5", None), ("lenet5_1thread", 1)):
        t = time.time()
        result[key] = le = bench_lenet(torch, args.rounds, threads=threads)
        extra = f", CPU time ratio {le['cpu_ratio']:.2f}" if "cpu_ratio" in le else ""
        print(f"LeNet-5 step ({le['threads']} threads): tensorcore {le['tensorcore_median_ms']:.2f} ms, torch "
              f"{le['torch_median_ms']:.2f} ms, ratio {le['ratio']:.2f} (paired {le['paired_ratio']:.2f}, "
              f"best-of {le['min_ratio']:.2f}){extra}  [{time.time() - t:.0f} s]")
    if not args.no_alexnet:
        t = time.time()
        result["alexnet"] = a = bench_alexnet(torch, args.alexnet_rounds)
        print(f"AlexNet fwd+bwd batch 8: tensorcore {a['tensorcore_median_ms']:.0f} ms, torch "
              f"{a['torch_median_ms']:.0f} ms, ratio {a['ratio']:.2f}  [{time.time() - t:.0f} s]")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "lenet5_train_cpu.json"), "w") as f:
        json.dump(result, f, indent=2)
    write_markdown(os.path.join(args.out, "lenet5_train_cpu.md"), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
