"""The registry sweep: every registered op x every device x layout, forward against NumPy (float64 and
float32), gradcheck and gradgradcheck in float64, and both backward paths of the engine.

cpu runs in the CPU step; cuda (real, or Numba's simulator with TENSORCORE_CUDA_SIM=1) in the
simulated-GPU step, with fast-mode gradchecks (the simulator is slow).
"""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.ops.registry import OPS
from tensorcore.testing.cases import all_cases, case_modules
from tensorcore.testing.check import check_both_backwards, check_op, has_array_backward

CASES = all_cases()
IDS = [c.name for c in CASES]
CUDA_CASES = [c for c in CASES if c.cuda is True]
REFUSED_ON_CUDA = [c for c in CASES if c.cuda is not True]


def test_every_registered_op_has_a_case():
    covered = {c.op for c in CASES}
    missing = sorted(set(OPS) - covered)
    assert not missing, f"registered ops without a case in tensorcore/testing/cases_*.py: {missing}"
    unknown = sorted(covered - set(OPS))
    assert not unknown, f"cases for ops that are not registered: {unknown}"


def test_case_modules_are_found_and_import():
    names = case_modules()
    assert "tensorcore.testing.cases_core" in names and "tensorcore.testing.cases_conv" in names


@pytest.mark.parametrize("layout", ["contiguous", "strided"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_op_cpu(case, layout):
    check_op(case, "cpu", layout)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fast_backward_equals_tensor_rules(case):
    check_both_backwards(case, "cpu")


def _need_cuda():
    if not tc.cuda.is_available():
        pytest.skip(f"no cuda device: {tc.cuda.unavailable_reason()}")


@pytest.mark.cuda
@pytest.mark.parametrize("case", CUDA_CASES, ids=[c.name for c in CUDA_CASES])
def test_op_cuda(case):
    """On cuda (the simulator in CI: slow), fast-mode gradchecks; strided inputs check the forward, and
    the two backward paths are compared where an op has a raw-array backward of its own."""
    _need_cuda()
    check_op(case, "cuda", fast_mode=True)
    check_op(case, "cuda", "strided", with_gradients=False)
    if has_array_backward(case):
        check_both_backwards(case, "cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("case", REFUSED_ON_CUDA, ids=[c.name for c in REFUSED_ON_CUDA])
def test_op_refused_on_cuda_says_why(case):
    _need_cuda()
    from tensorcore.testing.check import make_inputs

    _, tensors = make_inputs(case, "cuda")
    with pytest.raises(tc.TensorcoreError, match=case.cuda):
        case.fn(*tensors)


def test_sweep_dtype_and_layout_helpers():
    from tensorcore.testing.check import strided

    t = strided(tc.tensor(np.arange(6.0).reshape(2, 3)))
    assert not t.is_contiguous() and np.array_equal(t.numpy(), np.arange(6.0).reshape(2, 3))
