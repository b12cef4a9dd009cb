"""Session 5's changes for the small convnets (LeNet-5, the MNIST convnet).

The max-pool backward against a NumPy scatter (bit for bit, any thread count), the thread counts the
dispatch picks for the direct convolution's weight gradient and the pool backward, and the dropout mask.
"""

import numpy as np
import pytest

numba = pytest.importorskip("numba", reason="the parallel CPU kernels need numba (the NumPy path is tested elsewhere)")

import tensorcore as tc  # noqa: E402
from tensorcore.backends import cpu_conv, cpu_parallel  # noqa: E402
from tensorcore.testing.threads import with_numba_threads as _with_threads  # noqa: E402

pool = cpu_parallel.kernels("pool")
DTYPES = (np.float32, np.float64)


def _reference_backward(g, idx, x_shape):
    """zeros(x_shape) with g added at each plane's flat idx (NumPy, in scan order)."""
    n, c, h, w = x_shape
    out = np.zeros((n * c, h * w), dtype=g.dtype)
    for p, (gp, ip) in enumerate(zip(g.reshape(n * c, -1), idx.reshape(n * c, -1), strict=True)):
        np.add.at(out[p], ip, gp)
    return out.reshape(x_shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [(3, 5, 6, 10, (2, 2), (2, 2), (0, 0)), (2, 3, 8, 8, (3, 3), (2, 2), (1, 1)),
                                  (2, 2, 9, 11, (2, 2), (2, 2), (0, 0))])
def test_max_pool_backward_matches_the_scatter_bit_for_bit(case, dtype):
    n, c, h, w, kernel, stride, padding = case
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    _, idx = _pool(x, kernel, stride, padding)
    g = rng.standard_normal(idx.shape).astype(dtype)
    g.reshape(-1)[::5] = -0.0  # 0 + (-0.0) is +0.0 in the reference's zeros-then-add
    g.reshape(-1)[3] = np.nan
    ref = _reference_backward(g, idx, x.shape)
    strided = np.zeros(g.shape[:-1] + (2 * g.shape[-1],), dtype=dtype)
    strided[..., ::2] = g
    for gs in (g, strided[..., ::2]):  # contiguous and not
        for t in (1, 2, 2):
            out = _with_threads(t, lambda gs=gs: pool.max_pool2d_backward(gs, idx, x.shape))
            assert out.dtype == np.dtype(dtype) and out.shape == x.shape
            np.testing.assert_array_equal(out, ref)  # NaN where the reference has it
            assert np.array_equal(np.signbit(out), np.signbit(ref))  # bit for bit, -0.0 included


def _pool(x, kernel, stride, padding):
    with_numpy = cpu_parallel.enabled
    cpu_parallel.enabled = False
    try:
        return cpu_conv.max_pool2d_forward(x, kernel, stride, padding, (1, 1))
    finally:
        cpu_parallel.enabled = with_numpy


def test_dispatch_gives_the_pool_backward_and_the_direct_weight_gradient_the_threads_of_their_work(monkeypatch):
    """The MNIST convnet's pool backward (g 590k, dx 2.4M elements) and its first layer's weight gradient
    (x 50k, g 1.4M elements) run on every thread: the sizes counted are dx's and g's."""
    if cpu_parallel.default_num_threads() < 2:
        pytest.skip("one core: the kernels run on one thread anyway")
    asked = []
    monkeypatch.setattr(cpu_parallel, "_set_numba_threads",
                        lambda n: (asked.append(n), setattr(cpu_parallel, "_numba_threads", n)))
    monkeypatch.setattr(cpu_parallel, "_threads", 2)
    monkeypatch.setattr(cpu_parallel, "_numba_threads", 1)
    monkeypatch.setattr(cpu_parallel, "_shares_openmp_with_torch", False)
    rng = np.random.default_rng(0)
    g = rng.standard_normal((64, 64, 12, 12), dtype=np.float32)
    idx = np.zeros(g.shape, dtype=np.int64)
    cpu_conv.max_pool2d_backward(g, idx, (64, 64, 24, 24))
    assert asked[-1:] == [2]
    monkeypatch.setattr(cpu_parallel, "_numba_threads", 1)
    x = rng.standard_normal((64, 1, 28, 28), dtype=np.float32)
    gy = rng.standard_normal((64, 32, 26, 26), dtype=np.float32)
    cpu_conv.conv2d_backward_weight(gy, x, (32, 1, 3, 3), (1, 1), (0, 0), (1, 1), 1)
    assert asked[-1:] == [2]


@pytest.mark.parametrize("dtype", (tc.float32, tc.float64))
@pytest.mark.parametrize("p", (0.25, 0.5, 0.1, 0.7))
def test_dropout_mask_is_the_float64_formula_rounded_once(dtype, p):
    """x * (keep / (1 - p)) with the quotient rounded to x's dtype once, as before (no float64 mask array)."""
    x = tc.randn(64, 37, dtype=dtype)
    gen = tc.Generator().manual_seed(3)
    y = tc.nn.functional.dropout(x, p, training=True, generator=gen)
    seed = tc.Generator().manual_seed(3).initial_seed()
    keep = np.random.default_rng(seed).random(tuple(x.shape)) >= p  # the same draws
    expected = x.numpy() * (keep / (1.0 - p)).astype(x.numpy().dtype)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y.numpy(), expected)


# (N, C, H, W, O, kernel, padding, groups): the direct loops' fused 3- and 5-wide filter rows (the first
# layers of the MNIST convnet and LeNet-5, odd sizes), a grouped one, and a 4-wide row (the per-tap loop).
DIRECT_CASES = [
    (3, 1, 11, 13, 4, (5, 5), (2, 2), 1),
    (2, 1, 9, 8, 5, (3, 3), (0, 0), 1),
    (2, 4, 7, 9, 4, (2, 3), (1, 0), 2),
    (2, 2, 8, 9, 3, (3, 4), (1, 2), 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DIRECT_CASES)
def test_direct_rows_match_numpy_and_do_not_depend_on_threads(case, dtype, monkeypatch):
    n, c, h, w, o, kernel, padding, groups = case
    conv = cpu_parallel.kernels("conv")
    monkeypatch.setattr(cpu_parallel, "DIRECT_MAX_WEIGHTS", 10**9)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c // groups) + kernel).astype(dtype)
    geo = ((1, 1), padding, (1, 1), groups)
    monkeypatch.setattr(cpu_parallel, "enabled", False)
    ref = cpu_conv.conv2d_forward(x, wt, *geo)
    g = rng.standard_normal(ref.shape).astype(dtype)
    gw_ref = cpu_conv.conv2d_backward_weight(g, x, wt.shape, *geo)
    monkeypatch.setattr(cpu_parallel, "enabled", True)
    tol = {np.float32: 2e-5, np.float64: 1e-12}[dtype]
    xs = np.zeros(x.shape[:-1] + (2 * w,), dtype=dtype)
    xs[..., ::2] = x
    runs = []
    for xin in (x, xs[..., ::2]):  # contiguous and not
        for t in (1, 2, 2):
            y = _with_threads(t, lambda xin=xin: conv.conv2d_forward(xin, wt, *geo))
            gw = _with_threads(t, lambda xin=xin: conv.conv2d_backward_weight(g, xin, wt.shape, *geo))
            np.testing.assert_allclose(y, ref, rtol=0, atol=tol * max(1.0, float(np.abs(ref).max())))
            np.testing.assert_allclose(gw, gw_ref, rtol=0, atol=tol * max(1.0, float(np.abs(gw_ref).max())))
            assert y.dtype == gw.dtype == np.dtype(dtype)
            runs.append((y, gw))
    for y, gw in runs[1:]:
        assert np.array_equal(y, runs[0][0]) and np.array_equal(gw, runs[0][1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(64, 32, 26, 26), (3, 5, 7, 9), (1, 1, 1, 1), (2, 3, 0, 4)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_channel_sum_is_the_float64_sum_rounded_once(shape, dtype, keepdims):
    ew = cpu_parallel.kernels("elementwise")
    x = np.random.default_rng(9).standard_normal(shape).astype(dtype)
    x.reshape(-1)[:3] = [1e7, 1.0, -1e7] if x.size >= 3 else x.reshape(-1)[:3]  # cancellation
    ref = x.astype(np.float64).sum(axis=(0, 2, 3), keepdims=keepdims).astype(dtype)
    outs = [_with_threads(t, lambda: ew.channel_sum(x, keepdims)) for t in (1, 2, 2)]
    for out in outs:
        assert out.dtype == np.dtype(dtype) and out.shape == ref.shape
        # float64 partial sums in another order than NumPy's: within float64 roundings of the sum of |x|
        bound = 1e-13 * np.abs(x).astype(np.float64).sum(axis=(0, 2, 3), keepdims=keepdims) + 1e-300
        np.testing.assert_array_less(np.abs(out.astype(np.float64) - ref), bound + np.abs(ref) * 1e-6 * (
            dtype == np.float32))
        assert np.array_equal(out, outs[0])
    if dtype == np.float32:
        exact = x.astype(np.float64).sum(axis=(0, 2, 3), keepdims=keepdims)
        assert np.array_equal(outs[0], exact.astype(np.float32))  # float64 partials: one float32 rounding


def test_cpu_sum_over_the_bias_axes_takes_the_channel_kernel(monkeypatch):
    from tensorcore.backends import cpu

    x = np.random.default_rng(1).standard_normal((64, 8, 12, 12)).astype(np.float32)
    ew = cpu_parallel.kernels("elementwise")
    calls = []
    monkeypatch.setattr(ew, "channel_sum", lambda a, k: calls.append(a.shape) or np.zeros(8, np.float32))
    cpu.sum(x, (0, 2, 3), False)
    assert calls == [x.shape]
    cpu.sum(x[:, :, :, ::2], (0, 2, 3), False)  # not contiguous: NumPy
    cpu.sum(x, (0, 2), False)  # other axes: NumPy
    assert calls == [x.shape]


@pytest.mark.parametrize("kind", [dict(), dict(amsgrad=True, weight_decay=0.01), dict(maximize=True), "adamw"])
@pytest.mark.parametrize("set_to_none", [True, False])
def test_adam_reads_a_large_new_grad_in_place_with_the_loop_s_numbers(kind, set_to_none):
    """Adam's flat path, whose large fresh .grad (>= OWN_RUN_MIN elements) is its own run, gives the
    per-parameter loop's values bit for bit (float32, the kernels and the NumPy update both)."""
    from tensorcore.optim import adam as adam_module

    shapes = [(3, 5), (adam_module.OWN_RUN_MIN + 7,), (11,), (300, 301), (4,)]
    rng = np.random.default_rng(4)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]
    results = []
    for foreach in (None, False):
        params = [tc.tensor(a.copy(), requires_grad=True) for a in init]
        make = tc.optim.AdamW if kind == "adamw" else tc.optim.Adam
        opt = make(params, lr=1e-2, foreach=foreach, **({} if kind == "adamw" else kind))
        for step_grads in grads:
            opt.zero_grad(set_to_none=set_to_none)
            loss = sum((p * tc.tensor(g)).sum() for p, g in zip(params, step_grads, strict=True))
            loss.backward()
            opt.step()
        results.append([p.detach().numpy().copy() for p in params])
        if foreach is None:
            assert opt._flat  # the flat path ran
    for a, b in zip(*results, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [((3, 1, 11, 13), (32, 1, 3, 3), (0, 0), 1), ((2, 1, 9, 10), (16, 1, 5, 5), (2, 2), 1),
                                  ((2, 2, 9, 9), (64, 1, 3, 3), (1, 0), 2)])
def test_one_channel_filters_up_to_512_weights_take_the_direct_forward(case, dtype, monkeypatch):
    """The MNIST convnet's first layer (288 weights: over DIRECT_MAX_WEIGHTS) runs the direct rows forward."""
    x_shape, w_shape, padding, groups = case
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    geo = ((1, 1), padding, (1, 1), groups)
    monkeypatch.setattr(cpu_parallel, "enabled", False)
    ref = cpu_conv.conv2d_forward(x, w, *geo)
    monkeypatch.setattr(cpu_parallel, "enabled", True)
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)
    direct = cpu_parallel.kernels("direct")
    calls = []
    real = direct.conv2d_forward
    monkeypatch.setattr(direct, "conv2d_forward", lambda *a: calls.append(1) or real(*a))
    y, cols = cpu_conv.conv2d_forward(x, w, *geo, return_columns=True)
    assert calls == [1] and cols is None
    tol = {np.float32: 2e-5, np.float64: 1e-12}[dtype]
    np.testing.assert_allclose(y, ref, rtol=0, atol=tol * max(1.0, float(np.abs(ref).max())))
    assert y.dtype == np.dtype(dtype)
