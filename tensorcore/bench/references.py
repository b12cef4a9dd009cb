"""NumPy float64 references for the correctness gate: written independently of the code they check.

Convolutions loop over the kernel's (i, j) taps and the groups, with one BLAS `tensordot` each: slow
enough to be obviously right, fast enough for AlexNet layers (a second or so).
"""

from __future__ import annotations

import numpy as np


def matmul(a, b):
    return np.asarray(a, np.float64) @ np.asarray(b, np.float64)


def relu(x):
    return np.maximum(np.asarray(x, np.float64), 0.0)


def relu_backward(x, g):
    return np.where(np.asarray(x) > 0, np.asarray(g, np.float64), 0.0)


def softmax_cross_entropy(logits, targets):
    """(loss per row, softmax - onehot) of integer targets."""
    x = np.asarray(logits, np.float64)
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.arange(x.shape[0])
    grad = np.exp(logp)
    grad[rows, targets] -= 1.0
    return -logp[rows, targets], grad


def conv_output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _geometry(x_shape, w_shape, stride, padding, dilation, groups):
    N, C, H, W = x_shape
    O, Cg, KH, KW = w_shape
    Ho = conv_output_size(H, KH, stride[0], padding[0], dilation[0])
    Wo = conv_output_size(W, KW, stride[1], padding[1], dilation[1])
    return N, C, H, W, O, Cg, KH, KW, Ho, Wo, groups


def _tap(xp, i, j, Ho, Wo, stride, dilation):
    """The strided window of the padded input that tap (i, j) of the kernel reads: (N, C, Ho, Wo)."""
    hs, ws = i * dilation[0], j * dilation[1]
    return xp[:, :, hs:hs + stride[0] * (Ho - 1) + 1:stride[0], ws:ws + stride[1] * (Wo - 1) + 1:stride[1]]


def _pad(x, padding):
    return np.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))


def conv2d_forward(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """y[n, o] = sum over the group's channels and the taps of w[o, c, i, j] * x_pad[n, c, tap]."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    N, C, H, W, O, Cg, KH, KW, Ho, Wo, G = _geometry(x.shape, w.shape, stride, padding, dilation, groups)
    Og = O // G
    xp = _pad(x, padding)
    y = np.zeros((N, O, Ho, Wo))
    for i in range(KH):
        for j in range(KW):
            tap = _tap(xp, i, j, Ho, Wo, stride, dilation)
            for g in range(G):
                # (Og, Cg) . (N, Cg, Ho, Wo) over Cg -> (Og, N, Ho, Wo)
                part = np.tensordot(w[g * Og:(g + 1) * Og, :, i, j], tap[:, g * Cg:(g + 1) * Cg], axes=([1], [1]))
                y[:, g * Og:(g + 1) * Og] += part.transpose(1, 0, 2, 3)
    return y


def conv2d_backward_input(gy, w, x_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """dL/dx: every tap scatters w^T . gy back to the input pixels it read."""
    gy = np.asarray(gy, np.float64)
    w = np.asarray(w, np.float64)
    N, C, H, W, O, Cg, KH, KW, Ho, Wo, G = _geometry(x_shape, w.shape, stride, padding, dilation, groups)
    Og = O // G
    gxp = np.zeros((N, C, H + 2 * padding[0], W + 2 * padding[1]))
    for i in range(KH):
        for j in range(KW):
            tap = _tap(gxp, i, j, Ho, Wo, stride, dilation)  # a view: += writes into gxp
            for g in range(G):
                # (Og, Cg) . (N, Og, Ho, Wo) over Og -> (Cg, N, Ho, Wo)
                part = np.tensordot(w[g * Og:(g + 1) * Og, :, i, j], gy[:, g * Og:(g + 1) * Og], axes=([0], [1]))
                tap[:, g * Cg:(g + 1) * Cg] += part.transpose(1, 0, 2, 3)
    return gxp[:, :, padding[0]:padding[0] + H, padding[1]:padding[1] + W]


def conv2d_backward_weight(x, gy, w_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """dL/dw[o, c, i, j] = sum over n and output pixels of gy[n, o] * x_pad[n, c, tap(i, j)]."""
    x = np.asarray(x, np.float64)
    gy = np.asarray(gy, np.float64)
    N, C, H, W, O, Cg, KH, KW, Ho, Wo, G = _geometry(x.shape, w_shape, stride, padding, dilation, groups)
    Og = O // G
    xp = _pad(x, padding)
    gw = np.zeros(w_shape)
    for i in range(KH):
        for j in range(KW):
            tap = _tap(xp, i, j, Ho, Wo, stride, dilation)
            for g in range(G):
                gw[g * Og:(g + 1) * Og, :, i, j] = np.tensordot(
                    gy[:, g * Og:(g + 1) * Og], tap[:, g * Cg:(g + 1) * Cg], axes=([0, 2, 3], [0, 2, 3]))
    return gw


def max_pool2d(x, kernel, stride, padding=(0, 0)):
    """Max over each window; padding counts as -inf (never the max)."""
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    Ho = conv_output_size(H, kernel[0], stride[0], padding[0], 1)
    Wo = conv_output_size(W, kernel[1], stride[1], padding[1], 1)
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])), constant_values=-np.inf)
    y = np.full((N, C, Ho, Wo), -np.inf)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            np.maximum(y, _tap(xp, i, j, Ho, Wo, stride, (1, 1)), out=y)
    return y
