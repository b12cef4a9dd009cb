"""Random numbers: one seedable default generator drives init, dropout, shuffling and tc.rand*.

Numbers are drawn on the host with NumPy's PCG64, so a seed gives the same tensors on every device.
Seeds follow torch.manual_seed: an int in [-2**63, 2**64); a negative seed s is used as 2**64 + s.
"""

import contextlib

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
        """Seed the generator (None: a fresh seed from the OS's entropy, as seed()); returns the generator."""
        seed = _seed(seed, "Generator.manual_seed")
        self._initial_seed = _fresh_seed() if seed is None else seed
        self.np = np.random.default_rng(self._initial_seed)
        return self

    def seed(self):
        """torch.Generator.seed: reseed from the OS's entropy and return the new seed."""
        self.manual_seed(_fresh_seed())
        return self._initial_seed

    def initial_seed(self):
        """torch.Generator.initial_seed: the seed the generator was last seeded with (the state does not move)."""
        return self._initial_seed

    def get_state(self):
        """The generator's state as a JSON-able dict (saved in checkpoints); it holds the initial seed too, so
        set_state brings initial_seed() back as torch's set_rng_state does."""
        return dict(self.np.bit_generator.state, initial_seed=self._initial_seed)

    def set_state(self, state):
        """Restore get_state(); a state of another kind or a damaged one raises ArgumentError."""
        try:
            self.np.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as exc:
            raise ArgumentError(f"set_rng_state: not a state of this generator ({type(exc).__name__}: {exc})") \
                from None
        if isinstance(state.get("initial_seed"), int):
            self._initial_seed = state["initial_seed"]


def _fresh_seed():
    """A non-deterministic 64-bit seed (torch.seed's range: [0, 2**64))."""
    return int(np.random.SeedSequence().entropy % _SEED_HIGH)


default_generator = Generator(None)


def manual_seed(seed):
    """Seed the default generator: tc.rand/randn/randint, nn.init, dropout and DataLoader shuffling."""
    if seed is None:
        raise ArgumentError("manual_seed: seed must be an int, got None")
    default_generator.manual_seed(seed)
    return default_generator


def seed():
    """torch.random.seed: seed the default generator from the OS's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed():
    """torch.random.initial_seed: the default generator's seed (it does not reseed or move the stream)."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (a dict here, where torch gives a ByteTensor); set_rng_state restores it."""
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type=None):
    """torch.random.fork_rng: the block draws from the default generator, whose state (and initial seed) is put
    back afterwards, also when the block raises. tensorcore draws every device's numbers from this one host
    generator, so devices and device_type only pick what torch would fork; enabled=False forks nothing."""
    if device_type is not None:
        from .device import device as _device

        _device(device_type)  # an unknown device type raises here, as torch.device(device_type) does
    if devices is not None:
        devices = list(devices)
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


__all__ = ["set_rng_state", "get_rng_state", "manual_seed", "seed", "initial_seed", "fork_rng"]


def _gen(generator):
    if generator is not None and not isinstance(generator, Generator):
        raise ArgumentError(f"generator must be a tc.Generator, got {type(generator).__name__}")
    return (generator or default_generator).np
