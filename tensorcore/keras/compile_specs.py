"""compile()'s per-output settings (losses, loss weights, metrics) and the layers whose penalties join the loss."""

from ..errors import ArgumentError


def _per_output(spec, names, what):
    """A list with one entry per output from a single value, a list, or a dict by output name."""
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ArgumentError(f"compile: {what} for unknown outputs {sorted(unknown)}; outputs: {names}")
        return [spec.get(n) for n in names]
    if isinstance(spec, (list, tuple)) and what in ("loss", "loss_weights"):
        if len(spec) != len(names):
            raise ArgumentError(f"compile: {len(spec)} {what} for {len(names)} outputs {names}")
        return list(spec)
    return [spec] * len(names)


def _metrics_per_output(spec, names):
    """One list of metric specs per output from compile's metrics= (a list, a list per output, or a dict)."""
    spec = spec or []
    if isinstance(spec, dict) or (len(names) > 1 and spec and all(isinstance(s, (list, tuple)) for s in spec)):
        per = _per_output(spec, names, "metrics") if isinstance(spec, dict) else list(spec)
        return [list(m) if isinstance(m, (list, tuple)) else ([m] if m else []) for m in per]
    return [list(spec)] + [[] for _ in names[1:]]


def _penalized_layers(model):
    """The layers (at any depth) with a weight or activity regularizer or add_loss() calls, the model included."""
    found, stack = [], [model]
    while stack:
        layer = stack.pop()
        if layer._regularized or layer.activity_regularizer is not None or getattr(layer, "_adds_losses", False):
            found.append(layer)
        stack.extend(layer.sublayers())
    return found
