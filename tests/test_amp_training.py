"""Mixed precision training: the MLP and LeNet-5 trained under tc.autocast(float16) with a GradScaler reach their
float32 test accuracy (within 0.5%), on synthetic Fashion-MNIST-like data (10 classes of noisy 28x28 templates).
The real Fashion-MNIST figures are in bench/results/amp-fashion-mnist.md."""

import os

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import models
from tensorcore.amp.training import MixedPrecision


def _synthetic(n, seed):
    """Images = one of 10 smooth random templates, shifted by up to 2 pixels, plus noise; the template is the label."""
    rng = np.random.default_rng(1234)
    templates = rng.standard_normal((10, 7, 7)).repeat(4, axis=1).repeat(4, axis=2)  # 28x28, blocky
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    shifts = rng.integers(-2, 3, (n, 2))
    x = np.stack([np.roll(templates[c], tuple(s), axis=(0, 1)) for c, s in zip(y, shifts)])
    x = x + 2.5 * rng.standard_normal(x.shape)
    return x.astype(np.float32)[:, None], y


def _train(name, amp, steps, batch=64):
    tc.manual_seed(0)
    x, y = _synthetic(steps * batch, seed=1)
    xt, yt = _synthetic(2000, seed=2)
    model = models.get_model_factory(name)()
    flat = name == "mlp"
    opt = tc.optim.Adam(model.parameters(), lr=2e-3)
    precision = MixedPrecision("fp16" if amp else None, tc.device("cpu"))
    for i in range(steps):
        xb = tc.tensor(x[i * batch:(i + 1) * batch])
        xb = xb.reshape(batch, -1) if flat else xb
        with precision.autocast():
            loss = F.cross_entropy(model(xb), tc.tensor(y[i * batch:(i + 1) * batch]))
        precision.backward_step(loss, opt)
    with tc.no_grad():
        xt = tc.tensor(xt)
        logits = model(xt.reshape(len(yt), -1) if flat else xt)
    return float((logits.argmax(1).numpy() == yt).mean()), precision


@pytest.mark.slow
@pytest.mark.parametrize("name, steps", [("mlp", 80), ("lenet5", 40)])
def test_float16_autocast_reaches_float32_accuracy(name, steps):
    acc32, _ = _train(name, False, steps)
    acc16, precision = _train(name, True, steps)
    print(f"\n{name}, {steps} Adam steps of 64 on synthetic 10-class 28x28 data: test accuracy float32 {acc32:.4f}, "
          f"float16 autocast + GradScaler {acc16:.4f} (final scale {precision.scaler.get_scale():g})")
    assert acc32 > 0.8, acc32  # the task is learnt at all
    assert abs(acc16 - acc32) <= 0.005, (acc32, acc16)


DATA = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.isdir(DATA) and not os.environ.get("TENSORCORE_DATA"),
                    reason=f"Fashion-MNIST not found at {DATA}")
def test_train_cli_amp_and_checkpoint_activations(capsys):
    from tensorcore.cli import main

    assert main(["train", "--quiet", "--model", "mlp", "--epochs", "1", "--limit", "400", "--amp", "fp16",
                 "--checkpoint-activations"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out
    assert main(["train", "--quiet", "--model", "mlp", "--epochs", "1", "--limit", "400", "--amp", "bf16"]) != 0
    assert "bfloat16 is not supported" in capsys.readouterr().err


def test_checkpointed_training_step_gives_the_plain_step_gradients():
    from tensorcore.amp.training import checkpoint_activations

    tc.manual_seed(0)
    model = models.get_model_factory("lenet5")()
    x, y = _synthetic(4, seed=3)
    xb, yb = tc.tensor(x), tc.tensor(y)
    F.cross_entropy(model(xb), yb).backward()
    plain = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    F.cross_entropy(checkpoint_activations(model)(xb), yb).backward()
    for p, g in zip(model.parameters(), plain):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-5, atol=1e-6)
