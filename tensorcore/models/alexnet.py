"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012), the paper's network and torchvision's variant."""

from .. import nn
from . import register_model
from ._convnet import feature_shape, scaled

SMALL_INPUT = 128  # below this side length the stem keeps resolution (see AlexNet's docstring)


def _lrn():
    # NOTE: the paper's k=2, n=5, alpha=1e-4, beta=0.75 in PyTorch's convention (alpha divided by size).
    return nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)


class AlexNet(nn.Module):
    """features (convolutions) -> [avgpool] -> flatten -> classifier (dropout, 2 hidden dense, logits).

    variant="paper": 96 11x11/4, ReLU, LRN, max pool 3/2; 256 5x5 (2 groups), ReLU, LRN, pool;
    384 3x3; 384 3x3 (2 groups); 256 3x3 (2 groups), pool; 4096-4096-classes, dropout 0.5.
    227x227x3 input, 60,965,224 parameters for 1000 classes.
    variant="torchvision": 64 11x11/4 pad 2, 192 5x5, 384, 256, 256, no LRN or groups, adaptive
    average pool to 6x6; 224x224 input, 61,100,840 parameters for 1000 classes.

    Small inputs (input_size < 128, e.g. 28x28 Fashion-MNIST): the stem becomes a 3x3 stride-1
    convolution and the max pools get padding 1 (28 -> 14 -> 7 -> 4), and the first dense layer is
    sized from the feature map. `width` scales every channel count, `hidden` the dense layers; they
    default to 1.0 and 4096, and for small inputs to 0.25 and 512 (a network a CPU trains on
    Fashion-MNIST in minutes per epoch: `tensorcore train --model alexnet`).
    """

    def __init__(self, num_classes=1000, in_channels=3, variant="paper", input_size=None, width=None,
                 hidden=None, dropout=0.5):
        super().__init__()
        if variant not in ("paper", "torchvision"):
            raise ValueError(f"alexnet: variant must be 'paper' or 'torchvision', got {variant!r}")
        if input_size is None:
            input_size = 227 if variant == "paper" else 224
        small = input_size < SMALL_INPUT
        width = (0.25 if small else 1.0) if width is None else width
        hidden = (512 if small else 4096) if hidden is None else hidden
        pad = 1 if small else 0

        def pool():
            return nn.MaxPool2d(3, stride=2, padding=pad)

        if variant == "paper":
            c1, c2, c3, c4, c5 = (scaled(c, width, 2) for c in (96, 256, 384, 384, 256))
            stem = nn.Conv2d(in_channels, c1, 3, padding=1) if small else nn.Conv2d(in_channels, c1, 11, stride=4)
            layers = [
                stem, nn.ReLU(), _lrn(), pool(),
                nn.Conv2d(c1, c2, 5, padding=2, groups=2), nn.ReLU(), _lrn(), pool(),
                nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c3, c4, 3, padding=1, groups=2), nn.ReLU(),
                nn.Conv2d(c4, c5, 3, padding=1, groups=2), nn.ReLU(), pool(),
            ]
        else:
            c1, c2, c3, c4, c5 = (scaled(c, width) for c in (64, 192, 384, 256, 256))
            stem = nn.Conv2d(in_channels, c1, 3, padding=1) if small else \
                nn.Conv2d(in_channels, c1, 11, stride=4, padding=2)
            layers = [
                stem, nn.ReLU(), pool(),
                nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), pool(),
                nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), pool(),
            ]
        self.features = nn.Sequential(*layers)
        if variant == "torchvision" and not small:
            self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
            c, h, w = c5, 6, 6
        else:
            self.avgpool = nn.Identity()
            c, h, w = feature_shape(layers, in_channels, input_size, "alexnet")
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c * h * w, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        self.input_shape = (in_channels, input_size, input_size)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


@register_model("alexnet", input_shape=(1, 28, 28))
def alexnet(num_classes=1000, in_channels=3, variant="paper", input_size=None, width=None, hidden=None,
            dropout=0.5):
    """AlexNet; see AlexNet. alexnet() is the paper's 227x227 network (60,965,224 parameters).

    Example:
        model = alexnet(num_classes=10, in_channels=1, input_size=28)  # Fashion-MNIST: width 0.25, hidden 512
    """
    return AlexNet(num_classes, in_channels, variant, input_size, width, hidden, dropout)
