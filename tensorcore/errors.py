"""The exceptions tensorcore raises. Each message names the op and the shapes, dtypes or devices."""


class TensorcoreError(RuntimeError):
    """Base class of every error tensorcore raises on purpose: a RuntimeError, as PyTorch's op errors are
    (code written for torch catches RuntimeError), and also the Python class each subclass names."""


class ShapeError(TensorcoreError, ValueError):
    """Shapes that do not fit the op (alignment, broadcasting, axes, reshape sizes)."""


class DTypeError(TensorcoreError, TypeError):
    """A dtype the op does not accept (for example an integer tensor asked to require grad)."""


class DeviceError(TensorcoreError, ValueError):
    """Tensors on different devices, or a device that is unknown or unavailable."""


class GradientError(TensorcoreError, RuntimeError):
    """Misuse of the tape: backward twice through a freed graph, a tensor changed in place, ..."""


class GradcheckError(TensorcoreError, AssertionError):
    """Analytic and numeric gradients disagree."""


class AnomalyError(GradientError):
    """A NaN or Inf produced in forward or backward while anomaly detection is on."""


class IndexingError(TensorcoreError, IndexError):
    """An index out of bounds or of a kind the op does not accept."""


class ArgumentError(TensorcoreError, TypeError, ValueError):
    """An argument of the wrong type or out of its range (an axis of type str, p=1.5 for dropout...)."""


class LinAlgError(ArgumentError):
    """A matrix a decomposition cannot handle: singular (inv, solve), not positive-definite (cholesky)
    (torch.linalg.LinAlgError's place)."""


class OutOfMemoryError(TensorcoreError, MemoryError):
    """A result too large to allocate (torch.OutOfMemoryError's place): nothing was allocated."""
