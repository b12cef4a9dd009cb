"""tensorcore.keras: the Keras 3 API (Sequential, the functional Model, subclassed models, layers,
compile/fit/evaluate/predict, save/load_model) over tensorcore's ops, nn and optim.

Example (the classic Keras MLP; only the import prefix differs from Keras):
    from tensorcore import keras
    model = keras.Sequential([keras.Input(shape=(784,)),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=10, batch_size=32)
    model.save("mlp.keras")
    model = keras.models.load_model("mlp.keras")

Arithmetic on KerasTensors (x + y, 2 * x, x @ w, -x, x / y, x ** 2) records TensorOp layers. Not
supported (each raises a clear error where an argument asks for it): stateful RNNs, dropout /
recurrent_dropout inside RNN layers, MultiHeadAttention attention_axes, keras.ops, .h5 files, fit on
generators or datasets, weight constraints. A .keras file holds the architecture, the weights, the
compile settings and the optimizer's state; model.to_json() / keras.models.model_from_json the
architecture alone. fit/evaluate take sample_weight= (and fit class_weight=) with Keras 3's reduction
(tensorcore/keras/weighting.py); regularizers add their penalties to the loss. tensorcore-specific: layer.input_shape /
layer.output_shape leave the batch axis out.
"""

from . import (
           activations,
           callbacks,
           datasets,
           initializers,
           layers,
           losses,
           metrics,
           models,
           optimizers,
           regularizers,
           saving,
           utils,
)
from .layers import Input, Layer
from .model import Model
from .models import Sequential
from .saving import load_model
from .symbolic import KerasTensor

__all__ = ["Input", "KerasTensor", "Layer", "Model", "Sequential", "activations", "callbacks", "datasets",
           "initializers", "layers", "load_model", "losses", "metrics", "models", "optimizers", "regularizers",
           "saving", "utils"]
