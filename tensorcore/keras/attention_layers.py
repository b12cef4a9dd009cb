"""Keras LayerNormalization and MultiHeadAttention, from tensorcore ops, with Keras' weights and call signature.

LayerNormalization(axis=-1, epsilon=1e-3): y = (x - mean) / sqrt(var + epsilon) * gamma + beta over `axis`.

MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None):
    q = query Wq + bq (B, T, H, K);  k = key Wk + bk;  v = value Wv + bv (B, S, H, V)
    scores = softmax(q k^T / sqrt(K) + (1 - mask) * -1e9)     (B, H, T, S)
    output = (dropout(scores) v) Wo + bo                        (B, T, output_dim = query's last axis)
Weights (Keras' EinsumDense layouts and order): query kernel (D, H, K) and bias (H, K), key, value,
attention_output kernel (H, V, O) and bias (O,). Masks: attention_mask (B, T, S) with True where a
query may attend, use_causal_mask=True, and the Keras masks of query, value and key (from
Embedding(mask_zero=True)), combined with a logical and, as Keras does.
"""

import math

import numpy as np

from .. import matmul, softmax, sqrt
from ..errors import ArgumentError, ShapeError
from ..tensor import _make
from .base import Layer, _array, _permute

LARGE_NEGATIVE = -1e9  # Keras' additive mask value for float32 scores


class LayerNormalization(Layer):
    """Normalize each sample over `axis` (Keras counts the batch axis), then scale by gamma and shift by beta."""

    base_name = "layer_normalization"
    config_keys = ("axis", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer")
    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        if rms_scaling:
            raise ArgumentError("LayerNormalization: rms_scaling=True is not supported")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        out = tuple(sorted(a % ndim for a in axes))
        if 0 in out:
            raise ArgumentError(f"{self.name}: cannot normalize over the batch axis (axis={self.axis})")
        return out

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if self.scale:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta")
        self.built = True

    def call(self, inputs):
        axes = self._axes(inputs.ndim)
        mean = inputs.mean(axis=axes, keepdims=True)
        centered = inputs - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        y = centered / sqrt(var + self.epsilon)
        # gamma and beta hold the normalized axes; shape them to broadcast against the input
        view = tuple(inputs.shape[a] if a in axes else 1 for a in range(1, inputs.ndim))
        if self.scale:
            y = y * self.gamma.reshape(view)
        if self.center:
            y = y + self.beta.reshape(view)
        return y


class MultiHeadAttention(Layer):
    """Keras' MultiHeadAttention; call(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False). See the module docstring for the math."""

    base_name = "multi_head_attention"
    config_keys = ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape",
                   "kernel_initializer", "bias_initializer")
    supports_masking = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if attention_axes is not None:
            raise ArgumentError("MultiHeadAttention: attention_axes is not supported (attention runs over axis 1)")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout, self.use_bias = float(dropout), bool(use_bias)
        if output_shape is not None and not isinstance(output_shape, int):
            output_shape = tuple(output_shape)
            if len(output_shape) != 1:
                raise ArgumentError("MultiHeadAttention: output_shape must be an int or a 1-tuple")
            output_shape = output_shape[0]
        self._output_dim = output_shape
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    @property
    def output_shape(self):
        return self._shape_out

    @output_shape.setter
    def output_shape(self, value):
        self._shape_out = value

    def get_config(self):
        config = super().get_config()
        config["output_shape"] = self._output_dim
        return config

    def _build_for(self, args, kwargs):
        names = ("query", "value", "key")
        bound = dict(zip(names, args))
        bound.update({k: kwargs[k] for k in names if kwargs.get(k) is not None})
        query, value = bound["query"], bound["value"]
        key = bound.get("key") if bound.get("key") is not None else value
        self.build(*((None,) + tuple(t.shape[1:]) for t in (query, value, key)))
        self.input_shape = tuple(query.shape[1:])

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = value_shape or query_shape
        key_shape = key_shape or value_shape
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        out = self._output_dim or query_shape[-1]
        projections = (("query", query_shape[-1], k), ("key", key_shape[-1], k), ("value", value_shape[-1], v))
        for name, dim, size in projections:
            kernel = self.add_weight((dim, h, size), self.kernel_initializer, name=f"{name}_kernel")
            setattr(self, f"_{name}_kernel", kernel)
            if self.use_bias:
                setattr(self, f"_{name}_bias", self.add_weight((h, size), self.bias_initializer, name=f"{name}_bias"))
        self._output_kernel = self.add_weight((h, v, out), self.kernel_initializer, name="attention_output_kernel")
        if self.use_bias:
            self._output_bias = self.add_weight((out,), self.bias_initializer, name="attention_output_bias")
        self.built = True

    def _project(self, x, name):
        """x (B, L, D) -> (B, H, L, size) through the (D, H, size) kernel and (H, size) bias."""
        kernel = getattr(self, f"_{name}_kernel")
        d, h, size = kernel.shape
        if x.ndim != 3 or x.shape[-1] != d:
            raise ShapeError(f"{self.name}: {name} must be (batch, length, {d}), got {tuple(x.shape)}")
        y = matmul(x, kernel.reshape(d, h * size)).reshape(x.shape[0], x.shape[1], h, size)
        if self.use_bias:
            y = y + getattr(self, f"_{name}_bias")
        return _permute(y, (0, 2, 1, 3))

    def masks_for_call(self, args, kwargs, mask_of):
        names = ("query", "value", "key")
        bound = dict(zip(names, args))
        bound.update({k: kwargs[k] for k in names if kwargs.get(k) is not None})
        out = {}
        for name in names:
            if bound.get(name) is not None:
                m = mask_of(bound[name])
                if m is not None:
                    out[f"{name}_mask"] = m
        if bound.get("key") is None and "value_mask" in out:
            out["key_mask"] = out["value_mask"]
        if "query_mask" in out:
            out["mask"] = out["query_mask"]
        return out

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask):
        """The combined boolean mask (B, T, S) as a backend array, or None."""
        xp = query.device.backend.xp
        t, s = query.shape[1], value.shape[1]
        mask = None

        def both(a, b):
            return b if a is None else a & b

        if query_mask is not None:
            mask = both(mask, _array(query_mask).astype(bool)[:, :, None])
        for m in (value_mask, key_mask):
            if m is not None:
                mask = both(mask, _array(m).astype(bool)[:, None, :])
        if use_causal_mask:
            mask = both(mask, xp.tril(xp.ones((t, s), dtype=bool))[None])
        if attention_mask is not None:
            given = _array(attention_mask).astype(bool)
            if given.ndim == 2:
                given = given[None]
            if given.shape[-2:] != (t, s):
                raise ShapeError(f"{self.name}: attention_mask of shape {tuple(given.shape)} for {t} queries and "
                                 f"{s} keys")
            mask = both(mask, given)
        return mask

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        from ..nn.functional import dropout

        key = value if key is None else key
        if key.shape[1] != value.shape[1]:
            raise ShapeError(f"{self.name}: key length {key.shape[1]} differs from value length {value.shape[1]}")
        q = self._project(query, "query") * (1.0 / math.sqrt(self.key_dim))
        k, v = self._project(key, "key"), self._project(value, "value")
        scores = matmul(q, _permute(k, (0, 1, 3, 2)))  # (B, H, T, S)
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        if mask is not None:
            adder = (1.0 - mask[:, None].astype(np.dtype(scores.dtype))) * LARGE_NEGATIVE
            scores = scores + _make(adder.astype(scores.dtype), scores.device, False, None)
        weights = softmax(scores, -1)
        attended = dropout(weights, self.dropout, training=bool(training)) if self.dropout else weights
        out = _permute(matmul(attended, v), (0, 2, 1, 3))  # (B, T, H, V)
        b, t, h, vd = out.shape
        kernel = self._output_kernel
        out = matmul(out.reshape(b, t, h * vd), kernel.reshape(h * vd, kernel.shape[-1]))
        if self.use_bias:
            out = out + self._output_bias
        return [out, weights] if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        return mask


__all__ = ["LayerNormalization", "MultiHeadAttention"]
