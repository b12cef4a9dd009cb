"""The per-image tiled convolution (tensorcore/backends/cpu_parallel_tiled.py) against the NumPy reference.

Odd shapes, strides, padding, dilation, groups, non-contiguous inputs, float32 and float64, inf and
NaN; identical results for 1, 2 and 3 threads; the dispatch from cpu_conv; gradients through tc.
"""

import numpy as np
import pytest

pytest.importorskip("numba", reason="the parallel CPU kernels need numba (the NumPy path is tested elsewhere)")

import tensorcore as tc  # noqa: E402
from tensorcore.backends import cpu_conv, cpu_parallel  # noqa: E402

tiled = cpu_parallel.kernels("tiled")

DTYPES = (np.float32, np.float64)
TOL = {np.float32: 2e-5, np.float64: 1e-12}

# (N, C, H, W, O, kernel, stride, padding, dilation, groups)
CASES = [
    (2, 3, 7, 9, 4, (3, 2), (1, 1), (1, 0), (1, 1), 1),
    (3, 4, 8, 7, 6, (3, 3), (1, 1), (2, 1), (2, 1), 2),
    (2, 6, 9, 10, 6, (3, 3), (2, 1), (1, 1), (1, 2), 3),
    (1, 2, 11, 13, 4, (5, 3), (3, 2), (2, 1), (1, 1), 1),
    (2, 1, 6, 5, 3, (1, 1), (1, 1), (0, 0), (1, 1), 1),
    (2, 4, 6, 7, 4, (2, 2), (1, 1), (1, 1), (2, 2), 4),
    (5, 3, 12, 11, 5, (5, 5), (1, 1), (2, 2), (1, 1), 1),
    (3, 2, 10, 9, 4, (3, 3), (2, 3), (0, 0), (1, 1), 2),  # rows and columns no window reaches
    (2, 3, 4, 5, 2, (3, 3), (1, 1), (4, 3), (1, 1), 1),  # padding wider than the kernel
    (4, 5, 9, 8, 3, (1, 3), (1, 2), (0, 1), (1, 3), 1),
]


def _close(a, b, dtype):
    assert a.shape == b.shape and a.dtype == b.dtype == np.dtype(dtype), (a.shape, b.shape, a.dtype, b.dtype)
    scale = max(float(np.abs(b).max()), 1.0) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL[dtype] * scale)


def _noncontiguous(a):
    """The same values in a strided (non-contiguous) view."""
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


def _arrays(case, dtype, seed=0):
    n, c, h, w, o, kernel, stride, padding, dilation, groups = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c // groups) + kernel).astype(dtype)
    geo = (stride, padding, dilation, groups)
    with cpu_parallel_off():
        y = cpu_conv.conv2d_forward(x, wt, *geo)
    return x, wt, rng.standard_normal(y.shape).astype(dtype), geo


class cpu_parallel_off:
    """The NumPy reference: cpu_parallel.enabled = False inside."""

    def __enter__(self):
        self.before = cpu_parallel.enabled
        cpu_parallel.enabled = False

    def __exit__(self, *exc):
        cpu_parallel.enabled = self.before


def _reference(x, w, g, geo):
    with cpu_parallel_off():
        return (cpu_conv.conv2d_forward(x, w, *geo), cpu_conv.conv2d_backward_input(g, w, x.shape, *geo),
                cpu_conv.conv2d_backward_weight(g, x, w.shape, *geo))


def _tiled(x, w, g, geo, x_shape):
    return (tiled.conv2d_forward(x, w, *geo), tiled.conv2d_backward_input(g, w, x_shape, *geo),
            tiled.conv2d_backward_weight(g, x, w.shape, *geo))


# (CHUNK_ELEMENTS, GEMM_MIN_COLUMNS): all images in one chunk, one each, some, powers of two merged (the last partial)
@pytest.mark.parametrize("chunking", [(1 << 18, 600), (1, 0), (700, 0), (1, 200)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_tiled_conv_matches_numpy(case, dtype, chunking, monkeypatch):
    monkeypatch.setattr(tiled, "CHUNK_ELEMENTS", chunking[0])
    monkeypatch.setattr(tiled, "GEMM_MIN_COLUMNS", chunking[1])
    x, w, g, geo = _arrays(case, dtype)
    ref = _reference(x, w, g, geo)
    for xs, ws, gs in ((x, w, g), (_noncontiguous(x), _noncontiguous(w), _noncontiguous(g))):
        for got, want in zip(_tiled(xs, ws, gs, geo, x.shape), ref):
            _close(got, want, dtype)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_values_reach_the_same_outputs_as_numpy(bad):
    """The wide columns' dropped entries must not turn a finite gradient into NaN (0 * inf)."""
    case = (2, 3, 7, 6, 4, (3, 3), (1, 1), (0, 0), (1, 1), 1)
    x, w, g, geo = _arrays(case, np.float64)
    x[1, 2, 3, 0] = bad  # column 0: read by the wide runs of the taps j > 0 of the row above
    w[2, 1, 0, 2] = bad
    for got, want in zip(_tiled(x, w, g, geo, x.shape), _reference(x, w, g, geo)):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
        finite = np.isfinite(want)
        np.testing.assert_allclose(got[finite], want[finite], rtol=1e-12, atol=1e-12)


def test_results_do_not_depend_on_the_thread_count(monkeypatch):
    pytest.importorskip("threadpoolctl", reason="without threadpoolctl the tiled path runs on one thread")
    case = (13, 6, 11, 10, 8, (3, 3), (1, 1), (1, 1), (1, 1), 2)
    x, w, g, geo = _arrays(case, np.float32)
    monkeypatch.setattr(tiled, "CHUNK_ELEMENTS", 2 * 54 * 11 * 12)  # two images a chunk, the last one alone
    monkeypatch.setattr(tiled, "GEMM_MIN_COLUMNS", 0)
    runs = []
    for threads in (1, 2, 3, 2):
        monkeypatch.setattr(cpu_parallel, "_threads", threads)
        assert tiled.threads_for(7) == threads
        runs.append(_tiled(x, w, g, geo, x.shape))
    for run in runs[1:]:
        for a, b in zip(run, runs[0]):
            assert np.array_equal(a, b)


def test_small_images_merge_into_power_of_two_chunks():
    """AlexNet's 13x13 layers: four images a chunk (780 GEMM columns); its 27x27 and 55x55 layers one."""
    plan = tiled._Plan((8, 256, 13, 13), (384, 256, 3, 3), (1, 1), (1, 1), (1, 1), 1, np.float32)
    assert (plan.q, plan.chunk, plan.chunks) == (195, 4, 2)
    plan = tiled._Plan((8, 96, 27, 27), (256, 48, 5, 5), (1, 1), (2, 2), (1, 1), 2, np.float32)
    assert (plan.chunk, plan.chunks) == (1, 8)
    plan = tiled._Plan((5, 3, 6, 6), (4, 3, 3, 3), (1, 1), (0, 0), (1, 1), 1, np.float32)  # capped by the batch
    assert plan.chunk == 5


def test_split_runs_each_task_once_and_a_stalled_worker_leaves_its_share_to_the_caller(monkeypatch):
    """Tasks are claimed, not dealt out: a worker that cannot run (here: its pool busy) takes none of them."""
    import threading

    pytest.importorskip("threadpoolctl", reason="without threadpoolctl the tiled path runs on one thread")
    monkeypatch.setattr(cpu_parallel, "_threads", 3)
    ran = []

    def work(tasks):
        for k in tasks:
            ran.append((k, threading.get_ident()))

    tiled._split(work, 50, 3)
    assert sorted(k for k, _ in ran) == list(range(50))
    tiled._split(lambda tasks: None, 0, 2)  # the pool exists now, with one worker at least
    release = threading.Event()
    blockers = [tiled._pool.submit(release.wait) for _ in range(tiled._pool._max_workers)]
    threading.Timer(0.3, release.set).start()
    ran.clear()
    tiled._split(work, 7, 2)
    assert [k for k, _ in ran] == list(range(7)) and {t for _, t in ran} == {threading.get_ident()}
    release.set()
    for b in blockers:
        b.result()


def test_more_threads_than_images(monkeypatch):
    monkeypatch.setattr(cpu_parallel, "_threads", 4)
    monkeypatch.setattr(tiled, "CHUNK_ELEMENTS", 1)
    monkeypatch.setattr(tiled, "GEMM_MIN_COLUMNS", 0)
    case = (1, 3, 9, 9, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1)
    x, w, g, geo = _arrays(case, np.float64)
    for got, want in zip(_tiled(x, w, g, geo, x.shape), _reference(x, w, g, geo)):
        _close(got, want, np.float64)


def test_cpu_conv_dispatches_to_the_tiled_path(monkeypatch):
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)
    calls = []
    for name in ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"):
        real = getattr(tiled, name)
        monkeypatch.setattr(tiled, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    case = (3, 8, 9, 9, 16, (3, 3), (1, 1), (1, 1), (1, 1), 1)  # 1152 weights: not the direct loops
    x, w, g, geo = _arrays(case, np.float32)
    y, columns = cpu_conv.conv2d_forward(x, w, *geo, return_columns=True)
    assert columns is None  # the weight gradient rebuilds one image's columns at a time
    got = (y, cpu_conv.conv2d_backward_input(g, w, x.shape, *geo),
           cpu_conv.conv2d_backward_weight(g, x, w.shape, *geo, columns=columns))
    assert calls == ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"]
    for a, b in zip(got, _reference(x, w, g, geo)):
        _close(a, b, np.float32)
    monkeypatch.setattr(cpu_parallel, "TILED", False)
    calls.clear()
    cpu_conv.conv2d_forward(x, w, *geo)
    assert calls == []


def test_gradients_through_conv2d_match_the_numpy_path(monkeypatch):
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((4, 6, 10, 9))
    w0 = rng.standard_normal((8, 3, 3, 3))
    b0 = rng.standard_normal(8)

    def grads():
        x, w, b = (tc.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = tc.nn.functional.conv2d(x, w, b, stride=1, padding=1, dilation=1, groups=2)
        (y * y).sum().backward()
        return [t.grad.numpy() for t in (x, w, b)] + [y.numpy()]

    with cpu_parallel_off():
        ref = grads()
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)
    for a, b in zip(grads(), ref):
        _close(a, b, np.float64)


def test_few_weights_forward_tiled_weight_gradient_direct(monkeypatch):
    """The MNIST convnet's first layer (32 x 1 x 3 x 3): tiled forward, the direct loops' weight gradient."""
    monkeypatch.setattr(cpu_parallel, "MIN_ELEMENTS", 0)
    w_shape = (32, 1, 3, 3)
    assert cpu_parallel.conv_tiled(w_shape, (1, 1), 1) and cpu_parallel.conv_direct_weight(w_shape, (1, 1), 1)
    x, w, g, geo = _arrays((3, 1, 9, 8, 32, (3, 3), (1, 1), (0, 0), (1, 1), 1), np.float32)
    y, columns = cpu_conv.conv2d_forward(x, w, *geo, return_columns=True)
    got = (y, cpu_conv.conv2d_backward_input(g, w, x.shape, *geo),
           cpu_conv.conv2d_backward_weight(g, x, w.shape, *geo, columns=columns))
    for a, b in zip(got, _reference(x, w, g, geo)):
        _close(a, b, np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(300, 70, 129), (65, 90, 260), (8, 500, 1000), (1000, 33, 8), (31, 40, 333),
                                   (200, 9, 900), (1, 64, 257)])
def test_gemm_matches_numpy_and_is_deterministic(shape, dtype, monkeypatch):
    """tiled.gemm's row, column or transposed blocks: the one-thread product within rounding, the same every run."""
    pytest.importorskip("threadpoolctl", reason="without threadpoolctl gemm runs on one thread")
    m, k, n = shape
    rng = np.random.default_rng(4)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((n, k)).astype(dtype).T  # a transposed operand, as linear's w.T
    with tiled.one_blas_thread():
        ref = a @ b
    for threads in (1, 2, 3):
        monkeypatch.setattr(cpu_parallel, "_threads", threads)
        got = tiled.gemm(a, b)
        assert got.dtype == ref.dtype and np.array_equal(got, tiled.gemm(a, b))
        _close(got, ref, dtype)
        assert got.flags.c_contiguous
        if m >= n:  # the row cut of these shapes: OpenBLAS's values bit for bit
            assert np.array_equal(got, ref)


def test_large_products_dispatch_to_gemm(monkeypatch):
    from tensorcore.backends import cpu

    monkeypatch.setattr(cpu_parallel, "_threads", 2)
    calls = []
    real = tiled.gemm
    monkeypatch.setattr(tiled, "gemm", lambda a, b: calls.append(a.shape) or real(a, b))
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((256, 400)).astype(np.float32), rng.standard_normal((120, 400)).astype(np.float32)
    assert x.shape[0] * x.shape[1] * w.shape[0] > cpu_parallel.GEMM_MIN_MNK
    np.testing.assert_allclose(cpu.linear(x, w), x @ w.T, rtol=1e-5, atol=1e-4)
    assert calls == [(256, 400)]
    cpu.matmul(x[:64], w.T)  # a LeNet-5 dense layer's size: OpenBLAS's own threads (below GEMM_MIN_MNK)
    cpu.matmul(x[:8, :8], w[:8, :8].T)  # small: NumPy's own call
    cpu.matmul(x.astype(np.float64), w.T)  # mixed dtypes: NumPy's promotion
    assert calls == [(256, 400)]
    monkeypatch.setattr(cpu_parallel, "_threads", 1)  # one thread: BLAS is limited to it already
    cpu.matmul(x, w.T)
    assert calls == [(256, 400)]
    few = rng.standard_normal((8, 4096)).astype(np.float32)  # but few rows: the transposed product, one thread
    wide = rng.standard_normal((300, 4096)).astype(np.float32)
    assert few.shape[0] * few.shape[1] * wide.shape[0] > cpu_parallel.GEMM_MIN_MNK
    np.testing.assert_allclose(cpu.linear(few, wide), few @ wide.T, rtol=1e-4, atol=1e-3)
    assert calls == [(256, 400), (8, 4096)]


def _forked_conv(x, w, geo, queue):
    queue.put(tiled.conv2d_forward(x, w, *geo))


def test_a_forked_child_makes_its_own_thread_pool(monkeypatch):
    """A child forked after the pool started (DataLoader workers) would otherwise queue work on dead threads."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork start method on this platform")
    pytest.importorskip("threadpoolctl", reason="without threadpoolctl the tiled path runs on one thread")
    monkeypatch.setattr(cpu_parallel, "_threads", 2)
    monkeypatch.setattr(tiled, "CHUNK_ELEMENTS", 1)
    monkeypatch.setattr(tiled, "GEMM_MIN_COLUMNS", 0)
    x, w, g, geo = _arrays((4, 3, 8, 8, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1), np.float64)
    want = tiled.conv2d_forward(x, w, *geo)  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_forked_conv, args=(x, w, geo, queue))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung on the parent's thread pool")
    assert child.exitcode == 0
    np.testing.assert_array_equal(queue.get(timeout=10), want)
