"""Bad input: clear tensorcore errors naming the op and the shapes/dtypes/devices, before NumPy's."""

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.ops.nn as F


def t(*shape):
    return tc.tensor(np.ones(shape))


@pytest.mark.parametrize("fn,err,pattern", [
    (lambda: t(2, 3) @ t(4, 5), tc.ShapeError, r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned"),
    (lambda: t(2, 3) + t(4), tc.ShapeError, r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
    (lambda: t(2, 3) * t(3, 2), tc.ShapeError, r"mul: shapes \(2, 3\) and \(3, 2\)"),
    (lambda: t(2, 3).sum(axis=2), tc.ShapeError, r"sum: dim 2 is out of range for a tensor of 2 dimensions"),
    (lambda: t(2, 3).mean(axis=(0, 0)), tc.ShapeError, r"mean: dim 0 appears more than once"),
    (lambda: t(2, 3).reshape(4, 2), tc.ShapeError,
     r"reshape: shape \(4, 2\) is invalid for input of size 6 \(shape \(2, 3\)\)"),
    (lambda: t(2, 3).transpose(0, 2), tc.ShapeError, r"transpose: dim 2 is out of range"),
    (lambda: t(2, 3).permute(0, 0), tc.ShapeError, r"permute: dims \(0, 0\) are not a permutation"),
    (lambda: tc.concatenate([t(2, 3), t(3, 3)], axis=1), tc.ShapeError, r"cat: shapes"),
    (lambda: tc.stack([t(2), t(3)]), tc.ShapeError, r"stack: all shapes must be equal"),
    (lambda: t(2, 3).broadcast_to((4, 3, 2)), tc.ShapeError,
     r"broadcast_to: the size 2 of dim 0 of \(2, 3\) cannot be expanded to 3"),
    (lambda: t(3)[5], tc.IndexingError, r"getitem: index 5 is out of bounds"),
    (lambda: tc.linear(t(2, 3), t(4, 5)), tc.ShapeError, r"linear: input of shape \(2, 3\) does not match weight"),
    (lambda: F.cross_entropy(t(4, 3), tc.tensor([0, 1, 2])), tc.ShapeError, r"cross_entropy: targets of shape \(3,\)"),
    (lambda: F.cross_entropy(t(2, 3), tc.tensor([0, 3])), tc.ShapeError, r"target 3 is out of range for 3 classes"),
    (lambda: F.mse_loss(t(2, 3), t(3)), tc.ShapeError, r"mse_loss: input of shape \(2, 3\) and target of shape"),
    (lambda: tc.tensor([1, 2], requires_grad=True), tc.DTypeError, r"only floating tensors can require grad"),
    (lambda: t(3).backward(), tc.GradientError, r"does not require grad"),
    (lambda: tc.tensor([1.0], requires_grad=True).__mul__(2.0).backward() or
     (tc.tensor([1.0, 2.0], requires_grad=True) * 2.0).backward(), tc.GradientError, r"scalar outputs"),
    (lambda: tc.split(t(5), [2, 2]), tc.ShapeError, r"split: sizes \[2, 2\] do not add up to the size 5"),
    (lambda: tc.pad(t(2, 3), ((1, 1),)), tc.ShapeError, r"pad: pad_width"),
    (lambda: t(2).softmax(axis=3), tc.ShapeError, r"softmax: dim 3 is out of range"),
    (lambda: tc.ops.nn.dropout(t(2), p=1.5), ValueError, r"dropout: p must be in \[0, 1\]"),
])
def test_bad_input_raises_a_clear_error(fn, err, pattern):
    with pytest.raises(err, match=pattern) as info:
        fn()
    assert isinstance(info.value, (tc.TensorcoreError, ValueError))


def test_errors_are_a_small_hierarchy():
    for cls in (tc.ShapeError, tc.DTypeError, tc.DeviceError, tc.GradientError, tc.IndexingError):
        assert issubclass(cls, tc.TensorcoreError)
    assert issubclass(tc.ShapeError, ValueError) and issubclass(tc.DTypeError, TypeError)
