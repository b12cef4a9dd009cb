"""Packaging and import hygiene: every package is listed, import is fast and never touches the GPU stack."""

import pathlib
import subprocess
import sys

import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "tensorcore").rglob("__init__.py")}
    found |= {"tensorcore.kernels" if p.parent == ROOT / "kernels" else
              "tensorcore.kernels." + ".".join(p.parent.relative_to(ROOT / "kernels").parts)
              for p in (ROOT / "kernels").rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"


def test_import_loads_no_gpu_stack_and_no_heavy_optional_modules():
    # What makes `import tensorcore` slow is what it drags in: numba's compiler, cupy, torch, matplotlib.
    # Checked by name, not timed (the time of an import measures the shared machine's load; bench/ times it).
    code = ("import sys; import tensorcore; heavy = ('cupy', 'numba', 'llvmlite', 'torch', 'matplotlib', 'scipy'); "
            "print([m for m in sys.modules if m.split('.')[0] in heavy])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"import tensorcore imported {result.stdout.strip()}"


def test_no_bare_kernels_module_is_installed():
    code = "import importlib.util; print(importlib.util.find_spec('kernels'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=True).stdout
    assert out.strip() == "None"


def test_gradcheck_cli_prints_a_table():
    from tensorcore.cli import main

    assert main(["gradcheck", "--ops", "tanh,sum"]) == 0
