"""Session-7 keras layers against NumPy references written here: values, compute_output_shape,
get_config/from_config round trips, and float64 gradchecks of the layers with weights."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import keras
from tensorcore.keras import layers as L

RNG = np.random.default_rng(7)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _same(n, k, s, d=1):
    """TensorFlow's 'same' (before, after) padding, written out again for the references."""
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def ref_conv1d(x, kernel, bias, stride=1, pads=(0, 0), dilation=1, groups=1):
    x = np.pad(x, ((0, 0), pads, (0, 0)))
    k, cin_g, filters = kernel.shape
    t_out = (x.shape[1] - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((x.shape[0], t_out, filters))
    per = filters // groups
    for f in range(filters):
        g = f // per
        for t in range(t_out):
            for j in range(k):
                out[:, t, f] += x[:, t * stride + j * dilation, g * cin_g:(g + 1) * cin_g] @ kernel[j, :, f]
    return out + bias


def ref_conv_transpose2d(x, kernel, bias, stride, start, size):
    """Scatter every input pixel through the (kh, kw, out, in) kernel, then keep [start, start + size)."""
    n, h, w, _ = x.shape
    kh, kw, filters, _ = kernel.shape
    full = np.zeros((n, (h - 1) * stride + kh + size[0], (w - 1) * stride + kw + size[1], filters))
    for i in range(h):
        for j in range(w):
            full[:, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum(
                "nc,abfc->nabf", x[:, i, j], kernel)
    return full[:, start[0]:start[0] + size[0], start[1]:start[1] + size[1]] + bias


def _transpose1d(x, w, stride, start, size):
    """Conv1DTranspose's reference: the 2-D one on a height-1 image."""
    return ref_conv_transpose2d(x[:, None], w[0][None], w[1], stride, (0, start), (1, size))[:, 0]


def ref_depthwise(x, dk, stride=1, pads=((0, 0), (0, 0))):
    x = np.pad(x, ((0, 0),) + pads + ((0, 0),))
    kh, kw, c, m = dk.shape
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, c * m))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw]  # (n, kh, kw, c)
            out[:, i, j] = np.einsum("nabc,abcm->ncm", patch, dk).reshape(x.shape[0], c * m)
    return out


def ref_pool1d(x, k, s, pads, fn):
    """fn over the real cells of each window (padding cells are left out, as Keras/TensorFlow)."""
    t = x.shape[1]
    out_len = (t + sum(pads) - k) // s + 1
    out = []
    for o in range(out_len):
        lo, hi = o * s - pads[0], o * s - pads[0] + k
        out.append(fn(x[:, max(lo, 0):min(hi, t)], axis=1))
    return np.stack(out, axis=1)


def _weights_like(layer, rng=RNG):
    return [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]


# (make layer, input shape, reference(x, weights) -> expected output)
CASES = {
    "conv1d_valid": (lambda: L.Conv1D(4, 3), (2, 9, 3),
                     lambda x, w: ref_conv1d(x, w[0], w[1])),
    "conv1d_same_strided": (lambda: L.Conv1D(4, 3, strides=2, padding="same"), (2, 9, 3),
                            lambda x, w: ref_conv1d(x, w[0], w[1], 2, _same(9, 3, 2))),
    "conv1d_causal_dilated": (lambda: L.Conv1D(3, 3, dilation_rate=2, padding="causal"), (2, 8, 2),
                              lambda x, w: ref_conv1d(x, w[0], w[1], 1, (4, 0), 2)),
    "conv1d_groups": (lambda: L.Conv1D(4, 2, groups=2, use_bias=False), (2, 6, 4),
                      lambda x, w: ref_conv1d(x, w[0], 0.0, groups=2)),
    # Keras' output sizes: valid n * s + max(k - s, 0); same n * s, the first max(k - s, 0) // 2 cells cut
    "conv2d_transpose_valid": (lambda: L.Conv2DTranspose(3, 3, strides=2), (2, 3, 4, 2),
                               lambda x, w: ref_conv_transpose2d(x, w[0], w[1], 2, (0, 0), (7, 9))),
    "conv2d_transpose_same": (lambda: L.Conv2DTranspose(3, 4, strides=2, padding="same"), (2, 3, 4, 2),
                              lambda x, w: ref_conv_transpose2d(x, w[0], w[1], 2, (1, 1), (6, 8))),
    "conv2d_transpose_small_kernel": (lambda: L.Conv2DTranspose(2, 2, strides=3), (2, 2, 3, 2),
                                      lambda x, w: ref_conv_transpose2d(x, w[0], w[1], 3, (0, 0), (6, 9))),
    "conv1d_transpose_same": (lambda: L.Conv1DTranspose(3, 4, strides=2, padding="same"), (2, 3, 2),
                              lambda x, w: _transpose1d(x, w, 2, 1, 6)),
    "conv1d_transpose_valid": (lambda: L.Conv1DTranspose(2, 3), (2, 4, 2), lambda x, w: _transpose1d(x, w, 1, 0, 6)),
    "up_sampling1d": (lambda: L.UpSampling1D(3), (2, 4, 2), lambda x, w: x.repeat(3, axis=1)),
    "zero_padding1d": (lambda: L.ZeroPadding1D((1, 3)), (2, 4, 2), lambda x, w: np.pad(x, ((0, 0), (1, 3), (0, 0)))),
    "cropping1d": (lambda: L.Cropping1D((2, 1)), (2, 6, 2), lambda x, w: x[:, 2:5]),
    "depthwise_conv2d": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2), (2, 5, 6, 3),
                         lambda x, w: ref_depthwise(x, w[0]) + w[1]),
    "depthwise_conv2d_same": (lambda: L.DepthwiseConv2D(3, strides=2, padding="same"), (2, 5, 6, 2),
                              lambda x, w: ref_depthwise(x, w[0], 2, (_same(5, 3, 2), _same(6, 3, 2))) + w[1]),
    "separable_conv2d": (lambda: L.SeparableConv2D(4, 3, depth_multiplier=2), (2, 5, 5, 2),
                         lambda x, w: ref_depthwise(x, w[0]) @ w[1][0, 0] + w[2]),
    "max_pooling1d": (lambda: L.MaxPooling1D(2), (2, 7, 3), lambda x, w: ref_pool1d(x, 2, 2, (0, 0), np.max)),
    "max_pooling1d_same": (lambda: L.MaxPooling1D(3, 2, padding="same"), (2, 8, 3),
                           lambda x, w: ref_pool1d(x, 3, 2, _same(8, 3, 2), np.max)),
    "average_pooling1d": (lambda: L.AveragePooling1D(3), (2, 7, 3),
                          lambda x, w: ref_pool1d(x, 3, 3, (0, 0), np.mean)),
    "average_pooling1d_same": (lambda: L.AveragePooling1D(3, 2, padding="same"), (2, 8, 3),
                               lambda x, w: ref_pool1d(x, 3, 2, _same(8, 3, 2), np.mean)),
    "global_max_pooling2d": (lambda: L.GlobalMaxPooling2D(), (2, 3, 4, 5), lambda x, w: x.max(axis=(1, 2))),
    "global_max_pooling2d_keepdims": (lambda: L.GlobalMaxPooling2D(keepdims=True), (2, 3, 4, 5),
                                      lambda x, w: x.max(axis=(1, 2), keepdims=True)),
    "up_sampling2d": (lambda: L.UpSampling2D((2, 3)), (2, 3, 2, 2),
                      lambda x, w: x.repeat(2, axis=1).repeat(3, axis=2)),
    "zero_padding2d": (lambda: L.ZeroPadding2D(((1, 2), (0, 3))), (2, 3, 2, 2),
                       lambda x, w: np.pad(x, ((0, 0), (1, 2), (0, 3), (0, 0)))),
    "zero_padding2d_first": (lambda: L.ZeroPadding2D(1, data_format="channels_first"), (2, 2, 3, 2),
                             lambda x, w: np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))),
    "cropping2d": (lambda: L.Cropping2D(((1, 0), (1, 2))), (2, 4, 5, 2), lambda x, w: x[:, 1:, 1:3]),
    "leaky_relu": (lambda: L.LeakyReLU(), (3, 4), lambda x, w: np.where(x >= 0, x, 0.3 * x)),
    "leaky_relu_alpha": (lambda: L.LeakyReLU(alpha=0.1), (3, 4), lambda x, w: np.where(x >= 0, x, 0.1 * x)),
    "relu": (lambda: L.ReLU(), (3, 4), lambda x, w: np.maximum(x, 0)),
    "relu_clipped_leaky": (lambda: L.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.2), (3, 4),
                           lambda x, w: np.where(x >= 0.8, 0.8, np.where(x >= 0.2, x, 0.1 * (x - 0.2)))),
    "elu": (lambda: L.ELU(), (3, 4), lambda x, w: np.where(x > 0, x, np.expm1(x))),
    "softmax": (lambda: L.Softmax(), (3, 4), lambda x, w: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    "softmax_axis1": (lambda: L.Softmax(axis=1), (2, 3, 4), lambda x, w: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    "prelu": (lambda: L.PReLU(), (2, 3, 4), lambda x, w: np.where(x >= 0, x, w[0] * x)),
    "prelu_shared": (lambda: L.PReLU(shared_axes=[1]), (2, 3, 4), lambda x, w: np.where(x >= 0, x, w[0] * x)),
    "rescaling": (lambda: L.Rescaling(1 / 255, offset=-1.0), (3, 4), lambda x, w: x / 255 - 1),
    "unit_normalization": (lambda: L.UnitNormalization(), (3, 4),
                           lambda x, w: x / np.sqrt((x * x).sum(-1, keepdims=True))),
    "permute": (lambda: L.Permute((2, 1)), (2, 3, 4), lambda x, w: x.transpose(0, 2, 1)),
    "repeat_vector": (lambda: L.RepeatVector(3), (2, 4), lambda x, w: np.stack([x] * 3, axis=1)),
    "identity": (lambda: L.Identity(), (2, 4), lambda x, w: x),
    "time_distributed_dense": (lambda: L.TimeDistributed(L.Dense(5)), (2, 3, 4), lambda x, w: x @ w[0] + w[1]),
    "spatial_dropout1d_inference": (lambda: L.SpatialDropout1D(0.5), (2, 3, 4), lambda x, w: x),
    "gaussian_noise_inference": (lambda: L.GaussianNoise(0.5), (2, 4), lambda x, w: x),
    "gaussian_dropout_inference": (lambda: L.GaussianDropout(0.3), (2, 4), lambda x, w: x),
    "activity_regularization": (lambda: L.ActivityRegularization(l1=0.1), (2, 4), lambda x, w: x),
    "normalization_given": (lambda: L.Normalization(mean=[1.0, 2.0, 0.0], variance=[4.0, 9.0, 0.0]), (2, 3),
                            lambda x, w: (x - [1.0, 2.0, 0.0]) / np.maximum(np.sqrt([4.0, 9.0, 0.0]), 1e-7)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_numpy_reference(case):
    make, shape, reference = CASES[case]
    layer = make()
    x = _x(*shape)
    layer(tc.tensor(x))  # builds
    weights = _weights_like(layer)
    if weights:
        layer.set_weights(weights)
        for got, want in zip(layer.get_weights(), weights):
            np.testing.assert_array_equal(got, want)  # Keras layouts in and out
    y = layer(tc.tensor(x)).numpy()
    want = reference(x.astype(np.float64), [w.astype(np.float64) for w in weights])
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    assert tuple(layer.compute_output_shape((None,) + shape[1:])) == (None,) + y.shape[1:]


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_round_trip(case):
    make, shape, _ = CASES[case]
    layer = make()
    x = _x(*shape)
    layer(tc.tensor(x))
    layer.set_weights(_weights_like(layer))
    config = layer.get_config()
    from tensorcore.keras.config import _check_arguments

    _check_arguments(type(layer), config)  # only constructor arguments, as load_model checks
    twin = type(layer).from_config(config)
    twin(tc.tensor(x))
    twin.set_weights(layer.get_weights())
    assert twin.get_config() == config
    np.testing.assert_allclose(twin(tc.tensor(x)).numpy(), layer(tc.tensor(x)).numpy(), rtol=1e-6)


GRAD_CASES = {
    "conv1d_same": (lambda: L.Conv1D(2, 3, strides=2, padding="same", dtype="float64"), (2, 5, 2)),
    "conv1d_causal": (lambda: L.Conv1D(2, 2, padding="causal", dtype="float64"), (1, 4, 2)),
    "conv2d_transpose_same": (lambda: L.Conv2DTranspose(2, 3, strides=2, padding="same", dtype="float64"),
                              (1, 2, 3, 2)),
    "conv2d_transpose_valid_small_kernel": (lambda: L.Conv2DTranspose(1, 2, strides=3, dtype="float64"),
                                            (1, 2, 2, 2)),
    "conv1d_transpose_same": (lambda: L.Conv1DTranspose(2, 3, strides=2, padding="same", output_padding=1,
                                                        dtype="float64"), (1, 3, 2)),
    "depthwise_conv2d": (lambda: L.DepthwiseConv2D(2, depth_multiplier=2, padding="same", dtype="float64"),
                         (1, 3, 3, 2)),
    "separable_conv2d": (lambda: L.SeparableConv2D(2, 2, dtype="float64"), (1, 3, 3, 2)),
    "prelu": (lambda: L.PReLU(alpha_initializer="random_uniform", dtype="float64"), (2, 3)),
}


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_gradcheck_float64_through_input_and_weights(case):
    make, shape = GRAD_CASES[case]
    layer = make()
    x = tc.tensor(RNG.standard_normal(shape), dtype=tc.float64, requires_grad=True)
    layer(x)
    names = [name for name, trainable in layer._weight_order if trainable]
    assert names and all(getattr(layer, n).dtype == np.float64 for n in names)

    def run(x, *weights):
        for name, w in zip(names, weights):
            setattr(layer, name, w)
        return layer(x)

    assert tc.gradcheck(run, (x, *[getattr(layer, n) for n in names]))


def test_softmax_mask_gives_masked_positions_no_probability():
    x = _x(2, 4)
    mask = np.array([[True, True, False, True], [False, True, True, True]])
    y = L.Softmax()(tc.tensor(x), mask=tc.tensor(mask)).numpy()
    e = np.where(mask, np.exp(x - x.max(-1, keepdims=True)), 0)
    np.testing.assert_allclose(y, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)


def test_normalization_adapt_uses_population_statistics_and_invert_undoes_it():
    data = _x(50, 3) * [1.0, 5.0, 0.1] + [0.0, -2.0, 3.0]
    norm = L.Normalization()
    norm.adapt(data)
    mean, var, count = norm.get_weights()  # Keras 3's three weights (count kept for old files)
    assert count.shape == () and count.dtype.kind == "i"
    np.testing.assert_allclose(mean, data.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, data.var(0), rtol=1e-4)
    y = norm(tc.tensor(data)).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, rtol=1e-4)
    inv = L.Normalization(mean=mean.tolist(), variance=var.tolist(), invert=True)
    np.testing.assert_allclose(inv(tc.tensor(y)).numpy(), data, rtol=1e-4, atol=1e-4)
    assert norm.trainable_weights == [] and len(norm.non_trainable_weights) == 3
    batched = L.Normalization()
    batched.adapt([data[:20], data[20:]])  # an iterable of batches, as Keras
    np.testing.assert_allclose(batched.get_weights()[1], var, rtol=1e-6)
    per_axis = L.Normalization(axis=(1, 2))
    images = _x(10, 2, 3, 4)
    per_axis.adapt(images)
    np.testing.assert_allclose(per_axis.get_weights()[0], images.mean(axis=(0, 3)), rtol=1e-5, atol=1e-6)


def test_masking_masks_steps_equal_to_the_value_downstream():
    x = _x(2, 4, 3)
    x[0, 1] = 0.0
    x[1, 3] = 0.0
    inputs = keras.Input(shape=(4, 3))
    masked = L.Masking()(inputs)
    model = keras.Model(inputs, L.GlobalAveragePooling1D()(masked))
    keep = np.any(x != 0, axis=-1)
    want = (x * keep[..., None]).sum(1) / keep.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_training_only_noise_layers_change_values_while_training():
    tc.manual_seed(0)
    x = np.ones((64, 4, 8), dtype=np.float32)
    y = L.SpatialDropout1D(0.5)(tc.tensor(x), training=True).numpy()
    per_channel = y[:, 0, :]
    assert np.all(y == per_channel[:, None, :])  # one draw per (sample, channel)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7
    maps = L.SpatialDropout2D(0.5)(tc.tensor(np.ones((32, 3, 3, 4), np.float32)), training=True).numpy()
    assert np.all(maps == maps[:, :1, :1, :])
    noisy = L.GaussianNoise(0.5)(tc.tensor(np.zeros((4000,), np.float32).reshape(1000, 4)), training=True).numpy()
    assert abs(noisy.std() - 0.5) < 0.03
    drop = L.GaussianDropout(0.2)(tc.tensor(np.ones((1000, 4), np.float32)), training=True).numpy()
    assert abs(drop.mean() - 1) < 0.03 and abs(drop.std() - 0.5) < 0.03  # sqrt(0.2 / 0.8)


def test_dot_merges_on_the_given_axes():
    a, b = _x(3, 4), _x(3, 4)
    np.testing.assert_allclose(L.Dot(1)([tc.tensor(a), tc.tensor(b)]).numpy(), (a * b).sum(-1, keepdims=True),
                               rtol=1e-5)
    cos = L.Dot(1, normalize=True)([tc.tensor(a), tc.tensor(b)]).numpy()
    want = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    np.testing.assert_allclose(cos[:, 0], want, rtol=1e-5)
    u, v = _x(2, 3, 4), _x(2, 5, 4)
    np.testing.assert_allclose(L.Dot(axes=(2, 2))([tc.tensor(u), tc.tensor(v)]).numpy(),
                               np.einsum("nad,nbd->nab", u, v), rtol=1e-5, atol=1e-6)
    with pytest.raises(tc.TensorcoreError, match="dot product"):
        L.Dot(axes=1)([tc.tensor(u), tc.tensor(_x(2, 4, 4))])


@pytest.mark.parametrize("name, fn", [("Subtract", lambda a, b, c: a - b), ("Multiply", lambda a, b, c: a * b * c),
                                      ("Average", lambda a, b, c: (a + b + c) / 3),
                                      ("Maximum", lambda a, b, c: np.maximum(np.maximum(a, b), c)),
                                      ("Minimum", lambda a, b, c: np.minimum(np.minimum(a, b), c))])
def test_elementwise_merges(name, fn):
    a, b, c = _x(3, 4), _x(3, 4), _x(3, 4)
    args = [a, b] if name == "Subtract" else [a, b, c]
    got = getattr(L, name)()([tc.tensor(t) for t in args]).numpy()
    np.testing.assert_allclose(got, fn(a, b, c), rtol=1e-6)
    with pytest.raises(tc.TensorcoreError, match="broadcast"):
        getattr(L, name)()([tc.tensor(a), tc.tensor(_x(3, 5))])
    # Keras broadcasts the non-batch axes; a lower-rank input gets its size-1 axes after the batch axis
    col, low = _x(3, 1), _x(3, 4)
    mixed = [a, col] if name == "Subtract" else [a, col, a]
    np.testing.assert_allclose(getattr(L, name)()([tc.tensor(t) for t in mixed]).numpy(), fn(a, col, a), rtol=1e-6)
    cube = _x(3, 2, 4)
    if name != "Subtract":
        np.testing.assert_allclose(getattr(L, name)()([tc.tensor(cube), tc.tensor(low), tc.tensor(cube)]).numpy(),
                                   fn(cube, low[:, None], cube), rtol=1e-6)


def test_subtract_needs_exactly_two_inputs_and_bad_arguments_raise():
    a = keras.Input(shape=(3,))
    with pytest.raises(tc.TensorcoreError, match="exactly 2"):
        L.Subtract()([a, a, a])
    with pytest.raises(tc.TensorcoreError, match="padding"):
        L.Conv1D(2, 3, padding="full")
    with pytest.raises(tc.TensorcoreError, match="output_padding"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(tc.TensorcoreError, match="Permute"):
        L.Permute((1, 3))
    with pytest.raises(tc.TensorcoreError, match="cropping"):
        L.Cropping2D(((2, 2), (0, 0)))(tc.tensor(_x(1, 4, 4, 1)))


def test_lambda_layer_runs_and_saves_only_named_functions():
    def square(t):
        return t * t

    layer = L.Lambda(square)
    x = _x(2, 3)
    np.testing.assert_allclose(layer(tc.tensor(x)).numpy(), x * x, rtol=1e-6)
    assert layer.get_config()["function"] == "square"
    with pytest.raises(tc.TensorcoreError, match="anonymous"):
        L.Lambda(lambda t: t + 1).get_config()
    with pytest.raises(tc.TensorcoreError, match="custom_objects"):
        L.Lambda.from_config(layer.get_config())  # the name alone runs nothing


@pytest.mark.parametrize("make", [L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum,
                                  lambda: L.Dot(axes=(1, 2), normalize=True), lambda: L.Dot(2),
                                  lambda: L.SpatialDropout2D(0.3, data_format="channels_first"),
                                  lambda: L.GaussianNoise(0.2), lambda: L.Masking(-1.0)],
                         ids=["subtract", "multiply", "average", "maximum", "minimum", "dot_pair", "dot", "spatial2d",
                              "gaussian_noise", "masking"])
def test_config_round_trip_of_merges_and_noise_layers(make):
    layer = make()
    config = layer.get_config()
    twin = type(layer).from_config(config)
    assert twin.get_config() == config


@pytest.mark.parametrize("case", ["dot_normalized", "unit_normalization", "normalization", "softmax_masked",
                                  "time_distributed", "up_sampling_bilinear", "leaky_relu", "elu"])
def test_gradcheck_float64_through_the_input(case):
    x = tc.tensor(RNG.standard_normal((2, 3, 4)), dtype=tc.float64, requires_grad=True)
    y = tc.tensor(RNG.standard_normal((2, 5, 4)), dtype=tc.float64, requires_grad=True)
    mask = tc.tensor(np.array([[True, False, True, True]] * 6).reshape(2, 3, 4))
    fns = {
        "dot_normalized": (lambda: L.Dot(axes=2, normalize=True), lambda layer, a, b: layer([a, b]), (x, y)),
        "unit_normalization": (lambda: L.UnitNormalization(axis=(1, 2)), None, (x,)),
        "normalization": (lambda: L.Normalization(mean=[1.0, 0.0, 2.0, 0.5], variance=[2.0, 1.0, 4.0, 0.3]), None,
                          (x,)),
        "softmax_masked": (L.Softmax, lambda layer, a: layer(a, mask=mask), (x,)),
        "time_distributed": (lambda: L.TimeDistributed(L.Dense(2)), None, (x,)),
        "up_sampling_bilinear": (lambda: L.UpSampling2D(2, interpolation="bilinear"),
                                 lambda layer, a: layer(a.reshape(2, 3, 2, 2)), (x,)),
        "leaky_relu": (L.LeakyReLU, None, (x,)),
        "elu": (lambda: L.ELU(0.5), None, (x,)),
    }
    make, run, inputs = fns[case]
    saved = tc.get_default_dtype()
    tc.set_default_dtype(tc.float64)  # so weights made inside (TimeDistributed's Dense) are float64 too
    try:
        layer = make()
        assert tc.gradcheck(lambda *a: run(layer, *a) if run else layer(*a), inputs)
    finally:
        tc.set_default_dtype(saved)
