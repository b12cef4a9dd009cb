"""tc.cpu: torch.cpu's names for the cpu device (is_available, device_count, synchronize) and tc.cpu.amp."""


def is_available():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    """Nothing to wait for: cpu ops finish before they return."""


def __getattr__(name):
    if name == "amp":
        from .amp import cpu_amp

        return cpu_amp
    raise AttributeError(f"module 'tensorcore.cpu' has no attribute {name!r}")
