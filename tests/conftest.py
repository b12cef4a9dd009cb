"""Shared test fixtures.

`device` runs a test on cpu and on cuda. The cuda case carries the `cuda` marker: tests/run.sh runs
it in its own process with the simulated device (TENSORCORE_CUDA_SIM=1, NUMBA_ENABLE_CUDASIM=1), or on
a real GPU; it skips, saying why, where neither is present.
"""

import os

import numpy as np
import pytest
from hypothesis import settings

# CI runs every property test on the same derandomized examples (a red CI is then reproducible);
# locally hypothesis explores new ones each run.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def require_cuda():
    import tensorcore as tc

    if not tc.cuda.is_available():
        pytest.skip(f"cuda device not available: {tc.cuda.unavailable_reason()}")


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    if request.param == "cuda":
        require_cuda()
    return request.param


def pytest_collection_modifyitems(config, items):
    """The long trainings (marked slow) run first: under pytest-xdist (tests/run.sh) each worker starts on
    one while the short tests fill the other, instead of two of them starting last, one after the other."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
