"""Distribution: torch.distributions.Distribution's shared surface (batch_shape / event_shape, argument and
sample validation, sample_shape handling, expand, mean / stddev / variance, perplexity)."""

import numpy as np

from ..errors import ArgumentError
from . import constraints
from .utils import _shape


def _satisfied(constraint, value):
    """bool(constraint.check(value).all()), on the host directly for tensorcore's own constraints."""
    if type(constraint).check is constraints.Constraint.check:
        return bool(np.asarray(constraint._check(constraints._arr(value))).all())
    check = constraint.check(value)  # a user's Constraint subclass (torch style: it defines check)
    arr = np.asarray(check.detach().cpu().numpy()) if hasattr(check, "detach") else np.asarray(check)
    return bool(arr.all())


class Distribution:
    """The shared surface. validate_args defaults to Distribution._validate_args (True, as torch's __debug__
    default; Distribution.set_default_validate_args changes it): invalid parameters and, in log_prob,
    values outside the support raise ArgumentError (a ValueError, as torch raises ValueError)."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):
            raise ValueError("set_default_validate_args: value must be True or False")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self.batch_shape, self.event_shape = tuple(batch_shape), tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), _lazy_property):
                    continue  # skip checking a lazily constructed argument
                value = getattr(self, param)
                if value is None:
                    continue
                if not _satisfied(constraint, value):
                    raise ArgumentError(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) of "
                        f"distribution {self!r} to satisfy the constraint {constraint!r}, but found invalid "
                        f"values:\n{value}")

    @property
    def arg_constraints(self):
        raise NotImplementedError

    @property
    def support(self):
        raise NotImplementedError

    def expand(self, batch_shape, _instance=None):
        raise NotImplementedError

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                                      "__init__() method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def _expand_params(self, cls, names, batch_shape, _instance=None):
        """expand(): a new instance of cls with each named parameter (and any other named attribute) expanded to
        batch_shape (+ its own trailing shape, given as a name -> trailing-dims-count pair)."""
        new = self._get_checked_instance(cls, _instance)
        batch_shape = tuple(batch_shape)
        for name in names:
            value = getattr(self, name)
            setattr(new, name, value.expand(batch_shape + tuple(value.shape[len(self.batch_shape):])))
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _extended_shape(self, sample_shape=()):
        return _shape(sample_shape) + self.batch_shape + self.event_shape

    _extended = _extended_shape

    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        from ..autograd import no_grad

        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sample (rsample)")

    def sample_n(self, n):
        return self.sample((n,))

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    def perplexity(self):
        return self.entropy().exp()

    def _validate_sample(self, value):
        from ..tensor import Tensor

        if not isinstance(value, Tensor):
            raise ArgumentError(f"{type(self).__name__}.log_prob: the value must be a Tensor, got "
                                f"{type(value).__name__}")
        event_dim_start = len(value.shape) - len(self.event_shape)
        if tuple(value.shape[event_dim_start:]) != self.event_shape:
            raise ArgumentError(f"{type(self).__name__}: the rightmost size of value must match event_shape: "
                                f"{tuple(value.shape)} vs {self.event_shape}.")
        actual_shape, expected_shape = tuple(value.shape), self.batch_shape + self.event_shape
        for i, j in zip(reversed(actual_shape), reversed(expected_shape)):
            if i != 1 and j != 1 and i != j:
                raise ArgumentError(f"{type(self).__name__}: value of shape {actual_shape} is not broadcastable "
                                    f"with batch_shape + event_shape {expected_shape}.")
        try:
            support = self.support
        except NotImplementedError:
            return
        if support is None:
            return
        if not _satisfied(support, value):
            raise ArgumentError(f"Expected value argument ({type(value).__name__} of shape {actual_shape}) to be "
                                f"within the support ({support!r}) of the distribution {self!r}, but found "
                                f"invalid values:\n{value}")

    def __repr__(self):
        try:
            derived = self.__dict__.get("_derived", ())  # probs of logits (or back): torch computes it lazily
            names = [k for k in self.arg_constraints if k in self.__dict__ and k not in derived]
        except NotImplementedError:
            names = []
        d = self.__dict__
        args = ", ".join(f"{n}: {d[n] if d[n].numel() == 1 else d[n].size()}" for n in names if hasattr(d[n], "numel"))
        return f"{type(self).__name__}({args})"


class _lazy_property:
    """torch.distributions.utils.lazy_property: computed once, on first access, then cached on the instance."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


lazy_property = _lazy_property


class ExponentialFamily(Distribution):
    """torch.distributions.ExponentialFamily (a marker base here: subclasses give their entropy directly)."""
