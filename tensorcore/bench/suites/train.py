"""The training-step suite: tensorcore against PyTorch with the identical model, optimizer, batch and data.

A step is `zero_grad; loss = cross_entropy(model(x), y); loss.backward(); optimizer.step()` on a
batch drawn in turn from a pool of random batches shared by both frameworks. The two frameworks are
timed in alternating rounds (tc, torch, torch, tc, ...) and the ratio tensorcore/PyTorch of the
median step times is reported, with the median of the per-round ratios as a noise-robust check.

Before timing, a gate checks the two are the same computation: PyTorch gets tensorcore's initial
weights, the first loss must agree, and after one optimizer step (dropout off) the second too.

Models (the issues' benchmark settings):
  mlp      784-64-64-10, ReLU, batch 32, Adam lr 1e-3          goal <= 0.75x PyTorch   (issue 3)
  lenet5   LeNet-5 on 1x28x28, batch 64, SGD lr 0.01 mom 0.9    goal <= 1.5x PyTorch    (issue 4)
  alexnet  the paper's AlexNet on 3x227x227, batch 8: zero_grad, forward, loss, backward (no
           optimizer step), as issue 4 asks
For the MLP the hand-written NumPy step of `numpy_floor.py` (manual backward, the same Adam, the
same initial weights and batches) is timed too: the floor for a NumPy engine.
"""

from __future__ import annotations

import itertools
import statistics

import numpy as np

from ..record import make_record
from ..report import fmt_time, table
from ..timing import measure_alternating
from . import numpy_floor

MODELS = ("mlp", "lenet5", "alexnet")

# Architecture specs: the PyTorch peer is built from these; tensorcore's model comes from
# tensorcore.models (or, for a model not registered there, from tensorcore.nn and the same spec).
LENET5 = [("conv", 1, 6, 5, 1, 2, 1), ("relu",), ("maxpool", 2, 2), ("conv", 6, 16, 5, 1, 0, 1), ("relu",),
          ("maxpool", 2, 2), ("flatten",), ("linear", 400, 120), ("relu",), ("linear", 120, 84), ("relu",),
          ("linear", 84, 10)]
ALEXNET = [("conv", 3, 96, 11, 4, 0, 1), ("relu",), ("lrn", 5, 5e-4, 0.75, 2.0), ("maxpool", 3, 2),
           ("conv", 96, 256, 5, 1, 2, 2), ("relu",), ("lrn", 5, 5e-4, 0.75, 2.0), ("maxpool", 3, 2),
           ("conv", 256, 384, 3, 1, 1, 1), ("relu",), ("conv", 384, 384, 3, 1, 1, 2), ("relu",),
           ("conv", 384, 256, 3, 1, 1, 2), ("relu",), ("maxpool", 3, 2), ("flatten",),
           ("dropout", 0.5), ("linear", 9216, 4096), ("relu",), ("dropout", 0.5), ("linear", 4096, 4096), ("relu",),
           ("linear", 4096, 1000)]
SPECS = {
    "mlp": {"layers": [("flatten",), ("linear", 784, 64), ("relu",), ("linear", 64, 64), ("relu",), ("linear", 64, 10)],
            "input": (784,), "classes": 10, "batch": 32, "optimizer": ("adam", {"lr": 1e-3}), "goal": 0.75},
    "lenet5": {"layers": LENET5, "input": (1, 28, 28), "classes": 10, "batch": 64,
               "optimizer": ("sgd", {"lr": 0.01, "momentum": 0.9}), "goal": 1.5},
    # Issue 4 asks for AlexNet's forward+backward: no optimizer step (61M parameters' update).
    "alexnet": {"layers": ALEXNET, "input": (3, 227, 227), "classes": 1000, "batch": 8,
                "optimizer": ("sgd", {"lr": 0.01, "momentum": 0.9}), "goal": None, "optimizer_step": False},
}
POOL = 8  # random batches per model, rotated


def default_models(quick):
    return ("mlp", "lenet5") if quick else MODELS


class Unavailable(Exception):
    pass


# --- the two frameworks' models, built from one spec (the vocabulary is PyTorch's in both) ----------


def sequential_from_spec(nn, layers):
    """nn.Sequential of `layers` (the specs above) from `nn`: torch.nn or tensorcore.nn."""
    mods = []
    for kind, *a in layers:
        if kind == "linear":
            mods.append(nn.Linear(a[0], a[1]))
        elif kind == "conv":
            cin, cout, k, s, p, g = a
            mods.append(nn.Conv2d(cin, cout, k, stride=s, padding=p, groups=g))
        elif kind == "relu":
            mods.append(nn.ReLU())
        elif kind == "maxpool":
            mods.append(nn.MaxPool2d(a[0], a[1]))
        elif kind == "flatten":
            mods.append(nn.Flatten())
        elif kind == "lrn":
            mods.append(nn.LocalResponseNorm(a[0], alpha=a[1], beta=a[2], k=a[3]))
        elif kind == "dropout":
            mods.append(nn.Dropout(a[0]))
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return nn.Sequential(*mods)


def torch_model(layers):
    import torch.nn as nn

    return sequential_from_spec(nn, layers)


def torch_optimizer(kind, params, kw):
    import torch

    return torch.optim.Adam(params, **kw) if kind == "adam" else torch.optim.SGD(params, **kw)


def tc_model(name, layers, device):
    """(model, where it came from): tensorcore.models' registered model, else the spec in tensorcore.nn."""
    from tensorcore import models, nn

    if name in models.list_models():
        model, source = models.get_model(name), f"tensorcore.models.get_model({name!r})"
    else:
        model, source = sequential_from_spec(nn, layers), "tensorcore.nn layers (no registered model)"
    return (model.to(device) if device != "cpu" else model), source


def tc_optimizer(kind, params, kw):
    from tensorcore import optim

    return optim.Adam(params, **kw) if kind == "adam" else optim.SGD(params, **kw)


def tc_cross_entropy():
    from tensorcore.nn.functional import cross_entropy

    return cross_entropy


# --- the step functions ---------------------------------------------------------------------------


def _batches(spec, rng):
    shape = (spec["batch"], *spec["input"])
    return [(rng.standard_normal(shape, dtype=np.float32), rng.integers(0, spec["classes"], spec["batch"]))
            for _ in range(POOL)]


def _copy_weights(tc_params, torch_params):
    """Give PyTorch tensorcore's initial weights (both list parameters in layer order, PyTorch shapes)."""
    import torch

    tc_params, torch_params = list(tc_params), list(torch_params)
    shapes_tc = [tuple(p.shape) for p in tc_params]
    shapes_torch = [tuple(p.shape) for p in torch_params]
    if shapes_tc != shapes_torch:
        raise ValueError(f"parameter shapes differ: tensorcore {shapes_tc} vs PyTorch {shapes_torch}")
    with torch.no_grad():
        for a, b in zip(tc_params, torch_params):
            b.copy_(torch.from_numpy(np.ascontiguousarray(a.numpy())))


def _set_mode(model, train):
    if hasattr(model, "train"):
        model.train(train)


def build(name, device="cpu", seed=0):
    """Both frameworks' step functions for model `name`, checked against each other.

    Returns a dict with `tc_step`, `torch_step` (None without PyTorch), `syncs`, `source`, `gate`.
    """
    import tensorcore as tc

    spec = SPECS[name]
    rng = np.random.default_rng(seed)
    if hasattr(tc, "manual_seed"):
        tc.manual_seed(seed)
    batches = _batches(spec, rng)
    model, source = tc_model(name, spec["layers"], device)
    init = [np.array(p.numpy(), copy=True) for p in model.parameters()]  # before the gate's steps
    opt_kind, opt_kw = spec["optimizer"]
    opt = tc_optimizer(opt_kind, model.parameters(), opt_kw)
    ce = tc_cross_entropy()
    with_step = spec.get("optimizer_step", True)
    tc_batches = [(tc.tensor(x, device=device), tc.tensor(y, device=device)) for x, y in batches]
    tc_iter = itertools.cycle(tc_batches)

    def tc_step(x=None, y=None):
        if x is None:
            x, y = next(tc_iter)
        opt.zero_grad()
        loss = ce(model(x), y)
        loss.backward()
        if with_step:
            opt.step()
        return loss

    out = {"tc_step": tc_step, "torch_step": None, "syncs": [None, None], "source": source, "gate": None,
           "torch_reason": None, "init": init, "batches": batches}
    try:
        import torch
    except ImportError as e:
        out["torch_reason"] = f"torch not installed ({e})"
        return out
    if device == "cuda":
        if not torch.cuda.is_available():
            out["torch_reason"] = "torch.cuda.is_available() is False"
            return out
        torch.backends.cudnn.allow_tf32 = False  # FP32 against FP32 (cuDNN defaults to TF32 convs)
        torch.backends.cuda.matmul.allow_tf32 = False
    import torch.nn.functional as F

    tmodel = torch_model(spec["layers"]).to(device)
    try:
        _copy_weights(model.parameters(), tmodel.parameters())
    except ValueError as e:
        out["gate"] = f"failed: the PyTorch peer is not the same model: {e}"
        return out
    topt = torch_optimizer(opt_kind, tmodel.parameters(), opt_kw)
    t_batches = [(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)) for x, y in batches]
    t_iter = itertools.cycle(t_batches)

    def torch_step(x=None, y=None):
        if x is None:
            x, y = next(t_iter)
        topt.zero_grad()
        loss = F.cross_entropy(tmodel(x), y)
        loss.backward()
        if with_step:
            topt.step()
        return loss

    # The gate: dropout off, two steps each on the same batches; losses must agree.
    _set_mode(model, False)
    tmodel.eval()
    losses = [(float(tc_step().item()), float(torch_step().item())) for _ in range(2)]
    _set_mode(model, True)
    tmodel.train()
    worst = max(abs(a - b) / max(abs(b), 1e-12) for a, b in losses)
    out["gate_losses"] = losses
    out["gate"] = "ok" if worst <= 1e-3 else (f"failed: tensorcore and PyTorch disagree: losses {losses} "
                                              f"(relative difference {worst:.1e} > 1e-3)")
    out["torch_step"] = torch_step
    if device == "cuda":
        out["syncs"] = [tc_sync(), torch.cuda.synchronize]
    out["torch_threads"] = torch.get_num_threads()
    return out


def tc_sync():
    try:
        import cupy

        return lambda: cupy.cuda.get_current_stream().synchronize()
    except ImportError:
        return None


# --- the suite ------------------------------------------------------------------------------------


def run_suite(models=("mlp", "lenet5"), devices=("cpu",), quick=False, rounds=None, progress=None, epoch=None):
    """Time each model's step on each device. `epoch` (default: not quick) adds a Fashion-MNIST epoch of the MLP."""
    say = progress or (lambda line: None)
    records, backends = [], {}
    epoch = (not quick) if epoch is None else epoch
    for device in devices:
        for name in models:
            records += run_model(name, device, quick, rounds, backends, say)
            if name == "mlp" and epoch:
                records += run_mlp_epoch(device, rounds or 3, say)
    return {"records": records, "backends": backends}


def _rounds(name, quick, rounds):
    if rounds:
        return rounds
    return {"mlp": 5, "lenet5": 5, "alexnet": 3}[name] if quick else {"mlp": 7, "lenet5": 7, "alexnet": 3}[name]


def run_model(name, device, quick, rounds, backends, say):
    spec = SPECS[name]
    what = "train_step" if spec.get("optimizer_step", True) else "forward_backward"
    optimizer = f"{spec['optimizer'][0]} {spec['optimizer'][1]}" if what == "train_step" else "none (fwd+bwd)"
    common = dict(op=f"{what}.{name}", shape=[spec["batch"], *spec["input"]], dtype="float32", device=device,
                  model=name, batch=spec["batch"], optimizer=optimizer)
    say(f"  {name} on {device}: building ...")
    try:
        b = build(name, device)
    except (Unavailable, ImportError, AttributeError, NotImplementedError) as e:
        why = f"unavailable: {e}"
        backends[f"tensorcore ({name}, {device})"] = why
        return [make_record(backend="tensorcore", status=why, **common)]
    except Exception as e:  # noqa: BLE001  (a model that crashes fails its benchmark, not the suite)
        return [make_record(backend="tensorcore", status=f"failed: {e.__class__.__name__}: {e}", **common)]
    backends[f"tensorcore ({name}, {device})"] = f"ok: {b['source']}"
    backends[f"torch-{device}"] = f"unavailable: {b['torch_reason']}" if b["torch_reason"] else "ok"
    if b["gate"] and b["gate"].startswith("failed"):
        return [make_record(backend="tensorcore", status=b["gate"], **common)]
    fns, names, syncs = [b["tc_step"]], ["tensorcore"], [b["syncs"][0]]
    if b["torch_step"] is not None:
        fns.append(b["torch_step"])
        names.append("torch")
        syncs.append(b["syncs"][1])
    if name == "mlp" and device == "cpu":
        floor = numpy_floor.mlp_step(b["init"], spec["optimizer"][1]["lr"], b["batches"])
        first = floor()  # the first batch, tensorcore's initial weights: the same loss as tensorcore's first
        if b.get("gate_losses") and abs(first - b["gate_losses"][0][0]) > 1e-4 * max(1.0, abs(first)):
            backends["numpy-manual"] = (f"failed: the NumPy floor's first loss {first} differs from tensorcore's "
                                        f"{b['gate_losses'][0][0]}")
        else:
            fns.append(floor)
            names.append("numpy-manual")
            syncs.append(None)
    n_rounds = _rounds(name, quick, rounds)
    say(f"  {name} on {device}: timing {', '.join(names)} in {n_rounds} alternating rounds ...")
    target = 0.05 if quick else 0.15
    timings, samples = measure_alternating(fns, warmup=2 if name != "alexnet" else 1, rounds=n_rounds,
                                           target_sample_s=target, syncs=syncs,
                                           pause_s=0.1 if device == "cpu" else 0.0)
    out = []
    torch_t = timings[names.index("torch")] if "torch" in names else None
    for i, (who, t) in enumerate(zip(names, timings)):
        extra = {}
        if who == "tensorcore":
            extra["model_source"] = b["source"]
            extra["gate_losses"] = b.get("gate_losses")
            extra["goal_ratio_vs_torch"] = spec["goal"]
            if torch_t is not None:
                extra["ratio_vs_torch"] = t.median_s / torch_t.median_s
                j = names.index("torch")
                extra["paired_ratio_median"] = statistics.median(a / c for a, c in zip(samples[i], samples[j]))
                if spec["goal"] is not None:
                    extra["meets_goal"] = extra["ratio_vs_torch"] <= spec["goal"]
        if who == "torch":
            extra["torch_threads"] = b.get("torch_threads")
        if who != "tensorcore" and torch_t is not None and who != "torch":
            extra["ratio_vs_torch"] = t.median_s / torch_t.median_s
        extra["steps_per_sample"] = t.inner
        rec = make_record(backend=who, timing=t, **common, **extra)
        out.append(rec)
        say(f"    {who:<13} median {fmt_time(t.median_s)}/step  (min {fmt_time(t.min_s)}, max {fmt_time(t.max_s)},"
            f" {t.runs} rounds x {t.inner} steps)")
    return out


def fashion_mnist_train():
    """Fashion-MNIST's training images as (60000, 784) float32 in [0, 1] and labels, or raise Unavailable."""
    try:
        import tensorcore as tc

        (x, y), _ = tc.data.fashion_mnist()
    except Exception as e:  # noqa: BLE001  (not found, corrupt, data module missing)
        raise Unavailable(f"Fashion-MNIST not loadable ({e.__class__.__name__}: {str(e).splitlines()[0]})") from e
    return (x.reshape(len(x), -1).astype(np.float32) / 255.0), np.asarray(y, dtype=np.int64)


def run_mlp_epoch(device, rounds, say, seed=0):
    """One epoch of the MLP on Fashion-MNIST (1875 steps of 32, shuffled once, the same order for
    both), batches sliced from NumPy and wrapped per step as a user's loop does; alternating."""
    spec = SPECS["mlp"]
    common = dict(op="train_epoch.mlp", shape=[60000, 784], dtype="float32", device=device, model="mlp",
                  batch=spec["batch"], optimizer=f"{spec['optimizer'][0]} {spec['optimizer'][1]}")
    try:
        x, y = fashion_mnist_train()
        b = build("mlp", device)
    except (Unavailable, ImportError) as e:
        return [make_record(backend="tensorcore", status=f"unavailable: {e}", **common)]
    if b["torch_step"] is None or (b["gate"] or "").startswith("failed"):
        return []
    import torch

    import tensorcore as tc

    order = np.random.default_rng(seed).permutation(len(x))
    n, bs = len(x), spec["batch"]

    def tc_epoch():
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            b["tc_step"](tc.tensor(x[idx], device=device), tc.tensor(y[idx], device=device))

    def torch_epoch():
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            b["torch_step"](torch.from_numpy(x[idx]).to(device), torch.from_numpy(y[idx]).to(device))

    say(f"  mlp epoch on {device}: {n // bs} steps of {bs}, tensorcore and torch in {rounds} alternating rounds ...")
    for i in range(0, 100 * bs, bs):  # warm-up: 100 steps each, not a whole epoch
        idx = order[i:i + bs]
        b["tc_step"](tc.tensor(x[idx], device=device), tc.tensor(y[idx], device=device))
        b["torch_step"](torch.from_numpy(x[idx]).to(device), torch.from_numpy(y[idx]).to(device))
    (t_tc, t_torch), samples = measure_alternating([tc_epoch, torch_epoch], warmup=0, rounds=rounds, inner=1,
                                                   syncs=b["syncs"], pause_s=0.1 if device == "cpu" else 0.0)
    ratio = t_tc.median_s / t_torch.median_s
    say(f"    tensorcore    median {fmt_time(t_tc.median_s)}/epoch, torch {fmt_time(t_torch.median_s)}/epoch: "
        f"ratio {ratio:.2f}x")
    return [
        make_record(backend="tensorcore", timing=t_tc, ratio_vs_torch=ratio, goal_ratio_vs_torch=spec["goal"],
                    meets_goal=ratio <= spec["goal"], steps_per_sample=1,
                    paired_ratio_median=statistics.median(a / c for a, c in zip(*samples)), **common),
        make_record(backend="torch", timing=t_torch, steps_per_sample=1, **common),
    ]


def format_table(result):
    rows = []
    for r in result["records"]:
        ok = r["status"] == "ok"
        ratio = r.get("ratio_vs_torch")
        goal = r.get("goal_ratio_vs_torch")
        rows.append([r["model"], r["device"], r["backend"], f"{r['batch']}", r["optimizer"],
                     fmt_time(r["median_s"]), fmt_time(r["min_s"]), fmt_time(r["max_s"]),
                     f"{r['runs']}x{r.get('steps_per_sample', 1)}" if ok else "-",
                     f"{ratio:.2f}x" if ratio is not None else "-",
                     f"{r['paired_ratio_median']:.2f}x" if r.get("paired_ratio_median") is not None else "-",
                     (f"<= {goal}x: {'met' if r.get('meets_goal') else 'MISSED'}" if goal is not None
                      and ratio is not None and r["backend"] == "tensorcore" else "-"),
                     r["status"]])
    headers = ["model", "device", "framework", "batch", "optimizer", "median/step", "min", "max", "rounds",
               "vs torch", "paired", "goal", "status"]
    return table(rows, headers)
