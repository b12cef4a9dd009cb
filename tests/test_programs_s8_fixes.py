"""Focused regression tests for what the public programs of tests/programs_s8/ found (each against PyTorch)."""

import warnings

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_rnn_flatten_parameters_and_flat_weights(kind):
    # word_language_model calls model.rnn.flatten_parameters() after torch.load
    ours = getattr(tc.nn, kind)(3, 4, 2, bidirectional=True)
    theirs = getattr(torch.nn, kind)(3, 4, 2, bidirectional=True)
    assert ours.flatten_parameters() is None
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert [w is getattr(ours, n) for w, n in zip(ours._flat_weights, ours._flat_weights_names)] == [True] * 16
    assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in theirs.all_weights]


def test_rnn_dropout_with_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="num_layers greater than 1") as theirs:
        torch.nn.LSTM(3, 4, 1, dropout=0.2)
    with pytest.warns(UserWarning, match="num_layers greater than 1") as ours:
        tc.nn.LSTM(3, 4, 1, dropout=0.2)
    assert str(ours[0].message) == str(theirs[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tc.nn.GRU(3, 4, 2, dropout=0.2)
        tc.nn.GRU(3, 4, 1)


def test_torch_backends_cuda_flags_as_nanogpt_sets_them():
    # nanoGPT's train.py: torch.backends.cuda.matmul.allow_tf32 = True (it raised: matmul was our primitive)
    saved = tc.backends.cuda.matmul.allow_tf32
    try:
        assert isinstance(saved, bool)  # (False at import, as torch's; nanoGPT's test sets it True)
        tc.backends.cuda.matmul.allow_tf32 = True
        tc.backends.cudnn.allow_tf32 = True
        assert tc.backends.cuda.matmul.allow_tf32 is True
    finally:
        tc.backends.cuda.matmul.allow_tf32 = saved
    assert callable(tc.backends.cuda.matmul)  # still the backend's primitive
    assert tc.backends.cuda.is_built() == tc.cuda.is_available()
    for kind in ("flash", "mem_efficient", "math", "cudnn"):
        assert getattr(tc.backends.cuda, f"{kind}_sdp_enabled")() is True
    tc.backends.cuda.enable_flash_sdp(False)
    try:
        assert tc.backends.cuda.flash_sdp_enabled() is False
    finally:
        tc.backends.cuda.enable_flash_sdp(True)
    with tc.backends.cuda.sdp_kernel(enable_math=False):
        assert tc.backends.cuda.math_sdp_enabled() is False and tc.backends.cuda.flash_sdp_enabled() is True
    assert tc.backends.cuda.math_sdp_enabled() is True


def test_random_sampler_with_replacement_is_lazy_as_mingpt_uses_it():
    # minGPT's Trainer: RandomSampler(ds, replacement=True, num_samples=int(1e10)) (it allocated 75 GiB)
    sampler = tc.utils.data.RandomSampler(range(7), replacement=True, num_samples=int(1e10),
                                          generator=tc.Generator().manual_seed(0))
    assert len(sampler) == int(1e10)
    it = iter(sampler)
    first = [next(it) for _ in range(3000)]
    assert all(0 <= i < 7 for i in first) and len(set(first)) == 7
    # the chunks draw what one call would: the same indices as before for a given generator
    small = tc.utils.data.RandomSampler(range(7), replacement=True, num_samples=3000,
                                        generator=tc.Generator().manual_seed(0))
    assert list(small) == first
    loader = tc.utils.data.DataLoader(list(range(7)), batch_size=4, sampler=sampler)
    batch = next(iter(loader))
    assert tuple(batch.shape) == (4,)


def test_generator_takes_a_device_as_torch():
    # the char-RNN tutorial: random_split(data, [.85, .15], generator=torch.Generator(device=device).manual_seed(2024))
    for g in (tc.Generator(device="cpu"), tc.Generator("cpu"), tc.Generator(device=tc.device("cpu"))):
        assert g.device == tc.device("cpu") and str(g.device) == str(torch.Generator(device="cpu").device)
    g = tc.Generator(device="cpu").manual_seed(2024)
    parts = tc.utils.data.random_split(list(range(20)), [.85, .15], generator=g)
    assert [len(p) for p in parts] == [len(p) for p in torch.utils.data.random_split(list(range(20)), [.85, .15])]
    assert tc.Generator(5).initial_seed() == 5  # tensorcore's seed-first form still works
    with pytest.raises(tc.TensorcoreError, match="unknown device"):
        tc.Generator(device="gpu")


@pytest.mark.parametrize("data", [np.float64(3), [1.0, np.float64(2)], [[np.float64(1)], [2.0]], (np.float64(1),),
                                  [np.float32(1), np.float64(2)], np.float32(3), [np.float32(1), 2.0], 1.5, [1.5],
                                  [np.int32(1), 2], np.int32(3)])
def test_tensor_of_numpy_scalars_keeps_their_dtype_as_torch(data):
    # reinforcement-learning code: torch.tensor(np.mean(rewards)) is float64 in torch (it was float32)
    assert str(tc.tensor(data).dtype) == str(torch.tensor(data).dtype).replace("torch.", "")
    assert str(tc.as_tensor(data).dtype) == str(torch.as_tensor(data).dtype).replace("torch.", "")


def _out_case(mod, name, make_out):
    a = mod.ones(2, 3) * 2
    out = make_out(mod)
    result = getattr(mod, name)(a, a, out=out) if name not in ("cat", "stack") else getattr(mod, name)([a, a], out=out)
    return result is out, out.numpy() if hasattr(out, "numpy") else out, str(out.dtype).replace("torch.", "")


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "cat", "stack"])
@pytest.mark.parametrize("out", ["same", "empty", "float64", "resized"])
def test_out_argument_as_torch(name, out):
    # the Tensors tutorial: torch.matmul(tensor, tensor.T, out=y3), torch.mul(tensor, tensor, out=z3) (they raised)
    makers = {"same": lambda m: m.zeros(4, 3) if name == "cat" else m.zeros(2, 2, 3) if name == "stack"
              else m.zeros(2, 3), "empty": lambda m: m.empty(0), "float64": lambda m: m.empty(0, dtype=m.float64),
              "resized": lambda m: m.zeros(5)}
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        want = _out_case(torch, name, makers[out])
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        got = _out_case(tc, name, makers[out])
    assert got[0] and want[0]
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2]
    assert [issubclass(w.category, UserWarning) for w in ours_warned] == \
        [issubclass(w.category, UserWarning) for w in theirs_warned if "resized" in str(w.message)]


def test_out_argument_matmul_refusals_as_torch():
    t = tc.ones(2, 3)
    y3 = tc.rand_like(t @ t.T)
    assert tc.matmul(t, t.T, out=y3) is y3 and y3.numpy().tolist() == [[3.0, 3.0], [3.0, 3.0]]
    with pytest.raises(tc.DTypeError, match="expected out tensor to have dtype float32"):
        tc.matmul(t, t.T, out=tc.empty(2, 2, dtype=tc.float64))  # torch: "Expected out tensor to have dtype float"
    with pytest.raises(tc.DTypeError, match="can't be cast"):
        tc.mul(t, t, out=tc.empty(2, 3, dtype=tc.int64))  # torch: "result type Float can't be cast to ... Long"
    x = tc.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        tc.mul(x, x, out=tc.empty(2))
    with tc.no_grad():
        assert tc.mul(x, x, out=tc.empty(2)).requires_grad is False
    with pytest.raises(tc.ArgumentError, match="'out' must be Tensor"):
        tc.add(t, t, out=[1])
    assert tc.clip is tc.clamp and tc.multiply is tc.mul  # the aliases share one wrapper


@pytest.mark.parametrize("make", [
    lambda D, t: D.Categorical(probs=t.tensor([0.2, 0.8])),  # actor_critic: Categorical(probs) of one state
    lambda D, t: D.Categorical(logits=t.zeros(3, 4)),
    lambda D, t: D.Bernoulli(probs=t.tensor(0.3)),
    lambda D, t: D.Bernoulli(logits=t.tensor([0.3, -1.0])),
    lambda D, t: D.Normal(0., 1.),
    lambda D, t: D.Normal(t.tensor(0.), t.tensor(1.)),
    lambda D, t: D.Uniform(0., 1.),
    lambda D, t: D.Poisson(t.tensor(2.)),  # (a 0-d NumPy draw is a Python int: .astype raised)
    lambda D, t: D.Binomial(10, t.tensor(0.3)),
])
def test_distribution_samples_have_torchs_shapes(make):
    # a scalar distribution's sample() was 1-d (np.ascontiguousarray of a 0-d draw)
    ours, theirs = make(tc.distributions, tc), make(torch.distributions, torch)
    for shape in ((), (3,), (2, 1)):
        got, want = ours.sample(shape), theirs.sample(shape)
        assert tuple(got.shape) == tuple(want.shape) and str(got.dtype) == str(want.dtype).replace("torch.", "")
        assert tuple(ours.log_prob(got).shape) == tuple(theirs.log_prob(want).shape)
    if hasattr(theirs, "rsample") and theirs.has_rsample:
        assert tuple(ours.rsample().shape) == tuple(theirs.rsample().shape)


@pytest.mark.parametrize("shape", [(6, 40), (4, 6, 30), (2, 3, 4, 5), (2, 3, 2, 2, 2)])
def test_dropout2d_reads_inputs_as_torch(shape):
    # mnist_rnn: nn.Dropout2d on (N, features) raised; a 3-D input is (N, C, L) in torch, not (C, H, W)
    for mod in (torch, tc):
        mod.manual_seed(0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = mod.nn.functional.dropout2d(mod.ones(*shape), 0.5).numpy()
        flat = y.reshape(shape[0], shape[1], -1)
        assert (flat.min(-1) == flat.max(-1)).all()  # one draw per input[n, c]
        assert 0 < (flat[..., 0] == 0).mean() < 1 or shape[0] * shape[1] < 10
        assert set(np.unique(y)) <= {0.0, 2.0}
        if mod is torch:
            want = [str(w.message) for w in caught if "dropout2d" in str(w.message)]
        else:
            assert [str(w.message) for w in caught] == want
    with pytest.raises(tc.ShapeError, match="at least 2 dimensions"):
        tc.nn.functional.dropout2d(tc.ones(5), 0.5)


@pytest.mark.parametrize("call", ["zeros(size=(2, 3))", "ones(size=[2])", "empty(size=(2, 3)).shape",
                                  "rand(size=(1,)).shape", "randn(size=(2, 1)).shape", "arange(end=3)",
                                  "arange(start=1, end=4)", "randint(high=5, size=(3,)).shape",
                                  "randint(low=2, high=3, size=(2,))"])
def test_creation_keywords_as_torch(call):
    # gat: nn.Parameter(torch.empty(size=(in_features, n_hidden * n_heads))) raised
    got, want = eval(f"tc.{call}"), eval(f"torch.{call}")
    if isinstance(want, torch.Tensor):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    else:
        assert tuple(got) == tuple(want)


def test_creation_size_given_twice_raises():
    with pytest.raises(tc.ArgumentError, match="multiple values for argument 'size'"):
        tc.zeros(2, size=(2,))
    with pytest.raises(tc.ArgumentError, match="'end'"):
        tc.arange()
    with pytest.raises(TypeError):
        torch.arange(end=5, step=2)
    with pytest.raises(tc.ArgumentError, match="a step needs start and end"):
        tc.arange(end=5, step=2)


@pytest.mark.parametrize("make", [lambda m: m.nn.CrossEntropyLoss(weight=m.tensor([1.0, 2.0, 3.0])),
                                  lambda m: m.nn.NLLLoss(weight=m.tensor([1.0, 2.0, 3.0])),
                                  lambda m: m.nn.BCELoss(weight=m.tensor([1.0, 2.0, 3.0])),
                                  lambda m: m.nn.BCEWithLogitsLoss(pos_weight=m.tensor([1.0, 2.0, 3.0])),
                                  lambda m: m.nn.CrossEntropyLoss()])
def test_loss_weights_are_buffers_as_torch(make):
    # a model holding its criterion: torch's state_dict carries criterion.weight (strict loads failed)
    def model(m):
        net = m.nn.Module()
        net.fc = m.nn.Linear(2, 3)
        net.criterion = make(m)
        return net

    ours, theirs = model(tc), model(torch)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict({k: tc.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    ours.double()
    assert all(b.dtype == tc.float64 for b in ours.buffers())


def test_autograd_grad_takes_torchs_whole_signature():
    # WGAN-GP's gradient penalty: autograd.grad(..., create_graph=True, retain_graph=True, only_inputs=True) raised
    for mod in (tc, torch):
        x = mod.ones(2, requires_grad=True)
        y = mod.ones(2, requires_grad=True)
        (g,) = mod.autograd.grad((x ** 3).sum(), x, create_graph=True, retain_graph=True, only_inputs=True)
        assert g.detach().numpy().tolist() == [3.0, 3.0] and g.requires_grad
        gx, gy = mod.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True)
        assert gy.numpy().tolist() == [0.0, 0.0]
        assert mod.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)[1] is None
        with pytest.warns(FutureWarning, match="only_inputs argument is deprecated"):
            mod.autograd.grad((x * 2).sum(), x, only_inputs=False)
    with pytest.raises(tc.ArgumentError, match="allow_unused"):
        tc.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True, allow_unused=False)


def test_type_of_the_tensor_class_is_the_default_type():
    # PyTorch-GAN: Tensor = torch.cuda.FloatTensor if cuda else torch.Tensor; imgs.type(Tensor) made an object tensor
    for dtype in (np.float64, np.int64, np.float32):
        got, want = tc.tensor(np.ones(2, dtype)).type(tc.Tensor), torch.tensor(np.ones(2, dtype)).type(torch.Tensor)
        assert str(got.dtype) == str(want.dtype).replace("torch.", "") == "float32"
    with pytest.raises(tc.ArgumentError, match="not a tensor type"):
        tc.ones(2).type(dict)
    for bad in (object, str, dict):  # torch refuses them; they made object / str arrays
        with pytest.raises(TypeError):
            torch.ones(2).to(bad)
        with pytest.raises(tc.DTypeError, match="cannot hold dtype"):
            tc.ones(2).to(bad)


@pytest.mark.parametrize("shape", [(4, 3, 1, 1), (2, 3, 1)])
def test_instance_norm_of_one_spatial_element_is_refused_as_torch(shape):
    # cyclegan's PatchGAN at 16x16 reaches InstanceNorm on 1x1: torch raises, tensorcore normalized to 0
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        torch.nn.functional.instance_norm(torch.ones(*shape))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        tc.nn.functional.instance_norm(tc.ones(*shape))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        getattr(tc.nn, f"InstanceNorm{len(shape) - 2}d")(3)(tc.ones(*shape))


def test_load_state_dict_result_unpacks_and_prints_as_torch():
    # fine-tuning scripts: missing, unexpected = model.load_state_dict(sd, strict=False) (it was a triple)
    printed = []
    for mod in (torch, tc):
        m = mod.nn.Linear(2, 2)
        result = m.load_state_dict({"weight": m.weight.detach().clone()}, strict=False)
        missing, unexpected = result
        assert (missing, unexpected) == (result.missing_keys, result.unexpected_keys) == (["bias"], [])
        printed.append((str(result), str(m.load_state_dict(m.state_dict()))))
    assert printed[0] == printed[1]


def test_a_checkpoint_without_num_batches_tracked_loads_as_in_torch():
    # older checkpoints (PyTorch < 0.4.1) have no BatchNorm num_batches_tracked: torch loads them strictly
    for mod in (torch, tc):
        net = mod.nn.Sequential(mod.nn.Conv2d(1, 2, 3), mod.nn.BatchNorm2d(2))
        old = {k: v for k, v in net.state_dict().items() if "num_batches_tracked" not in k}
        assert str(net.load_state_dict(old)) == "<All keys matched successfully>"
        assert int(net[1].num_batches_tracked) == 0


def test_module_to_takes_torchs_forms():
    # model.to(memory_format=torch.channels_last) and model.to(tensor) raised
    for mod in (torch, tc):
        m = mod.nn.Sequential(mod.nn.Conv2d(1, 2, 3))
        assert m.to(memory_format=mod.channels_last) is m
        assert str(m.to(mod.zeros(1, dtype=mod.float64))[0].weight.dtype).endswith("float64")
        assert str(m.to("cpu", mod.float32, non_blocking=True)[0].weight.dtype).endswith("float32")
        x = mod.ones(1, 2, 3, 3).contiguous(memory_format=mod.channels_last)
        assert tuple(x.shape) == (1, 2, 3, 3)
