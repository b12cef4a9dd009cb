"""Issue 19's CPU workloads: tensorcore (multi-core kernels) against PyTorch CPU, each in its own process.

    tensorcore bench parallel [--models lenet5,mnist_convnet,alexnet,mlp]
        [--threads default,1] [--rounds 5] [--seconds 1.5] [--json PATH] [--md PATH]
    (the same as python -m tensorcore.bench.suites.parallel ...)

Why separate processes: PyTorch and Numba both run on OpenMP and, in one process, share one
libgomp with one wait policy. PyTorch is fastest with its threads spinning between ops; Numba's
pool next to OpenBLAS's threads is fastest with them asleep (tensorcore sets OMP_WAIT_POLICY=PASSIVE
when it loads its kernels unless the user set it). In one process one of the two is always slowed
(measured: a LeNet-5 step 70-98 ms instead of 6 with PyTorch imported first), so each round starts a
fresh worker process per framework, alternating (tc, torch, torch, tc, ...), each timing steps
on the same shapes. The gate (same weights, same first two losses) runs once in the parent.

Workloads (float32, CPU):
  lenet5         LeNet-5 step, batch 64, SGD lr 0.01 momentum 0.9
  mnist_convnet  PyTorch's MNIST example net: conv 1-32 3x3, ReLU, conv 32-64 3x3, ReLU, max pool 2,
                 dropout 0.25, 9216-128 ReLU, dropout 0.5, 128-10; batch 64, Adam lr 1e-3
  alexnet        the paper's AlexNet, batch 8, forward + backward (no optimizer step)
  mlp            784-64-64-10 MLP step, batch 32, Adam lr 1e-3
The worker also reports its first step's time: with an empty Numba cache (compiles every kernel
the step uses) in a separate cold run, and with the on-disk cache.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from .train import ALEXNET, LENET5  # noqa: E402  (one spec of each model for every suite)

MLP = [("flatten",), ("linear", 784, 64), ("relu",), ("linear", 64, 64), ("relu",), ("linear", 64, 10)]
CONVNET = [("conv", 1, 32, 3, 1, 0, 1), ("relu",), ("conv", 32, 64, 3, 1, 0, 1), ("relu",), ("maxpool", 2, 2),
           ("dropout", 0.25), ("flatten",), ("linear", 9216, 128), ("relu",), ("dropout", 0.5),
           ("linear", 128, 10)]
SPECS = {
    "lenet5": {"layers": LENET5, "input": (1, 28, 28), "classes": 10, "batch": 64,
               "optimizer": ("sgd", {"lr": 0.01, "momentum": 0.9}), "goal": 1.0, "goal_single": 0.9},
    "mnist_convnet": {"layers": CONVNET, "input": (1, 28, 28), "classes": 10, "batch": 64,
                      "optimizer": ("adam", {"lr": 1e-3}), "goal": 1.0},
    "alexnet": {"layers": ALEXNET, "input": (3, 227, 227), "classes": 1000, "batch": 8,
                "optimizer": ("sgd", {"lr": 0.01, "momentum": 0.9}), "optimizer_step": False, "goal": 1.0},
    "mlp": {"layers": MLP, "input": (784,), "classes": 10, "batch": 32, "optimizer": ("adam", {"lr": 1e-3}),
            "goal": 0.6},
}
MODELS = tuple(SPECS)


# --- the worker: one framework, one model, timed steps ---------------------------------------------


def sequential(nn, layers):
    """nn.Sequential of the spec's layers from `nn`: torch.nn or tensorcore.nn (PyTorch's names in both)."""
    make = {"linear": lambda a: nn.Linear(a[0], a[1]), "relu": lambda a: nn.ReLU(), "flatten": lambda a: nn.Flatten(),
            "conv": lambda a: nn.Conv2d(a[0], a[1], a[2], stride=a[3], padding=a[4], groups=a[5]),
            "maxpool": lambda a: nn.MaxPool2d(a[0], a[1]), "dropout": lambda a: nn.Dropout(a[0]),
            "lrn": lambda a: nn.LocalResponseNorm(a[0], alpha=a[1], beta=a[2], k=a[3])}
    return nn.Sequential(*[make[kind](a) for kind, *a in layers])


def optimizer(module, spec, params):
    kind, kw = spec["optimizer"]
    return (module.Adam if kind == "adam" else module.SGD)(params, **kw)


def batch(spec, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((spec["batch"], *spec["input"]), dtype=np.float32)
    return x, rng.integers(0, spec["classes"], spec["batch"])


def _tc_step(spec, seed):
    import tensorcore as tc

    tc.manual_seed(seed)
    model = sequential(tc.nn, spec["layers"])
    opt = optimizer(tc.optim, spec, model.parameters())
    ce = tc.nn.functional.cross_entropy
    x, y = batch(spec, seed)
    x, y = tc.tensor(x), tc.tensor(y)
    with_step = spec.get("optimizer_step", True)

    def step():
        opt.zero_grad()
        loss = ce(model(x), y)
        loss.backward()
        if with_step:
            opt.step()

    return step, model, opt


def _torch_step(spec, seed):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    model = sequential(torch.nn, spec["layers"])
    opt = optimizer(torch.optim, spec, model.parameters())
    x, y = batch(spec, seed)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    with_step = spec.get("optimizer_step", True)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if with_step:
            opt.step()

    return step, model, opt


def worker(framework, model, threads, seconds, seed=0):
    """Time steps for about `seconds`; returns {"samples": [s per step, ...], "first_step_s", "threads"}."""
    spec = SPECS[model]
    t0 = time.perf_counter()
    if framework == "torch":
        import torch

        if threads != "default":
            torch.set_num_threads(int(threads))
        step, _, _ = _torch_step(spec, seed)
        used = torch.get_num_threads()
    else:
        import tensorcore as tc

        if threads != "default":
            tc.set_num_threads(int(threads))
        step, _, _ = _tc_step(spec, seed)
        used = tc.get_num_threads()
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    for _ in range(2):
        step()
    t0 = time.perf_counter()
    step()
    one = max(time.perf_counter() - t0, 1e-6)
    inner = max(1, int(0.05 / one))  # steps per sample: about 50 ms
    samples = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(samples) < 3:
        t0 = time.perf_counter()
        for _ in range(inner):
            step()
        samples.append((time.perf_counter() - t0) / inner)
    return {"samples": samples, "first_step_s": first, "setup_s": setup_s, "threads": used, "inner": inner}


def _run_worker(framework, model, threads, seconds, env=None):
    cmd = [sys.executable, "-m", "tensorcore.bench.suites.parallel", "--worker", framework, "--models", model,
           "--threads", str(threads), "--seconds", str(seconds)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{framework} worker for {model} failed: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the parent: gate, alternating rounds, compile time ----------------------------------------------


def gate(model, seed=0):
    """The two frameworks compute the same thing: torch gets tc's weights; two losses (eval mode) agree."""
    import torch
    import torch.nn.functional as F

    spec = SPECS[model]
    import tensorcore as tc

    step_tc, m_tc, opt_tc = _tc_step(spec, seed)
    m_torch = sequential(torch.nn, spec["layers"])
    with torch.no_grad():
        for a, b in zip(m_tc.parameters(), m_torch.parameters(), strict=True):
            b.copy_(torch.from_numpy(np.ascontiguousarray(a.numpy())))
    opt_torch = optimizer(torch.optim, spec, m_torch.parameters())
    x, y = batch(spec, seed)
    m_tc.train(False)
    m_torch.eval()
    ce = tc.nn.functional.cross_entropy
    losses = []
    for _ in range(2):
        opt_tc.zero_grad()
        a = ce(m_tc(tc.tensor(x)), tc.tensor(y))
        a.backward()
        opt_tc.step()
        opt_torch.zero_grad()
        b = F.cross_entropy(m_torch(torch.from_numpy(x)), torch.from_numpy(y))
        b.backward()
        opt_torch.step()
        losses.append((float(a.item()), float(b.item())))
    worst = max(abs(a - b) / max(abs(b), 1e-12) for a, b in losses)
    return {"losses": losses, "ok": worst <= 1e-3, "relative_difference": worst}


def compile_times(model):
    """First step of a fresh tc process with an empty Numba cache (compiles) and then with the cache filled."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold = _run_worker("tc", model, "default", 0.0, env)
        warm = _run_worker("tc", model, "default", 0.0, env)
    return {"first_step_cold_cache_s": cold["first_step_s"], "first_step_warm_cache_s": warm["first_step_s"],
            "steady_step_s": statistics.median(warm["samples"])}


def run(models=MODELS, threads=("default", 1), rounds=5, seconds=1.5, say=print):
    results = []
    for model in models:
        g = gate(model)
        say(f"{model}: gate {'ok' if g['ok'] else 'FAILED'} {g['losses']}")
        comp = compile_times(model) if model != "mlp" else None
        if comp:
            say(f"{model}: first step {comp['first_step_cold_cache_s']:.2f} s with an empty Numba cache, "
                f"{comp['first_step_warm_cache_s']:.2f} s cached")
        for th in threads:
            per = {"tc": [], "torch": []}
            used = {}
            for r in range(rounds):
                for fw in (("tc", "torch") if r % 2 == 0 else ("torch", "tc")):
                    out = _run_worker(fw, model, th, seconds)
                    per[fw].append(statistics.median(out["samples"]))
                    used[fw] = out["threads"]
            tc_med, torch_med = statistics.median(per["tc"]), statistics.median(per["torch"])
            spec = SPECS[model]
            goal = spec.get("goal_single") if th == 1 else spec["goal"]
            if th == 1 and model != "lenet5":
                goal = None
            rec = {"model": model, "threads": th, "threads_used": used, "tc_median_s": tc_med,
                   "torch_median_s": torch_med, "ratio": tc_med / torch_med,
                   "paired_ratio_median": statistics.median(a / b for a, b in zip(per["tc"], per["torch"])),
                   "round_medians": per, "goal": goal, "gate": g, "compile": comp,
                   "load_average": list(os.getloadavg())}
            rec["meets_goal"] = None if goal is None else rec["ratio"] <= goal
            results.append(rec)
            say(f"  threads {th}: tc {tc_med * 1e3:.2f} ms, torch {torch_med * 1e3:.2f} ms, ratio {rec['ratio']:.2f}x "
                f"(paired {rec['paired_ratio_median']:.2f}x; goal {goal}), load {rec['load_average']}")
    return results


def format_markdown(results, machine):
    lines = ["# issue 19: multi-core CPU kernels, tensorcore vs PyTorch CPU", "",
             f"- command: `{machine['command']}`", f"- date: {machine['date']}",
             f"- machine: {machine['cpu']} ({machine['cores']} cores), BLAS {machine['blas']}, "
             f"libraries {machine['libraries']}",
             "- a 2-core machine shared with other jobs: noisy; medians of per-process medians, each framework in "
             "its own process (see tensorcore/bench/suites/parallel.py for why)", "",
             "| model | threads | tensorcore | PyTorch | ratio | paired | goal | load avg | first step (empty cache"
             " / cached) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        goal = "-" if r["goal"] is None else f"<= {r['goal']}x: {'met' if r['meets_goal'] else 'MISSED'}"
        comp = r["compile"]
        first = "-" if not comp else (f"{comp['first_step_cold_cache_s']:.2f} s / "
                                      f"{comp['first_step_warm_cache_s']:.3f} s")
        lines.append(f"| {r['model']} | {r['threads']} ({r['threads_used']}) | {r['tc_median_s'] * 1e3:.2f} ms | "
                     f"{r['torch_median_s'] * 1e3:.2f} ms | {r['ratio']:.2f}x | {r['paired_ratio_median']:.2f}x | "
                     f"{goal} | {', '.join(f'{v:.2f}' for v in r['load_average'])} | {first} |")
    return "\n".join(lines) + "\n"


def main(argv=None, command=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--threads", default="default,1")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=1.5)
    p.add_argument("--worker", choices=("tc", "torch"))
    p.add_argument("--json")
    p.add_argument("--md")
    a = p.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.worker, a.models, a.threads, a.seconds)))
        return
    from ..machine import describe

    machine = describe(command=command or " ".join(["python -m tensorcore.bench.suites.parallel",
                                                     *(argv or sys.argv[1:])]))
    threads = [t if t == "default" else int(t) for t in a.threads.split(",")]
    results = run(a.models.split(","), threads, a.rounds, a.seconds)
    print(format_markdown(results, machine))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": machine, "results": results}, f, indent=1)
    if a.md:
        with open(a.md, "w") as f:
            f.write(format_markdown(results, machine))


if __name__ == "__main__":
    main()
