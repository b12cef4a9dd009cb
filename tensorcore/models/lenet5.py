"""LeNet-5 (LeCun et al., 1998) in its modern form: ReLU and max pooling, for 28x28 Fashion-MNIST."""

from .. import nn
from . import register_model
from ._convnet import feature_shape


@register_model("lenet5", input_shape=(1, 28, 28))
def lenet5(num_classes=10, in_channels=1, input_size=28):
    """conv(1->6, 5x5, pad 2)-ReLU-maxpool 2, conv(6->16, 5x5)-ReLU-maxpool 2, 400-120-84-classes.

    On 28x28 input the padding keeps conv1 at 28x28, so the flattened features are 16*5*5 = 400,
    as in the 32x32 original. The head is sized from `input_size` (32 gives 16*6*6 = 576).
    61,706 parameters for 10 classes at 28x28. PyTorch's default init; outputs logits.

    Example:
        model = lenet5()
        model(tc.zeros((64, 1, 28, 28))).shape        # (64, 10)
    """
    features = [
        nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    ]
    c, h, w = feature_shape(features, in_channels, input_size, "lenet5")
    return nn.Sequential(
        *features,
        nn.Flatten(),
        nn.Linear(c * h * w, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )
