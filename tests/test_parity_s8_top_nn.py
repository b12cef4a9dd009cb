"""torch's top-level neural-network functions with ATen's signatures (tensorcore/torch_top_nn.py): int reductions,
positional norms, embedding_bag's four outputs, native_layer_norm / native_batch_norm, the RNN cells. Values and
gradients against torch in float64 (and float32 values), gradcheck in float64, errors as tc.TensorcoreError."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")

R = np.random.default_rng(7)


def _both(*arrays, grad=True, dtype="float64"):
    tcs = [tc.tensor(a.astype(dtype), requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    ths = [torch.tensor(a.astype(dtype), requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    return tcs, ths


def _check(fn_tc, fn_torch, arrays, rtol=1e-10, float32=True):
    (tcs, ths) = _both(*arrays)
    got, want = fn_tc(*tcs), fn_torch(*ths)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=1e-12)
    weights = R.normal(size=tuple(want.shape))
    (got * tc.tensor(weights)).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    for a, b in zip(tcs, ths):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=1e-12)
    if float32:
        t32, h32 = _both(*arrays, grad=False, dtype="float32")
        got32, want32 = fn_tc(*t32), fn_torch(*h32)
        assert got32.dtype == tc.float32
        np.testing.assert_allclose(got32.numpy(), want32.numpy(), rtol=1e-4, atol=1e-5)


def _signs(n):
    return np.where(R.random(n) < 0.5, -1.0, 1.0)


LOSSES = [
    ("kl_div", lambda m, a, b, r: m.kl_div(a, b, r), lambda: (R.normal(size=(3, 4)), R.uniform(0.1, 1, (3, 4)))),
    ("kl_div log_target", lambda m, a, b, r: m.kl_div(a, b, r, log_target=True),
     lambda: (R.normal(size=(3, 4)), R.normal(size=(3, 4)))),
    ("bce_with_logits", lambda m, a, b, r: m.binary_cross_entropy_with_logits(a, b, None, None, r),
     lambda: (R.normal(size=(3, 4)), R.uniform(0, 1, (3, 4)))),
    ("hinge_embedding", lambda m, a, b, r: m.hinge_embedding_loss(a, b, 0.7, r),
     lambda: (R.normal(size=(3, 4)), _signs(12).reshape(3, 4))),
    ("poisson_nll", lambda m, a, b, r: m.poisson_nll_loss(a, b, True, False, 1e-8, r),
     lambda: (R.normal(size=(3, 4)), R.uniform(0, 3, (3, 4)))),
    ("poisson_nll full", lambda m, a, b, r: m.poisson_nll_loss(a, b, False, True, 1e-8, r),
     lambda: (R.uniform(0.5, 2, (3, 4)), R.uniform(1.5, 3, (3, 4)))),
]


@pytest.mark.parametrize("reduction", [0, 1, 2])
@pytest.mark.parametrize("name,fn,make", LOSSES, ids=[c[0] for c in LOSSES])
def test_two_input_losses_match_torch(name, fn, make, reduction):
    a, b = make()
    (x, y), (xt, yt) = _both(a, b)
    y.requires_grad_(False)
    yt.requires_grad_(False)
    got, want = fn(tc, x, y, reduction), fn(torch, xt, yt, reduction)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_three_input_losses_match_torch(reduction):
    a, b, c = R.normal(size=(5, 3)), R.normal(size=(5, 3)), R.normal(size=(5, 3))
    target = _signs(5)
    _check(lambda x, y, t: tc.cosine_embedding_loss(x, y, t, 0.2, reduction),
           lambda x, y, t: torch.cosine_embedding_loss(x, y, t, 0.2, reduction), [a, b, target])
    _check(lambda x, y, t: tc.margin_ranking_loss(x, y, t, 0.1, reduction),
           lambda x, y, t: torch.margin_ranking_loss(x, y, t, 0.1, reduction), [a[:, 0], b[:, 0], target])
    _check(lambda x, y, z: tc.triplet_margin_loss(x, y, z, 1.0, 2.0, 1e-6, True, reduction),
           lambda x, y, z: torch.triplet_margin_loss(x, y, z, 1.0, 2.0, 1e-6, True, reduction), [a, b, c])


def test_loss_defaults_and_gradcheck():
    a, b = R.normal(size=(3, 4)), R.uniform(0.1, 1, (3, 4))
    got = tc.kl_div(tc.tensor(a), tc.tensor(b))
    want = torch.kl_div(torch.tensor(a), torch.tensor(b))  # (torch's binding: no reduction when left out)
    assert tuple(got.shape) == tuple(want.shape) == (3, 4)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    s = _signs(3)
    for fn in (lambda m, x, y: m.binary_cross_entropy_with_logits(x, y), lambda m, x, y: m.hinge_embedding_loss(x, y),
               lambda m, x, y: m.cosine_embedding_loss(x, y, m.tensor(s)),
               lambda m, x, y: m.margin_ranking_loss(x[0], y[0], m.tensor(s[:1]).expand(4)),
               lambda m, x, y: m.triplet_margin_loss(x, y, y * 2)):
        got, want = fn(tc, tc.tensor(a), tc.tensor(b)), fn(torch, torch.tensor(a), torch.tensor(b))
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    x = tc.tensor(a, requires_grad=True)
    assert tc.gradcheck(lambda x: tc.binary_cross_entropy_with_logits(x, tc.tensor(b), tc.tensor(b),
                                                                      tc.ones(4, dtype=tc.float64), 2),
                        (x,))
    assert tc.gradcheck(lambda x: tc.kl_div(x, tc.tensor(b), 1), (x,))
    target = tc.tensor(_signs(3))
    assert tc.gradcheck(lambda x, y: tc.cosine_embedding_loss(x, y, target, 0.1, 0),
                        (x, tc.tensor(R.normal(size=(3, 4)), requires_grad=True)))
    with pytest.raises(tc.TensorcoreError, match="reduction"):
        tc.kl_div(x, tc.tensor(b), "mean")
    with pytest.raises(tc.TensorcoreError, match="reduction"):
        tc.hinge_embedding_loss(x, tc.tensor(b), 1.0, 3)


def test_bce_with_logits_weights_match_torch():
    a, b, w, pw = R.normal(size=(3, 4)), R.uniform(0, 1, (3, 4)), R.uniform(0.5, 2, (4,)), R.uniform(0.5, 2, (4,))
    (x, t), (xt, tt) = _both(a, b)
    got = tc.binary_cross_entropy_with_logits(x, t.detach(), tc.tensor(w), tc.tensor(pw), 1)
    want = torch.binary_cross_entropy_with_logits(xt, tt.detach(), torch.tensor(w), torch.tensor(pw), 1)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    got.backward()
    want.backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_pdist_matches_torch():
    a = R.normal(size=(5, 3))
    for p in (2.0, 1.0, 3.0):
        _check(lambda x, p=p: tc.pdist(x, p), lambda x, p=p: torch.pdist(x, p), [a])
    assert tc.gradcheck(lambda x: tc.pdist(x), (tc.tensor(a, requires_grad=True),))


def test_instance_norm_positional_signature():
    a, w, b = R.normal(size=(2, 3, 5)), R.uniform(0.5, 2, 3), R.normal(size=3)
    _check(lambda x, w, b: tc.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
           lambda x, w, b: torch.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False), [a, w, b])
    rm, rv = tc.zeros(3, dtype=tc.float64), tc.ones(3, dtype=tc.float64)
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    tc.instance_norm(tc.tensor(a), None, None, rm, rv, True, 0.1, 1e-5, False)
    torch.instance_norm(torch.tensor(a), None, None, rmt, rvt, True, 0.1, 1e-5, False)
    np.testing.assert_allclose(rm.numpy(), rmt.numpy(), rtol=1e-10)
    np.testing.assert_allclose(rv.numpy(), rvt.numpy(), rtol=1e-10)


def test_native_layer_norm_and_batch_norm():
    a, w, b = R.normal(size=(2, 3, 4)), R.uniform(0.5, 2, 4), R.normal(size=4)
    got = tc.native_layer_norm(tc.tensor(a), [4], tc.tensor(w), tc.tensor(b), 1e-5)
    want = torch.native_layer_norm(torch.tensor(a), [4], torch.tensor(w), torch.tensor(b), 1e-5)
    for g, t in zip(got, want):
        assert tuple(g.shape) == tuple(t.shape)
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)
    x = R.normal(size=(4, 3, 2))
    for training in (True, False):
        rm, rv = tc.zeros(3, dtype=tc.float64), tc.ones(3, dtype=tc.float64)
        rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
        got = tc.native_batch_norm(tc.tensor(x), None, None, rm, rv, training, 0.1, 1e-5)
        want = torch.native_batch_norm(torch.tensor(x), None, None, rmt, rvt, training, 0.1, 1e-5)
        for g, t in zip(got, want):
            assert tuple(g.shape) == tuple(t.shape)
            np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(rm.numpy(), rmt.numpy(), rtol=1e-10)
        np.testing.assert_allclose(rv.numpy(), rvt.numpy(), rtol=1e-10)
    xw = tc.tensor(a, requires_grad=True)
    assert tc.gradcheck(lambda x: tc.native_layer_norm(x, (3, 4), None, None, 1e-5)[0], (xw,))


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("variant", ["plain", "last_offset", "padding"])
def test_embedding_bag_four_outputs_match_torch(mode, variant):
    w = R.normal(size=(10, 3))
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = np.array([0, 4, 8]) if variant == "last_offset" else np.array([0, 3])
    extra = (False, None, True) if variant == "last_offset" else (False, None, False, 2) if variant == "padding" \
        else ()
    wt, wh = tc.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    got = tc.embedding_bag(wt, tc.tensor(idx), tc.tensor(offsets), False, mode, *extra)
    want = torch.embedding_bag(wh, torch.tensor(idx), torch.tensor(offsets), False, mode, *extra)
    assert len(got) == len(want) == 4
    np.testing.assert_allclose(got[0].detach().numpy(), want[0].detach().numpy(), rtol=1e-12)
    for g, t in zip(got[1:], want[1:]):
        assert g.dtype == tc.int64 and g.tolist() == t.tolist()
    got[0].sum().backward()
    want[0].sum().backward()
    np.testing.assert_allclose(wt.grad.numpy(), wh.grad.numpy(), rtol=1e-12)


def _cell_arrays(gates, n=3, i=4, h=5):
    return [R.normal(size=(n, i)), R.normal(size=(n, h)), R.normal(size=(gates * h, i)) * 0.5,
            R.normal(size=(gates * h, h)) * 0.5, R.normal(size=gates * h), R.normal(size=gates * h)]


@pytest.mark.parametrize("name,gates", [("rnn_tanh_cell", 1), ("rnn_relu_cell", 1), ("gru_cell", 3)])
def test_rnn_and_gru_cells_match_torch(name, gates):
    arrays = _cell_arrays(gates)
    _check(getattr(tc, name), getattr(torch, name), arrays)
    _check(lambda *a: getattr(tc, name)(*a), lambda *a: getattr(torch, name)(*a), arrays[:4])  # no biases
    tcs = [tc.tensor(a, requires_grad=True) for a in arrays]
    assert tc.gradcheck(getattr(tc, name), tuple(tcs))


def test_lstm_cell_matches_torch_and_nn_lstmcell():
    x, h, wi, wh, bi, bh = _cell_arrays(4)
    c = R.normal(size=h.shape)
    (tx, th, tc_, twi, twh, tbi, tbh), _ = _both(x, h, c, wi, wh, bi, bh)
    got = tc.lstm_cell(tx, (th, tc_), twi, twh, tbi, tbh)
    want = torch.lstm_cell(*[torch.tensor(a) for a in (x,)], (torch.tensor(h), torch.tensor(c)),
                           *[torch.tensor(a) for a in (wi, wh, bi, bh)])
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), t.numpy(), rtol=1e-10)
    cell = tc.nn.LSTMCell(4, 5).double()
    with tc.no_grad():
        for p, a in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), (wi, wh, bi, bh)):
            p.copy_(tc.tensor(a))
    for g, m in zip(got, cell(tc.tensor(x), (tc.tensor(h), tc.tensor(c)))):
        np.testing.assert_allclose(g.detach().numpy(), m.detach().numpy(), rtol=1e-12)
    inputs = tuple(tc.tensor(a, requires_grad=True) for a in (x, h, c, wi, wh, bi, bh))
    assert tc.gradcheck(lambda x, h, c, *w: tc.lstm_cell(x, (h, c), *w)[0] + tc.lstm_cell(x, (h, c), *w)[1], inputs)


def test_cell_errors():
    x, h, wi, wh = (tc.tensor(a) for a in _cell_arrays(1)[:4])
    with pytest.raises(tc.TensorcoreError, match="rnn_tanh_cell"):
        tc.rnn_tanh_cell(x, h, wi, tc.ones(5, 6, dtype=tc.float64))
    with pytest.raises(tc.TensorcoreError, match="lstm_cell"):
        tc.lstm_cell(x, h, wi, wh)
    with pytest.raises(tc.TensorcoreError, match="gru_cell"):
        tc.gru_cell(x[0], h, wi, wh)


SEQUENCE_CASES = [("lstm", dict(num_layers=2, bidirectional=True)), ("lstm", dict(batch_first=True, bias=False)),
                  ("lstm", dict(proj_size=2)), ("gru", dict(num_layers=2)), ("gru", dict(bidirectional=True)),
                  ("rnn_tanh", dict(num_layers=1)), ("rnn_relu", dict(num_layers=2, bias=False))]


@pytest.mark.parametrize("name,options", SEQUENCE_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(SEQUENCE_CASES)])
def test_whole_sequence_rnns_on_nn_module_weights_match_torch(name, options):
    options = dict(options)
    layers, bidirectional = options.get("num_layers", 1), options.get("bidirectional", False)
    batch_first, bias, proj = options.get("batch_first", False), options.get("bias", True), options.get("proj_size", 0)
    torch.manual_seed(1)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN, "rnn_relu": torch.nn.RNN}[name]
    extra = {"nonlinearity": "relu"} if name == "rnn_relu" else {"proj_size": proj} if name == "lstm" else {}
    module = cls(3, 4, layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional, **extra).double()
    dirs = 2 if bidirectional else 1
    x = R.normal(size=(2, 5, 3) if batch_first else (5, 2, 3))
    h0 = R.normal(size=(layers * dirs, 2, proj or 4))
    c0 = R.normal(size=(layers * dirs, 2, 4))
    weights = [p.detach().numpy() for p in module.parameters()]
    tw = [tc.tensor(w, requires_grad=True) for w in weights]
    hw = [torch.tensor(w, requires_grad=True) for w in weights]
    xs, xt = tc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hx_tc = (tc.tensor(h0), tc.tensor(c0)) if name == "lstm" else tc.tensor(h0)
    hx_t = (torch.tensor(h0), torch.tensor(c0)) if name == "lstm" else torch.tensor(h0)
    args = (bias, layers, 0.0, False, bidirectional, batch_first)
    got = getattr(tc, name)(xs, hx_tc, tw, *args)
    want = getattr(torch, name)(xt, hx_t, hw, *args)
    assert len(got) == len(want)
    total, total_t = 0, 0
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-10, atol=1e-12)
        weights_out = R.normal(size=tuple(w.shape))
        total = total + (g * tc.tensor(weights_out)).sum()
        total_t = total_t + (w * torch.tensor(weights_out)).sum()
    total.backward()
    total_t.backward()
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for a, b in zip(tw, hw):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_whole_sequence_rnn_errors():
    w = [tc.ones(16, 3, dtype=tc.float64), tc.ones(16, 4, dtype=tc.float64)]
    h = tc.zeros(1, 2, 4, dtype=tc.float64)
    with pytest.raises(tc.TensorcoreError, match="3-d"):
        tc.lstm(tc.ones(5, 3, dtype=tc.float64), (h, h), w, False, 1, 0.0, False, False, False)
    with pytest.raises(tc.TensorcoreError, match="weights"):
        tc.lstm(tc.ones(5, 2, 3, dtype=tc.float64), (h, h), w, True, 1, 0.0, False, False, False)
    with pytest.raises(tc.TensorcoreError, match="pair"):
        tc.lstm(tc.ones(5, 2, 3, dtype=tc.float64), h, w, False, 1, 0.0, False, False, False)
