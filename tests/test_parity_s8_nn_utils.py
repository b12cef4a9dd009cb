"""nn.utils.fuse_* against PyTorch, skip_init, clip_grad_norm, nn.init.sparse_ and the deprecated nn.init names."""

import warnings

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn

torch = pytest.importorskip("torch")


def _copy(src, dst):
    dst.load_state_dict({k: tc.tensor(v.detach().numpy()) for k, v in src.state_dict().items()})


CONVS = [("Conv2d", (3, 4, 3), "BatchNorm2d", (2, 3, 6, 6), False),
         ("Conv1d", (3, 4, 3), "BatchNorm1d", (2, 3, 7), False),
         ("ConvTranspose2d", (3, 4, 2), "BatchNorm2d", (2, 3, 4, 4), True)]


@pytest.mark.parametrize("conv_name,conv_args,bn_name,shape,transpose", CONVS, ids=[c[0] for c in CONVS])
@pytest.mark.parametrize("bias,affine", [(True, True), (False, True), (True, False)])
def test_fuse_conv_bn_eval_matches_torch(conv_name, conv_args, bn_name, shape, transpose, bias, affine):
    torch.manual_seed(0)
    ct = getattr(torch.nn, conv_name)(*conv_args, bias=bias).double()
    bt = getattr(torch.nn, bn_name)(conv_args[1], affine=affine).double()
    x = torch.randn(*shape, dtype=torch.float64)
    bt(ct(x))  # training step: running stats move away from 0 / 1
    with torch.no_grad():
        if affine:
            bt.weight.uniform_(0.5, 2.0)
            bt.bias.uniform_(-1, 1)
    ct.eval(), bt.eval()
    cc = getattr(nn, conv_name)(*conv_args, bias=bias, dtype=tc.float64)
    bc = getattr(nn, bn_name)(conv_args[1], affine=affine, dtype=tc.float64)
    _copy(ct, cc), _copy(bt, bc)
    cc.eval(), bc.eval()
    ft = torch.nn.utils.fuse_conv_bn_eval(ct, bt, transpose=transpose)
    fc = nn.utils.fuse_conv_bn_eval(cc, bc, transpose=transpose)
    assert type(fc) is type(cc) and fc is not cc and list(fc.state_dict()) == list(ft.state_dict())
    assert isinstance(fc.weight, nn.Parameter) and isinstance(fc.bias, nn.Parameter)
    for k, v in ft.state_dict().items():
        np.testing.assert_allclose(fc.state_dict()[k].numpy(), v.numpy(), rtol=1e-12, atol=1e-12, err_msg=k)
    xc = tc.tensor(x.numpy())
    np.testing.assert_allclose(fc(xc).detach().numpy(), bc(cc(xc)).detach().numpy(), atol=1e-10)
    if bias:  # the original conv is untouched
        np.testing.assert_array_equal(cc.bias.detach().numpy(), ct.bias.detach().numpy())


def test_fuse_linear_bn_eval_and_weights():
    torch.manual_seed(1)
    for features in (4, 1):
        lt, bt = torch.nn.Linear(3, 4).double(), torch.nn.BatchNorm1d(features).double()
        x = torch.randn(8, 3, dtype=torch.float64)
        if features == 4:
            bt(lt(x))
        lt.eval(), bt.eval()
        lc, bc = nn.Linear(3, 4, dtype=tc.float64), nn.BatchNorm1d(features, dtype=tc.float64)
        _copy(lt, lc), _copy(bt, bc)
        lc.eval(), bc.eval()
        ft, fc = torch.nn.utils.fuse_linear_bn_eval(lt, bt), nn.utils.fuse_linear_bn_eval(lc, bc)
        for k, v in ft.state_dict().items():
            np.testing.assert_allclose(fc.state_dict()[k].numpy(), v.numpy(), rtol=1e-12, err_msg=k)
    w, b = nn.utils.fuse_linear_bn_weights(lc.weight, None, bc.running_mean, bc.running_var, bc.eps, bc.weight,
                                           bc.bias)
    wt, bt_ = torch.nn.utils.fuse_linear_bn_weights(lt.weight, None, bt.running_mean, bt.running_var, bt.eps,
                                                    bt.weight, bt.bias)
    np.testing.assert_allclose(w.detach().numpy(), wt.detach().numpy())
    np.testing.assert_allclose(b.detach().numpy(), bt_.detach().numpy())
    assert w.requires_grad and not b.requires_grad and b.requires_grad == bt_.requires_grad


def test_fusion_errors():
    conv, bn = nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)
    with pytest.raises(tc.TensorcoreError, match="Fusion only for eval"):
        nn.utils.fuse_conv_bn_eval(conv, bn)
    lin, bn2 = nn.Linear(2, 3).eval(), nn.BatchNorm1d(2).eval()
    with pytest.raises(tc.TensorcoreError, match="out_features == bn.num_features"):
        nn.utils.fuse_linear_bn_eval(lin, bn2)
    with pytest.raises(tc.TensorcoreError, match="running statistics"):
        nn.utils.fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(3, track_running_stats=False).eval())


def test_skip_init():
    tc.manual_seed(5)
    before = tc.rand(3).numpy()
    tc.manual_seed(5)
    m = nn.utils.skip_init(nn.Linear, 10, 4, dtype=tc.float64)
    after = tc.rand(3).numpy()
    np.testing.assert_array_equal(after, before)  # no random numbers drawn
    assert type(m) is nn.Linear and tuple(m.weight.shape) == (4, 10) and m.weight.dtype == np.float64
    t = torch.nn.utils.skip_init(torch.nn.Linear, 10, 4)
    assert list(m.state_dict()) == list(t.state_dict())

    class NoDevice(nn.Module):
        def __init__(self, n):
            super().__init__()

    with pytest.raises(tc.TensorcoreError, match="device"):
        nn.utils.skip_init(NoDevice, 3)


def test_clip_grad_norm_deprecated_spelling():
    p = nn.Parameter(tc.ones(4))
    p.grad = tc.ones(4) * 3
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = nn.utils.clip_grad_norm(p, 1.0)
    assert abs(float(total) - 6.0) < 1e-6 and abs(float(p.grad.norm()) - 1.0) < 1e-5


@pytest.mark.parametrize("name,args", [("uniform", ()), ("normal", ()), ("constant", (0.3,)), ("eye", ()),
                                       ("xavier_uniform", ()), ("xavier_normal", ()), ("kaiming_uniform", ()),
                                       ("kaiming_normal", ()), ("orthogonal", ()), ("sparse", (0.5,))])
def test_deprecated_init_names_warn_and_call_the_underscore_versions(name, args):
    with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`"):
        getattr(torch.nn.init, name)(torch.zeros(4, 3), *args)
    tc.manual_seed(2)
    with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`"):
        old = getattr(nn.init, name)(tc.zeros(4, 3), *args).numpy().copy()
    tc.manual_seed(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = getattr(nn.init, name + "_")(tc.zeros(4, 3), *args).numpy()
    np.testing.assert_array_equal(old, new)
    assert getattr(nn.init, name).__name__ == name


def test_dirac_alias():
    with pytest.warns(FutureWarning, match="nn.init.dirac"):
        w = nn.init.dirac(tc.zeros(2, 2, 3))
    np.testing.assert_array_equal(w.numpy(), torch.nn.init.dirac_(torch.zeros(2, 2, 3)).numpy())


def test_sparse_init():
    w = nn.init.sparse_(tc.zeros(10, 6), sparsity=0.3, std=0.5)
    zeros_per_col = (w.numpy() == 0).sum(axis=0)
    assert np.all(zeros_per_col >= 3)  # ceil(0.3 * 10) per column, as torch
    t = torch.nn.init.sparse_(torch.zeros(10, 6), sparsity=0.3, std=0.5)
    assert np.all((t.numpy() == 0).sum(axis=0) >= 3)
    with pytest.raises(tc.TensorcoreError, match="sparse_"):
        nn.init.sparse_(tc.zeros(2, 2, 2), 0.5)


def test_utils_namespaces():
    from tensorcore.nn.utils import clip_grad, convert_parameters

    assert clip_grad.clip_grad_norm_ is nn.utils.clip_grad_norm_ and clip_grad.clip_grad_value_ is \
        nn.utils.clip_grad_value_
    assert convert_parameters.parameters_to_vector is nn.utils.parameters_to_vector
    import tensorcore.nn.utils.fusion as fusion

    assert fusion.fuse_conv_bn_eval is nn.utils.fuse_conv_bn_eval
