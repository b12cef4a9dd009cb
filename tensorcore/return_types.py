"""Named tuples returned by ops with several outputs, as in torch.return_types: `values, indices = x.max(0)`
and `x.max(0).values` both work."""

from collections import namedtuple


def _make(name, fields):
    cls = namedtuple(name, fields)
    cls.__module__ = "tensorcore.return_types"
    cls.__repr__ = lambda self: f"tensorcore.return_types.{name}(" + ", ".join(
        f"{f}={v!r}" for f, v in zip(self._fields, self)) + ")"
    return cls


max = _make("max", "values indices")
min = _make("min", "values indices")
sort = _make("sort", "values indices")
topk = _make("topk", "values indices")
kthvalue = _make("kthvalue", "values indices")
median = _make("median", "values indices")
nanmedian = _make("nanmedian", "values indices")
mode = _make("mode", "values indices")
cummax = _make("cummax", "values indices")
cummin = _make("cummin", "values indices")
aminmax = _make("aminmax", "min max")
