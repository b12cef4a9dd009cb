"""Padding modules (torch.nn's): Zero/Constant/Reflection/Replication/CircularPad{1,2,3}d over F.pad."""

from .._validate import integer
from ..errors import ArgumentError
from ..ops.padding import pad
from .module import Module


def _padding(padding, dims, name):
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2 * dims:
            raise ArgumentError(f"{name}: padding must be an int or a tuple of {2 * dims} ints, got {tuple(padding)}")
        return tuple(integer(p, "padding", name) for p in padding)
    return (integer(padding, "padding", name),) * (2 * dims)


class _Pad(Module):
    mode, dims = "constant", 1

    def __init__(self, padding, value=None):
        super().__init__()
        self.padding = _padding(padding, self.dims, type(self).__name__)
        self.value = value

    def forward(self, input):
        return pad(input, self.padding, self.mode, self.value)

    def extra_repr(self):
        if self.mode == "constant" and not type(self).__name__.startswith("Zero"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


def _make(name, mode, dims, value_arg):
    if value_arg == "value":
        def __init__(self, padding, value):
            _Pad.__init__(self, padding, value)
    elif value_arg == "zero":
        def __init__(self, padding):
            _Pad.__init__(self, padding, 0.0)
    else:
        def __init__(self, padding):
            _Pad.__init__(self, padding)
    return type(name, (_Pad,), {"mode": mode, "dims": dims, "__init__": __init__,
                                "__doc__": f"F.pad(input, padding, mode={mode!r}) over the last {dims} dims."})


ZeroPad1d, ZeroPad2d, ZeroPad3d = (_make(f"ZeroPad{d}d", "constant", d, "zero") for d in (1, 2, 3))
ConstantPad1d, ConstantPad2d, ConstantPad3d = (_make(f"ConstantPad{d}d", "constant", d, "value") for d in (1, 2, 3))
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = (_make(f"ReflectionPad{d}d", "reflect", d, None)
                                                     for d in (1, 2, 3))
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = (_make(f"ReplicationPad{d}d", "replicate", d, None)
                                                        for d in (1, 2, 3))
CircularPad1d, CircularPad2d, CircularPad3d = (_make(f"CircularPad{d}d", "circular", d, None) for d in (1, 2, 3))

__all__ = [f"{kind}Pad{d}d" for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
           for d in (1, 2, 3)]
