"""Every registered op: forward against NumPy, gradcheck and gradgradcheck in float64."""

import pytest

from tensorcore.ops.cases import all_cases
from tensorcore.ops.registry import OPS

from .op_check import check_op

CASES = all_cases()


def test_every_registered_op_has_a_gradcheck_case():
    covered = {c.op for c in CASES}
    missing = sorted(set(OPS) - covered)
    assert not missing, f"registered ops without a gradcheck case in ops/cases.py: {missing}"
    unknown = sorted(covered - set(OPS))
    assert not unknown, f"cases for ops that are not registered: {unknown}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_op(case):
    check_op(case)
