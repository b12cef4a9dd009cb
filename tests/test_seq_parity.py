"""Parity with PyTorch in float64: PyTorch's weights copied in through state_dict, then the forward and
every input and parameter gradient compared, for the sequence modules (RNN/LSTM/GRU, attention,
Transformer layers, LayerNorm/RMSNorm/Embedding) and SDPA."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.nn import functional as F

torch = pytest.importorskip("torch")

TOL = {"rtol": 1e-9, "atol": 1e-11}


def _tc(a, grad=True):
    return tc.tensor(np.array(a), dtype=tc.float64, requires_grad=grad)


def _copy_weights(torch_module, module):
    state = {k: v.detach().numpy().copy() for k, v in torch_module.state_dict().items()}
    module.load_state_dict(state)


def _flat(out):
    """Every tensor in a (nested) output, in order."""
    if out is None:
        return []
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    if hasattr(out, "data") and hasattr(out, "batch_sizes"):  # PackedSequence
        return [out.data]
    return [out]


def _check(torch_module, module, torch_inputs, tc_inputs, seed=0, call=None):
    """Same weights; compare outputs, then backward of a random projection, input and parameter grads."""
    torch_module.double()
    module.double()
    _copy_weights(torch_module, module)
    call = call or (lambda m, xs: m(*xs))
    t_out, c_out = _flat(call(torch_module, torch_inputs)), _flat(call(module, tc_inputs))
    assert len(t_out) == len(c_out)
    rng = np.random.default_rng(seed)
    t_loss, c_loss = 0, 0
    for a, b in zip(t_out, c_out):
        np.testing.assert_allclose(b.numpy(), a.detach().numpy(), **TOL)
        w = rng.standard_normal(tuple(a.shape))
        t_loss = t_loss + (a * torch.tensor(w)).sum()
        c_loss = c_loss + (b * tc.tensor(w, dtype=tc.float64)).sum()
    t_loss.backward()
    c_loss.backward()
    for a, b in zip(torch_inputs, tc_inputs):
        if isinstance(a, torch.Tensor) and a.requires_grad:
            np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **TOL)
    t_params = dict(torch_module.named_parameters())
    c_params = dict(module.named_parameters())
    assert set(t_params) == set(c_params)
    for name, p in t_params.items():
        np.testing.assert_allclose(c_params[name].grad.numpy(), p.grad.numpy(), err_msg=name, **TOL)


def _pair(shape, rng):
    a = rng.standard_normal(shape)
    return torch.tensor(a, requires_grad=True), _tc(a)


# --- recurrent layers -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_rnn_multilayer_bidirectional(mode, batch_first):
    rng = np.random.default_rng(1)
    kw = dict(num_layers=2, bidirectional=True, batch_first=batch_first)
    torch_m, ours = getattr(torch.nn, mode)(3, 5, **kw), getattr(nn, mode)(3, 5, **kw)
    tx, cx = _pair((2, 4, 3) if batch_first else (4, 2, 3), rng)
    th, ch = _pair((4, 2, 5), rng)
    if mode == "LSTM":
        tc0, cc0 = _pair((4, 2, 5), rng)
        _check(torch_m, ours, [tx, (th, tc0)], [cx, (ch, cc0)])
    else:
        _check(torch_m, ours, [tx, th], [cx, ch])


def test_rnn_relu_no_bias_unbatched():
    rng = np.random.default_rng(2)
    torch_m = torch.nn.RNN(3, 4, nonlinearity="relu", bias=False)
    ours = nn.RNN(3, 4, nonlinearity="relu", bias=False)
    tx, cx = _pair((5, 3), rng)
    _check(torch_m, ours, [tx], [cx])


def test_lstm_proj_size():
    rng = np.random.default_rng(3)
    torch_m = torch.nn.LSTM(3, 6, num_layers=2, proj_size=2, bidirectional=True)
    ours = nn.LSTM(3, 6, num_layers=2, proj_size=2, bidirectional=True)
    assert ours.weight_hr_l1_reverse.shape == (2, 6) and ours.weight_ih_l1.shape == (24, 4)
    tx, cx = _pair((4, 2, 3), rng)
    th, ch = _pair((4, 2, 2), rng)
    tc0, cc0 = _pair((4, 2, 6), rng)
    _check(torch_m, ours, [tx, (th, tc0)], [cx, (ch, cc0)])


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences_of_unequal_lengths(mode, enforce_sorted):
    rng = np.random.default_rng(4)
    lengths = [5, 3, 2] if enforce_sorted else [2, 5, 3]
    torch_m = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    ours = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    tx, cx = _pair((3, 5, 3), rng)

    def run(lib, rnn_utils):
        def call(m, xs):
            packed = rnn_utils.pack_padded_sequence(xs[0], lengths, batch_first=True, enforce_sorted=enforce_sorted)
            out, state = m(packed)
            padded, lens = rnn_utils.pad_packed_sequence(out, batch_first=True)
            assert list(np.asarray(lens)) == lengths
            return padded, state
        return call

    torch_m.double()
    ours.double()
    _copy_weights(torch_m, ours)
    t_out = _flat(run(torch, torch.nn.utils.rnn)(torch_m, [tx]))
    c_out = _flat(run(tc, nn.utils.rnn)(ours, [cx]))
    rng2 = np.random.default_rng(0)
    tl = cl = 0
    for a, b in zip(t_out, c_out):
        np.testing.assert_allclose(b.numpy(), a.detach().numpy(), **TOL)
        w = rng2.standard_normal(tuple(a.shape))
        tl, cl = tl + (a * torch.tensor(w)).sum(), cl + (b * tc.tensor(w, dtype=tc.float64)).sum()
    tl.backward()
    cl.backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), **TOL)
    for name, p in torch_m.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[name].grad.numpy(), p.grad.numpy(), **TOL)


def test_pad_sequence_matches_torch():
    rng = np.random.default_rng(5)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 1, 4)]
    for kw in ({}, {"batch_first": True, "padding_value": -1.0}, {"padding_side": "left"}):
        want = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], **kw).numpy()
        got = nn.utils.rnn.pad_sequence([_tc(s, False) for s in seqs], **kw).numpy()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(cell):
    rng = np.random.default_rng(6)
    torch_m, ours = getattr(torch.nn, cell)(3, 4), getattr(nn, cell)(3, 4)
    tx, cx = _pair((2, 3), rng)
    th, ch = _pair((2, 4), rng)
    if cell == "LSTMCell":
        tcc, ccc = _pair((2, 4), rng)
        _check(torch_m, ours, [tx, (th, tcc)], [cx, (ch, ccc)])
    else:
        _check(torch_m, ours, [tx, th], [cx, ch])


# --- attention ----------------------------------------------------------------------------------------


def _masks(rng, n, heads, length, source):
    bool_mask = rng.random((length, source)) < 0.3
    bool_mask[:, 0] = False  # every query keeps at least one key
    padding = np.zeros((n, source), dtype=bool)
    padding[0, -2:] = True
    return {
        "none": {},
        "bool attn_mask": {"attn_mask": bool_mask},
        "float attn_mask": {"attn_mask": rng.standard_normal((length, source))},
        "3-D attn_mask": {"attn_mask": rng.standard_normal((n * heads, length, source))},
        "key_padding_mask": {"key_padding_mask": padding},
        "both": {"attn_mask": bool_mask, "key_padding_mask": padding},
    }


@pytest.mark.parametrize("kind", ["none", "bool attn_mask", "float attn_mask", "3-D attn_mask", "key_padding_mask",
                                  "both"])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_multihead_attention_masks(kind, need_weights, average):
    rng = np.random.default_rng(7)
    masks = _masks(rng, 2, 2, 3, 4)[kind]
    torch_m = torch.nn.MultiheadAttention(4, 2, batch_first=True)
    ours = nn.MultiheadAttention(4, 2, batch_first=True)
    tq, cq = _pair((2, 3, 4), rng)
    tk, ck = _pair((2, 4, 4), rng)
    tv, cv = _pair((2, 4, 4), rng)
    tmask = {k: torch.tensor(v) for k, v in masks.items()}
    cmask = {k: tc.tensor(v, dtype=tc.float64 if v.dtype != bool else None) for k, v in masks.items()}
    kw = {"need_weights": need_weights, "average_attn_weights": average}
    _check(torch_m, ours, [tq, tk, tv], [cq, ck, cv],
           call=lambda m, xs: m(*xs, **(tmask if m is torch_m else cmask), **kw))


def test_multihead_attention_kdim_vdim_no_bias_time_major():
    rng = np.random.default_rng(8)
    torch_m = torch.nn.MultiheadAttention(4, 2, bias=False, kdim=3, vdim=5)
    ours = nn.MultiheadAttention(4, 2, bias=False, kdim=3, vdim=5)
    assert ours.in_proj_weight is None and ours.k_proj_weight.shape == (4, 3)
    tq, cq = _pair((3, 2, 4), rng)
    tk, ck = _pair((4, 2, 3), rng)
    tv, cv = _pair((4, 2, 5), rng)
    _check(torch_m, ours, [tq, tk, tv], [cq, ck, cv])


def test_multihead_self_attention_unbatched():
    rng = np.random.default_rng(9)
    torch_m, ours = torch.nn.MultiheadAttention(4, 2), nn.MultiheadAttention(4, 2)
    tx, cx = _pair((3, 4), rng)
    _check(torch_m, ours, [tx], [cx], call=lambda m, xs: m(xs[0], xs[0], xs[0]))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer(norm_first, activation):
    rng = np.random.default_rng(10)
    kw = dict(dim_feedforward=8, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
    torch_m, ours = torch.nn.TransformerEncoderLayer(4, 2, **kw), nn.TransformerEncoderLayer(4, 2, **kw)
    tx, cx = _pair((2, 3, 4), rng)
    mask = np.triu(np.ones((3, 3), dtype=bool), 1)
    padding = np.array([[False, False, True], [False, False, False]])
    _check(torch_m, ours, [tx], [cx], call=lambda m, xs: m(
        xs[0], src_mask=(torch.tensor if m is torch_m else tc.tensor)(mask),
        src_key_padding_mask=(torch.tensor if m is torch_m else tc.tensor)(padding)))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer(norm_first):
    rng = np.random.default_rng(11)
    kw = dict(dim_feedforward=8, dropout=0.0, norm_first=norm_first)
    torch_m, ours = torch.nn.TransformerDecoderLayer(4, 2, **kw), nn.TransformerDecoderLayer(4, 2, **kw)
    tx, cx = _pair((3, 2, 4), rng)
    tm, cm = _pair((5, 2, 4), rng)
    causal_t = torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64)
    causal_c = nn.Transformer.generate_square_subsequent_mask(3, dtype=tc.float64)
    np.testing.assert_array_equal(causal_c.numpy(), causal_t.numpy())
    mem_pad = np.array([[False] * 5, [False, False, False, True, True]])
    _check(torch_m, ours, [tx, tm], [cx, cm], call=lambda m, xs: m(
        xs[0], xs[1], tgt_mask=causal_t if m is torch_m else causal_c,
        memory_key_padding_mask=(torch.tensor if m is torch_m else tc.tensor)(mem_pad)))


def test_transformer_stack_state_dict_names_and_forward():
    rng = np.random.default_rng(12)
    kw = dict(d_model=4, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=6, dropout=0.0)
    torch_m, ours = torch.nn.Transformer(**kw), nn.Transformer(**kw)
    assert list(ours.state_dict()) == list(torch_m.state_dict())
    ts, cs = _pair((4, 2, 4), rng)
    tt, ct = _pair((3, 2, 4), rng)
    _check(torch_m, ours, [ts, tt], [cs, ct])


# --- normalization and embedding --------------------------------------------------------------------------


def test_layer_norm_and_rms_norm():
    rng = np.random.default_rng(13)
    for torch_m, ours in ((torch.nn.LayerNorm((3, 4)), nn.LayerNorm((3, 4))),
                          (torch.nn.RMSNorm(4, eps=1e-6), nn.RMSNorm(4, eps=1e-6)),
                          (torch.nn.RMSNorm(4), nn.RMSNorm(4)),
                          (torch.nn.GroupNorm(2, 4), nn.GroupNorm(2, 4))):
        for p in torch_m.parameters():
            torch.nn.init.normal_(p)
        tx, cx = _pair((2, 4, 3, 4) if isinstance(ours, nn.GroupNorm) else (2, 3, 4), rng)
        _check(torch_m, ours, [tx], [cx])


def test_embedding_padding_idx():
    idx = np.array([[1, 2, 0], [3, 2, 2]])
    torch_m, ours = torch.nn.Embedding(5, 3, padding_idx=2), nn.Embedding(5, 3, padding_idx=2)
    assert np.all(ours.weight.numpy()[2] == 0)
    _check(torch_m, ours, [torch.tensor(idx)], [tc.tensor(idx)])
    assert np.all(ours.weight.grad.numpy()[2] == 0)


def test_embedding_max_norm_renormalizes_in_place():
    idx = np.array([0, 3, 3])
    w = np.random.default_rng(14).standard_normal((5, 3)) * 3
    tw, cw = torch.tensor(w.copy()), tc.tensor(w.copy(), dtype=tc.float64)
    torch.nn.functional.embedding(torch.tensor(idx), tw, max_norm=1.0)
    F.embedding(tc.tensor(idx), cw, max_norm=1.0)
    np.testing.assert_allclose(cw.numpy(), tw.numpy(), rtol=1e-12)
    pre = nn.Embedding.from_pretrained(tc.tensor(w, dtype=tc.float64))
    assert not pre.weight.requires_grad and pre(tc.tensor([4])).shape == (1, 3)


# --- SDPA ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "causal", "bool mask", "float mask", "causal L != S", "scale"])
def test_scaled_dot_product_attention(kind):
    rng = np.random.default_rng(15)
    s = 6 if kind == "causal L != S" else 5
    tq, cq = _pair((2, 2, 5, 3), rng)
    tk, ck = _pair((2, 2, s, 3), rng)
    tv, cv = _pair((2, 2, s, 4), rng)
    kw = {"causal": {"is_causal": True}, "causal L != S": {"is_causal": True}, "scale": {"scale": 0.7}}.get(kind, {})
    mask = {"bool mask": rng.random((5, 5)) < 0.7, "float mask": rng.standard_normal((2, 1, 5, 5))}.get(kind)
    if mask is not None and mask.dtype == bool:
        mask[:, 0] = True
    tout = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=None if mask is None else torch.tensor(mask), **kw)
    cout = F.scaled_dot_product_attention(cq, ck, cv, attn_mask=mask, **kw)
    np.testing.assert_allclose(cout.numpy(), tout.detach().numpy(), **TOL)
    w = rng.standard_normal(tout.shape)
    (tout * torch.tensor(w)).sum().backward()
    (cout * tc.tensor(w, dtype=tc.float64)).sum().backward()
    for a, b in ((tq, cq), (tk, ck), (tv, cv)):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **TOL)


def test_sdpa_fully_masked_row_is_zero_like_torch():
    rng = np.random.default_rng(16)
    q, k, v = (rng.standard_normal((1, 3, 2)) for _ in range(3))
    mask = np.ones((3, 3), dtype=bool)
    mask[1] = False
    want = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), attn_mask=torch.tensor(mask))
    got = F.scaled_dot_product_attention(*(_tc(a) for a in (q, k, v)), attn_mask=mask)
    np.testing.assert_allclose(got.numpy(), want.numpy(), **TOL)
    got.sum().backward()


def test_sdpa_grouped_query_attention():
    rng = np.random.default_rng(17)
    tq, cq = _pair((2, 4, 3, 2), rng)
    tk, ck = _pair((2, 2, 5, 2), rng)
    tv, cv = _pair((2, 2, 5, 3), rng)
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, enable_gqa=True)
    cout = F.scaled_dot_product_attention(cq, ck, cv, enable_gqa=True)
    np.testing.assert_allclose(cout.numpy(), tout.detach().numpy(), **TOL)
    tout.sum().backward()
    cout.sum().backward()
    for a, b in ((tq, cq), (tk, ck), (tv, cv)):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), **TOL)
