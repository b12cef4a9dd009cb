"""Session 7 parity with PyTorch: torch's top-level names and Tensor methods that public programs use
(as_tensor, FloatTensor, iinfo, backends.cudnn, testing.assert_close, type_as, addcmul_, fill_diagonal_ ...),
torch.where's scalar promotion, and errors catchable as RuntimeError as PyTorch's are."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")


def _dt(d):
    return str(d).replace("torch.", "")


@pytest.mark.parametrize("a,b", [("int", 0.5), (0.5, "int"), ("bool", 2), ("int32", 2), ("half", 2.5),
                                 (2.5, 1), (True, False), (1, 2), (True, 2), ("float", 0)])
def test_where_promotes_python_scalars_as_torch(a, b):
    def arg(lib, v):
        table = {"int": lib.tensor([1, 2]), "bool": lib.tensor([True, True]), "float": lib.tensor([1.0, 2.0]),
                 "int32": lib.tensor([1, 2], dtype=lib.int32), "half": lib.tensor([1.0, 2.0], dtype=lib.float16)}
        return table[v] if isinstance(v, str) else v
    outs = [lib.where(lib.tensor([True, False]), arg(lib, a), arg(lib, b)) for lib in (torch, tc)]
    assert _dt(outs[1].dtype) == _dt(outs[0].dtype)
    np.testing.assert_array_equal(outs[1].numpy(), outs[0].numpy())


def test_errors_are_runtime_errors_as_in_torch():
    for bad in (lambda: tc.ones(2, 3) + tc.ones(3, 2), lambda: tc.mm(tc.ones(2, 3), tc.ones(2, 3)),
                lambda: tc.ones(2, 3).view(5), lambda: bool(tc.ones(2)), lambda: tc.ones(3).item()):
        with pytest.raises(RuntimeError):
            bad()
    with pytest.raises(IndexError):  # and still the Python class it names
        tc.ones(3)[5]


def test_as_tensor_shares_numpy_memory_and_keeps_tensors():
    arr = np.array([1.0, 2.0])
    t = tc.as_tensor(arr)
    t.add_(1)
    assert arr.tolist() == [2.0, 3.0] == torch.as_tensor(arr).tolist()
    x = tc.ones(2)
    assert tc.as_tensor(x) is x and tc.asarray(x) is x
    assert _dt(tc.as_tensor([1, 2]).dtype) == _dt(torch.as_tensor([1, 2]).dtype)
    assert tc.as_tensor(arr, dtype=tc.float32).dtype == tc.float32


def test_typed_tensor_constructors_and_isinstance():
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor"):
        t, c = getattr(torch, name)([1, 0]), getattr(tc, name)([1, 0])
        assert _dt(c.dtype) == _dt(t.dtype) and c.tolist() == t.tolist()
        assert tuple(getattr(tc, name)(2, 3).shape) == (2, 3)
    assert isinstance(tc.ones(2), tc.FloatTensor) and not isinstance(tc.ones(2), tc.LongTensor)


def test_constants_iinfo_seed_and_flags():
    assert (tc.pi, tc.e, tc.inf) == (torch.pi, torch.e, torch.inf) and np.isnan(tc.nan)
    for d in ("int8", "uint8", "int32", "int64"):
        t, c = torch.iinfo(getattr(torch, d)), tc.iinfo(getattr(tc, d))
        assert (c.bits, c.min, c.max) == (t.bits, t.min, t.max)
    tc.manual_seed(123)
    assert tc.initial_seed() == 123
    tc.backends.cudnn.benchmark = True
    tc.backends.cudnn.deterministic = True
    assert tc.backends.cudnn.deterministic and not tc.backends.mps.is_available()
    tc.use_deterministic_algorithms(True)
    assert tc.are_deterministic_algorithms_enabled()
    tc.use_deterministic_algorithms(False)
    tc.set_float32_matmul_precision("high")
    assert tc.get_float32_matmul_precision() == "high"
    tc.set_float32_matmul_precision("highest")
    model = tc.nn.Linear(2, 2)
    assert tc.compile(model) is model and tc.compile()(len) is len
    assert tc.greater(tc.ones(1), 0).tolist() == [True] and tc.not_equal(tc.ones(1), 1).tolist() == [False]


def test_testing_assert_close_follows_torch_defaults():
    tc.testing.assert_close(tc.ones(3), tc.ones(3) + 1e-7)
    with pytest.raises(AssertionError):
        tc.testing.assert_close(tc.ones(3), tc.ones(3) + 1e-3)
    with pytest.raises(AssertionError):
        tc.testing.assert_close(tc.ones(3), tc.ones(3, dtype=tc.float64))
    tc.testing.assert_close(tc.ones(3), tc.ones(3, dtype=tc.float64), check_dtype=False)
    tc.testing.assert_close([tc.ones(1)], [tc.ones(1)])
    with pytest.raises(AssertionError):
        tc.testing.assert_close(tc.tensor([1, 2]), tc.tensor([1, 3]))


def test_tensor_methods_match_torch():
    def run(lib):
        x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
        a = x.clone().addcmul_(x, x, value=0.5)
        b = x.clone().addcdiv_(x, x + 1, value=2)
        c = x.clone().addmm_(x, x, beta=0.5, alpha=2)
        d = x.clone()
        d.fill_diagonal_(0)
        w = lib.zeros(7, 3)
        w.fill_diagonal_(1, wrap=True)
        e = x.clone().cumsum_(1)
        f = x.clone().gt_(4.5)
        return ([t.numpy() for t in (a, b, c, d, w, e, f)],
                (_dt(x.type_as(lib.tensor([1])).dtype), x.is_cpu, x.nbytes, x.itemsize, x.get_device(),
                 x.is_signed(), lib.tensor([1], dtype=lib.uint8).is_signed(), x.is_same_size(x), float(x.dist(x * 2)),
                 tuple(x.new(2, 1).shape), _dt(x.new([1, 2]).dtype), x[1:].storage_offset(),
                 lib.tensor([3.0]).is_nonzero()))
    (arrays_t, facts_t), (arrays_c, facts_c) = run(torch), run(tc)
    assert facts_c == facts_t
    for a, b in zip(arrays_c, arrays_t):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_unique_keeps_every_nan_and_type_takes_typed_classes():
    values = [1.0, float("nan"), float("nan"), 1.0]
    t = torch.unique(torch.tensor(values), return_inverse=True, return_counts=True)
    c = tc.unique(tc.tensor(values), return_inverse=True, return_counts=True)
    for a, b in zip(t, c):
        np.testing.assert_array_equal(b.numpy(), a.numpy())
    assert tc.ones(2).type(tc.LongTensor).dtype == tc.int64 and tc.ones(2).type(tc.DoubleTensor).dtype == tc.float64


def test_collate_keeps_a_string_column_as_torchs_tuple():
    data = [(np.array([1, 2]), 1.5, "a", {"k": np.float64(2.0)}) for _ in range(3)]
    t = next(iter(torch.utils.data.DataLoader(data, batch_size=3)))
    c = next(iter(tc.utils.data.DataLoader(data, batch_size=3)))
    assert c[2] == t[2] == ("a", "a", "a")
    assert _dt(c[0].dtype) == _dt(t[0].dtype) and _dt(c[1].dtype) == _dt(t[1].dtype)
    assert _dt(c[3]["k"].dtype) == _dt(t[3]["k"].dtype)
    assert list(tc.utils.data.DataLoader(["x", "y"], batch_size=2)) == list(torch.utils.data.DataLoader(["x", "y"],
                                                                                                        batch_size=2))


def test_set_printoptions_threshold_edgeitems_linewidth_profile():
    try:
        for options in (dict(threshold=5, edgeitems=1), dict(linewidth=20), dict(profile="full"),
                        dict(profile="default")):
            torch.set_printoptions(**options)
            tc.set_printoptions(**options)
            for t, c in ((torch.arange(10), tc.arange(10)), (torch.arange(12.0), tc.arange(12.0)),
                         (torch.ones(3, 2000), tc.ones(3, 2000))):
                assert repr(c) == repr(t)
    finally:
        torch.set_printoptions(profile="default")
        tc.set_printoptions(profile="default")


def test_torch_level_functional_spellings():
    x = np.random.default_rng(5).standard_normal((2, 3, 5, 5))
    w = np.random.default_rng(6).standard_normal((4, 3, 3, 3))
    results = []
    for lib in (torch, tc):
        t = lib.tensor(x)
        results.append([lib.conv2d(t, lib.tensor(w), padding=1), lib.layer_norm(t, (5,)),
                        lib.batch_norm(t, None, None, None, None, True, 0.1, 1e-5, False), lib.group_norm(t, 3),
                        lib.embedding(lib.tensor(np.eye(3)), lib.tensor([2, 0])), lib.cosine_similarity(t, t * 2),
                        lib.relu_(lib.tensor([-1.0, 2.0])), lib.dropout(t, 0.5, False), lib.max_pool2d(t, 2),
                        lib.pixel_shuffle(lib.ones(1, 4, 2, 2), 2), lib.sigmoid_(lib.tensor([0.0]))])
    for a, b in zip(*results):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-10, atol=1e-12)
