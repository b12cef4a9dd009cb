"""OpCase, and all_cases(): every op family's cases, for the sweep and the coverage test.

A family's cases live in a module `tensorcore/testing/cases_<family>.py` that exports `CASES`, a list
of OpCase. Every such module is found here by name; one that fails to import is an error, never a
silently shorter sweep.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field


@dataclass
class OpCase:
    """One case of an op.

    op: the registry name. make(rng) -> tuple of float64 NumPy arrays (the inputs).
    fn(*tensors) -> Tensor (or tuple). ref(*arrays) -> the expected forward value (None: no check).
    differentiable=False: a forward check only (comparisons, argmax, ...): inputs need no grad.
    cuda: False, or a string saying why, when the op is refused on the cuda device (the test checks
    the refusal is a clear error).
    """

    op: str
    make: object
    fn: object
    ref: object = None
    gradgrad: bool = True
    label: str = ""
    atol: float = 1e-5
    rtol: float = 1e-3
    requires_grad: tuple = field(default=())
    differentiable: bool = True
    cuda: object = True
    float32: bool = True  # also check the forward in float32 (against the float64 reference)

    @property
    def name(self):
        return f"{self.op}[{self.label}]" if self.label else self.op


def case_modules():
    """The names of the case modules: tensorcore.testing.cases_<family>."""
    from .. import testing

    return sorted(f"{testing.__name__}.{m.name}" for m in pkgutil.iter_modules(testing.__path__)
                  if m.name.startswith("cases_"))


def all_cases():
    """Every family's cases, in a stable order."""
    cases = []
    for name in case_modules():
        cases += importlib.import_module(name).CASES
    return cases
