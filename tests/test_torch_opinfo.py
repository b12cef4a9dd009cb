"""PyTorch's OpInfo database as the oracle: every op_db entry tensorcore has (as tc.<name>,
tc.nn.functional.<name> or a Tensor method) runs on op_db's own samples (float64, cpu), spelled as
PyTorch spells them; forward values, dtypes, shapes and vector-Jacobian products must agree.

Needs torch and expecttest (op_db's import needs it); skips without them. A refused sample (a
TensorcoreError) does not agree; a sample with another value is a silent difference.
"""

import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the op_db oracle needs it")
pytest.importorskip("expecttest", reason="expecttest is not installed (op_db's import needs it): "
                    "pip install expecttest")

from tensorcore.testing import opinfo  # noqa: E402

# One xdist worker runs this module: the op_db run (about a minute) is a module fixture, computed once, not per worker.
pytestmark = pytest.mark.xdist_group("op_db")

# Floors measured on this tree (bench/results/opinfo-coverage.md); raise them as coverage grows.
MIN_ENTRIES_AGREEING = 580
MIN_AGREE_RATE = 0.995
# Elementwise entries that must agree on every sample (the families of ops/unary_math.py, binary_math.py,
# rounding.py, logic.py and the activations).
EXACT = ["square", "rsqrt", "reciprocal", "expm1", "exp2", "log2", "log10", "tan", "sinh", "cosh", "asin", "acos",
         "atan", "asinh", "acosh", "atanh", "atan2", "hypot", "floor", "ceil", "trunc", "frac", "sign", "fmod",
         "remainder", "floor_divide", "logaddexp", "lerp", "isnan", "isinf", "isfinite", "nan_to_num", "clamp",
         "clamp_min", "clamp_max", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
         "bitwise_left_shift", "bitwise_right_shift", "erf", "__rpow__", "add", "sub", "mul", "true_divide",
         "nn.functional.silu", "nn.functional.mish", "nn.functional.hardswish", "nn.functional.hardsigmoid",
         "nn.functional.hardtanh", "nn.functional.relu6", "nn.functional.logsigmoid", "nn.functional.softsign",
         "nn.functional.celu", "nn.functional.selu", "nn.functional.prelu", "nn.functional.glu",
         "nn.functional.softplus"]


@pytest.fixture(scope="module")
def rows():
    return opinfo.run_op_db()


def test_in_place_variants_agree(rows):
    """x.name_(...) leaves in x what PyTorch's in-place variant leaves (wherever both run it)."""
    bad = [f"{r['name']}: {[e for e in r['examples'] if '_ ' in e]}" for r in rows
           if r["inplace"]["differ"] or r["inplace"]["crash"]]
    total = opinfo.summary(rows)["inplace"]
    assert total.get("agree", 0) > 300, total
    assert not bad, "\n".join(bad)


def test_op_db_floor(rows):
    s = opinfo.summary(rows)
    print("\n" + opinfo.table(rows))
    print(s)
    assert s["run"] >= MIN_ENTRIES_AGREEING, s
    assert s["agree_rate"] >= MIN_AGREE_RATE, s


def test_no_silent_difference_in_elementwise(rows):
    bad = [f"{r['name']} ({r['variant']}): {r['examples']}" for r in rows if r["name"] in EXACT
           and (r["counts"]["differ"] or r["counts"]["crash"] or r["counts"]["refused"]
                or r["inplace"]["differ"] or r["inplace"]["crash"] or r["inplace"]["refused"]
                or (not r["counts"]["agree"] and not r["variant"]))]
    assert not bad, "\n".join(bad)


def test_no_silent_difference_anywhere(rows):
    """Every sample agrees or is refused by a named TensorcoreError: no other value, and no unclear crash."""
    bad = [f"{r['name']} ({r['variant']}): {r['examples']}" for r in rows
           if r["counts"]["differ"] or r["counts"]["crash"]]
    assert not bad, "\n".join(bad)
