"""Devices and the one place where a device picks its backend.

A Device names where a tensor's array lives; `Device.backend` is the module that implements the
primitive table for it (`backends/cpu.py` or `backends/cuda.py`). Devices are interned, so
`a.device is b.device` is the fast equality test used on every op.
"""

import importlib

from .errors import DeviceError

_devices = {}
_default = None


class Device:
    __slots__ = ("type", "index", "backend")

    def __init__(self, type, index):
        self.type = type
        self.index = index

    def __getattr__(self, name):
        """`device.backend`, the backend module, is imported on first use (so cuda is never imported
        early) and then stored as a plain attribute: every op reads it."""
        if name != "backend":
            raise AttributeError(name)
        backend = importlib.import_module(f"tensorcore.backends.{self.type}")
        if self.type == "cuda":
            backend.check_device(self.index)
        self.backend = backend
        return backend

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return self is other

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


def device(spec=None):
    """tc.device("cpu"), tc.device("cuda"), tc.device("cuda:1"); a Device passes through.

    `cuda` means `cuda:0`. None gives the default device (cpu unless set_default_device was called).
    """
    if spec is None:
        return _default or device("cpu")
    if isinstance(spec, Device):
        return spec
    if not isinstance(spec, str):
        raise DeviceError(f"device: expected a string like 'cpu' or 'cuda:0', got {spec!r}")
    dev = _devices.get(spec)
    if dev is not None:
        return dev
    kind, _, index = spec.partition(":")
    if kind not in ("cpu", "cuda"):
        raise DeviceError(f"device: unknown device {spec!r} (expected 'cpu', 'cuda' or 'cuda:N')")
    if kind == "cpu":
        if index not in ("", "0"):
            raise DeviceError(f"device: unknown device {spec!r}")
        idx = None
    else:
        if index and not index.isdigit():
            raise DeviceError(f"device: bad cuda index in {spec!r}")
        idx = int(index or 0)
    key = kind if idx is None else f"{kind}:{idx}"
    dev = _devices.get(key)
    if dev is None:
        dev = _devices[key] = Device(kind, idx)
    _devices[spec] = dev
    return dev


def set_default_device(spec):
    """Device used by creation functions when `device=` is not given."""
    global _default
    _default = None if spec is None else device(spec)


def get_default_device():
    return device(None)


cpu = device("cpu")
