"""ZFNet (Zeiler and Fergus, 2013): AlexNet with a 7x7/2 first layer and a stride-2 second layer."""

from .. import nn
from . import register_model
from ._convnet import feature_shape, scaled

SMALL_INPUT = 128


def _lrn():
    return nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)


class ZFNet(nn.Module):
    """96 7x7/2, ReLU, max pool 3/2, LRN; 256 5x5/2, ReLU, pool, LRN; 384, 384, 256 3x3, pool to 6x6x256;
    4096-4096-classes with dropout 0.5. 224x224x3 input, 62,357,608 parameters for 1000 classes.

    Geometry for 224: conv1 pad 1 -> 110, pool (pad 1) -> 55, conv2 -> 26, pool (pad 1) -> 13,
    conv3-5 -> 13, pool -> 6 (the paper's sizes). The paper's contrast normalization is an LRN here.
    Small inputs (input_size < 128): conv1 3x3/1, conv2 5x5/1 pad 2, pools 3/2 pad 1 (28 -> 14 -> 7 -> 4).
    `width` scales the channels, `hidden` the dense layers: 1.0 and 4096 by default, 0.25 and 512 for
    small inputs.
    """

    def __init__(self, num_classes=1000, in_channels=3, input_size=224, width=None, hidden=None, dropout=0.5):
        super().__init__()
        small = input_size < SMALL_INPUT
        width = (0.25 if small else 1.0) if width is None else width
        hidden = (512 if small else 4096) if hidden is None else hidden
        c1, c2, c3, c4, c5 = (scaled(c, width) for c in (96, 256, 384, 384, 256))
        if small:
            conv1, conv2 = nn.Conv2d(in_channels, c1, 3, padding=1), nn.Conv2d(c1, c2, 5, padding=2)
        else:
            conv1, conv2 = nn.Conv2d(in_channels, c1, 7, stride=2, padding=1), nn.Conv2d(c1, c2, 5, stride=2)
        layers = [
            conv1, nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1), _lrn(),
            conv2, nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1), _lrn(),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1 if small else 0),
        ]
        self.features = nn.Sequential(*layers)
        c, h, w = feature_shape(layers, in_channels, input_size, "zfnet")
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c * h * w, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        self.input_shape = (in_channels, input_size, input_size)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


@register_model("zfnet", input_shape=(1, 28, 28))
def zfnet(num_classes=1000, in_channels=3, input_size=224, width=None, hidden=None, dropout=0.5):
    """ZFNet; see ZFNet. zfnet() is the 224x224 network (62,357,608 parameters).

    Example:
        model = zfnet(num_classes=10, in_channels=1, input_size=28)  # Fashion-MNIST: width 0.25, hidden 512
    """
    return ZFNet(num_classes, in_channels, input_size, width, hidden, dropout)
