"""Session 7 hostile inputs: outputs too large for the machine are refused by name before allocating
(not NumPy's MemoryError), torch's dtype spellings mean torch's dtypes, integer softmax is refused as
PyTorch refuses it."""

import pytest

import tensorcore as tc

HUGE = [
    ("clone of an expanded view", lambda: tc.ones(1).expand(2**40).clone()),
    ("repeat", lambda: tc.ones(10).repeat(10**12)),
    ("repeat_interleave", lambda: tc.ones(10).repeat_interleave(10**12)),
    ("outer", lambda: tc.outer(tc.ones(10**6), tc.ones(10**6))),
    ("one_hot", lambda: tc.nn.functional.one_hot(tc.tensor([10**12]))),
    ("pad", lambda: tc.nn.functional.pad(tc.ones(1, 1, 3), (2**40, 0))),
]


@pytest.mark.parametrize("name,build", HUGE, ids=[h[0] for h in HUGE])
def test_huge_outputs_are_refused_before_allocating(name, build):
    with pytest.raises(tc.TensorcoreError, match="GiB"):
        build()


# The hot path (contiguous, broadcasting binary ops, matmul) does not check sizes first: NumPy refuses the
# allocation (256 TiB exceeds any address space), and the op's error boundary turns its MemoryError into a
# named OutOfMemoryError with the size in GiB.
LEAD_HUGE = [
    ("contiguous of an expanded view", lambda: tc.ones(1).expand(2**46).contiguous()),
    ("broadcast add", lambda: tc.ones(2**23, 1) + tc.ones(1, 2**23)),
    ("matmul", lambda: tc.ones(2**23, 1) @ tc.ones(1, 2**23)),
]


@pytest.mark.parametrize("name,build", LEAD_HUGE, ids=[h[0] for h in LEAD_HUGE])
def test_huge_outputs_in_the_hot_path_are_refused_before_allocating(name, build):
    with pytest.raises(tc.OutOfMemoryError, match="GiB"):
        build()


def test_torch_dtype_spellings_are_torchs():
    torch = pytest.importorskip("torch")
    for name in ("float", "double", "half", "long", "int", "short"):
        assert tc.ones(1, dtype=name).dtype == tc.ones(1, dtype=getattr(tc, name)).dtype
        assert str(tc.ones(1, dtype=name).dtype) == str(getattr(torch, name)).replace("torch.", "")
    assert tc.ones(1, dtype=int).dtype == tc.int64 and tc.ones(1, dtype=float).dtype == tc.float32


def test_integer_softmax_is_refused_as_in_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.softmax(torch.tensor([1, 2]), 0)
    for fn in (tc.softmax, tc.log_softmax, tc.nn.functional.softmax, tc.nn.functional.log_softmax):
        with pytest.raises(tc.DTypeError, match="floating"):
            fn(tc.tensor([1, 2]), 0)
    assert tc.softmax(tc.tensor([1, 2]), 0, dtype=tc.float32).dtype == tc.float32
