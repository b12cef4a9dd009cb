"""The multi-core CPU kernels (tensorcore/backends/cpu_parallel*.py) against the NumPy reference.

Odd shapes, strides, padding, dilation, groups, non-contiguous inputs, float32 and float64; results
identical for 1 and 2 Numba threads and between runs; the dispatch, the thread knob, the import time.
"""

import subprocess
import sys

import numpy as np
import pytest

numba = pytest.importorskip("numba", reason="the parallel CPU kernels need numba (the NumPy path is tested elsewhere)")

import tensorcore as tc  # noqa: E402
from tensorcore.backends import cpu, cpu_conv, cpu_parallel  # noqa: E402
from tensorcore.models import get_model  # noqa: E402
from tensorcore.optim.adam import adam_update as numpy_adam  # noqa: E402
from tensorcore.optim.sgd import sgd_update as numpy_sgd  # noqa: E402
from tensorcore.testing.threads import with_numba_threads as _with_threads  # noqa: E402

conv = cpu_parallel.kernels("conv")
pool = cpu_parallel.kernels("pool")
elementwise = cpu_parallel.kernels("elementwise")
optim = cpu_parallel.kernels("optim")

DTYPES = (np.float32, np.float64)
TOL = {np.float32: 2e-5, np.float64: 1e-12}


@pytest.fixture
def numpy_only(monkeypatch):
    monkeypatch.setattr(cpu_parallel, "enabled", False)


def _close(a, b, dtype):
    assert a.shape == b.shape and a.dtype == b.dtype == np.dtype(dtype), (a.shape, b.shape, a.dtype, b.dtype)
    scale = max(float(np.abs(b).max()), 1.0) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL[dtype] * scale)


def _noncontiguous(a):
    """The same values in a strided (non-contiguous) view."""
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    big[..., ::2] = a
    view = big[..., ::2]
    assert not view.flags.c_contiguous
    return view


# (N, C, H, W, O, kernel, stride, padding, dilation, groups)
CONV_CASES = [
    (2, 3, 7, 9, 4, (3, 2), (1, 1), (1, 0), (1, 1), 1),
    (3, 4, 8, 7, 6, (3, 3), (1, 1), (2, 1), (2, 1), 2),
    (2, 6, 9, 10, 6, (3, 3), (2, 1), (1, 1), (1, 2), 3),
    (1, 2, 11, 13, 4, (5, 3), (3, 2), (2, 1), (1, 1), 1),
    (2, 1, 6, 5, 3, (1, 1), (1, 1), (0, 0), (1, 1), 1),
    (2, 4, 6, 7, 4, (2, 2), (1, 1), (1, 1), (2, 2), 4),
    (5, 1, 12, 12, 6, (5, 5), (1, 1), (2, 2), (1, 1), 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("path", ["direct", "gemm"])
def test_conv_matches_numpy(case, dtype, path, monkeypatch, numpy_only):
    n, c, h, w, o, kernel, stride, padding, dilation, groups = case
    monkeypatch.setattr(cpu_parallel, "DIRECT_MAX_WEIGHTS", 10**9 if path == "direct" else 0)
    monkeypatch.setattr(cpu_parallel, "DIRECT_WEIGHT_MAX_WEIGHTS", 0)
    rng = np.random.default_rng(hash(case) % 2**32)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c // groups) + kernel).astype(dtype)
    geo = (stride, padding, dilation, groups)
    ref = cpu_conv.conv2d_forward(x, wt, *geo)
    g = rng.standard_normal(ref.shape).astype(dtype)
    for xs, ws, gs in ((x, wt, g), (_noncontiguous(x), _noncontiguous(wt), _noncontiguous(g))):
        y, cols = conv.conv2d_forward(xs, ws, *geo, return_columns=True)
        _close(y, ref, dtype)
        _close(conv.conv2d_backward_input(gs, ws, x.shape, *geo), cpu_conv.conv2d_backward_input(g, wt, x.shape, *geo),
               dtype)
        gw_ref = cpu_conv.conv2d_backward_weight(g, x, wt.shape, *geo)
        _close(conv.conv2d_backward_weight(gs, xs, wt.shape, *geo, columns=cols), gw_ref, dtype)
        _close(conv.conv2d_backward_weight(gs, xs, wt.shape, *geo), gw_ref, dtype)


@pytest.mark.parametrize("path", ["direct", "gemm"])
def test_conv_is_deterministic_for_any_thread_count(path, monkeypatch):
    monkeypatch.setattr(cpu_parallel, "DIRECT_MAX_WEIGHTS", 10**9 if path == "direct" else 0)
    monkeypatch.setattr(cpu_parallel, "DIRECT_WEIGHT_MAX_WEIGHTS", 0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 6, 13, 11)).astype(np.float32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    g = rng.standard_normal((8, 8, 13, 11)).astype(np.float32)
    geo = ((1, 1), (1, 1), (1, 1), 2)

    def run():
        return (conv.conv2d_forward(x, w, *geo), conv.conv2d_backward_input(g, w, x.shape, *geo),
                conv.conv2d_backward_weight(g, x, w.shape, *geo))

    one, two, again = _with_threads(1, run), _with_threads(2, run), _with_threads(2, run)
    for a, b, c in zip(one, two, again):
        assert np.array_equal(a, b) and np.array_equal(b, c)


# (N, C, H, W, kernel, stride, padding, dilation)
POOL_CASES = [
    (2, 3, 8, 8, (2, 2), (2, 2), (0, 0), (1, 1)),
    (3, 2, 9, 11, (3, 3), (2, 2), (1, 1), (1, 1)),
    (1, 4, 7, 10, (3, 2), (1, 3), (1, 0), (2, 1)),
    (2, 1, 13, 13, (3, 3), (2, 2), (0, 0), (1, 1)),
    (3, 2, 9, 11, (2, 2), (2, 2), (0, 0), (1, 1)),  # the 2x2 kernel, odd sizes (last row and column unread)
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_matches_numpy(case, dtype, numpy_only):
    n, c, h, w, kernel, stride, padding, dilation = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    x.reshape(-1)[::7] = 0.5  # ties: the first maximum in scan order wins
    out_ref, idx_ref = cpu_conv.max_pool2d_forward(x, kernel, stride, padding, dilation)
    g = rng.standard_normal(out_ref.shape).astype(dtype)
    for xs, gs in ((x, g), (_noncontiguous(x), _noncontiguous(g))):
        out, idx = pool.max_pool2d_forward(xs, kernel, stride, padding, dilation)
        assert np.array_equal(out, out_ref) and np.array_equal(idx, idx_ref) and idx.dtype == np.int64
        _close(pool.max_pool2d_backward(gs, idx, x.shape), cpu_conv.max_pool2d_backward(g, idx_ref, x.shape), dtype)


def test_max_pool_nan_wins_as_in_pytorch(numpy_only):
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    x[0, 0, 0, 1] = np.nan
    x[0, 1, 2, 2] = np.nan
    x[0, 1, 3, 3] = np.nan
    out, idx = pool.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    out_ref, idx_ref = cpu_conv.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(out, out_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert np.isnan(out[0, 0, 0, 0]) and idx[0, 1, 1, 1] == 15
    x = np.full((1, 1, 2, 4), -np.inf, dtype=np.float32)  # an all -inf window: its first position, as PyTorch
    x[0, 0, 1, 3] = 1.0
    out, idx = pool.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(idx, cpu_conv.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))[1])
    assert idx.tolist() == [[[[0, 7]]]] and out[0, 0, 0, 0] == -np.inf


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", [(2, 3, 9, 7, (3, 3), (2, 2), (1, 1)), (1, 2, 8, 11, (2, 3), (1, 2), (1, 0)),
                                  (3, 1, 6, 6, (2, 2), (2, 2), (0, 0))])
def test_avg_pool_matches_numpy(case, count_include_pad, dtype, numpy_only):
    n, c, h, w, kernel, stride, padding = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    ref = cpu_conv.avg_pool2d_forward(x, kernel, stride, padding, count_include_pad)
    g = rng.standard_normal(ref.shape).astype(dtype)
    gref = cpu_conv.avg_pool2d_backward(g, x.shape, kernel, stride, padding, count_include_pad)
    _close(pool.avg_pool2d_forward(_noncontiguous(x), kernel, stride, padding, count_include_pad), ref, dtype)
    _close(pool.avg_pool2d_backward(_noncontiguous(g), x.shape, kernel, stride, padding, count_include_pad), gref,
           dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_rules_match_numpy(dtype, numpy_only):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 5, 7)) * 3).astype(dtype)
    x.reshape(-1)[:4] = [0.0, -0.0, np.nan, np.inf]
    g = rng.standard_normal(x.shape).astype(dtype)
    np.testing.assert_array_equal(elementwise.relu(x), cpu.relu(x))
    np.testing.assert_array_equal(elementwise.relu_backward(x, g), cpu.relu_backward(x, g))
    finite = np.nan_to_num(x, nan=0.5, posinf=4.0)
    y = cpu.sigmoid(finite)
    _close(elementwise.sigmoid(finite), y, dtype)
    _close(elementwise.sigmoid_backward(y, g), g * y * (1 - y), dtype)
    _close(cpu.sigmoid_backward(y, g), g * y * (1 - y), dtype)
    for approximate in ("none", "tanh"):
        _close(elementwise.gelu(finite, approximate), cpu.gelu(finite, approximate), dtype)
        _close(elementwise.gelu_backward(finite, g, approximate), cpu.gelu_backward(finite, g, approximate), dtype)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_backward_reference_is_the_derivative(approximate, numpy_only):
    x = np.linspace(-5, 5, 101)
    h = 1e-6
    numeric = (cpu.gelu(x + h, approximate) - cpu.gelu(x - h, approximate)) / (2 * h)
    np.testing.assert_allclose(cpu.gelu_backward(x, np.ones_like(x), approximate), numeric, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_cross_entropy_match_numpy(dtype, numpy_only):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((7, 13)) * 10).astype(dtype)
    x[0, 3] = 1e4  # the row max keeps exp finite
    _close(elementwise.softmax_rows(x, False), cpu.softmax(x, axis=-1), dtype)
    _close(elementwise.softmax_rows(x, True), cpu.log_softmax(x, axis=-1), dtype)
    targets = rng.integers(0, 13, 7)
    targets[2] = -100
    loss, grad = elementwise.softmax_cross_entropy(x, targets, -100)
    loss_ref, grad_ref = cpu.softmax_cross_entropy(x, targets, -100)
    _close(loss, loss_ref, dtype)
    _close(grad, grad_ref, dtype)
    assert loss[2] == 0 and not grad[2].any()


ADAM_VARIANTS = [dict(weight_decay=0.0, amsgrad=False, maximize=False, decoupled_weight_decay=False),
                 dict(weight_decay=0.1, amsgrad=True, maximize=False, decoupled_weight_decay=False),
                 dict(weight_decay=0.01, amsgrad=False, maximize=True, decoupled_weight_decay=True)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", ADAM_VARIANTS)
def test_adam_update_matches_numpy(variant, dtype):
    rng = np.random.default_rng(6)
    p0 = rng.standard_normal(1001).astype(dtype)
    state = {k: [p0.copy(), np.zeros_like(p0), np.zeros_like(p0), np.zeros_like(p0)] for k in ("ref", "par")}
    state["ref"][1][::5] = state["par"][1][::5] = 1e-39  # subnormal m: flushed on step 16
    for step in range(1, 18):
        g = rng.standard_normal(p0.size).astype(dtype)
        kw = dict(step=step, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, **variant)
        p, m, v, vmax = state["ref"]
        numpy_adam(np, p, g, m, v, vmax, np.empty_like(p), **kw)
        p, m, v, vmax = state["par"]
        optim.adam_update(p, g, m, v, vmax if variant["amsgrad"] else None, flush=step % 16 == 0, **kw)
    for a, b in zip(state["par"], state["ref"]):
        _close(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", [dict(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0),
                                     dict(momentum=0.9, dampening=0.1, nesterov=False, weight_decay=0.01),
                                     dict(momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.0)])
@pytest.mark.parametrize("maximize", [False, True])
def test_sgd_update_matches_numpy(variant, maximize, dtype):
    rng = np.random.default_rng(7)
    p_ref = rng.standard_normal(777).astype(dtype)
    p_par, buf_ref, buf_par = p_ref.copy(), None, None
    for step in range(1, 5):
        g = rng.standard_normal(p_ref.size).astype(dtype)
        kw = dict(step=step, lr=0.1, maximize=maximize, **variant)
        buf_ref = numpy_sgd(np, p_ref, g, buf_ref, **kw)
        buf_par = optim.sgd_update(p_par, g, buf_par, flush=False, **kw)
    _close(p_par, p_ref, dtype)
    if variant["momentum"]:
        _close(buf_par, buf_ref, dtype)


# --- the dispatch, through the public ops -------------------------------------------------------------


def _lenet_step(seed=0):
    tc.manual_seed(seed)
    model = get_model("lenet5")
    opt = tc.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    x = tc.tensor(rng.standard_normal((4, 1, 28, 28)).astype(np.float32))
    y = tc.tensor(rng.integers(0, 10, 4))
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = tc.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses, [p.numpy().copy() for p in model.parameters()]


def test_lenet_steps_agree_with_the_numpy_path(monkeypatch):
    monkeypatch.setattr(cpu_parallel, "enabled", False)
    losses_ref, params_ref = _lenet_step()
    monkeypatch.setattr(cpu_parallel, "enabled", True)
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)  # every array through the kernels
    losses, params = _lenet_step()
    np.testing.assert_allclose(losses, losses_ref, rtol=1e-5)
    for a, b in zip(params, params_ref):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_max_pool_3x3_takes_the_kernel_only_when_threaded(monkeypatch):
    """3x3 windows: NumPy's passes on one thread (faster there), the kernel on several (AlexNet's pools)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 9, 240, 250)).astype(np.float32)
    assert x.size >= cpu_parallel.PARALLEL_MIN_ELEMENTS
    geo = ((3, 3), (2, 2), (0, 0), (1, 1))
    calls = []
    real = pool.max_pool2d_forward
    monkeypatch.setattr(pool, "max_pool2d_forward", lambda *a: calls.append(a[0].shape) or real(*a))
    monkeypatch.setattr(cpu_parallel, "_shares_openmp_with_torch", False)
    runs = {}
    for threads in (1, 2):
        monkeypatch.setattr(cpu_parallel, "_threads", threads)
        runs[threads] = cpu_conv.max_pool2d_forward(x, *geo)
    assert calls == [x.shape]  # the 2-thread call only
    assert not cpu_parallel.max_pool_forward(*geo, x.size // 64)  # small arrays keep NumPy's passes
    for a, b in zip(runs[1], runs[2]):
        assert np.array_equal(a, b)


def test_small_arrays_stay_on_numpy():
    assert not cpu_parallel.use(cpu_parallel.MIN_ELEMENTS - 1)
    assert cpu_parallel.use(cpu_parallel.MIN_ELEMENTS)
    assert not cpu_parallel.takes(np.zeros(cpu_parallel.MIN_ELEMENTS, dtype=np.float16))
    assert not cpu_parallel.takes(np.zeros(10**6, np.float32), np.zeros(10**6, np.float64))


def test_set_num_threads_controls_numba_and_blas():
    before = tc.get_num_threads()
    try:
        tc.set_num_threads(1)
        assert tc.get_num_threads() == 1 and numba.get_num_threads() == 1
        threadpoolctl = pytest.importorskip("threadpoolctl")
        blas = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(n == 1 for n in blas)
    finally:
        tc.set_num_threads(before)
    for bad in (0, -1, True, 1.5, "2"):
        with pytest.raises(tc.ArgumentError, match="set_num_threads"):
            tc.set_num_threads(bad)


def test_kernels_compile_lazily_and_cache_on_disk(tmp_path):
    # the first process compiles and saves the kernel; the second loads it (Numba's cache log says which:
    # a timing comparison would only measure the machine's load)
    code = ("import numpy as np; from tensorcore.backends import cpu_parallel; cpu_parallel.MIN_ELEMENTS = 0; "
            "from tensorcore.backends import cpu; print(cpu.relu(np.ones(8, np.float32)).sum())")
    import os

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_DEBUG_CACHE="1")
    cold, warm = (subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                 check=True).stdout for _ in range(2))
    assert any(tmp_path.rglob("*.nbi")), f"no Numba cache index written under {tmp_path}"
    assert "relu_kernel" in cold and "data saved" in cold, cold
    assert "data loaded" in warm and "data saved" not in warm, warm
    assert cold.split()[-1] == warm.split()[-1] == "8.0"


@pytest.mark.parametrize("torch_first", [False, True])
def test_one_thread_next_to_pytorchs_openmp(torch_first):
    if torch_first:
        pytest.importorskip("torch")
    code = ("import sys\nif sys.argv[1] == '1': import torch\nimport numpy as np, numba, tensorcore as tc\n"
            "tc.backends.cpu.relu(np.ones(1 << 20, np.float32))\nprint(numba.get_num_threads(), tc.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code, str(int(torch_first))], capture_output=True, text=True,
                         check=True).stdout.split()
    expected = 1 if torch_first else min(cpu_parallel.default_num_threads(), numba.config.NUMBA_NUM_THREADS)
    assert int(out[0]) == expected, out
