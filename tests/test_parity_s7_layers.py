"""Session 7 parity with PyTorch for layers with weights copied from torch (float64): convolutions with
padding_mode reflect / replicate / circular (also with padding='same'), BatchNorm1d with momentum=None
(cumulative averages), and the conv reprs (output_padding, padding_mode, 1-d padding)."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X1, X2, X3 = RNG.standard_normal((2, 4, 9)), RNG.standard_normal((2, 4, 7, 6)), RNG.standard_normal((1, 4, 4, 5, 3))


def _check(build, x, train=True, steps=1):
    results, state = [], {}
    for lib in (torch, tc):
        m = build(lib).double()
        if lib is tc:
            m.load_state_dict({k: tc.tensor(v) for k, v in state.items()})
        else:
            state.update({k: v.detach().numpy().copy() for k, v in m.state_dict().items()})
        m.train(train)
        inp = lib.tensor(x.copy(), requires_grad=True)
        for _ in range(steps):
            out = m(inp)
        (out * lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))).sum().backward()
        results.append((out.detach().numpy(), inp.grad.numpy(),
                        {n: p.grad.numpy() for n, p in m.named_parameters()},
                        {n: b.numpy() for n, b in m.named_buffers()}, repr(m)))
    (o_t, g_t, p_t, b_t, r_t), (o_c, g_c, p_c, b_c, r_c) = results
    np.testing.assert_allclose(o_c, o_t, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(g_c, g_t, rtol=1e-9, atol=1e-11)
    assert p_c.keys() == p_t.keys() and b_c.keys() == b_t.keys()
    for k in p_t:
        np.testing.assert_allclose(p_c[k], p_t[k], rtol=1e-9, atol=1e-11)
    for k in b_t:
        np.testing.assert_allclose(b_c[k], b_t[k], rtol=1e-9, atol=1e-11)
    return r_t, r_c


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, 2, "same"])
def test_conv_padding_modes(mode, padding):
    for cls, x in (("Conv1d", X1), ("Conv2d", X2)):
        r_t, r_c = _check(lambda lib, cls=cls: getattr(lib.nn, cls)(4, 6, 3, padding=padding, padding_mode=mode,
                                                                    dilation=2 if padding == "same" else 1), x)
        assert r_c == r_t
    _check(lambda lib: lib.nn.Conv3d(4, 2, 2, padding=1, padding_mode=mode), X3)


def test_transposed_conv_refuses_other_padding_modes():
    with pytest.raises(ValueError):
        tc.nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect")
    with pytest.raises(ValueError):
        tc.nn.Conv2d(4, 6, 3, padding_mode="mirror")


@pytest.mark.parametrize("cls,x", [("BatchNorm1d", X1), ("BatchNorm1d", X1[:, :, 0]), ("BatchNorm2d", X2)])
def test_batchnorm_momentum_none_is_a_cumulative_average(cls, x):
    _check(lambda lib: getattr(lib.nn, cls)(4, momentum=None), x, steps=3)


def test_conv_reprs_match_torch():
    for build in (lambda nn: nn.Conv1d(3, 4, 3), lambda nn: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1),
                  lambda nn: nn.ConvTranspose1d(3, 4, 3, stride=2, output_padding=1, groups=1),
                  lambda nn: nn.Conv3d(4, 4, 2, groups=2, bias=False),
                  lambda nn: nn.Conv2d(3, 4, 3, padding="same", padding_mode="circular")):
        assert repr(build(tc.nn)) == repr(build(torch.nn))


BAGS = [
    (dict(mode="mean"), [1, 2, 4, 5, 4, 3, 2, 9], [0, 4], None),
    (dict(mode="sum"), [1, 2, 4, 5, 4, 3, 2, 9], [0, 4, 4], None),  # an empty bag
    (dict(mode="max"), [1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 3], None),
    (dict(mode="mean", padding_idx=2), [1, 2, 4, 5, 4, 3, 2, 9], [0, 4], None),
    (dict(mode="sum", include_last_offset=True), [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 5, 8], None),
    (dict(mode="sum"), [1, 2, 4, 5, 4, 3, 2, 9], [0, 4], np.linspace(0.1, 0.8, 8)),
    (dict(mode="mean"), [[1, 2, 4], [5, 4, 3]], None, None),
    (dict(mode="max", padding_idx=4), [[1, 2, 4], [4, 4, 4]], None, None),
    (dict(mode="mean", max_norm=1.0), [1, 2, 4, 5, 4, 3, 2, 9], [0, 4], None),
]


@pytest.mark.parametrize("kwargs,idx,offsets,weights", BAGS)
def test_embedding_bag_matches_torch(kwargs, idx, offsets, weights):
    w0 = np.random.default_rng(0).standard_normal((10, 3))
    results = []
    for lib in (torch, tc):
        m = lib.nn.EmbeddingBag(10, 3, **kwargs).double()
        m.load_state_dict({"weight": lib.tensor(w0)})
        p = lib.tensor(weights, requires_grad=True) if weights is not None else None
        out = m(lib.tensor(idx), lib.tensor(offsets) if offsets is not None else None, per_sample_weights=p)
        (out * lib.tensor(np.arange(out.numel()).reshape(tuple(out.shape)) / 7.0)).sum().backward()
        results.append([out.detach().numpy(), m.weight.grad.numpy(), m.weight.detach().numpy(),
                        p.grad.numpy() if p is not None else np.zeros(1), repr(m)])
    assert results[1].pop() == results[0].pop()
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


NORMED = [("weight_norm", "Linear", 0), ("weight_norm", "Conv2d", 1), ("weight_norm", "ConvTranspose2d", None),
          ("spectral_norm", "Linear", None), ("spectral_norm", "Conv2d", None),
          ("spectral_norm", "ConvTranspose2d", None)]


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("kind,cls,dim", NORMED)
def test_weight_and_spectral_norm_train_as_torchs(kind, cls, dim):
    args = (6, 5) if cls == "Linear" else (3, 2, 3)
    x = X2[:, :3, :6, :6] if cls != "Linear" else X2[:, 0, 0, :6]
    results, state = [], {}
    for lib in (torch, tc):
        m = getattr(lib.nn, cls)(*args).double()
        m = getattr(lib.nn.utils, kind)(m, dim=dim) if kind == "weight_norm" else lib.nn.utils.spectral_norm(m)
        if lib is torch:
            state.update({k: v.detach().numpy().copy() for k, v in m.state_dict().items()})
        else:
            m.load_state_dict({k: tc.tensor(v) for k, v in state.items()})
        inp = lib.tensor(x.copy(), requires_grad=True)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            y = m(inp)
            (y * y).mean().backward()
            opt.step()
        m.eval()
        results.append([y.detach().numpy(), inp.grad.numpy(), m(inp).detach().numpy()]
                       + [v.detach().numpy() for _, v in sorted(m.state_dict().items())]
                       + [sorted(m.state_dict()), sorted(n for n, _ in m.named_parameters())])
    assert results[1][-2:] == results[0][-2:]
    for a, b in zip(results[0][:-2], results[1][:-2]):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-10)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_remove_norms_and_total_norm():
    for lib in (torch, tc):
        m = lib.nn.utils.weight_norm(lib.nn.Linear(3, 2))
        w = m.weight.detach().numpy().copy()
        lib.nn.utils.remove_weight_norm(m)
        assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight"]
        np.testing.assert_allclose(m.weight.detach().numpy(), w)
        m = lib.nn.utils.spectral_norm(lib.nn.Linear(3, 2))
        m(lib.ones(1, 3))
        m.eval()
        y = m(lib.ones(1, 3)).detach().numpy()
        lib.nn.utils.remove_spectral_norm(m)
        assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight"] and not list(m.buffers())
        np.testing.assert_allclose(m(lib.ones(1, 3)).detach().numpy(), y)
    grads = []
    for lib in (torch, tc):
        ps = [lib.nn.Parameter(lib.ones(3)), lib.nn.Parameter(lib.ones(2) * 2)]
        for p in ps:
            p.grad = p.detach() * 3
        total = lib.nn.utils.get_total_norm([p.grad for p in ps], norm_type=3.0)
        lib.nn.utils.clip_grads_with_norm_(ps, 1.0, total)
        grads.append([float(total)] + [g for p in ps for g in p.grad.tolist()])
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


@pytest.mark.parametrize("cls,x", [("BatchNorm3d", X3), ("SyncBatchNorm", X2), ("SyncBatchNorm", X1)])
def test_batchnorm3d_and_syncbatchnorm(cls, x):
    for train in (True, False):
        _check(lambda lib: getattr(lib.nn, cls)(4), x, train=train, steps=2)
    model = tc.nn.Sequential(tc.nn.BatchNorm2d(4))
    assert tc.nn.SyncBatchNorm.convert_sync_batchnorm(model) is model


def test_more_modules_match_torch():
    x = RNG.standard_normal((3, 5))
    target = np.array([1, 0, 4])
    multilabel = np.array([[3, 0, -1, 1, 1], [1, 2, 4, -1, 0], [0, -1, 0, 0, 0]])
    results = []
    for lib in (torch, tc):
        out = []
        inp = lib.tensor(x, requires_grad=True)
        loss = lib.nn.MultiMarginLoss(p=2, margin=0.5)(inp, lib.tensor(target)) + \
            lib.nn.MultiLabelMarginLoss()(inp, lib.tensor(multilabel))
        loss.backward()
        out += [loss, inp.grad, lib.nn.ChannelShuffle(2)(lib.tensor(X2))]
        pooled, idx = lib.nn.MaxPool1d(2, return_indices=True)(lib.tensor(X1))
        out.append(lib.nn.MaxUnpool1d(2)(pooled, idx))
        lazy = lib.nn.LazyLinear(3).double()
        y = lazy(lib.tensor(x))
        out.append(lib.tensor(list(y.shape) + list(lazy.weight.shape)))
        results.append([t.detach().numpy() for t in out] + [repr(lib.nn.ChannelShuffle(2))])
    assert results[1].pop() == results[0].pop()
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_affine_grid_and_grid_sample_match_torch(align_corners, mode, padding_mode):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((2, 3, 5, 6))
    theta0 = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, -0.2]], [[1.3, -0.4, 0.3], [0.2, 0.8, 0.5]]])
    g0 = rng.uniform(-1.4, 1.4, (2, 4, 3, 2))
    results = []
    for lib in (torch, tc):
        F = lib.nn.functional
        theta, x, g = (lib.tensor(a, requires_grad=True) for a in (theta0, x0, g0))
        grid = F.affine_grid(theta, (2, 3, 4, 5), align_corners=align_corners)
        out = F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        out2 = F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        weights = [lib.tensor(np.linspace(-1, 1, o.numel()).reshape(tuple(o.shape))) for o in (out, out2)]
        ((out * weights[0]).sum() + (out2 * weights[1]).sum()).backward()
        found = [grid, out, out2, x.grad]
        if mode == "bilinear":  # (nearest: torch's grid gradient is zeros, tensorcore's None)
            found += [theta.grad, g.grad]
        results.append([t.detach().numpy() for t in found])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-10)


def test_spatial_transformer_step_matches_torch():
    """The spatial transformer tutorial's pattern: a localization net predicts theta, the input is resampled."""
    rng = np.random.default_rng(1)
    x0, y0 = rng.standard_normal((3, 1, 8, 8)), np.array([0, 2, 1])
    results, state = [], {}
    for lib in (torch, tc):
        nn, F = lib.nn, lib.nn.functional
        loc = nn.Sequential(nn.Flatten(), nn.Linear(64, 6))
        head = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
        model = nn.ModuleDict({"loc": loc, "head": head}).double()
        if lib is torch:
            with torch.no_grad():
                loc[1].weight.zero_()
                loc[1].bias.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float64))
            state.update({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
        else:
            model.load_state_dict({k: tc.tensor(v) for k, v in state.items()})
        opt = lib.optim.SGD(model.parameters(), lr=0.05)
        losses = []
        for _ in range(3):
            x = lib.tensor(x0)
            theta = loc(x).view(-1, 2, 3)
            warped = F.grid_sample(x, F.affine_grid(theta, x.size(), align_corners=False), align_corners=False)
            loss = F.cross_entropy(head(warped), lib.tensor(y0))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        results.append(losses + [float(p.detach().sum()) for p in model.parameters()])
    np.testing.assert_allclose(results[1], results[0], rtol=1e-9)


def test_lp_pool_and_triplet_with_distance_match_torch():
    x0 = RNG.random((2, 3, 6, 6)) + 0.1
    results = []
    for lib in (torch, tc):
        t = lib.tensor(x0, requires_grad=True)
        a = lib.nn.LPPool2d(2, 3, stride=2)(t)
        b = lib.nn.functional.lp_pool1d(t[:, :, 0], 3, 2)
        loss = lib.nn.TripletMarginWithDistanceLoss(margin=0.5, swap=True)(t[0, 0], t[1, 0], t[0, 1])
        (a.sum() + b.sum() + loss).backward()
        results.append([a.detach().numpy(), b.detach().numpy(), loss.detach().numpy(), t.grad.numpy()])
    for x, y in zip(*results):
        np.testing.assert_allclose(y, x, rtol=1e-10)
    assert repr(tc.nn.LPPool2d(2, 3)) == repr(torch.nn.LPPool2d(2, 3))


def test_gumbel_softmax_samples_and_straight_through_gradient():
    tc.manual_seed(0)
    logits = tc.randn(4, 5, requires_grad=True)
    y = tc.nn.functional.gumbel_softmax(logits, tau=0.5, hard=True)
    assert y.sum(1).tolist() == [1.0] * 4 and int((y == 1).sum()) == 4
    (y * tc.arange(5.0)).sum().backward()
    assert float(logits.grad.abs().sum()) > 0
    soft = tc.nn.functional.gumbel_softmax(logits.detach(), tau=2.0)
    np.testing.assert_allclose(soft.sum(1).numpy(), np.ones(4), rtol=1e-6)
    frequencies = tc.nn.functional.gumbel_softmax(tc.tensor([[0.0, 2.0, 0.0]]).expand(20000, 3), hard=True).mean(0)
    np.testing.assert_allclose(frequencies.numpy(), tc.softmax(tc.tensor([0.0, 2.0, 0.0]), 0).numpy(), atol=0.015)


@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3, 3)])
@pytest.mark.parametrize("kwargs", [dict(label_smoothing=0.2), dict(weight=[1.0, 2.0, 0.5, 1.0], label_smoothing=0.2),
                                    dict(weight=[1.0, 2.0, 0.5, 1.0], label_smoothing=0.3, ignore_index=2)])
def test_cross_entropy_with_class_weights_and_label_smoothing(shape, kwargs):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(shape)
    y0 = rng.integers(0, 4, (shape[0],) + shape[2:])
    results = []
    for lib in (torch, tc):
        k = dict(kwargs, **({"weight": lib.tensor(kwargs["weight"], dtype=lib.float64)} if "weight" in kwargs else {}))
        x = lib.tensor(x0, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(y0), **k)
        loss.backward()
        results.append([loss.detach().numpy(), x.grad.numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_cross_entropy_of_one_unbatched_sample():
    x0 = np.random.default_rng(1).standard_normal(4)
    for target in (np.array(2), np.exp(x0[::-1]) / np.exp(x0[::-1]).sum()):
        results = []
        for lib in (torch, tc):
            x = lib.tensor(x0, requires_grad=True)
            loss = lib.nn.functional.cross_entropy(x, lib.tensor(target))
            loss.backward()
            results.append([loss.detach().numpy(), x.grad.numpy()])
        for a, b in zip(*results):
            np.testing.assert_allclose(b, a, rtol=1e-10)


@pytest.mark.parametrize("kwargs", [dict(size=(4, 5), mode="bilinear"), dict(scale_factor=0.5, mode="bilinear"),
                                    dict(scale_factor=0.5, mode="bicubic"), dict(size=(3, 7), mode="bicubic"),
                                    dict(size=(14, 20), mode="bilinear"), dict(size=(14, 20), mode="bicubic"),
                                    dict(size=(4, 5), mode="bilinear", align_corners=True),
                                    dict(scale_factor=(0.3, 0.7), mode="bilinear")])
def test_interpolate_antialias_matches_torch(kwargs):
    x0 = np.random.default_rng(0).standard_normal((1, 2, 9, 11))
    results = []
    for lib in (torch, tc):
        x = lib.tensor(x0, requires_grad=True)
        out = lib.nn.functional.interpolate(x, antialias=True, **kwargs)
        (out * out).sum().backward()
        results.append([out.detach().numpy(), x.grad.numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bias_kv,zero_attn", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("masks", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_bias_kv_and_zero_attn(bias_kv, zero_attn, masks, need_weights):
    rng = np.random.default_rng(0)
    q0, k0, v0 = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 7, 8)), rng.standard_normal((2, 7, 8))
    padding = np.zeros((2, 7), bool)
    padding[0, 5:] = True
    causal = np.triu(np.ones((5, 7), bool), 3)
    results, state = [], {}
    for lib in (torch, tc):
        m = lib.nn.MultiheadAttention(8, 2, batch_first=True, add_bias_kv=bias_kv, add_zero_attn=zero_attn).double()
        if lib is torch:
            state.update({k: v.detach().numpy().copy() for k, v in m.state_dict().items()})
        else:
            m.load_state_dict({k: tc.tensor(v) for k, v in state.items()})
        q, k, v = (lib.tensor(a, requires_grad=True) for a in (q0, k0, v0))
        kwargs = dict(key_padding_mask=lib.tensor(padding), attn_mask=lib.tensor(causal)) if masks else {}
        out, weights = m(q, k, v, need_weights=need_weights, **kwargs)
        (out * out).sum().backward()
        found = [out, q.grad, k.grad, v.grad] + [p.grad for _, p in sorted(m.named_parameters())]
        if weights is not None:
            found.append(weights)
        results.append([t.detach().numpy() for t in found])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-11)
