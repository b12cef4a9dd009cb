"""Gradcheck cases for the conv-net ops (conv.py, pool.py, norm.py), with naive loop references.

The references are direct loops over output pixels, written for clarity, not speed: they are the
ground truth the im2col/GEMM implementation is checked against (here and in tests/test_conv.py).
Shapes are tiny (the sweep builds full Jacobians in float64); pooling inputs have distinct values
spaced far wider than the finite-difference step, so no window has a near-tie.
"""

import numpy as np

import tensorcore as tc

from .cases import OpCase

F = tc.ops  # the functional ops live in tc.ops.conv / pool / norm


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _distinct(rng, *shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# --- naive references ----------------------------------------------------------------------------


def naive_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct cross-correlation: one dot product per output pixel."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    out = np.zeros((n, o, oh, ow))
    for b_ in range(n):
        for oc in range(o):
            g = oc // og
            for y in range(oh):
                for x_ in range(ow):
                    patch = xp[b_, g * cg:(g + 1) * cg, y * sh:y * sh + dh * (kh - 1) + 1:dh,
                               x_ * sw:x_ * sw + dw * (kw - 1) + 1:dw]
                    out[b_, oc, y, x_] = (patch * w[oc]).sum()
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def naive_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Direct transposed convolution: every input pixel scatters its kernel-weighted copy."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    oph, opw = _pair(output_padding)
    n, c, h, wd = x.shape
    _, cog, kh, kw = w.shape
    cg = c // groups
    hout = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wout = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full = np.zeros((n, cog * groups, hout + 2 * ph + sh + dh * kh, wout + 2 * pw + sw + dw * kw))
    for b_ in range(n):
        for ci in range(c):
            g = ci // cg
            for y in range(h):
                for x_ in range(wd):
                    for i in range(kh):
                        for j in range(kw):
                            full[b_, g * cog:(g + 1) * cog, y * sh + i * dh, x_ * sw + j * dw] += \
                                x[b_, ci, y, x_] * w[ci, :, i, j]
    out = full[:, :, ph:ph + hout, pw:pw + wout]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out


def naive_max_pool2d(x, kernel, stride=None, padding=0, dilation=1):
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel), _pair(padding), _pair(dilation)
    sh, sw = _pair(stride) if stride is not None else (kh, kw)
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c, oh, ow))
    for y in range(oh):
        for x_ in range(ow):
            win = xp[:, :, y * sh:y * sh + dh * (kh - 1) + 1:dh, x_ * sw:x_ * sw + dw * (kw - 1) + 1:dw]
            out[:, :, y, x_] = win.max(axis=(2, 3))
    return out


def naive_avg_pool2d(x, kernel, stride=None, padding=0, count_include_pad=True):
    (kh, kw), (ph, pw) = _pair(kernel), _pair(padding)
    sh, sw = _pair(stride) if stride is not None else (kh, kw)
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ones = np.pad(np.ones((h, wd)), ((ph, ph), (pw, pw)))
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, c, oh, ow))
    for y in range(oh):
        for x_ in range(ow):
            win = xp[:, :, y * sh:y * sh + kh, x_ * sw:x_ * sw + kw]
            div = kh * kw if count_include_pad else ones[y * sh:y * sh + kh, x_ * sw:x_ * sw + kw].sum()
            out[:, :, y, x_] = win.sum(axis=(2, 3)) / div
    return out


def naive_adaptive_avg_pool2d(x, size):
    oh, ow = _pair(size)
    h, w = x.shape[2:]
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * h) // oh, -((-(i + 1) * h) // oh)
            c0, c1 = (j * w) // ow, -((-(j + 1) * w) // ow)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out


def naive_local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    c = x.shape[1]
    out = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        energy = (x[:, lo:hi] ** 2).sum(axis=1)
        out[:, ch] = x[:, ch] / (k + alpha / size * energy) ** beta
    return out


def naive_batch_norm(x, mean, var, weight=None, bias=None, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _batch_stats(x):
    axes = (0,) + tuple(range(2, x.ndim))
    return x.mean(axis=axes), x.var(axis=axes)


# --- cases ------------------------------------------------------------------------------------------

_POOL_SRC = np.random.default_rng(11).permutation(32).reshape(1, 2, 4, 4) * 0.5
_UNPOOL_IDX = tc.ops.pool.max_pool2d(tc.tensor(_POOL_SRC), 2, return_indices=True)[1]


def _unpool_ref(v):
    out = np.zeros((1, 2, 16))
    np.put_along_axis(out, _UNPOOL_IDX.numpy().reshape(1, 2, 4), v.reshape(1, 2, 4), axis=2)
    return out.reshape(1, 2, 4, 4)


_RUN_MEAN = np.array([0.3, -0.2, 0.1])
_RUN_VAR = np.array([1.5, 0.7, 2.0])


def _bn_train(x, w, b):
    rm, rv = tc.zeros(3, dtype=tc.float64), tc.ones(3, dtype=tc.float64)
    return F.norm.batch_norm(x, rm, rv, w, b, training=True)


def _bn_train_ref(x, w, b):
    mean, var = _batch_stats(x)
    return naive_batch_norm(x, mean, var, w, b)


def _bn_eval(x, w, b):
    rm, rv = tc.tensor(_RUN_MEAN), tc.tensor(_RUN_VAR)
    return F.norm.batch_norm(x, rm, rv, w, b, training=False)


def _seeded_dropout2d(x):
    return F.norm.dropout2d(x, 0.4, generator=tc.Generator(3))


conv2d = F.conv.conv2d
conv_transpose2d = F.conv.conv_transpose2d
max_pool2d = F.pool.max_pool2d
avg_pool2d = F.pool.avg_pool2d

CASES = [
    # conv2d
    OpCase("conv2d", lambda r: (_n(r, 2, 2, 4, 4), _n(r, 3, 2, 3, 3), _n(r, 3)),
           lambda x, w, b: conv2d(x, w, b, padding=1), lambda x, w, b: naive_conv2d(x, w, b, padding=1),
           label="3x3 pad 1, bias"),
    OpCase("conv2d", lambda r: (_n(r, 1, 2, 6, 5), _n(r, 2, 2, 2, 2)),
           lambda x, w: conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(2, 1)),
           lambda x, w: naive_conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(2, 1)),
           label="stride (2,1), padding (1,0), dilation (2,1)"),
    OpCase("conv2d", lambda r: (_n(r, 1, 4, 4, 3), _n(r, 4, 2, 2, 2), _n(r, 4)),
           lambda x, w, b: conv2d(x, w, b, groups=2), lambda x, w, b: naive_conv2d(x, w, b, groups=2),
           label="groups=2"),
    OpCase("conv2d", lambda r: (_n(r, 1, 1, 4, 4), _n(r, 2, 1, 2, 2)),
           lambda x, w: conv2d(x, w, padding="same"),
           lambda x, w: naive_conv2d(np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 1))), w),
           label="padding='same', even kernel"),
    # conv_transpose2d
    OpCase("conv_transpose2d", lambda r: (_n(r, 1, 2, 3, 3), _n(r, 2, 3, 3, 3), _n(r, 3)),
           lambda x, w, b: conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
           lambda x, w, b: naive_conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
           label="stride 2, output_padding 1"),
    OpCase("conv_transpose2d", lambda r: (_n(r, 1, 4, 2, 3), _n(r, 4, 1, 2, 2)),
           lambda x, w: conv_transpose2d(x, w, groups=2, dilation=2),
           lambda x, w: naive_conv_transpose2d(x, w, groups=2, dilation=2), label="groups 2, dilation 2"),
    # pooling
    OpCase("max_pool2d", lambda r: (_distinct(r, 2, 2, 4, 4),), lambda x: max_pool2d(x, 2),
           lambda x: naive_max_pool2d(x, 2), label="2x2"),
    OpCase("max_pool2d", lambda r: (_distinct(r, 1, 2, 5, 5),), lambda x: max_pool2d(x, 3, 2, padding=1),
           lambda x: naive_max_pool2d(x, 3, 2, padding=1), label="overlapping 3/2, pad 1"),
    OpCase("max_pool2d", lambda r: (_distinct(r, 1, 1, 5, 6),),
           lambda x: max_pool2d(x, (2, 3), (1, 2), dilation=(2, 1)),
           lambda x: naive_max_pool2d(x, (2, 3), (1, 2), dilation=(2, 1)), label="rect, dilation",
           cuda=r"max_pool2d: dilation \(2, 1\) is not supported on cuda"),
    OpCase("max_unpool2d", lambda r: (_n(r, 1, 2, 2, 2),), lambda v: F.pool.max_unpool2d(v, _UNPOOL_IDX, 2),
           _unpool_ref),
    OpCase("avg_pool2d", lambda r: (_n(r, 1, 2, 4, 4),), lambda x: avg_pool2d(x, 2),
           lambda x: naive_avg_pool2d(x, 2), label="2x2"),
    OpCase("avg_pool2d", lambda r: (_n(r, 1, 2, 5, 5),),
           lambda x: avg_pool2d(x, 3, 2, padding=1, count_include_pad=False),
           lambda x: naive_avg_pool2d(x, 3, 2, padding=1, count_include_pad=False), label="3/2 pad, exclude pad"),
    OpCase("adaptive_avg_pool2d", lambda r: (_n(r, 1, 2, 5, 7),), lambda x: F.pool.adaptive_avg_pool2d(x, (2, 3)),
           lambda x: naive_adaptive_avg_pool2d(x, (2, 3)), label="uneven bins"),
    OpCase("adaptive_avg_pool2d", lambda r: (_n(r, 2, 3, 4, 4),), lambda x: F.pool.adaptive_avg_pool2d(x, 2),
           lambda x: naive_adaptive_avg_pool2d(x, 2), label="divisible"),
    OpCase("adaptive_avg_pool2d", lambda r: (_n(r, 2, 3, 3, 3),), lambda x: F.pool.adaptive_avg_pool2d(x, 1),
           lambda x: naive_adaptive_avg_pool2d(x, 1), label="global"),
    # normalization and channel dropout
    OpCase("local_response_norm", lambda r: (_n(r, 2, 5, 2, 2),),
           lambda x: F.norm.local_response_norm(x, 3, alpha=0.5, beta=0.75, k=1.0),
           lambda x: naive_local_response_norm(x, 3, alpha=0.5, beta=0.75, k=1.0), label="size 3"),
    OpCase("local_response_norm", lambda r: (_n(r, 1, 6, 2, 3),),
           lambda x: F.norm.local_response_norm(x, 4, alpha=0.8, beta=0.6, k=2.0),
           lambda x: naive_local_response_norm(x, 4, alpha=0.8, beta=0.6, k=2.0), label="even size"),
    OpCase("batch_norm", lambda r: (_n(r, 3, 3, 2, 2), _n(r, 3), _n(r, 3)), _bn_train, _bn_train_ref,
           label="training, affine"),
    OpCase("batch_norm", lambda r: (_n(r, 4, 3),), lambda x: _bn_train(x, None, None),
           lambda x: _bn_train_ref(x, None, None), label="training (N, C)"),
    OpCase("batch_norm", lambda r: (_n(r, 2, 3, 2, 2), _n(r, 3), _n(r, 3)), _bn_eval,
           lambda x, w, b: naive_batch_norm(x, _RUN_MEAN, _RUN_VAR, w, b), label="eval"),
    OpCase("dropout2d", lambda r: (_n(r, 3, 4, 2, 2),), _seeded_dropout2d),
]
