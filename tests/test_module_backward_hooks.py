"""Module full backward hooks and pre-hooks, and tensor hooks inside forward hooks (Grad-CAM's pattern), with
PyTorch as the oracle (weights copied)."""

import warnings

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")


def _pair():
    tconv, tfc = torch.nn.Conv2d(1, 2, 3), torch.nn.Linear(32, 3)
    cconv, cfc = tc.nn.Conv2d(1, 2, 3), tc.nn.Linear(32, 3)
    for ours, theirs in ((cconv, tconv), (cfc, tfc)):
        ours.load_state_dict({k: tc.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return (torch, tconv, tfc), (tc, cconv, cfc)


def test_full_backward_hooks_and_pre_hooks_see_and_change_what_torchs_do():
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    results = []
    for lib, conv, fc in _pair():
        seen = {}
        relu = lib.nn.ReLU()
        relu.register_full_backward_hook(lambda m, gi, go, seen=seen: seen.update(
            gi=gi[0].detach().numpy().copy(), go=go[0].detach().numpy().copy()))
        relu.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))  # doubles what reaches relu's backward
        handle = conv.register_full_backward_hook(lambda m, gi, go, seen=seen: seen.update(conv_gi=gi))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns that conv's input needs no gradient
            fc(relu(conv(lib.tensor(x))).reshape(2, -1)).sum().backward()
        handle.remove()
        results.append((seen, conv.weight.grad.numpy().copy()))
    (theirs, their_grad), (ours, our_grad) = results
    np.testing.assert_allclose(ours["gi"], theirs["gi"], atol=1e-6)
    np.testing.assert_allclose(ours["go"], theirs["go"], atol=1e-6)
    assert ours["conv_gi"] == theirs["conv_gi"] == (None,)
    np.testing.assert_allclose(our_grad, their_grad, atol=1e-5)


def test_grad_cam_pattern_forward_hook_registers_a_tensor_hook():
    x = np.random.default_rng(1).standard_normal((1, 1, 6, 6)).astype(np.float32)
    cams = []
    for lib, conv, fc in _pair():
        store = {}

        def keep(module, inputs, output, store=store):
            store["act"] = output.detach()
            output.register_hook(lambda g: store.update(grad=g.detach()))  # the tensor object is dropped after

        conv.register_forward_hook(keep)
        score = fc(lib.relu(conv(lib.tensor(x))).reshape(1, -1))[0, 1]
        score.backward()
        weights = store["grad"].mean(dim=(2, 3), keepdim=True)
        cams.append(lib.relu((weights * store["act"]).sum(dim=1)).numpy())
    np.testing.assert_allclose(cams[1], cams[0], rtol=1e-5, atol=1e-6)


def test_replacing_grad_input_changes_the_gradient_upstream():
    x = tc.tensor([1.0, -2.0, 3.0], requires_grad=True)
    lin = tc.nn.Identity() if hasattr(tc.nn, "Identity") else tc.nn.ReLU()
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 10,))
    lin(x * 1.0).sum().backward()
    expected = [10.0, 10.0, 10.0] if hasattr(tc.nn, "Identity") else [10.0, 0.0, 10.0]
    assert x.grad.tolist() == expected
