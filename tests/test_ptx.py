"""Real code without a GPU: every kernel compiles to sm_90 and matches kernels/RESOURCES.md.

Compiles each kernel with each signature its wrappers launch (``numba.cuda.compile_ptx``, cc 9.0),
assembles it with ``ptxas -arch=sm_90 -v`` and compares registers, shared memory, stack and spills
with the checked-in table. Regenerate the table with ``python -m tensorcore.kernels.resources --write``.
"""

import difflib

import pytest

from .kernel_helpers import SIMULATOR

# test_sass.py reads the same compiled rows (resources.collect_cached): one xdist worker compiles them once
pytestmark = [pytest.mark.ptx, pytest.mark.xdist_group("compiled_kernels")]


@pytest.fixture(scope="module")
def resources():
    if SIMULATOR:
        pytest.skip("compile_ptx needs Numba's real CUDA target: run without NUMBA_ENABLE_CUDASIM")
    from tensorcore.kernels import resources

    return resources


@pytest.fixture(scope="module")
def rows(resources):
    try:
        resources.find_ptxas()
    except resources.PtxasNotFound as e:  # a dev dependency: fail loudly, never skip
        pytest.fail(str(e))
    return resources.collect_cached()


def test_resources_table_is_current(resources, rows):
    assert resources.TABLE_PATH.exists(), f"{resources.TABLE_PATH} missing: run `{resources.COMMAND}`"
    current = resources.parse_table(resources.TABLE_PATH.read_text())
    fresh = resources.as_strings(rows)
    if current != fresh:
        diff = "\n".join(
            difflib.unified_diff(
                [" | ".join(r) for r in current],
                [" | ".join(r) for r in fresh],
                "RESOURCES.md",
                "compiled now",
                lineterm="",
                n=0,
            )
        )
        pytest.fail(f"kernels/RESOURCES.md is stale: run `{resources.COMMAND}`\n{diff}")


def test_gemm_and_conv_kernels_do_not_spill(resources, rows):
    bad = [r for r in rows if r[0] in resources.NO_SPILL_FAMILIES and (r[5] or r[6] or r[7])]
    assert not bad, "GEMM/convolution kernels with local-memory stack or spills:\n" + "\n".join(map(str, bad))


def test_every_family_and_gemm_layout_is_compiled(resources, rows):
    families = {r[0] for r in rows}
    assert families == set(resources.FAMILIES)
    from tensorcore.kernels import _gemm_tiled, gemm

    gemms = {r[1] for r in rows if r[0] == "gemm"}
    for tile in gemm.TILES:
        for layout in ("NN", "NT", "TN", "TT"):
            assert f"gemm_{layout}_{tile.name}_float32" in gemms
    assert {"gemm_NT_relu_128x128x8_float32", "gemm_NT_gelu_128x128x8_float32"} <= gemms
    # Each float32 GEMM's registers fit the blocks per SM its launch bounds ask for.
    for r in rows:
        if r[0] == "gemm" and r[1].endswith("float32") and r[1].split("_")[-2] in {t.name for t in gemm.TILES}:
            tile = next(t for t in gemm.TILES if t.name == r[1].split("_")[-2])
            assert r[3] * tile.threads * _gemm_tiled.launch_bounds(tile, "float32")[1] <= 65536, r


def test_kernels_cache_to_disk_only_when_numba_cache_dir_is_set(resources, monkeypatch, tmp_path):
    """bench/gpu_check.py sets NUMBA_CACHE_DIR so its sections reuse compiled kernels; without it, no cache."""
    from tensorcore.kernels import _launch, optim

    fn = optim.make_adam_kernel("float32")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert type(_launch.jit(fn)._cache).__name__ == "NullCache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert type(_launch.jit(fn)._cache).__name__ == "CUDACache"


def test_every_kernel_closure_pickles_for_the_disk_cache(resources):
    """Numba keys a cached kernel by its pickled closure: an unpicklable one would fail on the GPU at save."""
    import importlib

    from numba.cuda.serialize import dumps

    for family in resources.FAMILIES:
        module = importlib.import_module(f"tensorcore.kernels.{family}")
        for _name, fn, _, _ in module.ptx_signatures():
            dumps(tuple(c.cell_contents for c in (fn.__closure__ or ())))  # raises if not picklable
