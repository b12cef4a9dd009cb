"""tensorcore.keras: the Keras-style API (Sequential, layers, compile/fit/evaluate/predict) over nn and optim.

Example (the classic Keras MLP; only the import prefix differs from Keras):
    from tensorcore.keras.models import Sequential
    from tensorcore.keras.layers import Dense
    from tensorcore.keras.optimizers import Adam
    model = Sequential()
    model.add(Dense(64, activation="relu", input_dim=784))
    model.add(Dense(64, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    model.compile(optimizer=Adam(lr=0.001), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=10, batch_size=32)
"""

from . import callbacks, datasets, layers, losses, metrics, models, optimizers, utils
from .layers import Input
from .models import Sequential

__all__ = ["Input", "Sequential", "callbacks", "datasets", "layers", "losses", "metrics", "models", "optimizers",
           "utils"]
