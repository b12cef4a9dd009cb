"""PyTorch's OpInfo database as an oracle: run op_db's sample inputs through tensorcore, spelled as
PyTorch spells them, and compare forward values and vector-Jacobian products in float64.

Each sample ends as one of: "agree" (forward and vjp match), "refused" (tensorcore raised a
TensorcoreError: an unsupported argument, named), "differ" (a silent difference: another value,
dtype or shape), "crash" (an exception that is not a TensorcoreError: an unclear error, a bug).
Samples that PyTorch itself cannot run, or whose inputs tensorcore cannot hold (complex, sparse,
...), are not counted. Needs torch and expecttest (the import of op_db needs it).
"""

import math
import time
from collections import Counter

import numpy as np

import tensorcore as tc
from tensorcore.errors import TensorcoreError
from tensorcore.testing.opinfo_spelling import GAUGE, SPELLED, STORAGE_OPS, _with_storage

SAMPLE_CAP = 12

# Ops whose float64 values in torch are approximations (cephes-style polynomials, up to ~5e-6 from mpmath;
# tensorcore's are within 1e-12 of mpmath, tests/test_parity_s8_small_special.py): compared at that accuracy.
LOOSE = {f"special.{n}": 1e-5 for n in ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "airy_ai",
                                        "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0",
                                        "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
                                        "spherical_bessel_j0")}

# Random ops: only the shape and dtype are compared (the values are draws, or uninitialised memory).
RANDOM = {"empty", "empty_like", "new_empty", "empty_permuted", "empty_strided", "new_empty_strided", "rand_like",
          "randn_like", "randint_like", "randint", "randn", "rand", "bernoulli", "multinomial", "normal", "uniform",
          "exponential", "geometric", "cauchy", "log_normal", "randperm", "nn.functional.dropout",
          "nn.functional.dropout2d", "nn.functional.dropout3d", "nn.functional.alpha_dropout",
          "nn.functional.feature_alpha_dropout", "nn.functional.rrelu",
          "nn.functional.fractional_max_pool2d", "nn.functional.fractional_max_pool3d"}  # (random window starts)


class Unconvertible(Exception):
    """A torch object with no tensorcore counterpart in a sample (the sample is not counted)."""


# Random in-place fills: op_db's entry `name` runs x.name_(...).
RANDOM_FILLS = {"uniform", "exponential", "geometric", "cauchy", "log_normal"}

# Entries whose samples are spelled for the Tensor method (op_db's op reorders the arguments).
METHOD_SPELLED = {"where", "polygamma"}


def resolve(name):
    """op_db's name -> (kind, tensorcore callable or method name), or None when tensorcore lacks it."""
    import tensorcore.nn.functional as F

    if name in METHOD_SPELLED:
        return ("method", name) if callable(getattr(tc.Tensor, name, None)) else None
    if name in RANDOM_FILLS:  # op_db's op is the in-place method x.name_(...)
        return ("method", name + "_") if callable(getattr(tc.Tensor, name + "_", None)) else None

    parts = name.split(".")
    if parts[0] == "nn" and len(parts) == 3 and parts[1] == "functional":
        fn = getattr(F, parts[2], None)
        return ("function", fn) if callable(fn) else None
    obj = tc
    for p in parts:
        obj = getattr(obj, p, None) if obj is not None else None
    if callable(obj) and not isinstance(obj, type):
        return ("function", obj)
    if len(parts) == 1 and callable(getattr(tc.Tensor, name, None)):
        return ("method", name)
    if len(parts) == 1 and isinstance(getattr(tc.Tensor, name, None), property):
        return ("property", name)  # x.T, x.mT, x.mH, x.H
    return None


def _to_tc(v, torch):
    if isinstance(v, torch.Tensor):
        if v.is_complex() or v.layout != torch.strided or v.dtype == torch.bfloat16:
            raise Unconvertible(f"tensor of {v.dtype} / {v.layout}")
        a = v.detach().cpu().numpy()
        a = a.copy() if a.ndim else np.array(a)
        t = tc.tensor(a)
        if v.requires_grad:
            t.requires_grad_(True)
        return t
    if isinstance(v, torch.dtype):
        name = str(v).split(".")[1]
        if not hasattr(tc, name):
            raise Unconvertible(f"dtype {v}")
        return getattr(tc, name)
    if isinstance(v, torch.device):
        return str(v)
    if isinstance(v, torch.Size):
        return tuple(v)
    if isinstance(v, torch.Generator):
        raise Unconvertible("torch.Generator")
    if isinstance(v, torch.memory_format):
        return v  # passed through: tensorcore must refuse it clearly or accept contiguous_format
    if isinstance(v, (list, tuple)):
        return type(v)(_to_tc(x, torch) for x in v)
    if isinstance(v, dict):
        return {k: _to_tc(x, torch) for k, x in v.items()}
    if isinstance(v, slice):
        return slice(*(_to_tc(x, torch) for x in (v.start, v.stop, v.step)))
    if type(v).__name__ == "LinearCrossEntropyOptions":  # an options object: tensorcore's own, the same fields
        fields = ("allow_retain_graph", "batch_chunk_size", "chunking_method", "acc_policy", "acc_dtype")
        return tc.nn.LinearCrossEntropyOptions(**{f: _to_tc(getattr(v, f), torch) for f in fields})
    if callable(v) and not isinstance(v, type):
        raise Unconvertible("a callable argument")
    return v


def _leaves(v, torch_or_tc_tensor):
    """Tensors that require grad, in order, inside (nested) args."""
    out = []
    if isinstance(v, torch_or_tc_tensor):
        if v.requires_grad:
            out.append(v)
    elif isinstance(v, (list, tuple)):
        for x in v:
            out += _leaves(x, torch_or_tc_tensor)
    elif isinstance(v, dict):
        for x in v.values():
            out += _leaves(x, torch_or_tc_tensor)
    return out


def _flat_outputs(out, cls):
    if isinstance(out, (tuple, list)):
        flat = []
        for o in out:
            flat += _flat_outputs(o, cls)
        return flat
    return [out]


def _close(a, b, atol, rtol):
    """(same, why): tensorcore array a against torch array b: shape, dtype kind and dtype, values."""
    if a.shape != b.shape:
        return False, f"shape {a.shape} vs torch {b.shape}"
    if a.dtype != b.dtype:
        return False, f"dtype {a.dtype} vs torch {b.dtype}"
    if a.dtype.kind in "biu":
        same = np.array_equal(a, b)
    else:
        same = np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True)
    if same:
        return True, ""
    with np.errstate(all="ignore"):
        err = np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))) if a.size else 0.0
    return False, f"values differ (max abs err {err:.3g})"


def _draws(name, args, kwargs):
    """Whether a call's dropout draws (attention's dropout_p, by keyword or multi_head_attention_forward's 10th
    positional argument, while training)."""
    if name != "nn.functional.multi_head_attention_forward":
        return False
    p = args[9] if len(args) > 9 else kwargs.get("dropout_p", 0.0)  # (the args after the query)
    return bool(p) and kwargs.get("training", True)


def _compare_outputs(ours, theirs, torch, atol, rtol, random=False):
    o = _flat_outputs(ours, tc.Tensor)
    t = _flat_outputs(theirs, torch.Tensor)
    if len(o) != len(t):
        return False, f"{len(o)} outputs vs torch {len(t)}"
    for a, b in zip(o, t):
        if isinstance(b, torch.Tensor):
            if not isinstance(a, tc.Tensor):
                return False, f"returned {type(a).__name__}, torch a Tensor"
            if random:
                if tuple(a.shape) != tuple(b.shape) or str(a.dtype) != str(b.dtype).split(".")[1]:
                    return False, f"shape/dtype {tuple(a.shape)} {a.dtype} vs torch {tuple(b.shape)} {b.dtype}"
                continue
            same, why = _close(a.numpy(), b.detach().numpy(), atol, rtol)
            if not same:
                return False, why
        elif isinstance(b, (int, float, bool)):
            av = a.item() if isinstance(a, tc.Tensor) else a
            if not (av == b or (isinstance(b, float) and math.isclose(av, b, rel_tol=rtol, abs_tol=atol))
                    or (isinstance(b, float) and math.isnan(b) and math.isnan(av))):
                return False, f"value {av!r} vs torch {b!r}"
    return True, ""


def run_sample(kind, fn, name, sample, torch, atol=1e-7, rtol=1e-7, op=None):
    """-> (outcome, detail) for one SampleInput (PyTorch's side is the OpInfo's own callable, op)."""
    try:
        t_in, t_args, t_kwargs = sample.input, sample.args, sample.kwargs
        # the torch call first: a sample PyTorch cannot run is not counted
        spell = SPELLED.get(name, lambda x, args: (x, args))
        theirs = sample_call(torch, name, *spell(t_in, t_args), t_kwargs, op)
    except Exception as e:  # noqa: BLE001
        return "skip", f"torch: {type(e).__name__}"
    try:
        x, args, kwargs = _to_tc(t_in, torch), _to_tc(t_args, torch), _to_tc(t_kwargs, torch)
        if name in STORAGE_OPS:
            x = _with_storage(t_in, torch)
    except Unconvertible as e:
        return "skip", str(e)
    try:
        if kind == "property":
            ours = getattr(x, fn)
        else:
            sx, sargs = spell(x, args)
            ours = fn(sx, *sargs, **kwargs) if kind == "function" else getattr(sx, fn)(*sargs, **kwargs)
        if name in GAUGE:
            ours, theirs = GAUGE[name](ours, tc), GAUGE[name](theirs, torch)
    except TensorcoreError as e:
        return "refused", f"{type(e).__name__}: {str(e)[:120]}"
    except Exception as e:  # noqa: BLE001
        return "crash", f"{type(e).__name__}: {str(e)[:120]}"
    random = name in RANDOM or bool(t_kwargs.get("dropout_p")) or _draws(name, t_args, t_kwargs)
    same, why = _compare_outputs(ours, theirs, torch, atol, rtol, random)
    if not same:
        return "differ", "forward: " + why
    if random:
        return "agree", "shape and dtype (random)"
    return _compare_vjp(ours, theirs, (x, args, kwargs), (t_in, t_args, t_kwargs), torch, atol, rtol)


def sample_call(torch, name, x, args, kwargs, op=None):
    """PyTorch's torch.<name>(x, ...) or x.<name>(...), as tensorcore is called; the OpInfo's own op
    only where PyTorch has no such name (its op may take the arguments in another order)."""
    obj = torch if name not in METHOD_SPELLED else None
    for p in name.split(".") if obj is not None else ():
        obj = getattr(obj, p, None)
        if obj is None:
            break
    if obj is not None and callable(obj):
        return obj(x, *args, **kwargs)
    if callable(getattr(x, name, None)) or op is None:
        return getattr(x, name)(*args, **kwargs)
    return op(x, *args, **kwargs)


def _compare_vjp(ours, theirs, tc_inputs, torch_inputs, torch, atol, rtol):
    t_leaves = _leaves(torch_inputs, torch.Tensor)
    o_leaves = _leaves(tc_inputs, tc.Tensor)
    t_out = [o for o in _flat_outputs(theirs, torch.Tensor)
             if isinstance(o, torch.Tensor) and o.requires_grad and o.dtype.is_floating_point]
    if not t_leaves or not t_out:
        return "agree", "forward"
    o_all = _flat_outputs(ours, tc.Tensor)
    t_all = _flat_outputs(theirs, torch.Tensor)
    pairs = [(a, b) for a, b in zip(o_all, t_all) if isinstance(b, torch.Tensor) and b.requires_grad
             and b.dtype.is_floating_point]
    if len(o_leaves) != len(t_leaves):
        return "differ", f"vjp: {len(o_leaves)} inputs need grad vs torch {len(t_leaves)}"
    rng = np.random.default_rng(0)
    cots = [rng.standard_normal(b.shape) for _, b in pairs]
    tg = torch.autograd.grad([b for _, b in pairs], t_leaves, [torch.tensor(c) for c in cots], allow_unused=True)
    if not all(a.requires_grad for a, _ in pairs):
        return "differ", "vjp: an output does not require grad (torch's does)"
    try:
        og = tc.grad([a for a, _ in pairs], o_leaves, [tc.tensor(c, dtype=a.dtype) for (a, _), c in zip(pairs, cots)],
                     allow_unused=True)
    except TensorcoreError as e:
        return "refused", f"vjp: {type(e).__name__}: {str(e)[:120]}"
    except Exception as e:  # noqa: BLE001
        return "crash", f"vjp: {type(e).__name__}: {str(e)[:120]}"
    for a, b in zip(og, tg):
        if b is None and a is None:
            continue
        an = np.zeros(b.shape) if a is None else a.numpy()
        bn = np.zeros(a.shape) if b is None else b.numpy()
        same, why = _close(an, bn, max(atol, 1e-6), max(rtol, 1e-6))
        if not same:
            return "differ", "vjp: " + why
    return "agree", "forward+vjp"


def _detached(v, cls):
    if isinstance(v, cls):
        return v.detach().clone()
    if isinstance(v, (list, tuple)):
        return type(v)(_detached(x, cls) for x in v)
    if isinstance(v, dict):
        return {k: _detached(x, cls) for k, x in v.items()}
    return v


def run_inplace(name, sample, torch, op, atol=1e-7, rtol=1e-7):
    """The in-place variant x.name_(...) against PyTorch's: the same values in x, and x itself returned."""
    t_in, t_args, t_kwargs = (_detached(v, torch.Tensor) for v in (sample.input, sample.args, sample.kwargs))
    try:
        op.inplace_variant(t_in, *t_args, **t_kwargs)
    except Exception as e:  # noqa: BLE001
        return "skip", f"torch: {type(e).__name__}"
    try:
        x, args, kwargs = (_to_tc(_detached(v, torch.Tensor), torch) for v in (sample.input, sample.args,
                                                                                sample.kwargs))
    except Unconvertible as e:
        return "skip", str(e)
    try:
        out = getattr(x, name + "_")(*args, **kwargs)
    except TensorcoreError as e:
        return "refused", f"{type(e).__name__}: {str(e)[:120]}"
    except Exception as e:  # noqa: BLE001
        return "crash", f"{type(e).__name__}: {str(e)[:120]}"
    if out is not x:
        return "differ", f"{name}_ did not return the tensor itself"
    same, why = _close(x.numpy(), t_in.numpy(), atol, rtol)
    return ("agree", "") if same else ("differ", f"in place: {why}")


def _dtype_for(op, torch):
    supported = op.supported_dtypes("cpu")
    for dt in (torch.float64, torch.int64, torch.bool):
        if dt in supported:
            return dt
    return None


def run_op_db(cap=SAMPLE_CAP, names=None):
    """Run every op_db entry tensorcore has. -> list of per-entry dicts (name, variant, counts, examples)."""
    import torch
    from torch.testing._internal.common_methods_invocations import op_db

    rows = []
    for op in op_db:
        if names is not None and op.name not in names:
            continue
        target = resolve(op.name)
        row = {"name": op.name, "variant": op.variant_test_name, "counts": Counter(), "examples": [],
               "have": target is not None, "seconds": 0.0, "inplace": Counter(), "skips": Counter()}
        rows.append(row)
        dtype = _dtype_for(op, torch)
        if target is None or dtype is None:
            continue
        start = time.perf_counter()
        kind, fn = target
        grad = op.supports_autograd and dtype.is_floating_point
        inplace = (op.inplace_variant is not None and "." not in op.name and op.name not in RANDOM
                   and callable(getattr(tc.Tensor, op.name + "_", None)))  # random draws: no values to compare
        try:
            samples = op.sample_inputs("cpu", dtype, requires_grad=grad)
            for i, sample in enumerate(samples):
                if i >= cap:
                    break
                tol = LOOSE.get(op.name, 1e-7)
                outcome, detail = run_sample(kind, fn, op.name, sample, torch, atol=tol, rtol=tol, op=op.op)
                row["counts"][outcome] += 1
                if outcome == "skip":
                    row["skips"][detail] += 1
                if outcome in ("differ", "crash", "refused") and len(row["examples"]) < 3:
                    row["examples"].append(f"{outcome}: {detail}")
                if inplace and outcome != "skip":
                    result, detail = run_inplace(op.name, sample, torch, op)
                    row["inplace"][result] += 1
                    if result in ("differ", "crash") and len(row["examples"]) < 3:
                        row["examples"].append(f"{op.name}_ {result}: {detail}")
        except Exception as e:  # noqa: BLE001  (op_db's own sample generator failing)
            row["examples"].append(f"sample generation: {type(e).__name__}: {e}"[:160])
        row["seconds"] = time.perf_counter() - start
    return rows


def summary(rows):
    """Totals: entries tensorcore has, entries with an agreeing sample, samples by outcome, agreement rate."""
    total, inplace = Counter(), Counter()
    for r in rows:
        total.update(r["counts"])
        inplace.update(r.get("inplace", {}))
    counted = sum(total[k] for k in ("agree", "refused", "differ", "crash"))
    return {
        "entries": len(rows),
        "have": sum(r["have"] for r in rows),
        "run": sum(1 for r in rows if r["counts"]["agree"] > 0),
        "samples": counted,
        **{k: total[k] for k in ("agree", "refused", "differ", "crash", "skip")},
        "agree_rate": total["agree"] / counted if counted else 0.0,
        "inplace": dict(inplace),
    }


def table(rows):
    """A markdown table of the entries tensorcore has, worst first."""
    lines = ["| entry | agree | refused | differ | crash | in place (agree/other) | first problem |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    have = [r for r in rows if r["have"]]
    have.sort(key=lambda r: (-(r["counts"]["differ"] + r["counts"]["crash"] + r["inplace"]["differ"]
                               + r["inplace"]["crash"]), -r["counts"]["refused"], r["name"]))
    for r in have:
        c = r["counts"]
        label = r["name"] + (f" ({r['variant']})" if r["variant"] else "")
        first = r["examples"][0].replace("|", "/") if r["examples"] else ""
        ip = r.get("inplace") or {}
        ip_cell = f"{ip.get('agree', 0)}/{sum(ip.values()) - ip.get('agree', 0)}" if ip else ""
        lines.append(f"| {label} | {c['agree']} | {c['refused']} | {c['differ']} | {c['crash']} | {ip_cell} "
                     f"| {first} |")
    return "\n".join(lines)


def missing_and_skipped(rows):
    """Markdown: the op_db entries tensorcore lacks, and why the samples not counted were not."""
    missing = sorted({r["name"] for r in rows if not r["have"]})
    skips = Counter()
    for r in rows:
        skips.update(r.get("skips", {}))
    lines = ["", f"## op_db entries tensorcore lacks ({len(missing)})", "", ", ".join(f"`{m}`" for m in missing), "",
             "## Samples not counted, by reason", "", "| reason | samples |", "| --- | --- |"]
    lines += [f"| {why.replace('|', '/')} | {n} |" for why, n in skips.most_common()]
    return "\n".join(lines)
