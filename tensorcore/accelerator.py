"""tc.accelerator (torch.accelerator's names): is an accelerator usable here, and which one."""

from . import cuda


def is_available():
    """True when the cuda device can be used (a GPU with CuPy, or the simulated device)."""
    return cuda.is_available()


def current_accelerator(check_available=False):
    """tc.device('cuda') when an accelerator can be used, else None (PyTorch returns None too)."""
    from .device import device

    return device("cuda") if cuda.is_available() else None


def device_count():
    """How many accelerator devices there are (0 without one)."""
    return cuda.device_count() if cuda.is_available() else 0
