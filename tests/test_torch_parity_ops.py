"""The ops that PyTorch's op_db found differing or refused, against PyTorch itself: values, dtypes, shapes and
vector-Jacobian products in float64 (unpooling, pool switches and divisors, pinv(hermitian=True), svd /
qr gradients, pad's negative widths, broadcasting, as_strided / resize_, slogdet's sign, eigh's gauge)."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
R = np.random.default_rng(13)


def _both(a, grad=True):
    return tc.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _compare(fn, *arrays, grad=True, rtol=1e-9, atol=1e-11):
    """fn(lib, *tensors) on both sides: the same outputs, then the same vjp for a random cotangent."""
    pairs = [_both(a, grad) for a in arrays]
    ours, theirs = fn(tc, F, *[p[0] for p in pairs]), fn(torch, TF, *[p[1] for p in pairs])
    ours = ours if isinstance(ours, (tuple, list)) else (ours,)
    theirs = theirs if isinstance(theirs, (tuple, list)) else (theirs,)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert tuple(o.shape) == tuple(t.shape) and str(o.dtype) == str(t.dtype).split(".")[1]
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
    if not grad:
        return
    outs = [(o, t) for o, t in zip(ours, theirs) if t.requires_grad]
    cots = [R.standard_normal(tuple(t.shape)) for _, t in outs]
    g_ours = tc.grad([o for o, _ in outs], [p[0] for p in pairs], [tc.tensor(c) for c in cots], allow_unused=True)
    g_theirs = torch.autograd.grad([t for _, t in outs], [p[1] for p in pairs], [torch.tensor(c) for c in cots],
                                   allow_unused=True)
    for a, b, (_, t) in zip(g_ours, g_theirs, pairs):
        a = np.zeros(tuple(t.shape)) if a is None else a.numpy()
        b = np.zeros(tuple(t.shape)) if b is None else b.numpy()
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def test_slogdet_sign_records_with_a_zero_gradient():
    a = R.standard_normal((2, 3, 3))
    _compare(lambda t, f, x: t.linalg.slogdet(x), a)
    x = tc.tensor(a, requires_grad=True)
    sign, _ = tc.linalg.slogdet(x)
    assert sign.requires_grad and sign.grad_fn is not None  # as PyTorch's: an output of a differentiable op


def test_max_unpool_writes_repeated_switches_once_and_gathers_the_gradient():
    """Overlapping windows (kernel 3, stride 2) repeat switches: PyTorch writes the (equal) value, never the sum."""
    x = R.standard_normal((1, 2, 5, 6))
    _, idx = TF.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    assert len(np.unique(idx.numpy()[0, 0])) < idx[0, 0].numel()  # the sample does repeat switches
    y = TF.max_pool2d(torch.tensor(x), 3, 2, 1).numpy()
    _compare(lambda t, f, v: f.max_unpool2d(v, t.tensor(idx.numpy()), 3, 2, 1, output_size=(1, 2, 5, 6)), y)
    with pytest.raises(tc.ShapeError, match="max_unpool2d: an index is out of range"):  # default size 5 x 5
        F.max_unpool2d(tc.tensor(y), tc.tensor(idx.numpy()), 3, 2, 1)
    with pytest.raises(tc.ShapeError, match="max_unpool2d: output_size"):
        F.max_unpool2d(tc.tensor(y), tc.tensor(idx.numpy()), 3, 2, 1, output_size=(8, 8))


@pytest.mark.parametrize("nd,shape,kernel", [(1, (2, 3, 7), 2), (3, (1, 2, 4, 5, 4), 2), (3, (2, 4, 3, 5), (2, 1, 2))])
def test_max_unpool1d_3d_match_torch(nd, shape, kernel):
    x = R.standard_normal(shape)
    pool = getattr(TF, f"max_pool{nd}d")
    y, idx = pool(torch.tensor(x), kernel, return_indices=True)
    size = shape[-nd:]  # the switches index the pooled input's planes
    _compare(lambda t, f, v: getattr(f, f"max_unpool{nd}d")(v, t.tensor(idx.numpy()), kernel, output_size=size),
             y.numpy())


@pytest.mark.parametrize("call", [
    lambda f, x: f.max_pool3d(x, 2, return_indices=True),
    lambda f, x: f.max_pool3d(x, 3, (2, 1, 2), 1, ceil_mode=True, return_indices=True),
    lambda f, x: f.max_pool3d(x, 2, 1, dilation=(1, 2, 1), return_indices=True),
    lambda f, x: f.adaptive_max_pool1d(x[:, :, 0, 0], 3, return_indices=True),
    lambda f, x: f.adaptive_max_pool2d(x[:, :, 0], (3, 2), return_indices=True),
    lambda f, x: f.adaptive_max_pool3d(x, (2, 3, 2), return_indices=True),
    lambda f, x: f.adaptive_max_pool3d(x[0], 2, return_indices=True),  # unbatched
])
def test_pool_switches_match_torch(call):
    x = R.standard_normal((2, 2, 4, 5, 5))
    _compare(lambda t, f, v: call(f, v), x)


def test_adaptive_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = np.zeros((1, 1, 4, 4))  # every bin a tie: PyTorch's switch is the first cell, and so is its gradient
    _compare(lambda t, f, v: f.adaptive_max_pool2d(v, 2, return_indices=True), x)
    _compare(lambda t, f, v: f.adaptive_max_pool2d(v, (3, 2)), x)


@pytest.mark.parametrize("call", [
    lambda f, x: f.avg_pool2d(x[:, :, 0], 3, 1, 1, True, False, 2),  # PyTorch's 7th positional argument
    lambda f, x: f.avg_pool2d(x[:, :, 0], [4, 4], [2, 3], [1], True, True, -2),
    lambda f, x: f.avg_pool2d(x[:, :, 0], 2, divisor_override=3),
    lambda f, x: f.avg_pool3d(x, 2, 1, 1, ceil_mode=True, count_include_pad=False, divisor_override=2),
    lambda f, x: f.avg_pool3d(x, (2, 3, 2), (2, 2, 1), (0, 1, 1), ceil_mode=True, divisor_override=5),
])
def test_divisor_override_matches_torch(call):
    _compare(lambda t, f, v: call(f, v), R.standard_normal((1, 2, 5, 7, 6)))


def test_divisor_override_zero_is_a_named_error():
    with pytest.raises(tc.ArgumentError, match="avg_pool2d: divisor_override"):
        F.avg_pool2d(tc.ones((1, 1, 4, 4)), 2, divisor_override=0)


def test_pinv_hermitian_and_tensor_tolerances_match_torch():
    a = R.standard_normal((2, 4, 4))  # not symmetric: both read the lower triangle; the vjp is pinv_backward's
    _compare(lambda t, f, x: t.linalg.pinv(x, hermitian=True), a)
    _compare(lambda t, f, x: t.linalg.pinv(x), a)
    s = a + a.transpose(0, 2, 1)
    _compare(lambda t, f, x: t.linalg.pinv(x, hermitian=True, atol=0.5), s)
    _compare(lambda t, f, x: t.linalg.pinv(x, rtol=t.tensor([0.2, 0.0], dtype=t.float64)), s)
    _compare(lambda t, f, x: t.linalg.pinv(x, atol=0.0), s)
    _compare(lambda t, f, x: t.linalg.pinv(x[:, :, :3]), a)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 2, 4)])
def test_svd_full_matrices_gradient_matches_torch(shape):
    """full_matrices=True on a non-square A: PyTorch's gradient uses the first min(m, n) columns only."""
    a, k = R.standard_normal(shape), min(shape[-2:])

    def loss(t, f, x):
        U, S, Vh = t.linalg.svd(x, full_matrices=True)
        assert tuple(U.shape[-2:]) == (shape[-2],) * 2 and tuple(Vh.shape[-2:]) == (shape[-1],) * 2
        return (S * S).sum() + ((U[..., :k] * S.unsqueeze(-2)) @ Vh[..., :k, :]).pow(3).sum()

    _compare(loss, a)


@pytest.mark.parametrize("shape,mode", [((2, 5), "reduced"), ((3, 3, 6), "complete"), ((0, 3), "reduced"),
                                        ((4, 4), "complete")])
def test_qr_of_wide_matrices_matches_torch(shape, mode):
    _compare(lambda t, f, x: tuple(t.linalg.qr(x, mode=mode)), R.standard_normal(shape))


def test_qr_refuses_what_torch_cannot_differentiate():
    with pytest.raises(tc.GradientError, match="linalg.qr"):
        tc.linalg.qr(tc.tensor(R.standard_normal((4, 2)), requires_grad=True), mode="complete")


def test_eigh_matches_torch_up_to_each_eigenvectors_sign():
    a = R.standard_normal((3, 5, 5))
    for uplo in ("L", "U"):
        w, V = tc.linalg.eigh(tc.tensor(a), UPLO=uplo)
        tw, tV = torch.linalg.eigh(torch.tensor(a), UPLO=uplo)
        np.testing.assert_allclose(w.numpy(), tw.numpy(), rtol=1e-10, atol=1e-12)
        signs = np.sign((V.numpy() * tV.numpy()).sum(-2, keepdims=True))
        np.testing.assert_allclose(V.numpy() * signs, tV.numpy(), atol=1e-9)
        sym = np.tril(a) + np.tril(a, -1).transpose(0, 2, 1) if uplo == "L" else \
            np.triu(a) + np.triu(a, 1).transpose(0, 2, 1)
        np.testing.assert_allclose((V.numpy() * w.numpy()[:, None]) @ V.numpy().transpose(0, 2, 1), sym, atol=1e-10)


def test_cosine_similarity_broadcasts_before_the_norms():
    a, b = R.standard_normal((1, 2, 3)), R.standard_normal((2, 1, 3))
    _compare(lambda t, f, x, y: f.cosine_similarity(x, y, dim=-2), a, b)
    _compare(lambda t, f, x, y: f.cosine_similarity(x, y, dim=0), a, b)
    tiny = np.full((2, 3), 1e-10)  # norms below eps: clamped values, the norm's own gradient (as PyTorch)
    _compare(lambda t, f, x, y: f.cosine_similarity(x, y, dim=1), tiny, R.standard_normal((2, 3)), rtol=1e-7)


@pytest.mark.parametrize("kwargs", [{}, {"reduction": "none"}, {"reduction": "sum", "ignore_index": 1},
                                    {"weight": "w", "reduction": "none"}, {"weight": "w"}])
def test_nll_loss_of_one_unbatched_sample_matches_torch(kwargs):
    def call(t, f, x):
        kw = {k: (t.tensor([0.5, 2.0, 1.5], dtype=t.float64) if v == "w" else v) for k, v in kwargs.items()}
        return f.nll_loss(x, t.tensor(2), **kw)

    _compare(call, R.standard_normal(3))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("widths", [(-1, 1, -2, 1), (-4, 5, 0, 0), (2, -3), (0, 0, 2, -3, -1, 1), (-2, -1, 3, 1)])
def test_pad_negative_widths_match_torch(mode, widths):
    x = R.standard_normal((2, 3, 4, 5))
    if len(widths) == 6:
        x = x[None]
    try:
        TF.pad(torch.tensor(x), widths, mode=mode)
    except RuntimeError:
        with pytest.raises(tc.TensorcoreError, match="pad"):
            F.pad(tc.tensor(x), widths, mode=mode)
        return
    if mode == "circular" and any(n + min(lo, 0) + min(hi, 0) < max(lo, hi) for n, lo, hi in
                                  zip(x.shape[::-1], widths[::2], widths[1::2])):
        # the padding wraps the cropped core more than once: PyTorch copies within its own output then
        # (overlapping copies); tensorcore refuses it by name
        with pytest.raises(tc.ArgumentError, match="wraps the cropped dimension"):
            F.pad(tc.tensor(x), widths, mode=mode)
        return
    _compare(lambda t, f, v: f.pad(v, widths, mode=mode), x)


def test_batch_norm_of_an_empty_input_is_empty_as_torch():
    for shape in ((0,), (0, 3)):
        c = shape[-1]
        rm, rv = tc.zeros(c, dtype=tc.float64), tc.ones(c, dtype=tc.float64)
        y = F.batch_norm(tc.zeros(shape, dtype=tc.float64), rm, rv, training=True)
        assert tuple(y.shape) == shape and rm.numpy().tolist() == [0.0] * c and rv.numpy().tolist() == [1.0] * c


def test_cross_tensordot_arange_as_torch():
    _compare(lambda t, f, a, b: t.cross(a, b, dim=-1), R.standard_normal((1, 3)), R.standard_normal((4, 3)))
    _compare(lambda t, f, a, b: t.linalg.cross(a, b), R.standard_normal((2, 1, 3)), R.standard_normal((1, 5, 3)))
    _compare(lambda t, f, a, b: t.tensordot(a, b, ([0, 1], [2, 0])), R.standard_normal((1, 1, 2)),
             R.standard_normal((2, 3, 1)))
    assert tc.arange(False, True, True, dtype=tc.float64).tolist() == \
        torch.arange(False, True, True, dtype=torch.float64).tolist()
    assert tc.arange(True).dtype == tc.int64 and tc.arange(True).tolist() == [0]
    with pytest.raises(tc.ShapeError, match="cross"):
        tc.cross(tc.ones((2, 3)), tc.ones((4, 3)))
    with pytest.raises(tc.ShapeError, match="cross"):  # PyTorch's too: the same number of dims
        tc.linalg.cross(tc.ones((1, 3)), tc.ones(3))


def test_as_strided_views_the_storage_as_torch():
    base = R.standard_normal(20)
    _compare(lambda t, f, x: t.as_strided(x, (3, 2), (1, 2), 4), base)
    _compare(lambda t, f, x: x.as_strided((2, 3), (1, 1)), base[:6])  # overlapping: the gradient adds up
    _compare(lambda t, f, x: t.as_strided_copy(x, (2, 2), (3, 1)), base[:9].reshape(3, 3))
    ours, theirs = tc.tensor(base)[5:15], torch.tensor(base)[5:15]  # a view: storage_offset defaults to its own
    np.testing.assert_array_equal(ours.as_strided((2, 2), (1, 2)).numpy(), theirs.as_strided((2, 2), (1, 2)).numpy())
    np.testing.assert_array_equal(ours.as_strided((3,), (2,), 0).numpy(), theirs.as_strided((3,), (2,), 0).numpy())
    view = ours.as_strided((2,), (3,), 6)
    view.mul_(0)  # a view: writes reach the storage
    theirs.as_strided((2,), (3,), 6).mul_(0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(tc.ShapeError, match="as_strided: .* storage of 24 elements"):
        tc.as_strided(tc.zeros(20), (2, 2), (1, 2), 20)


def test_as_strided_scatter_matches_torch_and_refuses_torchs_input_gradient():
    x, src = R.standard_normal((3, 3)), R.standard_normal((2, 2))
    _compare(lambda t, f, a, s: t.as_strided_scatter(a.detach(), s, (2, 2), (1, 3), 1), x, src)
    with pytest.raises(tc.GradientError, match="as_strided_scatter"):
        tc.as_strided_scatter(tc.tensor(x, requires_grad=True), tc.tensor(src), (2, 2), (1, 3), 1)


@pytest.mark.parametrize("sizes", [(6,), (2, 3), (2, 2), (3, 4)])
def test_resize_matches_torch_on_the_elements_it_keeps(sizes):
    a = R.standard_normal((2, 3))
    ours, theirs = tc.tensor(a), torch.tensor(a).clone()
    v = ours._version
    assert ours.resize_(*sizes) is ours and ours._version > v
    theirs.resize_(*sizes)
    keep = min(6, int(np.prod(sizes)))  # the rest is uninitialised memory in PyTorch (zeros here)
    assert tuple(ours.shape) == sizes
    np.testing.assert_array_equal(ours.numpy().reshape(-1)[:keep], theirs.numpy().reshape(-1)[:keep])
    assert tuple(ours.resize_as_(tc.zeros((3, 1))).shape) == (3, 1)
    with pytest.raises(tc.GradientError, match="resize_"):
        tc.ones(3, requires_grad=True).resize_(2)


def test_isin_and_the_transpose_properties():
    x, t = tc.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert tc.isin(x, tc.tensor([3.0])).tolist() == torch.isin(t, torch.tensor([3.0])).tolist()
    assert hasattr(tc.Tensor, "isin") == hasattr(torch.Tensor, "isin")  # torch.isin only, no method
    a = R.standard_normal((2, 3, 4))
    for name in ("mT", "mH"):
        np.testing.assert_array_equal(getattr(tc.tensor(a), name).numpy(), getattr(torch.tensor(a), name).numpy())
    for name in ("T", "H"):
        np.testing.assert_array_equal(getattr(tc.tensor(a[0]), name).numpy(), getattr(torch.tensor(a[0]), name).numpy())


NEW_ENTRIES = ["logdet", "inner", "addr", "linalg.multi_dot", "linalg.vander", "cholesky", "cholesky_solve",
               "cholesky_inverse", "linalg.solve_triangular", "triangular_solve", "linalg.matrix_rank", "linalg.cond",
               "linalg.inv_ex", "linalg.cholesky_ex", "linalg.solve_ex", "svd", "qr", "nn.functional.bilinear",
               "nn.functional.channel_shuffle", "nn.functional.pdist", "nn.functional.upsample_nearest",
               "nn.functional.upsample_bilinear", "nn.functional.max_unpool1d", "nn.functional.max_unpool3d",
               "as_strided", "as_strided_copy", "resize_", "resize_as_", "T", "mT", "mH", "H", "linalg.tensorinv",
               "linalg.tensorsolve", "nn.functional.multi_margin_loss", "nn.functional.multilabel_margin_loss",
               "gradient", "constant_pad_nd", "split_with_sizes_copy", "fft.fftshift", "fft.ifftshift", "linalg.lstsq",
               "matrix_exp", "einsum", "nn.functional.embedding", "i0", "special.i0e", "special.i1", "special.i1e",
               "special.zeta",
               *[f"masked.{n}" for n in ("amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "log_softmax",
                                         "logaddexp", "logsumexp", "mean", "median", "norm", "normalize", "prod",
                                         "softmax", "softmin", "std", "sum", "var")]]


def test_new_entries_agree_with_torch_on_op_db_samples():
    """The entries added for issue 13, on PyTorch's own samples (forward and vjp): every sample agrees."""
    pytest.importorskip("expecttest", reason="op_db's import needs expecttest")
    from tensorcore.testing import opinfo

    rows = opinfo.run_op_db(names=set(NEW_ENTRIES))
    assert {r["name"] for r in rows} == set(NEW_ENTRIES)
    bad = [f"{r['name']} ({r['variant']}): {r['examples']}" for r in rows
           if not r["have"] or r["counts"]["refused"] or r["counts"]["differ"] or r["counts"]["crash"]]
    assert not bad, "\n".join(bad)
    assert sum(r["counts"]["agree"] for r in rows) > 200


def test_logdet_old_svd_and_the_ex_variants_as_torch():
    a = np.array([[0.0, 1.0], [1.0, 0.0]])  # det -1: logdet is NaN in PyTorch
    assert np.isnan(tc.logdet(tc.tensor(a)).item()) and np.isnan(torch.logdet(torch.tensor(a)).item())
    assert tc.logdet(tc.zeros((2, 2), dtype=tc.float64)).item() == torch.logdet(torch.zeros(2, 2)).item() == -np.inf
    m = R.standard_normal((4, 3))
    _compare(lambda t, f, x: x.svd().S, m)
    U, S, V = tc.svd(tc.tensor(m))  # V, not Vh: A = U diag(S) V^T
    np.testing.assert_allclose((U.numpy() * S.numpy()) @ V.numpy().T, m, atol=1e-12)
    assert tuple(tc.svd(tc.tensor(m), some=False).U.shape) == tuple(torch.svd(torch.tensor(m), some=False).U.shape)
    spd = m.T @ m + np.eye(3)
    for name in ("inv_ex", "cholesky_ex"):
        ours, theirs = getattr(tc.linalg, name)(tc.tensor(spd)), getattr(torch.linalg, name)(torch.tensor(spd))
        np.testing.assert_allclose(ours[0].numpy(), theirs[0].numpy(), rtol=1e-10)
        assert ours.info.dtype == tc.int32 and ours.info.item() == theirs.info.item() == 0
    assert tc.linalg.matrix_rank(tc.tensor(m), atol=0.5).item() == torch.linalg.matrix_rank(torch.tensor(m),
                                                                                            atol=0.5).item()
    assert tc.linalg.matrix_rank(tc.tensor(np.outer(m[:, 0], m[:, 0])), hermitian=True).item() == 1


def test_cholesky_solve_reads_one_triangle_as_torch():
    L = np.tril(R.standard_normal((3, 3))) + 2 * np.eye(3)
    b = R.standard_normal((3, 2))
    _compare(lambda t, f, x, y: t.cholesky_solve(x, y), b, L)
    _compare(lambda t, f, x, y: t.cholesky_solve(x, y, upper=True), b, L.T)
    _compare(lambda t, f, y: t.cholesky_inverse(y), L)
    full = L + np.triu(R.standard_normal((3, 3)), 1)  # PyTorch reads the lower triangle only
    np.testing.assert_allclose(tc.cholesky_solve(tc.tensor(b), tc.tensor(full)).numpy(),
                               torch.cholesky_solve(torch.tensor(b), torch.tensor(full)).numpy(), rtol=1e-10)
    with pytest.raises(tc.GradientError, match="cholesky_solve"):
        tc.cholesky_solve(tc.tensor(b), tc.tensor(full, requires_grad=True))


def test_gradient_with_coordinates_and_the_margin_losses_as_torch():
    x = R.standard_normal((5, 6))
    coords = [np.cumsum(R.uniform(0.5, 1.5, n)) for n in (5, 6)]
    for order in (1, 2):
        _compare(lambda t, f, v, o=order: t.gradient(v, spacing=[t.tensor(c) for c in coords], edge_order=o), x)
        _compare(lambda t, f, v, o=order: t.gradient(v, spacing=2.5, dim=1, edge_order=o), x)
    target = np.array([[3, 0, -1, 1, 2, 5], [1, 2, 1, -1, 0, 0], [-1, 0, 0, 0, 0, 0], [0, 1, 2, 3, 4, 5],
                       [5, -1, 0, 0, 0, 0]])
    _compare(lambda t, f, v: f.multilabel_margin_loss(v, t.tensor(target), reduction="none"), x)
    w = np.array([0.5, 1.0, 2.0, 1.5, 0.2, 1.0])
    _compare(lambda t, f, v: f.multi_margin_loss(v, t.tensor([1, 0, 5, 3, 3]), p=2, margin=0.3,
                                                 weight=t.tensor(w)), x)
    with pytest.raises(tc.ShapeError, match="multi_margin_loss"):
        F.multi_margin_loss(tc.tensor(x), tc.tensor([1, 0, 6, 3, 3]))
    with pytest.raises(tc.ArgumentError, match="gradient: edge_order"):
        tc.gradient(tc.tensor(x), edge_order=3)


def test_masked_ops_keep_gradients_off_the_masked_elements():
    x = R.standard_normal((3, 4))
    mask = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])
    for call in (lambda t, v: t.masked.sum(v, 1, mask=t.tensor(mask)),
                 lambda t, v: t.masked.mean(v, 1, mask=t.tensor(mask)),  # NaN where none is kept, as PyTorch
                 lambda t, v: t.masked.amax(v, (0, 1), keepdim=True, mask=t.tensor(mask)),
                 lambda t, v: t.masked.var(v, 1, mask=t.tensor(mask[:1])),  # the mask broadcasts
                 lambda t, v: t.masked.softmax(v, 1, mask=t.tensor(mask)),
                 lambda t, v: t.masked.logsumexp(v, 1, mask=t.tensor(mask))):
        ours, theirs = call(tc, tc.tensor(x)), call(torch, torch.tensor(x))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
    xt = tc.tensor(x, requires_grad=True)
    tc.masked.sum(xt * xt, mask=tc.tensor(mask)).backward()
    np.testing.assert_array_equal(xt.grad.numpy(), np.where(mask, 2 * x, 0))
    assert tc.masked.amax(tc.tensor(x), 1, mask=tc.tensor(mask))[1].item() == -np.inf
    with pytest.raises(tc.TensorcoreError, match="masked.sum: mask"):
        tc.masked.sum(tc.tensor(x), mask=tc.ones((2, 4), dtype=tc.bool))


def test_random_fills_have_torchs_distributions():
    """geometric_, cauchy_, log_normal_ (and exponential_): support, medians and means against their laws."""
    g = tc.Generator().manual_seed(3)
    geo = tc.zeros(20000, dtype=tc.float64).geometric_(0.25, generator=g).numpy()
    assert geo.min() >= 1 and np.all(geo == np.round(geo)) and abs(geo.mean() - 4.0) < 0.15  # mean 1 / p
    cau = tc.zeros(20000, dtype=tc.float64).cauchy_(2.0, 0.5, generator=g).numpy()
    assert abs(np.median(cau) - 2.0) < 0.05 and abs(np.median(np.abs(cau - 2.0)) - 0.5) < 0.05
    ln = tc.zeros(20000, dtype=tc.float64).log_normal_(0.5, 0.25, generator=g).numpy()
    assert ln.min() > 0 and abs(np.median(ln) - np.exp(0.5)) < 0.02
    x = tc.zeros(3)
    assert x.geometric_(0.5) is x and x.dtype == tc.float32  # in place, the tensor's dtype kept
    a = tc.zeros(4).cauchy_(generator=tc.Generator().manual_seed(1)).numpy()
    np.testing.assert_array_equal(a, tc.zeros(4).cauchy_(generator=tc.Generator().manual_seed(1)).numpy())
    for call in (lambda t: t.geometric_(1.5), lambda t: t.cauchy_(sigma=0), lambda t: t.log_normal_(std=-1)):
        with pytest.raises(tc.ArgumentError):
            call(tc.zeros(2))


EINSUMS = [("...ik,...j->ij", [(1, 2, 3), (3,)]), ("i...->...", [(3, 3)]), ("...", [(2, 3)]),
           ("i...,i", [(3, 2), (3,)]), ("ii->i", [(3, 3)]), ("iji->j", [(2, 3, 2)]), ("ii", [(3, 3)]),
           ("ijk,ijk->ij", [(2, 1, 3), (1, 4, 3)]), ("b...i,b...i->b...", [(2, 3, 4), (2, 1, 4)]),
           ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)])]


@pytest.mark.parametrize("eq,shapes", EINSUMS)
def test_einsum_ellipsis_diagonals_and_broadcasting_as_torch(eq, shapes):
    _compare(lambda t, f, *xs: t.einsum(eq, *xs), *[R.standard_normal(s) for s in shapes])


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("shapes", [((4, 3), (4, 2)), ((2, 5), (2, 3)), ((2, 4, 3), (1, 4, 2)), ((4, 3), (4,))])
def test_lstsq_matches_torch(driver, shapes):
    def call(t, f, a, b):
        r = t.linalg.lstsq(a, b, driver=driver)
        assert r.rank.dtype == t.int64
        return r.solution, r.residuals, r.rank, r.singular_values

    _compare(call, *[R.standard_normal(s) for s in shapes])


@pytest.mark.parametrize("scale", [0.01, 1.0, 10.0])
def test_matrix_exp_matches_torch(scale):
    _compare(lambda t, f, a: t.matrix_exp(a), scale * R.standard_normal((2, 4, 4)), rtol=1e-8, atol=1e-10)
    _compare(lambda t, f, a: a.matrix_exp(), np.zeros((0, 3, 3)))
