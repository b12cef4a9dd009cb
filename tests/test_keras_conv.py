"""Keras conv-net layers (channels-last): shapes, Keras weight layouts, 'same' padding, training."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore.keras.layers import (
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    MaxPooling2D,
)
from tensorcore.keras.models import Sequential


def test_conv2d_channels_last_matches_nchw_conv():
    tc.manual_seed(0)
    layer = Conv2D(4, (3, 2), strides=(2, 1), use_bias=True, bias_initializer="random_normal")
    assert layer.compute_output_shape((None, 9, 8, 3)) == (None, 4, 7, 4)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 3, 4) and bias.shape == (4,)
    x = np.random.default_rng(0).standard_normal((2, 9, 8, 3)).astype(np.float32)
    (_, module), = layer.modules()
    y = module(tc.tensor(x)).numpy()
    w = tc.tensor(kernel.transpose(3, 2, 0, 1).copy())
    want = F.conv2d(tc.tensor(x.transpose(0, 3, 1, 2).copy()), w, tc.tensor(bias), stride=(2, 1)).numpy()
    np.testing.assert_allclose(y, want.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-6)
    layer.set_weights([np.ones_like(kernel), np.zeros_like(bias)])
    np.testing.assert_array_equal(layer.conv.weight.numpy(), np.ones((4, 3, 3, 2), dtype=np.float32))


@pytest.mark.parametrize("size, k, s", [(7, 3, 2), (8, 3, 2), (6, 2, 2), (5, 4, 1), (9, 3, 3)])
def test_same_padding_follows_keras(size, k, s):
    conv = Conv2D(2, k, strides=s, padding="same")
    out = -(-size // s)
    assert conv.compute_output_shape((None, size, size, 1)) == (None, out, out, 2)
    (_, module), = conv.modules()
    assert module(tc.zeros((1, size, size, 1))).shape == (1, out, out, 2)
    pool = MaxPooling2D(k, strides=s, padding="same")
    assert pool.compute_output_shape((None, size, size, 1)) == (None, out, out, 1)


def test_pooling_same_ignores_padding():
    x = -np.ones((1, 3, 3, 1), dtype=np.float32)  # all negative: a zero pad would win a max
    pool = MaxPooling2D(2, padding="same")
    pool.build((None, 3, 3, 1))
    assert np.all(pool.modules()[0][1](tc.tensor(x)).numpy() == -1)
    avg = AveragePooling2D(2, padding="same")
    avg.build((None, 3, 3, 1))
    np.testing.assert_allclose(avg.modules()[0][1](tc.tensor(x)).numpy(), -1.0, rtol=1e-6)
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    y = avg.modules()[0][1](tc.tensor(x)).numpy()[0, :, :, 0]
    np.testing.assert_allclose(y, [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]])


def test_channels_first_and_global_pooling():
    conv = Conv2D(3, 3, data_format="channels_first", padding="same")
    assert conv.compute_output_shape((None, 2, 5, 5)) == (None, 3, 5, 5)
    gap = GlobalAveragePooling2D()
    assert gap.compute_output_shape((None, 4, 4, 6)) == (None, 6)
    x = np.random.default_rng(1).standard_normal((2, 4, 4, 6)).astype(np.float32)
    np.testing.assert_allclose(gap.modules()[0][1](tc.tensor(x)).numpy(), x.mean(axis=(1, 2)), rtol=1e-5)
    assert GlobalAveragePooling2D(keepdims=True).compute_output_shape((None, 4, 4, 6)) == (None, 1, 1, 6)


def test_batch_normalization_keras_conventions():
    bn = BatchNormalization(momentum=0.9)
    bn.build((None, 4, 4, 3))
    x = np.random.default_rng(2).standard_normal((8, 4, 4, 3)).astype(np.float32) * 2 + 5
    module = bn.modules()[0][1]
    y = module(tc.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    gamma, beta, mean, var = bn.get_weights()
    np.testing.assert_allclose(mean, 0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-4)  # 0.9 * 0 + 0.1 * batch
    assert gamma.shape == beta.shape == var.shape == (3,)
    bn.set_weights([gamma, beta, np.zeros(3, np.float32), np.ones(3, np.float32)])
    module.eval()
    np.testing.assert_allclose(module(tc.tensor(x)).numpy(), x / np.sqrt(1 + 1e-3), rtol=1e-5)
    dense_bn = BatchNormalization()
    assert dense_bn.compute_output_shape((None, 5)) == (None, 5)
    assert dense_bn.modules()[0][1](tc.randn(4, 5)).shape == (4, 5)


def test_small_keras_cnn_fits():
    tc.manual_seed(0)
    rng = np.random.default_rng(3)
    # two classes: a bright blob in the top-left or in the bottom-right corner
    x = rng.uniform(0, 0.2, (64, 12, 12, 1)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    for i, label in enumerate(y):
        r = slice(0, 4) if label == 0 else slice(8, 12)
        x[i, r, r, 0] += 1.0
    model = Sequential([Input(shape=(12, 12, 1)), Conv2D(8, 3, activation="relu"), BatchNormalization(),
                        MaxPooling2D(), Conv2D(8, 3, activation="relu", padding="same"), Flatten(),
                        Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    loss, acc = model.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and acc > 0.9
