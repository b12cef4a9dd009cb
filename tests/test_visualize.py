"""Saliency, CAM / Grad-CAM, the deconvnet projection, and `tensorcore visualize` writing a PNG."""

import os

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import models, nn
from tensorcore import visualize as V

DATA = "/usr/share/datasets/fashion-mnist"


def _gap_net():
    tc.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))


def test_saliency_is_the_input_gradient_of_the_class_score():
    tc.manual_seed(1)
    model = models.lenet5()
    x = np.random.default_rng(0).random((1, 28, 28)).astype(np.float32)
    s = V.saliency(model, x, target=4)
    xt = tc.tensor(x[None], requires_grad=True)
    model(xt)[0, 4].backward()
    np.testing.assert_allclose(s, np.abs(xt.grad.numpy()[0, 0]), rtol=1e-6)
    assert model.training  # the mode is restored


def test_cam_of_a_gap_network_is_the_weighted_sum_of_feature_maps():
    model = _gap_net()
    x = np.random.default_rng(1).random((1, 8, 8)).astype(np.float32)
    cam, kind, target = V.class_activation_map(model, x, target=2)
    assert kind == "CAM" and target == 2 and cam.shape == (8, 8)
    layers = V.layers_of(model)
    f = V._run(layers, tc.tensor(x[None]), upto=4).numpy()[0]  # after the last ReLU: (6, 4, 4)
    want = np.tensordot(layers[-1].weight.numpy()[2], f, axes=(0, 0))
    want = (want - want.min()) / (want.max() - want.min())
    np.testing.assert_allclose(cam, V.resize_bilinear(want, (8, 8)), rtol=1e-5, atol=1e-6)
    # Grad-CAM on a GAP network: alpha_k = w_k / (h w), the same map where it is positive
    gc, kind, _ = V.class_activation_map(nn.Sequential(*layers[:-1], nn.Dropout(0.0), nn.ReLU(), layers[-1]), x, 2)
    assert kind == "Grad-CAM"


def test_grad_cam_for_lenet_and_zfnet():
    x = np.random.default_rng(2).random((1, 28, 28)).astype(np.float32)
    for model in (models.lenet5(), models.zfnet(num_classes=10, in_channels=1, input_size=28)):
        cam, kind, target = V.class_activation_map(model, x)
        assert kind == "Grad-CAM" and cam.shape == (28, 28) and 0 <= target < 10
        assert cam.min() >= 0 and cam.max() <= 1 + 1e-6


def test_deconvnet_without_relu_is_the_gradient_of_the_chosen_activation():
    """With no ReLU in the way, unpooling with switches and transposed filters is exactly backprop."""
    tc.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, stride=1, padding=1), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, stride=2),
                          nn.LocalResponseNorm(3))
    x = np.random.default_rng(3).random((1, 1, 12, 12)).astype(np.float32)
    proj = V.deconvnet(model, x, layer=2, channel=1)
    xt = tc.tensor(x, requires_grad=True)
    a = model[2](model[1](model[0](xt)))[0, 1]
    pos = np.unravel_index(int(a.numpy().argmax()), a.shape)
    a[pos].backward()
    np.testing.assert_allclose(proj[0], float(a.numpy()[pos]) * xt.grad.numpy()[0, 0], rtol=1e-4, atol=1e-6)


def test_deconvnet_errors_and_defaults():
    model = models.lenet5()
    x = np.zeros((1, 28, 28), dtype=np.float32)
    assert V.deconvnet(model, x).shape == (1, 28, 28)
    with pytest.raises(tc.TensorcoreError, match="cannot project through Flatten"):
        V.deconvnet(model, x, layer=8)
    with pytest.raises(tc.TensorcoreError, match="no Conv2d"):
        V.class_activation_map(models.mlp(), x.reshape(784))


def test_receptive_field_of_lenets_second_conv_is_14_pixels():
    layers = V.layers_of(models.lenet5())[:4]  # conv1 (5x5, pad 2), relu, pool 2, conv2 (5x5)
    assert V.receptive_field(layers, (4, 4), (28, 28)) == (6, 20, 6, 20)
    assert V.receptive_field(layers, (0, 9), (28, 28)) == (0, 12, 16, 28)  # clipped at the image's edges


def test_deconvnet_projection_lives_inside_the_receptive_field_of_the_strongest_activation():
    tc.manual_seed(3)
    model = models.lenet5()
    x = np.random.default_rng(5).random((1, 28, 28)).astype(np.float32)
    proj, info = V.deconvnet_strongest(model, x)
    top, bottom, left, right = info["box"]
    assert info["conv"] == 2 and info["value"] > 0 and (bottom - top, right - left) != (28, 28)
    outside = proj.copy()
    outside[:, top:bottom, left:right] = 0
    assert np.abs(proj).max() > 0 and np.abs(outside).max() == 0
    np.testing.assert_array_equal(proj, V.deconvnet(model, x))  # the same projection as the plain function


def test_render_writes_a_png(tmp_path):
    path = tmp_path / "vis.png"
    pred = V.render(models.lenet5(), np.random.default_rng(4).random((1, 28, 28)), str(path), label=1,
                    class_names=V.FASHION_CLASSES, with_deconv=True)
    assert 0 <= pred < 10
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _checkpoint(path, name):
    from tensorcore.cli import build_parser
    from tensorcore.train import save_checkpoint

    tc.manual_seed(0)
    model = models.get_model(name, **({"num_classes": 10, "in_channels": 1, "input_size": 28}
                                      if name != "mlp" else {}))
    opt = tc.optim.SGD(model.parameters(), lr=0.1)
    args = build_parser(load="train").parse_args(["train", "--model", name])  # every train option's default
    save_checkpoint(str(path), args, model, opt, None, 1, {"train_loss": [1.0]})


@pytest.mark.skipif(not os.path.isdir(DATA), reason=f"Fashion-MNIST not found at {DATA}")
def test_visualize_command_writes_input_saliency_cam(tmp_path, capsys):
    from tensorcore.cli import main

    ckpt, png = tmp_path / "lenet.npz", tmp_path / "out.png"
    _checkpoint(ckpt, "lenet5")
    assert main(["visualize", "--model", str(ckpt), "--image-index", "7", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000
    (_, _), (_, y_test) = tc.data.fashion_mnist()
    true = V.FASHION_CLASSES[int(y_test[7])]
    assert f"test image 7: true {true} ({int(y_test[7])}), predicted " in capsys.readouterr().out
    flat = tmp_path / "mlp.npz"
    _checkpoint(flat, "mlp")
    assert main(["visualize", "--model", str(flat), "--out", str(png)]) == 2
    assert "conv net" in capsys.readouterr().err
    assert main(["visualize", "--model", str(ckpt), "--image-index", "10000", "--out", str(png)]) == 2
