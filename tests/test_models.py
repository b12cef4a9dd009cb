"""LeNet-5, AlexNet and ZFNet: parameter counts, output shapes, the registry, small-input variants."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import models


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_lenet5_shape_and_parameters():
    tc.manual_seed(0)
    m = models.lenet5()
    assert _count(m) == 61_706
    assert m(tc.zeros((3, 1, 28, 28))).shape == (3, 10)
    assert models.lenet5(num_classes=5, in_channels=3, input_size=32)(tc.zeros((2, 3, 32, 32))).shape == (2, 5)


@pytest.mark.parametrize("factory, kwargs, count, size", [
    ("alexnet", {}, 60_965_224, 227),
    ("alexnet", {"variant": "torchvision"}, 61_100_840, 224),
    ("zfnet", {}, 62_357_608, 224),
])
def test_imagenet_parameter_counts_and_output(factory, kwargs, count, size):
    tc.manual_seed(0)
    m = getattr(models, factory)(**kwargs)
    assert _count(m) == count
    m.eval()
    with tc.no_grad():
        assert m(tc.zeros((1, 3, size, size))).shape == (1, 1000)


def test_alexnet_paper_layers():
    m = models.alexnet(num_classes=10, hidden=64)  # the paper's convolutions, small dense layers
    convs = [l for l in m.features if isinstance(l, tc.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    assert convs[0].kernel_size == (11, 11) and convs[0].stride == (4, 4)
    lrns = [l for l in m.features if isinstance(l, tc.nn.LocalResponseNorm)]
    assert len(lrns) == 2 and (lrns[0].size, lrns[0].alpha, lrns[0].beta, lrns[0].k) == (5, 5e-4, 0.75, 2.0)
    pools = [l for l in m.features if isinstance(l, tc.nn.MaxPool2d)]
    assert len(pools) == 3 and all((p.kernel_size, p.stride) == (3, 2) for p in pools)
    assert m.classifier[-1].out_features == 10


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "zfnet"])
def test_small_variants_train_a_step_on_28x28(name):
    """Each model builds for 28x28 one-channel input, and one SGD step gives finite gradients."""
    tc.manual_seed(1)
    m = models.get_model(name, num_classes=10, in_channels=1, input_size=28)
    x = tc.randn(4, 1, 28, 28)
    y = tc.tensor(np.array([0, 1, 2, 3]))
    loss = tc.nn.functional.cross_entropy(m(x), y)
    loss.backward()
    assert np.isfinite(loss.item())
    for p in m.parameters():
        assert p.grad is not None and np.all(np.isfinite(p.grad.numpy()))
    assert models.input_shape(name) == (1, 28, 28)


def test_small_variant_sizes_and_width():
    m = models.zfnet(num_classes=10, in_channels=1, input_size=28)
    assert m.classifier[1].in_features == 64 * 4 * 4 and m.classifier[1].out_features == 512
    wide = models.alexnet(num_classes=10, in_channels=1, input_size=28, width=0.5, hidden=256)
    assert [c.out_channels for c in wide.features if isinstance(c, tc.nn.Conv2d)] == [48, 128, 192, 192, 128]
    assert wide.classifier[-1].in_features == 256


def test_too_small_input_is_a_clear_error():
    with pytest.raises(tc.ShapeError, match=r"lenet5: a 8x8 input is too small"):
        models.lenet5(input_size=8)
    with pytest.raises(ValueError, match="variant"):
        models.alexnet(variant="caffe")
