"""Lazy modules against PyTorch: reprs before and after the dry run, type(m) becoming the ordinary class,
state_dict keys, shapes inferred, values/gradients once the weights are copied over, optimizers made before
the dry run, load_state_dict into a lazy module, UninitializedParameter / UninitializedBuffer."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn

torch = pytest.importorskip("torch")

# (name, constructor args, input shape)
CASES = [
    ("LazyLinear", (3,), (2, 5, 4)),
    ("LazyConv1d", (4, 3), (2, 3, 7)),
    ("LazyConv2d", (4, 3), (2, 2, 6, 5)),
    ("LazyConv2d", (4, (2, 3)), (2, 6, 5)),  # unbatched
    ("LazyConv3d", (2, 2), (1, 2, 4, 3, 4)),
    ("LazyConvTranspose1d", (4, 3), (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 2), (1, 4, 3, 3)),
    ("LazyConvTranspose3d", (2, 2), (1, 2, 3, 2, 3)),
    ("LazyBatchNorm1d", (), (4, 3)),
    ("LazyBatchNorm2d", (), (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), (2, 3, 5)),
    ("LazyInstanceNorm2d", (), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), (2, 3, 2, 3, 2)),
]


@pytest.mark.parametrize("name,args,shape", CASES, ids=[f"{c[0]}-{len(c[2])}d" for c in CASES])
def test_dry_run_becomes_the_ordinary_module(name, args, shape):
    mt, mc = getattr(torch.nn, name)(*args).double(), getattr(nn, name)(*args).double()
    assert repr(mc) == repr(mt)
    assert list(mc.state_dict()) == list(mt.state_dict())
    assert all(isinstance(p, nn.UninitializedParameter) for p in mc.parameters())
    params_before = list(mc.parameters())
    x = np.random.default_rng(0).standard_normal(shape)
    yt = mt(torch.tensor(x))
    mc(tc.tensor(x))
    assert type(mc).__name__ == type(mt).__name__
    assert type(mc) is getattr(nn, type(mt).__name__)
    assert repr(mc) == repr(mt)
    assert [p is q for p, q in zip(params_before, mc.parameters())] == [True] * len(params_before)
    sd_t = mt.state_dict()
    assert {k: tuple(v.shape) for k, v in mc.state_dict().items()} == {k: tuple(v.shape) for k, v in sd_t.items()}
    assert all(type(p) is nn.Parameter for p in mc.parameters())
    assert all(type(b) is tc.Tensor for b in mc.buffers())
    if "Norm" in name:  # the ordinary initialization: weight ones, bias zeros, running stats reset
        fresh = getattr(nn, type(mt).__name__)(shape[1], affine=True, track_running_stats=True).double()
        fresh(tc.tensor(x))
        for k, v in fresh.state_dict().items():
            np.testing.assert_allclose(mc.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    # the same weights: the same outputs and gradients
    mc.load_state_dict({k: tc.tensor(v.detach().numpy()) for k, v in sd_t.items()})
    xt, xc = torch.tensor(x, requires_grad=True), tc.tensor(x, requires_grad=True)
    yt, yc = mt(xt), mc(xc)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    (yt * yt).sum().backward()
    (yc * yc).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-10)
    for (k, p), q in zip(mt.named_parameters(), mc.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=k)


def test_default_init_draws_like_the_ordinary_module():
    # a lazy module draws no random numbers at construction; at the dry run it draws what the eager one does
    tc.manual_seed(3)
    eager = nn.Conv2d(2, 4, 3)
    tc.manual_seed(3)
    lazy = nn.LazyConv2d(4, 3)
    tc.manual_seed(3)
    lazy.initialize_parameters(tc.zeros(1, 2, 5, 5))
    np.testing.assert_array_equal(lazy.weight.numpy(), eager.weight.numpy())
    np.testing.assert_array_equal(lazy.bias.numpy(), eager.bias.numpy())
    bound = 1 / np.sqrt(2 * 9)
    assert np.abs(lazy.weight.numpy()).max() <= bound and np.abs(lazy.bias.numpy()).max() <= bound


@pytest.mark.parametrize("opt_name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))])
def test_optimizer_made_before_the_dry_run(opt_name, kw):
    x = np.random.default_rng(1).standard_normal((4, 5))
    models, opts = [], []
    for lib in (torch, tc):
        m = lib.nn.Sequential(lib.nn.LazyLinear(6), lib.nn.ReLU(), lib.nn.LazyLinear(2)).double()
        opts.append(getattr(lib.optim, opt_name)(m.parameters(), **kw))
        m(lib.tensor(x))  # dry run
        models.append(m)
    mt, mc = models
    assert repr(mc) == repr(mt)
    mc.load_state_dict({k: tc.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    for _ in range(3):
        for (m, opt), lib in zip(zip(models, opts), (torch, tc)):
            opt.zero_grad()
            (m(lib.tensor(x)) ** 2).sum().backward()
            opt.step()
    for k, v in mt.state_dict().items():
        np.testing.assert_allclose(mc.state_dict()[k].numpy(), v.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


def test_load_state_dict_into_a_lazy_module():
    full = nn.Linear(5, 3)
    lazy = nn.LazyLinear(3)
    lazy.load_state_dict(full.state_dict())
    # as torch: the values are loaded, the module stays lazy (in_features 0) until its first call
    assert type(lazy) is nn.LazyLinear and lazy.in_features == 0 and tuple(lazy.weight.shape) == (3, 5)
    t = torch.nn.LazyLinear(3)
    t.load_state_dict(torch.nn.Linear(5, 3).state_dict())
    assert type(t).__name__ == "LazyLinear" and t.in_features == 0
    np.testing.assert_array_equal(lazy.weight.numpy(), full.weight.numpy())
    x = tc.randn(2, 5)
    np.testing.assert_allclose(lazy(x).numpy(), full(x).numpy())
    assert type(lazy) is nn.Linear


def test_uninitialized_parameter_and_buffer():
    u, ut = nn.UninitializedParameter(), torch.nn.UninitializedParameter()
    assert repr(u) == repr(ut) == "<UninitializedParameter>" and u.requires_grad
    with pytest.raises(tc.TensorcoreError, match="uninitialized"):
        _ = u.shape
    u.materialize((2, 3))
    assert type(u) is nn.Parameter and tuple(u.shape) == (2, 3) and u.dtype == np.float32 and u.requires_grad
    b = nn.UninitializedBuffer(dtype=tc.float64)
    assert repr(b) == "<UninitializedBuffer>" and not b.requires_grad
    b.materialize(4)
    assert type(b) is tc.Tensor and tuple(b.shape) == (4,) and b.dtype == np.float64
    p = nn.UninitializedParameter()
    p.materialize((2,), dtype=tc.float64)
    assert p.dtype == np.float64
    assert isinstance(nn.UninitializedParameter(), nn.Parameter)


def test_factory_dtype_and_to_before_the_dry_run():
    m = nn.LazyLinear(2, dtype=tc.float64)
    m(tc.randn(3, 4, dtype=tc.float64))
    assert m.weight.dtype == np.float64
    m = nn.LazyConv1d(2, 3).double()  # moved before the dry run: materialized in float64
    m(tc.randn(1, 2, 5, dtype=tc.float64))
    assert m.weight.dtype == np.float64 and m.bias.dtype == np.float64
    m = nn.LazyLinear(2)  # float32 parameters stay float32 (torch: the matmul refuses float64 input)
    m(tc.randn(3, 4))
    assert m.weight.dtype == np.float32


def test_bad_input_raises_naming_the_module():
    with pytest.raises(tc.TensorcoreError, match="LazyConv2d"):
        nn.LazyConv2d(4, 3)(tc.randn(2, 5))
    with pytest.raises(tc.TensorcoreError, match="LazyConv2d.*groups"):
        nn.LazyConv2d(4, 3, groups=2)(tc.randn(1, 3, 5, 5))
    with pytest.raises(tc.TensorcoreError, match="LazyBatchNorm2d"):
        nn.LazyBatchNorm2d()(tc.randn(3))
    with pytest.raises(tc.TensorcoreError, match="Conv2d"):
        nn.LazyConv2d(3, 3, groups=2)  # out_channels not divisible by groups, at construction as torch


def test_load_state_dict_into_a_model_holding_lazy_modules():
    full = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.LazyBatchNorm1d(), nn.Linear(3, 2), nn.Unflatten(1, (2, 1)),
                         nn.Conv1d(2, 2, 1))
    full(tc.randn(4, 5))
    lazy = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyBatchNorm1d(), nn.LazyLinear(2), nn.Unflatten(1, (2, 1)),
                         nn.LazyConv1d(2, 1))
    lazy.load_state_dict(full.state_dict())
    assert [type(m).__name__ for m in lazy][:4] == ["LazyLinear", "ReLU", "LazyBatchNorm1d", "LazyLinear"]  # as torch
    for k, v in full.state_dict().items():
        np.testing.assert_array_equal(lazy.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    x = tc.randn(2, 5)
    full.eval(), lazy.eval()
    np.testing.assert_allclose(lazy(x).numpy(), full(x).numpy())
    assert [type(m).__name__ for m in lazy] == ["Linear", "ReLU", "BatchNorm1d", "Linear", "Unflatten", "Conv1d"]
    assert lazy[0].in_features == 5 and lazy[5].in_channels == 0  # torch's numbers in this path (its Conv too)


def test_user_defined_lazy_module():
    class LazyScale(nn.LazyModuleMixin, nn.Module):  # PyTorch's recipe: the mixin first, initialize_parameters
        def __init__(self):
            super().__init__()
            self.scale = nn.UninitializedParameter()

        def initialize_parameters(self, x):
            if self.has_uninitialized_params():
                self.scale.materialize((x.shape[-1],))
                with tc.no_grad():
                    self.scale.fill_(2.0)

        def forward(self, x):
            return x * self.scale

    m = LazyScale()
    assert m.has_uninitialized_params() and list(m.state_dict()) == ["scale"]
    y = m(tc.ones(2, 3))
    np.testing.assert_array_equal(y.numpy(), np.full((2, 3), 2.0))
    assert type(m) is LazyScale and not m.has_uninitialized_params()  # cls_to_become None: the class stays
    y.sum().backward()
    np.testing.assert_array_equal(m.scale.grad.numpy(), [2.0, 2.0, 2.0])
