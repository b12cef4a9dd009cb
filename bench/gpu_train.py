"""The cuda-device sections of bench/gpu_check.py: the device tests on the real GPU, training steps
of the MLP, LeNet-5 and AlexNet on cuda against the CPU and PyTorch on the same GPU, and NCCL.

Registered by gpu_check.py (`register(register_section)`); each section takes gpu_check's Context.
In --dry-run the sections use the simulated cuda device and toy sizes: they prove the plumbing only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def register(register_section):
    register_section("cuda_tests", cuda_tests)
    register_section("train_steps", train_steps)
    register_section("nccl", nccl)


def cuda_tests(ctx):
    """tests/test_cuda_device.py on the real device (the same tests CI runs on the simulated one)."""
    if ctx.dry:
        ctx.record("cuda_tests", "skipped in --dry-run (CI runs them on the simulated device)")
        return
    env = {k: v for k, v in os.environ.items() if k not in ("TENSORCORE_CUDA_SIM", "NUMBA_ENABLE_CUDASIM")}
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "cuda or gpu", "-p", "no:cacheprovider",
           "tests/test_cuda_device.py"]
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=180)
        out, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT", -1
    last = [ln for ln in out.strip().splitlines() if ln.strip()][-1:] or [""]
    ctx.record("cuda_tests", "pytest tests/test_cuda_device.py", ms=(time.perf_counter() - t) * 1e3,
               passed=rc == 0, note=last[0], output_tail=out[-3000:])


def _tc_step(model_name, batch, device, dry):
    """A closure running one tensorcore training step (forward, backward, optimizer) on `device`."""
    import numpy as np

    import tensorcore as tc
    from tensorcore import models, nn, optim

    tc.manual_seed(0)
    if model_name == "mlp":
        model = models.get_model("mlp", **({"in_features": 16} if dry else {}))
        x = np.random.default_rng(0).random((batch, 16 if dry else 784), dtype=np.float32)
        opt_cls, kw = optim.Adam, {"lr": 1e-3}
    elif model_name == "lenet5":
        model = models.get_model("lenet5")
        x = np.random.default_rng(0).random((batch, 1, 28, 28), dtype=np.float32)
        opt_cls, kw = optim.SGD, {"lr": 0.01, "momentum": 0.9}
    else:
        model = models.get_model("alexnet", num_classes=1000)
        x = np.random.default_rng(0).random((batch, 3, 227, 227), dtype=np.float32)
        opt_cls, kw = optim.SGD, {"lr": 0.01, "momentum": 0.9}
    model.to(device)
    opt = opt_cls(model.parameters(), **kw)
    classes = 1000 if model_name == "alexnet" else 10
    xt = tc.tensor(x, device=device)
    yt = tc.tensor(np.random.default_rng(1).integers(0, classes, batch), device=device)

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()

    return step


def _torch_step(model_name, batch):
    """The same step in PyTorch on the GPU, or None when PyTorch has no CUDA here."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    nnt = torch.nn
    if model_name == "mlp":
        model = nnt.Sequential(nnt.Linear(784, 64), nnt.ReLU(), nnt.Linear(64, 64), nnt.ReLU(), nnt.Linear(64, 10))
        x = torch.rand(batch, 784)
        make_opt = lambda p: torch.optim.Adam(p, lr=1e-3)  # noqa: E731
    elif model_name == "lenet5":
        model = nnt.Sequential(nnt.Conv2d(1, 6, 5, padding=2), nnt.ReLU(), nnt.MaxPool2d(2), nnt.Conv2d(6, 16, 5),
                               nnt.ReLU(), nnt.MaxPool2d(2), nnt.Flatten(), nnt.Linear(400, 120), nnt.ReLU(),
                               nnt.Linear(120, 84), nnt.ReLU(), nnt.Linear(84, 10))
        x = torch.rand(batch, 1, 28, 28)
        make_opt = lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)  # noqa: E731
    else:
        return None  # AlexNet's peer: torchvision may be absent; the paper net differs anyway
    model = model.cuda()
    opt = make_opt(model.parameters())
    x = x.cuda()
    y = torch.randint(0, 10, (batch,)).cuda()

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def train_steps(ctx):
    """Median ms per training step: tensorcore cuda vs tensorcore cpu vs PyTorch on the same GPU."""
    if ctx.dry:
        os.environ.setdefault("TENSORCORE_CUDA_SIM", "1")
        runs = [("mlp", 4)]
    else:
        runs = [("mlp", 32), ("mlp", 1024), ("lenet5", 64), ("alexnet", ctx.size(128, 32, 2))]
    for model_name, batch in runs:
        name = f"{model_name} batch {batch}"
        try:
            gpu_ms = ctx.time(_tc_step(model_name, batch, "cuda", ctx.dry), samples=3 if ctx.quick else 5, min_ms=50)
        except Exception as e:  # record and go on: one model must not lose the others
            ctx.record("train_steps", name, note=f"tensorcore cuda failed: {type(e).__name__}: {e}")
            continue
        cpu_ms = None
        if model_name in ("mlp", "lenet5") and not ctx.dry:
            step = _tc_step(model_name, batch, "cpu", False)
            step()
            t = time.perf_counter()
            reps = 20 if model_name == "mlp" else 3
            for _ in range(reps):
                step()
            cpu_ms = (time.perf_counter() - t) / reps * 1e3
        torch_step = None if ctx.dry else _torch_step(model_name, batch)
        torch_ms = ctx.time(torch_step, samples=5, min_ms=50) if torch_step else None
        ctx.record("train_steps", name, ms=gpu_ms, ref="pytorch cuda" if torch_ms else None, ref_ms=torch_ms,
                   cpu_ms=cpu_ms, note="tensorcore cuda step; vs_ref > 1 means faster than PyTorch")


def nccl(ctx):
    """A world of size 1 through NCCL (tensorcore.distributed.nccl_selftest)."""
    if ctx.dry:
        ctx.record("nccl", "skipped in --dry-run (needs a GPU)")
        return
    try:
        from tensorcore.distributed import nccl_selftest
    except ImportError as e:
        ctx.record("nccl", "nccl_selftest unavailable", note=str(e))
        return
    t = time.perf_counter()
    result = nccl_selftest()
    ctx.record("nccl", "all_reduce world of 1", ms=(time.perf_counter() - t) * 1e3, passed=bool(result),
               note=str(result))
