"""Session-7 keras layers and weighted training against Keras 3 itself (torch backend) where it is installed:
the same weights give the same outputs, output shapes and weight shapes; the constructor arguments Keras'
get_config lists are ours too; weighted, regularized training takes the same steps."""

import os

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import keras

os.environ.setdefault("KERAS_BACKEND", "torch")
real = pytest.importorskip("keras", reason="keras is not installed")
if real.backend.backend() != "torch":
    pytest.skip("these comparisons use keras' torch backend", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras' own NumPy 2 notices
RNG = np.random.default_rng(3)
NOT_OURS = {"dtype", "kernel_constraint", "bias_constraint", "activity_regularizer", "alpha_constraint",
            "depthwise_constraint", "pointwise_constraint", "seed"}  # constraints and dtype policies: not supported

LAYERS = [
    ("Conv1D", dict(filters=4, kernel_size=3), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, dilation_rate=2, padding="causal"), (2, 9, 3)),
    ("Conv1D", dict(filters=6, kernel_size=2, groups=3, padding="same"), (2, 8, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3), (2, 5, 4, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 5, 4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=2, strides=3), (2, 3, 4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=4, strides=2, padding="same"), (2, 3, 4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same", output_padding=1), (2, 3, 4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, output_padding=1), (2, 3, 4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2), (2, 3, 4, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2), (2, 6, 5, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, strides=2, padding="same"), (2, 6, 5, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, depth_multiplier=2, padding="same"), (2, 6, 5, 3)),
    ("MaxPooling1D", dict(pool_size=2), (2, 7, 3)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    ("AveragePooling1D", dict(pool_size=2), (2, 7, 3)),
    # NOTE: AveragePooling1D/2D(padding="same") is left out: Keras' torch backend averages an edge window
    # over a replicated cell, TensorFlow (and we) over the real cells only.
    ("GlobalMaxPooling2D", dict(), (2, 4, 5, 3)),
    ("GlobalMaxPooling2D", dict(keepdims=True), (2, 4, 5, 3)),
    ("UpSampling2D", dict(size=(2, 3)), (2, 3, 4, 2)),
    ("UpSampling2D", dict(size=2, interpolation="bilinear"), (2, 3, 4, 2)),
    ("ZeroPadding2D", dict(padding=((1, 2), (0, 3))), (2, 3, 4, 2)),
    ("Cropping2D", dict(cropping=((1, 0), (1, 2))), (2, 5, 6, 2)),
    ("Conv1D", dict(filters=3, kernel_size=2, padding="same", data_format="channels_first"), (2, 3, 7)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same", data_format="channels_first"),
     (2, 3, 4, 5)),
    ("DepthwiseConv2D", dict(kernel_size=2, depth_multiplier=2, data_format="channels_first"), (2, 3, 4, 5)),
    ("SeparableConv2D", dict(filters=2, kernel_size=3, strides=2, data_format="channels_first"), (2, 3, 5, 5)),
    ("MaxPooling1D", dict(pool_size=2, data_format="channels_first"), (2, 3, 7)),
    ("UpSampling2D", dict(size=2, data_format="channels_first"), (2, 3, 2, 2)),
    ("UpSampling2D", dict(size=(1, 2), interpolation="bilinear", data_format="channels_first"), (2, 3, 2, 3)),
    ("ZeroPadding2D", dict(padding=(1, 2), data_format="channels_first"), (2, 3, 2, 2)),
    ("Cropping2D", dict(cropping=1, data_format="channels_first"), (2, 2, 4, 4)),
    ("GlobalMaxPooling2D", dict(data_format="channels_first"), (2, 3, 4, 5)),
    ("LeakyReLU", dict(), (3, 4)),
    ("ReLU", dict(max_value=0.5, negative_slope=0.1, threshold=0.2), (3, 4)),
    ("ELU", dict(alpha=0.7), (3, 4)),
    ("Softmax", dict(), (3, 4)),
    ("Softmax", dict(axis=1), (2, 3, 4)),
    ("PReLU", dict(shared_axes=[1]), (2, 3, 4)),
    ("Rescaling", dict(scale=0.5, offset=1.0), (3, 4)),
    ("UnitNormalization", dict(), (3, 4)),
    ("Permute", dict(dims=(2, 1)), (2, 3, 4)),
    ("RepeatVector", dict(n=3), (2, 4)),
    ("Identity", dict(), (2, 4)),
    ("Masking", dict(mask_value=0.0), (2, 3, 4)),
    ("ActivityRegularization", dict(l1=0.1), (2, 4)),
    ("SpatialDropout1D", dict(rate=0.5), (2, 3, 4)),
    ("GaussianNoise", dict(stddev=0.5), (2, 4)),
]


def _numpy(t):
    return np.asarray(t.detach().cpu()) if hasattr(t, "detach") else np.asarray(t)


@pytest.mark.parametrize("name, kwargs, shape", LAYERS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LAYERS)])
def test_layer_matches_keras(name, kwargs, shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    if name == "Masking":
        x[0, 1] = 0.0
    theirs, ours = getattr(real.layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    theirs(x)
    ours(tc.tensor(x))
    weights = [RNG.standard_normal(np.shape(w)).astype(np.float32) for w in theirs.get_weights()]
    if weights:
        theirs.set_weights(weights)
        ours.set_weights(weights)
    assert [np.shape(w) for w in ours.get_weights()] == [np.shape(w) for w in theirs.get_weights()]
    want, got = _numpy(theirs(x)), ours(tc.tensor(x)).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    batchless = (None,) + shape[1:]
    assert tuple(ours.compute_output_shape(batchless)) == tuple(theirs.compute_output_shape(batchless))
    missing = set(theirs.get_config()) - set(ours.get_config()) - NOT_OURS
    assert not missing, f"{name}: Keras' config has {sorted(missing)}"


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (3, 1)), ((3, 2, 4), (3, 4)), ((3, 1), (3, 2, 4))])
def test_merges_match_keras(name, shapes):
    a, b = (RNG.standard_normal(s).astype(np.float32) for s in shapes)
    want = _numpy(getattr(real.layers, name)()([a, b]))
    got = getattr(keras.layers, name)()([tc.tensor(a), tc.tensor(b)]).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("axes, normalize, shapes", [(1, False, ((3, 4), (3, 4))), (1, True, ((3, 4), (3, 4))),
                                                     ((2, 2), False, ((2, 3, 4), (2, 5, 4))),
                                                     ((1, 1), True, ((2, 3, 4), (2, 3, 5)))])
def test_dot_matches_keras(axes, normalize, shapes):
    a, b = (RNG.standard_normal(s).astype(np.float32) for s in shapes)
    want = _numpy(real.layers.Dot(axes=axes, normalize=normalize)([a, b]))
    got = keras.layers.Dot(axes=axes, normalize=normalize)([tc.tensor(a), tc.tensor(b)]).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_normalization_adapt_matches_keras():
    data = (RNG.standard_normal((40, 3, 2)) * [2.0, 0.5] + 1).astype(np.float32)
    for axis in (-1, (1, 2)):
        theirs, ours = real.layers.Normalization(axis=axis), keras.layers.Normalization(axis=axis)
        theirs.adapt(data)
        ours.adapt(data)
        np.testing.assert_allclose(ours(tc.tensor(data)).numpy(), _numpy(theirs(data)), rtol=1e-4, atol=1e-5)


def _text_model(api, regularizer):
    L = api.layers
    return api.Sequential([api.Input(shape=(10,), dtype="int32" if api is real else "int64"),
                           L.Embedding(30, 6), L.Conv1D(5, 3, activation="relu", kernel_regularizer=regularizer),
                           L.GlobalMaxPooling1D(), L.Dense(4, activation="relu"), L.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("weighting", ["sample_weight", "class_weight"])
def test_weighted_regularized_training_matches_keras(weighting):
    x = RNG.integers(0, 30, (24, 10))
    y = RNG.integers(0, 2, 24).astype(np.float32)
    theirs = _text_model(real, real.regularizers.l2(0.01))
    ours = _text_model(keras, keras.regularizers.l2(0.01))
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    extra = {"sample_weight": RNG.random(24)} if weighting == "sample_weight" else {"class_weight": {0: 0.3, 1: 2.0}}
    for model, api in ((theirs, real), (ours, keras)):
        model.compile(optimizer=api.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy",
                      metrics=["accuracy"], weighted_metrics=["accuracy"])
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, **extra)
    h_ours = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, **extra)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)
    for key in ("loss", "accuracy", "weighted_accuracy"):
        np.testing.assert_allclose(h_ours.history[key], h_theirs.history[key], rtol=1e-4)
    sw = RNG.random(24)
    want = theirs.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    got = ours.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    assert got == pytest.approx({k: float(v) for k, v in want.items()}, rel=1e-4)


def test_masking_into_lstm_and_time_distributed_conv_match_keras():
    x = RNG.standard_normal((3, 5, 2)).astype(np.float32)
    x[0, 3:] = 0.0
    x[1, 4:] = 0.0

    def masked(api):
        inputs = api.Input((5, 2))
        return api.Model(inputs, api.layers.LSTM(3)(api.layers.Masking()(inputs)))

    def frames(api):
        inputs = api.Input((4, 5, 5, 2))
        h = api.layers.TimeDistributed(api.layers.Conv2D(3, 3, activation="relu"))(inputs)
        return api.Model(inputs, api.layers.GRU(2)(api.layers.TimeDistributed(api.layers.Flatten())(h)))

    video = RNG.standard_normal((2, 4, 5, 5, 2)).astype(np.float32)
    for build, data in ((masked, x), (frames, video)):
        theirs, ours = build(real), build(keras)
        ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
        np.testing.assert_allclose(ours.predict(data, verbose=0), np.asarray(theirs.predict(data, verbose=0)),
                                   rtol=1e-5, atol=1e-6)


def test_two_output_sample_weights_and_loss_weight_list_match_keras():
    def build(api):
        inputs = api.Input((4,))
        h = api.layers.Dense(5, activation="relu")(inputs)
        return api.Model(inputs, [api.layers.Dense(3, activation="softmax", name="cls")(h),
                                  api.layers.Dense(1, name="reg")(h)])

    theirs, ours = build(real), build(keras)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    for model, api in ((theirs, real), (ours, keras)):
        model.compile(optimizer=api.optimizers.SGD(0.1), loss=["sparse_categorical_crossentropy", "mse"],
                      loss_weights=[1.0, 0.5])
    x = RNG.standard_normal((12, 4)).astype(np.float32)
    y = [RNG.integers(0, 3, 12), RNG.standard_normal((12, 1)).astype(np.float32)]
    sw = RNG.random(12)
    for weights in (sw, [sw, None]):
        want = theirs.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
        got = ours.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
        assert got == pytest.approx({k: float(v) for k, v in want.items()}, rel=1e-5)


@pytest.mark.parametrize("name", ["Precision", "Recall", "BinaryAccuracy", "MeanSquaredError", "RootMeanSquaredError",
                                  "MeanAbsoluteError", "SparseCategoricalAccuracy", "CategoricalAccuracy"])
def test_sample_weighted_metrics_match_keras(name):
    w = RNG.random(20)
    if "Categorical" in name:
        labels, pred = RNG.integers(0, 3, 20), RNG.random((20, 3)).astype(np.float32)
        y = np.eye(3, dtype=np.float32)[labels] if name == "CategoricalAccuracy" else labels
    else:
        y, pred = RNG.integers(0, 2, (20, 1)).astype(np.float32), RNG.random((20, 1)).astype(np.float32)
    theirs, ours = getattr(real.metrics, name)(), getattr(keras.metrics, name)()
    for rows in (slice(0, 12), slice(12, 20)):  # two batches accumulate
        theirs.update_state(y[rows], pred[rows], sample_weight=w[rows])
        ours.update_state(y[rows], pred[rows], sample_weight=w[rows])
    assert ours.result() == pytest.approx(float(theirs.result()), rel=1e-5)


ACTIVATION_NAMES = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu", "gelu", "silu", "swish", "mish",
                    "relu6", "hard_sigmoid", "softsign", "leaky_relu", "softplus", "exponential", "linear"]


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_functions_and_names_match_keras(name):
    x = RNG.standard_normal((3, 5)).astype(np.float32) * 3
    want = _numpy(real.activations.get(name)(x))
    np.testing.assert_allclose(keras.activations.get(name)(tc.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-6)
    theirs, ours = real.layers.Dense(4, activation=name), keras.layers.Dense(4, activation=getattr(keras.activations,
                                                                                                   name))
    theirs(x)
    ours(tc.tensor(x))
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    np.testing.assert_allclose(ours(tc.tensor(x)).numpy(), _numpy(theirs(x)), rtol=1e-5, atol=1e-6)
    assert ours.get_config()["activation"] == theirs.get_config()["activation"]


def test_rnn_and_embedding_regularizers_match_keras():
    def build(api):
        reg = api.regularizers
        return api.Sequential([api.Input(shape=(6,), dtype="int32" if api is real else "int64"),
                               api.layers.Embedding(20, 4, embeddings_regularizer=reg.l1(0.01)),
                               api.layers.LSTM(3, kernel_regularizer=reg.l2(0.02), recurrent_regularizer=reg.l2(0.03),
                                               bias_regularizer=reg.l1(0.04)),
                               api.layers.Dense(1)])

    theirs, ours = build(real), build(keras)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    x, y = RNG.integers(0, 20, (8, 6)), RNG.standard_normal((8, 1)).astype(np.float32)
    for model, api in ((theirs, real), (ours, keras)):
        model.compile(optimizer=api.optimizers.SGD(0.1), loss="mse")
    assert ours.evaluate(x, y, verbose=0) == pytest.approx(float(theirs.evaluate(x, y, verbose=0)), rel=1e-5)
    theirs.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    ours.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)
    assert ours.layers[1].get_config()["recurrent_regularizer"] == {"class_name": "L2", "config": {"l2": 0.03}}
