"""Random numbers: one seedable default generator drives init, dropout, shuffling and tc.rand*.

Numbers are drawn on the host with NumPy's PCG64, so a seed gives the same tensors on every device.
Seeds follow torch.manual_seed: an int in [-2**63, 2**64); a negative seed s is used as 2**64 + s.
"""

import numpy as np

from .errors import ArgumentError

_SEED_LOW, _SEED_HIGH = -(2**63), 2**64


def _seed(seed, op):
    from ._validate import integer

    if seed is None:
        return None
    seed = integer(seed, "seed", op)
    if not _SEED_LOW <= seed < _SEED_HIGH:
        raise ArgumentError(f"{op}: seed must be in [-2**63, 2**64), got {seed}")
    return seed % _SEED_HIGH


class Generator:
    """A seedable source of random arrays (wraps numpy.random.Generator)."""

    def __init__(self, seed=None, device=None):
        from .device import Device
        from .device import device as _device

        if isinstance(seed, (str, Device)):  # torch.Generator("cpu"): the device comes first
            seed, device = None, seed
        self.device = _device("cpu" if device is None else device)
        self.manual_seed(seed)

    def manual_seed(self, seed):
        self.seed = _seed(seed, "Generator.manual_seed")
        self.np = np.random.default_rng(self.seed)
        return self

    def get_state(self):
        """The generator's state as a JSON-able dict (saved in checkpoints)."""
        return self.np.bit_generator.state

    def set_state(self, state):
        """Restore get_state(); a state of another kind or a damaged one raises ArgumentError."""
        try:
            self.np.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as exc:
            raise ArgumentError(f"set_rng_state: not a state of this generator ({type(exc).__name__}: {exc})") \
                from None


default_generator = Generator(None)


def manual_seed(seed):
    """Seed the default generator: tc.rand/randn/randint, nn.init, dropout and DataLoader shuffling."""
    if seed is None:
        raise ArgumentError("manual_seed: seed must be an int, got None")
    default_generator.manual_seed(seed)
    return default_generator


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _gen(generator):
    if generator is not None and not isinstance(generator, Generator):
        raise ArgumentError(f"generator must be a tc.Generator, got {type(generator).__name__}")
    return (generator or default_generator).np
