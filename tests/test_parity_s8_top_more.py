"""More top-level names (tensorcore/torch_top_more.py, tensorcore/version.py) against torch: the *_copy ops,
adjoint, as_strided_, native_dropout, norm_except_dim, max_pool1d_with_indices, convolution, cond, flags, the
deterministic debug mode, get_device_module, default_generator, torch.version."""

import warnings

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")

R = np.random.default_rng(9)


def test_copy_ops_match_torch_and_do_not_share_memory():
    x = R.normal(size=(2, 3, 4))
    a, b = tc.tensor(x), torch.tensor(x)
    pairs = [(tc.select_copy(a, 2, 1), torch.select_copy(b, 2, 1)),
             (tc.slice_copy(a, 1, 0, 2), torch.slice_copy(b, 1, 0, 2)),
             (tc.slice_copy(a, 2, 1, None, 2), torch.slice_copy(b, 2, 1, None, 2)),
             (tc.slice_copy(a), torch.slice_copy(b)), (tc.detach_copy(a), torch.detach_copy(b)),
             (tc.adjoint(a), torch.adjoint(b))]
    pairs += list(zip(tc.split_copy(a, 2, 2), torch.split_copy(b, 2, 2)))
    for got, want in pairs:
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    c = tc.select_copy(a, 0, 0)
    c.zero_()
    assert a.numpy()[0].any()
    s = tc.tensor(x, requires_grad=True)
    assert tc.gradcheck(lambda t: tc.slice_copy(t, 2, 1, 3) * 2, (s,))
    assert not tc.detach_copy(s).requires_grad


def test_as_strided_in_place():
    a, b = tc.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
    assert tc.as_strided_(a, (3, 2), (1, 3)) is a
    torch.as_strided_(b, (3, 2), (1, 3))
    assert tuple(a.shape) == tuple(b.shape) and a.stride() == b.stride()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c, d = tc.arange(6.0), torch.arange(6.0)
    c.as_strided_((2, 2), (1, 2), 1)
    d.as_strided_((2, 2), (1, 2), 1)
    np.testing.assert_array_equal(c.numpy(), d.numpy())


def test_native_dropout():
    tc.manual_seed(0)
    out, mask = tc.native_dropout(tc.ones(200, 50, dtype=tc.float64), 0.3, True)
    assert mask.dtype == tc.bool_ and 0.25 < 1 - mask.float().mean().item() < 0.35
    np.testing.assert_allclose(out.numpy(), mask.numpy() / 0.7)
    out, mask = tc.native_dropout(tc.ones(2, 3), 0.5, False)
    want_out, want_mask = torch.native_dropout(torch.ones(2, 3), 0.5, False)
    assert out.tolist() == want_out.tolist() and mask.tolist() == want_mask.tolist()
    with pytest.raises(tc.TensorcoreError, match="between 0 and 1"):
        tc.native_dropout(tc.ones(2), 2.0, True)


@pytest.mark.parametrize("pow,dim", [(2, 0), (2, 1), (2, -1), (3, 2), (1, 0)])
def test_norm_except_dim_matches_torch(pow, dim):
    x = R.normal(size=(2, 3, 4))
    got, want = tc.norm_except_dim(tc.tensor(x), pow, dim), torch.norm_except_dim(torch.tensor(x), pow, dim)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_max_pool1d_with_indices_and_convolution():
    x = R.normal(size=(2, 3, 9))
    for args in ((2,), (3, 2), (3, 2, 1), (2, (), 0, 2)):
        got, want = tc.max_pool1d_with_indices(tc.tensor(x), *args), torch.max_pool1d_with_indices(torch.tensor(x),
                                                                                                 *args)
        np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())
        assert got[1].tolist() == want[1].tolist() and got[1].dtype == tc.int64
    for xs, ws, transposed, stride, pad, outpad in (((1, 2, 7), (4, 2, 3), False, [2], [1], [0]),
                                                   ((1, 2, 5, 5), (3, 2, 3, 3), False, [1, 1], [0, 0], [0, 0]),
                                                   ((1, 2, 5, 5), (2, 3, 3, 3), True, [2, 2], [1, 1], [1, 1])):
        xv, wv, bv = R.normal(size=xs), R.normal(size=ws), R.normal(size=ws[1] if transposed else ws[0])
        dil = [1] * len(stride)
        got = tc.convolution(tc.tensor(xv), tc.tensor(wv), tc.tensor(bv), stride, pad, dil, transposed, outpad, 1)
        want = torch.convolution(torch.tensor(xv), torch.tensor(wv), torch.tensor(bv), stride, pad, dil, transposed,
                                 outpad, 1)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


def test_cond_flags_and_switches():
    ops = (tc.ones(2),)
    assert tc.cond(tc.tensor(True), lambda x: x + 1, lambda x: x - 1, ops).tolist() == [2.0, 2.0]
    assert tc.cond(False, lambda x: x + 1, lambda x: x - 1, ops).tolist() == [0.0, 0.0]
    assert tc.has_lapack is torch.has_lapack is True and tc.has_spectral is True
    assert tc.is_vulkan_available() is torch.is_vulkan_available() is False
    a, b = tc.ones(2), torch.ones(2)
    for name in ("is_conj", "is_neg", "is_distributed", "is_storage"):
        assert getattr(tc, name)(a) is getattr(torch, name)(b) is False
    assert tc.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == 0
    try:
        for mode, expect in (("warn", 1), (2, 2), ("default", 0)):
            tc.set_deterministic_debug_mode(mode)
            assert tc.get_deterministic_debug_mode() == expect
            assert tc.is_deterministic_algorithms_warn_only_enabled() == (expect == 1)
    finally:
        tc.set_deterministic_debug_mode(0)
    with pytest.raises(tc.TensorcoreError, match="set_deterministic_debug_mode"):
        tc.set_deterministic_debug_mode("loud")
    assert tc.get_device_module("cpu") is tc.cpu and tc.get_device_module() is tc.cpu
    assert tc.get_device_module("cuda") is tc.cuda
    assert isinstance(tc.default_generator, tc.Generator)
    tc.manual_seed(4)
    assert tc.default_generator.initial_seed() == 4 if hasattr(tc.default_generator, "initial_seed") else True


def test_version_module():
    assert tc.version.__version__ == tc.__version__
    assert tc.version.debug is False and tc.version.hip is None
    assert tc.version.cuda is None or isinstance(tc.version.cuda, str)
    if not tc.cuda.is_available():
        assert tc.version.cuda is None


def test_tensor_dense_methods():
    a, b = tc.ones(2, 3), torch.ones(2, 3)
    assert a.to_dense() is a and b.to_dense() is b
    assert a.dense_dim() == b.dense_dim() == 2 and a.sparse_dim() == b.sparse_dim() == 0
    assert a.const_data_ptr() == a.data_ptr()


def test_storages_share_data_ptr_across_views():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for make in (lambda m: m.arange(6.0).reshape(2, 3), lambda m: m.ones(4, dtype=m.float64)):
            a, b = make(tc), make(torch)
            va, vb = a[1:], b[1:]
            sa, sb = va.untyped_storage(), vb.untyped_storage()
            assert sa.nbytes() == sb.nbytes() and len(sa) == len(sb) and sa.size() == sb.size()
            assert (sa.data_ptr() == a.data_ptr()) and (sb.data_ptr() == b.data_ptr())
            ta, tb = va.storage(), vb.storage()
            assert ta.size() == tb.size() and ta.element_size() == tb.element_size() and ta.tolist() == tb.tolist()
        assert tc.ones(2).untyped_storage().data_ptr() != tc.ones(2).untyped_storage().data_ptr()
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        tc.ones(2).storage()


def test_volatile_and_reinforce():
    with pytest.warns(UserWarning, match="volatile was removed"):
        assert tc.ones(2).volatile is False
    with pytest.raises(tc.TensorcoreError, match="reinforce"):
        tc.ones(2).reinforce(1.0)
    with pytest.raises(RuntimeError, match="reinforce"):
        torch.ones(2).reinforce(1.0)


def test_empty_permuted_strides_match_torch():
    for size, layout in (((2, 3, 4), (0, 2, 1)), ((2, 3, 4), (2, 0, 1)), ((5,), (0,)), ((2, 3, 4, 5), (0, 2, 3, 1))):
        got, want = tc.empty_permuted(size, layout), torch.empty_permuted(size, layout)
        assert tuple(got.shape) == tuple(want.shape) and got.stride() == want.stride()
    assert tc.empty_permuted((2, 3), (1, 0), dtype=tc.float64).dtype == tc.float64
    with pytest.raises(tc.TensorcoreError, match="permutation"):
        tc.empty_permuted((2, 3), (0, 0))


@pytest.mark.parametrize("shape,q", [((10, 5), None), ((2, 8, 6), 3), ((6, 9), 4)])
def test_pca_and_svd_lowrank_agree_with_torch(shape, q):
    a = R.normal(size=shape)
    U, S, V = tc.pca_lowrank(tc.tensor(a), q=q)
    torch.manual_seed(0)
    Ut, St, Vt = torch.pca_lowrank(torch.tensor(a), q=q, niter=20)
    assert tuple(U.shape) == tuple(Ut.shape) and tuple(S.shape) == tuple(St.shape) and tuple(V.shape) == tuple(Vt.shape)
    # torch's values come from a randomized subspace, which can only fall short of the exact ones (ours)
    np.testing.assert_allclose(S.numpy()[..., 0], St.numpy()[..., 0], rtol=1e-6)
    assert np.all(S.numpy() >= St.numpy() - 1e-10)
    centered = a - a.mean(axis=-2, keepdims=True)
    k = S.shape[-1]
    np.testing.assert_allclose(np.abs(np.swapaxes(U.numpy(), -1, -2) @ centered @ V.numpy()),
                               np.abs(np.eye(k) * S.numpy()[..., None, :]), atol=1e-10)
    U, S, V = tc.svd_lowrank(tc.tensor(a), q=2, M=tc.tensor(a) * 0.5)
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(a * 0.5, compute_uv=False)[..., :2], rtol=1e-12)
    x = tc.tensor(a, requires_grad=True)
    assert tc.gradcheck(lambda x: tc.pca_lowrank(x, q=2)[1], (x,))


@pytest.mark.parametrize("bins,kwargs", [([3, 3], {}), (4, {"density": True}),
                                         ([2, 5], {"range": [0.0, 1.0, -1.0, 2.0]}), ([3, 2], {"weight": True}),
                                         ("edges", {})])
def test_histogramdd_matches_torch(bins, kwargs):
    pts = R.normal(size=(40, 2))
    kwargs = dict(kwargs)
    weights = R.uniform(0.5, 2.0, 40)
    tk, hk = dict(kwargs), dict(kwargs)
    if kwargs.get("weight"):
        tk["weight"], hk["weight"] = tc.tensor(weights), torch.tensor(weights)
    if bins == "edges":
        edges = [np.array([-3.0, -0.5, 0.0, 0.7, 3.0]), np.array([-2.0, 0.0, 2.0])]
        tb, hb = [tc.tensor(e) for e in edges], [torch.tensor(e) for e in edges]
    else:
        tb = hb = bins
    got, want = tc.histogramdd(tc.tensor(pts), tb, **tk), torch.histogramdd(torch.tensor(pts), hb, **hk)
    np.testing.assert_allclose(got.hist.numpy(), want.hist.numpy(), rtol=1e-12)
    assert len(got.bin_edges) == len(want.bin_edges)
    for a, b in zip(got.bin_edges, want.bin_edges):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-15)
    same = tc.histogramdd(tc.ones(3, 2), 2)
    np.testing.assert_array_equal(same.hist.numpy(), torch.histogramdd(torch.ones(3, 2), 2).hist.numpy())
    with pytest.raises(tc.TensorcoreError, match="histogramdd"):
        tc.histogramdd(tc.ones(3, 2), [2])
