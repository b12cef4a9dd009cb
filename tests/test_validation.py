"""Arguments outside the ops: sizes are ints (2.0 and True refused, as PyTorch refuses them), >= 0 and
fit in memory before anything is allocated; hyperparameters are finite and in range. Each refusal is
a tensorcore error naming the function and the argument."""

import math

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import _validate as check
from tensorcore import nn, optim
from tensorcore.optim import lr_scheduler

INF, NAN = math.inf, math.nan


@pytest.mark.parametrize("call, pattern", [
    (lambda: tc.zeros(-1), r"zeros\(\): negative dimension -1"),
    (lambda: tc.ones(2, -3), r"ones\(\): negative dimension -3"),
    (lambda: tc.randn(2, 3.5), r"randn\(\): argument 'size' must be a tuple of ints, but found element of type "
                               r"float at pos 1"),
    (lambda: tc.zeros(2.0), "found element of type float"),
    (lambda: tc.empty(True), "found element of type bool"),
    (lambda: tc.rand((2, "3")), "found element of type str"),
    (lambda: tc.zeros(None), "found element of type NoneType"),
    (lambda: tc.zeros(np.zeros(3)), "must be a tuple of ints, got ndarray"),
    (lambda: tc.zeros(10**6, 10**6), r"needs .* GiB, more than this machine's memory"),
    (lambda: tc.empty(2**62, 2**62), "more than this machine's memory"),
    (lambda: tc.full((2,), None), "fill_value must be a number"),
    (lambda: tc.full((2,), 300, dtype=tc.uint8), "does not fit dtype uint8"),
    (lambda: tc.full((2,), float("nan"), dtype=tc.int64), "does not fit dtype int64"),  # (2.5 truncates, as torch)
    (lambda: tc.arange(0, 1, 0), "step must be nonzero"),
    (lambda: tc.arange(5, 0), "inconsistent with step sign"),
    (lambda: tc.arange(0, INF), "invalid end"),
    (lambda: tc.arange(0, 10**30), "more than this machine's memory"),
    (lambda: tc.linspace(0, 1, 2.0), "argument 'steps' must be an int"),
    (lambda: tc.linspace(0, NAN, 3), "invalid end"),
    (lambda: tc.eye(-1), "argument 'n' must be >= 0"),
    (lambda: tc.eye(2, 1.5), "argument 'm' must be an int"),
    (lambda: tc.randint(5, 5), "expects low < high"),
    (lambda: tc.randint(0, 1000, (3,), dtype=tc.uint8), r"\[0, 1000\) does not fit dtype uint8"),
    (lambda: tc.randint(0, 2.5), "argument 'high' must be an int"),
    (lambda: tc.rand(2, dtype=tc.int64), "dtype int64 is not floating"),
    (lambda: tc.zeros(2, dtype=object), "cannot hold dtype object"),
    (lambda: tc.zeros(2, dtype=tc.int64, requires_grad=True), "only floating tensors can require grad"),
    (lambda: tc.zeros_like(np.zeros(2)), "expected a Tensor"),
    (lambda: tc.from_numpy(np.array(["a", "b"])), "dtype <U1"),
    (lambda: tc.from_numpy(np.array([1, None])), "dtype object"),
    (lambda: tc.from_numpy(np.zeros(2, dtype=[("a", "<f4")])), "can't convert"),
    (lambda: tc.from_numpy([1, 2]), "expected a numpy.ndarray"),
    (lambda: tc.from_dlpack([1, 2]), "does not speak DLPack"),
    (lambda: tc.manual_seed(1.5), "argument 'seed' must be an int"),
    (lambda: tc.manual_seed(None), "seed must be an int"),
    (lambda: tc.manual_seed(2**64), r"seed must be in \[-2\*\*63, 2\*\*64\)"),
    (lambda: tc.set_rng_state({"junk": 1}), "not a state of this generator"),
    (lambda: tc.randn(2, generator=np.random.default_rng(0)), "generator must be a tc.Generator"),
])
def test_creation_refuses_bad_arguments(call, pattern):
    with pytest.raises(tc.TensorcoreError, match=pattern):
        call()


def test_creation_accepts_what_pytorch_accepts():
    assert tc.zeros(2, 3).shape == (2, 3) and tc.zeros((2, 3)).shape == (2, 3) and tc.zeros([4]).shape == (4,)
    assert tc.zeros(np.int64(2), tc.tensor(3)).shape == (2, 3)  # NumPy ints and 0-d integer tensors
    assert tc.zeros(0, 5).shape == (0, 5) and tc.zeros().shape == ()
    assert tc.full((2,), 7).dtype == tc.int64 and tc.full((2,), True).dtype == tc.bool
    assert tc.full(3, 1.5).shape == (3,)
    assert tc.arange(5).numpy().tolist() == [0, 1, 2, 3, 4] and tc.arange(0, 1, 0.25).shape == (4,)
    assert tc.arange(3, 0, -1).numpy().tolist() == [3, 2, 1] and tc.arange(0, 0).shape == (0,)
    assert tc.linspace(0, 1, 5).shape == (5,) and tc.eye(2, 3).shape == (2, 3)
    assert tc.randint(10, size=(3,)).numpy().max() < 10
    tc.manual_seed(-1)  # PyTorch's remapping of negative seeds
    a = tc.randn(3).numpy()
    tc.manual_seed(2**64 - 1)
    assert np.array_equal(a, tc.randn(3).numpy())


def test_creation_checks_before_allocating(monkeypatch):
    def no_alloc(*args, **kwargs):
        raise AssertionError("allocated")

    monkeypatch.setattr(np, "zeros", no_alloc)
    with pytest.raises(tc.ArgumentError):
        tc.zeros(10**7, 10**7)


# --- nn module constructors ------------------------------------------------------------------------


@pytest.mark.parametrize("call, pattern", [
    (lambda: nn.Linear(2.5, 2), r"Linear: argument 'in_features' must be an int, got float 2.5"),
    (lambda: nn.Linear(2, -1), "'out_features' must be >= 0"),
    (lambda: nn.Linear(True, 2), "got bool"),
    (lambda: nn.Linear(10**6, 10**7), "more than this machine's memory"),
    (lambda: nn.Linear(2, 2, dtype=tc.int64), "parameters must be floating"),
    (lambda: nn.Conv2d(1, 1, 0), "'kernel_size' must be >= 1, got 0"),
    (lambda: nn.Conv2d(1, 1, 3, stride=0), "'stride' must be >= 1"),
    (lambda: nn.Conv2d(1, 1, 3, padding=-1), "'padding' must be >= 0"),
    (lambda: nn.Conv2d(1, 1, 3, padding="full"), "padding must be one of 'valid', 'same'"),
    (lambda: nn.Conv2d(1, 1, 3, stride=2, padding="same"), "not supported for strided"),
    (lambda: nn.Conv2d(1, 1, (3, 3, 3)), "must be an int or 2 ints"),
    (lambda: nn.Conv2d(0, 1, 3), "'in_channels' must be >= 1"),
    (lambda: nn.Conv2d(2, 3, 1, groups=2), "divisible by groups"),
    (lambda: nn.Conv2d(2, 2, 1, groups=0), "'groups' must be >= 1"),
    (lambda: nn.Conv2d(1, 1, 3, padding_mode="mirror"), "padding_mode must be one of"),
    (lambda: nn.Conv2d(1.0, 1, 3), "'in_channels' must be an int"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2), "output_padding .* must be smaller"),
    (lambda: nn.MaxPool2d(0), "'kernel_size' must be >= 1"),
    (lambda: nn.MaxPool2d(2, padding=2), "at most half of the kernel size"),
    (lambda: nn.MaxPool2d(2, ceil_mode="yes"), "ceil_mode must be True or False"),
    (lambda: nn.AvgPool2d(2, stride=-1), "'stride' must be >= 1"),
    (lambda: nn.AdaptiveAvgPool2d(0), "'output_size' must be >= 1"),
    (lambda: nn.AdaptiveAvgPool2d((2, 2, 2)), "an int or a pair"),
    (lambda: nn.MaxUnpool2d(2.5), "'kernel_size' must be an int"),
    (lambda: nn.LocalResponseNorm(0), "'size' must be >= 1"),
    (lambda: nn.LocalResponseNorm(5, k=0), "invalid k"),
    (lambda: nn.BatchNorm1d(-4), "'num_features' must be >= 0"),
    (lambda: nn.BatchNorm2d(4, eps=0), "invalid eps"),
    (lambda: nn.BatchNorm2d(4, momentum=NAN), "invalid momentum"),
    (lambda: nn.Dropout(1.5), r"invalid dropout probability p: 1.5"),
    (lambda: nn.Dropout2d(NAN), "invalid dropout probability p"),
    (lambda: nn.LeakyReLU("a"), "negative_slope must be a number"),
    (lambda: nn.ELU(INF), "invalid alpha"),
    (lambda: nn.Softplus(beta=0), "beta must be nonzero"),
    (lambda: nn.GELU("fast"), "approximate must be one of"),
    (lambda: nn.Softmax(dim=1.0), "'dim' must be an int"),
    (lambda: nn.Flatten(start_dim="1"), "'start_dim' must be an int"),
    (lambda: nn.CrossEntropyLoss(reduction="avg"), "reduction must be one of"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), "invalid label_smoothing"),
    (lambda: nn.NLLLoss(ignore_index=0.5), "'ignore_index' must be an int"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=[1.0]), "pos_weight must be a Tensor or None"),
    (lambda: nn.Embedding(2.5, 3), "'num_embeddings' must be an int"),
    (lambda: nn.Embedding(5, 3, padding_idx=1.0), "'padding_idx' must be an int"),
    (lambda: nn.LayerNorm((2, -1)), "negative dimension -1"),
    (lambda: nn.LayerNorm(4, eps=0), "invalid eps"),
    (lambda: nn.GroupNorm(0, 4), "'num_groups' must be >= 1"),
    (lambda: nn.GroupNorm(3, 4), "must be divisible by num_groups"),
    (lambda: nn.LSTM(3, 0), "'hidden_size' must be >= 1"),
    (lambda: nn.GRU(3, 4, num_layers=0), "'num_layers' must be >= 1"),
    (lambda: nn.RNN(3.0, 4), "'input_size' must be an int"),
    (lambda: nn.LSTMCell(3, -2), "'hidden_size' must be >= 1"),
    (lambda: nn.MultiheadAttention(4, 3), "must be divisible by num_heads"),
    (lambda: nn.MultiheadAttention(4, 2, dropout=2.0), "invalid dropout"),
    (lambda: nn.TransformerEncoder("layer", 2), "must be Modules"),
    (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), 1.5), "'num_layers' must be an int"),
    (lambda: nn.Sequential(nn.ReLU(), "relu"), "must be a Module"),
    (lambda: nn.ModuleList([3]), "must be a Module"),
])
def test_module_constructors_refuse_bad_arguments(call, pattern):
    with pytest.raises(tc.TensorcoreError, match=pattern):
        call()


def test_module_constructors_accept_pytorch_spellings():
    assert nn.Linear(np.int64(3), 2).weight.shape == (2, 3)
    assert nn.Linear(0, 2).weight.shape == (2, 0)
    assert nn.Conv2d(2, 4, (3, 1), stride=(2, 1), padding=(1, 0), groups=2).weight.shape == (4, 1, 3, 1)
    assert nn.Conv2d(1, 1, 3, padding="same").padding == "same"
    assert nn.AdaptiveAvgPool2d((None, 3)).output_size == (None, 3)
    assert nn.BatchNorm2d(3, momentum=None).momentum is None
    assert nn.Softmax(dim=None).dim is None


# --- optimizers and schedulers ---------------------------------------------------------------------


def _params():
    return list(nn.Linear(2, 2).parameters())


@pytest.mark.parametrize("call, pattern", [
    (lambda: optim.Adam(_params(), lr=INF), r"Adam: invalid lr: inf"),
    (lambda: optim.Adam(_params(), lr=-1e-3), r"invalid lr: -0.001 \(must be a finite number >= 0\)"),
    (lambda: optim.SGD(_params(), lr="0.1"), "lr must be a number"),
    (lambda: optim.SGD(_params(), momentum=NAN), r"SGD: invalid momentum: nan"),
    (lambda: optim.SGD(_params(), momentum=-0.5), "invalid momentum"),
    (lambda: optim.SGD(_params(), weight_decay=-1), "invalid weight_decay"),
    (lambda: optim.SGD(_params(), dampening=INF), "invalid dampening"),
    (lambda: optim.SGD(_params(), momentum=0.0, nesterov=True), "Nesterov momentum requires"),
    (lambda: optim.Adam(_params(), betas=(1.0, 0.999)), r"invalid beta parameter at index 0: 1.0"),
    (lambda: optim.Adam(_params(), betas=(0.9, -0.1)), "invalid beta parameter at index 1"),
    (lambda: optim.AdamW(_params(), betas=0.9), "betas must be a pair"),
    (lambda: optim.Adam(_params(), eps=NAN), "invalid eps"),
    (lambda: optim.Adam(_params(), amsgrad="yes"), "amsgrad must be True or False"),
    (lambda: optim.Adam(_params(), foreach=1), "foreach must be True or False"),
    (lambda: optim.RMSprop(_params(), alpha=1.5), r"invalid alpha: 1.5 \(must be a finite number in \[0, 1\]\)"),
    (lambda: optim.RMSprop(_params(), momentum=INF), "invalid momentum"),
    (lambda: optim.Adagrad(_params(), lr_decay=-1), "invalid lr_decay"),
    (lambda: optim.Adagrad(_params(), initial_accumulator_value=NAN), "invalid initial_accumulator_value"),
    (lambda: optim.SGD([{"params": _params(), "lr": INF}], lr=0.1), "invalid lr: inf"),
    (lambda: optim.SGD(tc.zeros(2, requires_grad=True)), "got a single Tensor"),
])
def test_optimizers_refuse_bad_hyperparameters(call, pattern):
    with pytest.raises(optim.OptimizerError, match=pattern):
        call()


def test_add_param_group_checks_its_hyperparameters():
    opt = optim.Adam(_params())
    with pytest.raises(optim.OptimizerError, match="invalid lr: nan"):
        opt.add_param_group({"params": _params(), "lr": NAN})
    assert len(opt.param_groups) == 1


def _opt():
    return optim.SGD(_params(), lr=0.1, momentum=0.9)


@pytest.mark.parametrize("call, pattern", [
    (lambda: lr_scheduler.StepLR(_opt(), step_size=0), "'step_size' must be >= 1"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size="2"), "'step_size' must be an int"),  # (2.5 is fine: torch's)
    (lambda: lr_scheduler.StepLR(_opt(), step_size=2, gamma=NAN), "invalid gamma"),
    (lambda: lr_scheduler.ExponentialLR(_opt(), gamma=-1), "invalid gamma"),
    (lambda: lr_scheduler.MultiStepLR(_opt(), milestones=[1.5]), "'milestones' must be an int"),
    (lambda: lr_scheduler.MultiStepLR(_opt(), milestones=3), "milestones must be a list"),
    (lambda: lr_scheduler.CosineAnnealingLR(_opt(), T_max=0), "'T_max' must be >= 1"),
    (lambda: lr_scheduler.CosineAnnealingLR(_opt(), T_max=10, eta_min=INF), "invalid eta_min"),
    (lambda: lr_scheduler.LinearLR(_opt(), start_factor=NAN), "invalid start_factor"),
    (lambda: lr_scheduler.LambdaLR(_opt(), lr_lambda=0.5), "lr_lambda must be a function"),
    (lambda: lr_scheduler.LambdaLR(_opt(), lr_lambda=lambda t: INF), "invalid learning rate: inf"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=INF, total_steps=10), "invalid max_lr"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, div_factor=0), "invalid div_factor"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=0.1, epochs=2.5, steps_per_epoch=3), "'epochs' must be an int"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), factor=1.0), r"invalid factor: 1.0"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), patience=-1), "'patience' must be >= 0"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), min_lr=NAN), "invalid min_lr"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt()).step("low"), "metrics must be a number"),
    (lambda: lr_scheduler.StepLR("opt", step_size=1), "str is not an Optimizer"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=1, last_epoch=-2), "'last_epoch' must be >= -1"),
    (lambda: lr_scheduler.StepLR(_opt(), step_size=1).load_state_dict({"x": 1}), "expected a dict with"),
])
def test_schedulers_refuse_bad_arguments(call, pattern):
    with pytest.raises(optim.OptimizerError, match=pattern):
        call()


def test_validators_directly():
    assert check.integer(np.int32(3), "n", "f") == 3
    assert check.shape(((2, 3),), "f", np.float32) == (2, 3)
    assert check.int_tuple(3, "k", "f") == (3, 3) and check.int_tuple([1, 2], "k", "f") == (1, 2)
    assert check.number(np.float32(0.5), "p", "f", low=0, high=1) == 0.5
    assert check.number(10**400, "big", "f") == 10**400  # an int too large for a float is still finite
    with pytest.raises(tc.ArgumentError, match="must be a number, got bool"):
        check.number(True, "p", "f")
    with pytest.raises(tc.ArgumentError, match="ragged"):
        check.host_array([[1, 2], [3]], "tensor")
    with pytest.raises(tc.DTypeError, match="cannot hold dtype"):
        check.host_array(["a"], "tensor")
