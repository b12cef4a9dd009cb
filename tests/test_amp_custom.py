"""tc.amp.custom_fwd / custom_bwd against torch.amp's: what a custom Function's forward and backward see (input
dtypes, the autocast state), with and without cast_inputs, inside and outside an autocast region."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")


def _probe_function(lib, cast_inputs, with_bwd):
    """A Function y = a * b (elementwise) that records what its forward and backward see."""
    seen = {}
    amp = lib.amp
    fwd_deco = amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
    bwd_deco = amp.custom_bwd(device_type="cpu") if with_bwd else (lambda f: f)

    class Probe(lib.autograd.Function):
        @staticmethod
        @fwd_deco
        def forward(ctx, a, b):
            seen["fwd"] = (lib.is_autocast_enabled("cpu"), str(a.dtype).replace("torch.", ""),
                           str(b.dtype).replace("torch.", ""))
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        @bwd_deco
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            seen["bwd"] = (lib.is_autocast_enabled("cpu"), str(g.dtype).replace("torch.", ""))
            if seen["bwd"][0]:
                seen["bwd_dtype"] = str(lib.get_autocast_dtype("cpu")).replace("torch.", "")
            return g * b, g * a

    return Probe, seen


def _run(lib, cast_inputs, with_bwd, region, low):
    arrays = (np.arange(1.0, 5.0), np.arange(2.0, 6.0))
    if lib is tc:
        a = tc.tensor(arrays[0], dtype=getattr(tc, low), requires_grad=True)
        b = tc.tensor(arrays[1], dtype=tc.float32, requires_grad=True)
        cast = None if cast_inputs is None else getattr(tc, cast_inputs)
    else:
        a = torch.tensor(arrays[0]).to(getattr(torch, low)).requires_grad_()
        b = torch.tensor(arrays[1], dtype=torch.float32, requires_grad=True)
        cast = None if cast_inputs is None else getattr(torch, cast_inputs)
    Probe, seen = _probe_function(lib, cast, with_bwd)
    with lib.autocast("cpu", dtype=getattr(lib, low), enabled=region):
        out = Probe.apply(a, b)
    out.sum().backward()
    seen["out"] = str(out.dtype).replace("torch.", "")
    seen["grads"] = (str(a.grad.dtype).replace("torch.", ""), str(b.grad.dtype).replace("torch.", ""))
    return seen


@pytest.mark.parametrize("cast_inputs", [None, "float32"])
@pytest.mark.parametrize("with_bwd", [False, True])
@pytest.mark.parametrize("region", [False, True])
@pytest.mark.parametrize("low", ["bfloat16", "float16"])
def test_custom_fwd_bwd_see_what_torch_sees(cast_inputs, with_bwd, region, low):
    ours, theirs = _run(tc, cast_inputs, with_bwd, region, low), _run(torch, cast_inputs, with_bwd, region, low)
    # a tensorcore forward takes arrays: their dtypes are the inputs' (NumPy spells bool etc. the same way)
    assert ours == theirs


def test_cast_inputs_result_and_gradients():
    Probe, seen = _probe_function(tc, tc.float32, True)
    a = tc.tensor([1.5, 2.0], dtype=tc.bfloat16, requires_grad=True)
    with tc.autocast("cpu"):
        out = Probe.apply(a, a)
    assert out.dtype == tc.float32 and seen["fwd"] == (False, "float32", "float32")
    out.sum().backward()
    assert a.grad.dtype == tc.bfloat16
    np.testing.assert_array_equal(a.grad.numpy().astype(np.float32), [3.0, 4.0])  # 2 a


def test_bad_device_type():
    with pytest.raises(ValueError, match="device_type"):
        tc.amp.custom_fwd(device_type=None)
    with pytest.raises(ValueError, match="device_type"):
        tc.amp.custom_bwd(lambda ctx, g: g, device_type=3)
    with pytest.raises(tc.DeviceError):
        tc.amp.custom_fwd(device_type="tpu")
