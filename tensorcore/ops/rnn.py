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
        H = w_hh.shape[0] // GATES[mode]
        sizes = batch_sizes if batch_sizes is not None else (B,) * T
        xw = xp.matmul(x, w_ih.T)
        if b_ih is not None:
            xw += b_ih
        h = h0.copy()
        c = c0.copy() if c0 is not None else None
        out = xp.zeros((T, B, h0.shape[1]), dtype=x.dtype)
        cache = {"h_prev": xp.zeros_like(out)}
        if mode == "LSTM":
            for key in ("i", "f", "g", "o", "c_prev", "tanh_c"):
                cache[key] = xp.zeros((T, B, H), dtype=x.dtype)
        elif mode == "GRU":
            for key in ("r", "z", "n", "hn"):
                cache[key] = xp.zeros((T, B, h0.shape[1]), dtype=x.dtype)
        else:
            cache["act"] = xp.zeros_like(out)
        for t in _steps(T, reverse):
            n = sizes[t]
            hp = h[:n]
            cache["h_prev"][t, :n] = hp
            rec = xp.matmul(hp, w_hh.T)
            if b_hh is not None and mode != "GRU":
                rec += b_hh
            if mode == "LSTM":
                pre = xw[t, :n] + rec
                i, f = _sigmoid(xp, pre[:, :H]), _sigmoid(xp, pre[:, H:2 * H])
                g, o = xp.tanh(pre[:, 2 * H:3 * H]), _sigmoid(xp, pre[:, 3 * H:])
                cp = c[:n]
                cn = f * cp + i * g
                tanh_c = xp.tanh(cn)
                hn = o * tanh_c
                if w_hr is not None:
                    hn = xp.matmul(hn, w_hr.T)
                for key, val in (("i", i), ("f", f), ("g", g), ("o", o), ("c_prev", cp), ("tanh_c", tanh_c)):
                    cache[key][t, :n] = val
                c[:n] = cn
            elif mode == "GRU":
                if b_hh is not None:
                    rec += b_hh
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
        ctx.mode, ctx.sizes, ctx.reverse, ctx.cache = mode, sizes, reverse, cache
        ctx.has_bias, ctx.has_c = b_ih is not None, c0 is not None
        ctx.save_for_backward(x, w_ih, w_hh, w_hr)
        parts = [out.reshape(-1), h.reshape(-1)] + ([c.reshape(-1)] if c is not None else [])
        return xp.concatenate(parts)

    @staticmethod
    def backward(ctx, grad):
        return RNNLayer.backward_arrays(ctx, grad._data)  # once differentiable: the same arrays

    @staticmethod
    def backward_arrays(ctx, g):
        x, w_ih, w_hh, w_hr = ctx.saved_arrays
        xp, cache, mode, sizes = ctx.backend.xp, ctx.cache, ctx.mode, ctx.sizes
        T, B, _ = x.shape
        Hout = cache["h_prev"].shape[2]
        dy = g[:T * B * Hout].reshape(T, B, Hout)
        dh = g[T * B * Hout:(T + 1) * B * Hout].reshape(B, Hout).copy()
        dc = g[(T + 1) * B * Hout:].reshape(B, -1).copy() if ctx.has_c else None
        gates = w_ih.shape[0]
        d_in = xp.zeros((T, B, gates), dtype=x.dtype)  # gradient of W_ih x + b_ih
        d_rec = xp.zeros((T, B, gates), dtype=x.dtype) if mode == "GRU" else d_in  # of W_hh h + b_hh
        dw_hr = xp.zeros_like(w_hr) if w_hr is not None else None
        for t in _steps(T, not ctx.reverse):
            n = sizes[t]
            dht = dh[:n] + dy[t, :n]
            if mode == "LSTM":
                i, f, gg, o = (cache[k][t, :n] for k in ("i", "f", "g", "o"))
                tanh_c = cache["tanh_c"][t, :n]
                if w_hr is not None:
                    dw_hr += xp.matmul(dht.T, o * tanh_c)
                    dht = xp.matmul(dht, w_hr)
                dct = dc[:n] + dht * o * (1.0 - tanh_c * tanh_c)
                d = d_in[t, :n]
                H = i.shape[1]
                d[:, :H] = dct * gg * i * (1.0 - i)
                d[:, H:2 * H] = dct * cache["c_prev"][t, :n] * f * (1.0 - f)
                d[:, 2 * H:3 * H] = dct * i * (1.0 - gg * gg)
                d[:, 3 * H:] = dht * tanh_c * o * (1.0 - o)
                dc[:n] = dct * f
                dh[:n] = xp.matmul(d, w_hh)
            elif mode == "GRU":
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
        dx = xp.matmul(d_in, w_ih)
        dw_ih = xp.matmul(flat_in.T, x.reshape(T * B, -1))
        dw_hh = xp.matmul(flat_rec.T, cache["h_prev"].reshape(T * B, Hout))
        db_ih = flat_in.sum(axis=0) if ctx.has_bias else None
        db_hh = flat_rec.sum(axis=0) if ctx.has_bias else None
        return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh, dw_hr


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
