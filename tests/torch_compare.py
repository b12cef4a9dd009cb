"""compare(...): one call of a tensorcore function and of its PyTorch twin on the same inputs, checking
values, dtypes, shapes and the vector-Jacobian products of every floating input (float64)."""

import numpy as np

import tensorcore as tc

try:
    import torch
except ImportError:  # pragma: no cover - the tests skip
    torch = None


def _flat(out):
    if isinstance(out, (tuple, list)):
        items = []
        for o in out:
            items += _flat(o)
        return items
    return [out]


def _as_numpy(t):
    return t.detach().numpy() if torch is not None and isinstance(t, torch.Tensor) else np.asarray(t.numpy())


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def compare(tc_fn, torch_fn, *arrays, grad=True, atol=1e-10, rtol=1e-7, seed=0, check_indices=True):
    """Run both; assert equal values/dtypes/shapes and equal gradients. Returns the tensorcore outputs."""
    tc_in = [tc.tensor(a, requires_grad=grad and a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
             for a in arrays]
    th_in = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
             for a in arrays]
    got, want = tc_fn(*tc_in), torch_fn(*th_in)
    if isinstance(want, tuple) and hasattr(want, "_fields"):
        assert hasattr(got, "_fields") and tuple(got._fields) == tuple(want._fields), (got, want)
    g_items, w_items = _flat(got), _flat(want)
    assert len(g_items) == len(w_items), f"{len(g_items)} outputs, PyTorch gives {len(w_items)}"
    for g, w in zip(g_items, w_items):
        if not isinstance(w, torch.Tensor):
            assert g == w
            continue
        assert tuple(g.shape) == tuple(w.shape), f"shape {tuple(g.shape)} vs PyTorch {tuple(w.shape)}"
        assert _dtype_name(g) == _dtype_name(w), f"dtype {g.dtype} vs PyTorch {w.dtype}"
        if w.dtype.is_floating_point or check_indices:
            np.testing.assert_allclose(_as_numpy(g), _as_numpy(w), atol=atol, rtol=rtol, equal_nan=True)
    if not grad:
        return got
    rng = np.random.default_rng(seed)
    pairs = [(g, w) for g, w in zip(g_items, w_items) if isinstance(w, torch.Tensor) and w.requires_grad]
    inputs = [(a, b) for a, b in zip(tc_in, th_in) if isinstance(b, torch.Tensor) and b.requires_grad]
    if not pairs or not inputs:
        return got
    vs = [rng.standard_normal(tuple(w.shape)) for _, w in pairs]
    tc_grads = tc.grad([g for g, _ in pairs], [a for a, _ in inputs], [tc.tensor(v) for v in vs], allow_unused=True)
    th_grads = torch.autograd.grad([w for _, w in pairs], [b for _, b in inputs], [torch.tensor(v) for v in vs],
                                   allow_unused=True)
    for (a, _), gt, gw in zip(inputs, tc_grads, th_grads):
        gt = np.zeros(a.shape) if gt is None else gt.numpy()
        gw = np.zeros(a.shape) if gw is None else gw.numpy()
        np.testing.assert_allclose(gt, gw, atol=atol, rtol=rtol, err_msg="gradient differs from PyTorch's")
    return got
