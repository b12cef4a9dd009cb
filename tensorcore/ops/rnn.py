"""One recurrent layer in one direction over a whole sequence, as one node (PyTorch's gate layouts).

    RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)                       act = tanh or relu
    LSTM: i, f, g, o = sigma, sigma, tanh, sigma of (W_ih x + b_ih + W_hh h + b_hh)   (rows i|f|g|o)
          c' = f c + i g,  h' = o tanh(c')  (then h' = W_hr h' with proj_size)
    GRU:  r, z = sigma(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z}),  n = tanh(W_in x + b_in + r (W_hn h + b_hn))
          h' = (1 - z) n + z h                                           (rows r|z|n)

The input projection W_ih x of every step is one GEMM; the loop does only the recurrent part.
`batch_sizes` (from a PackedSequence, non-increasing) makes only the first batch_sizes[t] rows
step at time t, so each sequence stops at its own length and h_n is its last state; padded
outputs are 0. The node's output is flat: output (T, B, H_out), h_n (B, H_out), then c_n (B, H).

The backward is backpropagation through time on arrays, so this op is once differentiable:
its gradient is exact, and a double backward through it raises.
"""

from ..autograd import Function
from ..errors import ShapeError
from .registry import register

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _sigmoid(xp, x):
    # NOTE: 0.5 (1 + tanh(x / 2)) never overflows, unlike 1 / (1 + exp(-x)).
    y = xp.tanh(x * 0.5)
    y += 1.0
    y *= 0.5
    return y


def _steps(length, reverse):
    return range(length - 1, -1, -1) if reverse else range(length)


class RNNLayer(Function):
    """Inputs x (T, B, I), h0 (B, H_out), c0 (B, H) or None, w_ih, w_hh, b_ih, b_hh, w_hr (or None)."""

    op_name = "rnn_layer"
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, batch_sizes, reverse):
        xp = ctx.backend.xp
        T, B, _ = x.shape
        sizes = batch_sizes if batch_sizes is not None else (B,) * T
        xw = xp.matmul(x.reshape(T * B, -1), w_ih.T).reshape(T, B, -1)  # one GEMM for every step
        if b_ih is not None:
            xw += b_ih
        ctx.mode, ctx.sizes, ctx.reverse = mode, sizes, reverse
        ctx.has_bias, ctx.has_c = b_ih is not None, c0 is not None
        ctx.save_for_backward(x, w_ih, w_hh, w_hr)
        if mode == "LSTM":
            if b_hh is not None:
                xw += b_hh  # both biases once, outside the loop
            out, h, c, ctx.cache = _lstm_forward(xp, xw, h0, c0, w_hh, w_hr, sizes, reverse)
            return xp.concatenate([out.reshape(-1), h.reshape(-1), c.reshape(-1)])
        h = h0.copy()
        out = xp.zeros((T, B, h0.shape[1]), dtype=x.dtype)
        cache = {"h_prev": xp.zeros_like(out)}
        if mode == "GRU":
            for key in ("r", "z", "n", "hn"):
                cache[key] = xp.zeros((T, B, h0.shape[1]), dtype=x.dtype)
        else:
            cache["act"] = xp.zeros_like(out)
        for t in _steps(T, reverse):
            n = sizes[t]
            hp = h[:n]
            cache["h_prev"][t, :n] = hp
            rec = xp.matmul(hp, w_hh.T)
            if b_hh is not None:
                rec += b_hh
            if mode == "GRU":
                Hh = h0.shape[1]
                xi = xw[t, :n]
                r = _sigmoid(xp, xi[:, :Hh] + rec[:, :Hh])
                z = _sigmoid(xp, xi[:, Hh:2 * Hh] + rec[:, Hh:2 * Hh])
                nh = rec[:, 2 * Hh:]
                nn_ = xp.tanh(xi[:, 2 * Hh:] + r * nh)
                hn = (1.0 - z) * nn_ + z * hp
                for key, val in (("r", r), ("z", z), ("n", nn_), ("hn", nh)):
                    cache[key][t, :n] = val
            else:
                pre = xw[t, :n] + rec
                hn = xp.tanh(pre) if mode == "RNN_TANH" else xp.maximum(pre, 0)
                cache["act"][t, :n] = hn
            h[:n] = hn
            out[t, :n] = hn
        ctx.cache = cache
        return xp.concatenate([out.reshape(-1), h.reshape(-1)])

    @staticmethod
    def backward(ctx, grad):
        return RNNLayer.backward_arrays(ctx, grad._data)  # once differentiable: the same arrays

    @staticmethod
    def backward_arrays(ctx, g):
        x, w_ih, w_hh, w_hr = ctx.saved_arrays
        xp, cache, mode, sizes = ctx.backend.xp, ctx.cache, ctx.mode, ctx.sizes
        if mode == "LSTM":
            return _lstm_backward(xp, g, x, w_ih, w_hh, w_hr, cache, sizes, ctx.reverse, ctx.has_bias)
        T, B, _ = x.shape
        Hout = cache["h_prev"].shape[2]
        dy = g[:T * B * Hout].reshape(T, B, Hout)
        dh = g[T * B * Hout:(T + 1) * B * Hout].reshape(B, Hout).copy()
        gates = w_ih.shape[0]
        d_in = xp.zeros((T, B, gates), dtype=x.dtype)  # gradient of W_ih x + b_ih
        d_rec = xp.zeros((T, B, gates), dtype=x.dtype) if mode == "GRU" else d_in  # of W_hh h + b_hh
        for t in _steps(T, not ctx.reverse):
            n = sizes[t]
            dht = dh[:n] + dy[t, :n]
            if mode == "GRU":
                r, z, nn_, nh = (cache[k][t, :n] for k in ("r", "z", "n", "hn"))
                hp = cache["h_prev"][t, :n]
                dn = dht * (1.0 - z) * (1.0 - nn_ * nn_)
                dr = dn * nh * r * (1.0 - r)
                dz = dht * (hp - nn_) * z * (1.0 - z)
                Hh = r.shape[1]
                di, drec = d_in[t, :n], d_rec[t, :n]
                di[:, :Hh] = drec[:, :Hh] = dr
                di[:, Hh:2 * Hh] = drec[:, Hh:2 * Hh] = dz
                di[:, 2 * Hh:] = dn
                drec[:, 2 * Hh:] = dn * r
                dh[:n] = dht * z + xp.matmul(drec, w_hh)
            else:
                a = cache["act"][t, :n]
                d = d_in[t, :n]
                d[:] = dht * (1.0 - a * a) if mode == "RNN_TANH" else dht * (a > 0)
                dh[:n] = xp.matmul(d, w_hh)
        flat_in = d_in.reshape(T * B, gates)
        flat_rec = d_rec.reshape(T * B, gates)
        dx = xp.matmul(flat_in, w_ih).reshape(x.shape)
        dw_ih = xp.matmul(flat_in.T, x.reshape(T * B, -1))
        dw_hh = xp.matmul(flat_rec.T, cache["h_prev"].reshape(T * B, Hout))
        db_ih = flat_in.sum(axis=0) if ctx.has_bias else None
        db_hh = flat_rec.sum(axis=0) if ctx.has_bias else None
        return dx, dh, None, dw_ih, dw_hh, db_ih, db_hh, None


def _lstm_forward(xp, xw, h0, c0, w_hh, w_hr, sizes, reverse):
    """The LSTM recurrence over xw = W_ih x + b_ih + b_hh (T, B, 4H); returns out, h_n, c_n and the cache.

    One tanh call activates all four gates: sigma(a) = (tanh(a / 2) + 1) / 2 on i, f, o; tanh on g.
    """
    T, B, G = xw.shape
    H = G // 4
    dt = xw.dtype
    scale = xp.full(G, 0.5, dtype=dt)
    scale[2 * H:3 * H] = 1.0
    shift = xp.full(G, 0.5, dtype=dt)
    shift[2 * H:3 * H] = 0.0
    h, c = h0.copy(), c0.copy()
    w_hh_t = xp.ascontiguousarray(w_hh.T)  # NOTE: a contiguous (H_out, 4H) operand: BLAS is faster on it
    out = xp.zeros((T, B, h0.shape[1]), dtype=dt)
    acts = xp.zeros((T, B, G), dtype=dt)
    c_prev = xp.zeros((T, B, H), dtype=dt)
    tanh_c = xp.zeros((T, B, H), dtype=dt)
    h_prev = xp.zeros_like(out)
    for t in _steps(T, reverse):
        n = sizes[t]
        hp, cp = h[:n], c[:n]
        h_prev[t, :n] = hp
        c_prev[t, :n] = cp
        a = acts[t, :n]
        xp.matmul(hp, w_hh_t, out=a)
        a += xw[t, :n]
        a *= scale
        xp.tanh(a, out=a)
        a *= scale
        a += shift
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        cn = f * cp
        cn += i * g
        tc = tanh_c[t, :n]
        xp.tanh(cn, out=tc)
        hn = o * tc
        if w_hr is not None:
            hn = xp.matmul(hn, w_hr.T)
        c[:n] = cn
        h[:n] = hn
        out[t, :n] = hn
    return out, h, c, {"acts": acts, "c_prev": c_prev, "tanh_c": tanh_c, "h_prev": h_prev}


def _lstm_backward(xp, g, x, w_ih, w_hh, w_hr, cache, sizes, reverse, has_bias):
    """BPTT through _lstm_forward: the gates' derivatives are formed once for all steps, outside the loop."""
    acts, c_prev, tanh_c, h_prev = cache["acts"], cache["c_prev"], cache["tanh_c"], cache["h_prev"]
    T, B, G = acts.shape
    H, Hout = G // 4, h_prev.shape[2]
    dy = g[:T * B * Hout].reshape(T, B, Hout)
    dh = g[T * B * Hout:(T + 1) * B * Hout].reshape(B, Hout).copy()
    dc = g[(T + 1) * B * Hout:].reshape(B, H).copy()
    deriv = acts * (1.0 - acts)  # sigma' = s (1 - s) on i, f, o
    gg = acts[..., 2 * H:3 * H]
    deriv[..., 2 * H:3 * H] = 1.0 - gg * gg  # tanh' on g
    o = acts[..., 3 * H:]
    o_dtanh = o * (1.0 - tanh_c * tanh_c)  # d h / d c = o tanh'(c)
    d_act = xp.zeros_like(acts)
    dw_hr = xp.zeros_like(w_hr) if w_hr is not None else None
    for t in _steps(T, not reverse):
        n = sizes[t]
        dht = dh[:n] + dy[t, :n]
        if w_hr is not None:
            dw_hr += xp.matmul(dht.T, o[t, :n] * tanh_c[t, :n])
            dht = xp.matmul(dht, w_hr)
        dct = dht * o_dtanh[t, :n]
        dct += dc[:n]
        a, d = acts[t, :n], d_act[t, :n]
        xp.multiply(dct, a[:, 2 * H:3 * H], out=d[:, :H])
        xp.multiply(dct, c_prev[t, :n], out=d[:, H:2 * H])
        xp.multiply(dct, a[:, :H], out=d[:, 2 * H:3 * H])
        xp.multiply(dht, tanh_c[t, :n], out=d[:, 3 * H:])
        d *= deriv[t, :n]
        xp.multiply(dct, a[:, H:2 * H], out=dc[:n])
        xp.matmul(d, w_hh, out=dh[:n])
    flat = d_act.reshape(T * B, G)
    dx = xp.matmul(flat, w_ih).reshape(x.shape)
    dw_ih = xp.matmul(flat.T, x.reshape(T * B, -1))
    dw_hh = xp.matmul(flat.T, h_prev.reshape(T * B, Hout))
    db = flat.sum(axis=0) if has_bias else None
    return dx, dh, dc, dw_ih, dw_hh, db, db, dw_hr


@register("rnn_layer")
def rnn_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, mode="LSTM", batch_sizes=None, reverse=False):
    """One direction of one layer: returns (output (T, B, H_out), h_n (B, H_out), c_n (B, H) or None).

    Example:
        y, h, c = rnn_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode="LSTM")    # x: (T, B, I)
    """
    if mode not in GATES:
        raise ShapeError(f"rnn_layer: mode must be one of {sorted(GATES)}, got {mode!r}")
    if x.ndim != 3:
        raise ShapeError(f"rnn_layer: input must be (T, B, I), got {x.shape}")
    T, B, _ = x.shape
    hidden = w_hh.shape[0] // GATES[mode]
    hout = h0.shape[-1]
    if w_ih.shape != (GATES[mode] * hidden, x.shape[2]) or w_hh.shape[1] != hout or h0.shape != (B, hout):
        raise ShapeError(f"rnn_layer: input {x.shape}, h0 {h0.shape}, weight_ih {w_ih.shape} and weight_hh "
                         f"{w_hh.shape} do not fit mode {mode}")
    if (mode == "LSTM") != (c0 is not None) or (c0 is not None and c0.shape != (B, hidden)):
        raise ShapeError(f"rnn_layer: {mode} takes {'c0 of shape ' + str((B, hidden)) if mode == 'LSTM' else 'no c0'}")
    if batch_sizes is not None:
        batch_sizes = tuple(int(n) for n in batch_sizes)
        if len(batch_sizes) != T or any(a < b for a, b in zip(batch_sizes, batch_sizes[1:])) or batch_sizes[0] > B:
            raise ShapeError(f"rnn_layer: batch_sizes {batch_sizes} must be non-increasing, one per step, <= {B}")
    flat = RNNLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode=mode, batch_sizes=batch_sizes,
                          reverse=bool(reverse))
    n_out = T * B * hout
    out = flat[:n_out].reshape(T, B, hout)
    h_n = flat[n_out:n_out + B * hout].reshape(B, hout)
    c_n = flat[n_out + B * hout:].reshape(B, hidden) if c0 is not None else None
    return out, h_n, c_n
