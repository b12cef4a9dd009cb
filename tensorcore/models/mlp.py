"""The multilayer perceptron of the classic Keras example: 784-64-64-10 with ReLU."""

from .. import nn
from . import register_model


@register_model("mlp", input_shape=(784,))
def mlp(in_features=784, hidden=(64, 64), num_classes=10, dropout=0.0):
    """Flatten -> [Linear -> ReLU (-> Dropout)] per hidden size -> Linear (logits; no softmax).

    PyTorch's default init (U(+-1/sqrt(fan_in))). Train it with nn.CrossEntropyLoss on the logits.

    Example:
        model = mlp()                     # 784-64-64-10, 55,050 parameters
        logits = model(x.reshape(-1, 784))
    """
    layers = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
