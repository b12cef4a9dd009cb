"""kernels/ stands alone: it imports nothing from tensorcore, and its wrappers work without it."""

import ast
import os
import subprocess
import sys
from pathlib import Path

KERNELS = Path(__file__).resolve().parent.parent / "kernels"
FAMILIES = ["gemm", "conv", "pool", "activations", "softmax", "optim", "resources"]

# Loads kernels/ as a package named `tck` (not tensorcore.kernels), so importing it cannot pull in
# tensorcore; then runs a wrapper of each family in the simulator on NumPy arrays.
SCRIPT = f"""
import importlib, importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("tck", {str(KERNELS / "__init__.py")!r},
                                              submodule_search_locations=[{str(KERNELS)!r}])
pkg = importlib.util.module_from_spec(spec); sys.modules["tck"] = pkg; spec.loader.exec_module(pkg)
mods = {{name: importlib.import_module("tck." + name) for name in {FAMILIES!r}}}
x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
assert np.allclose(mods["gemm"].matmul(x, x, trans_b=True), x @ x.T, atol=1e-5)
assert np.allclose(mods["activations"].relu(x), np.maximum(x, 0))
loss, grad = mods["softmax"].softmax_cross_entropy(x, np.array([0, 1, 3]))
assert loss.shape == (3,) and grad.shape == (3, 4)
leaked = sorted(m for m in sys.modules if m == "tensorcore" or m.startswith("tensorcore."))
assert not leaked, leaked
print("ok")
"""


def test_kernels_source_imports_nothing_from_tensorcore():
    for path in sorted(KERNELS.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            assert not any(n == "tensorcore" or n.startswith("tensorcore.") for n in names), (
                f"{path.name} imports {names}: kernels/ must import nothing from tensorcore"
            )


def test_kernels_work_without_tensorcore_in_the_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr


def test_import_tensorcore_kernels_is_cheap_and_import_tensorcore_skips_numba():
    code = (
        "import sys, tensorcore, tensorcore.kernels; "
        "bad = [m for m in ('numba', 'numba.cuda', 'cupy') if m in sys.modules]; "
        "assert not bad, bad; print('ok')"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr

