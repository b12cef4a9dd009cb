"""Random numbers: one seedable default generator drives init, dropout, shuffling and tc.rand*.

Numbers are drawn on the host with NumPy's PCG64, so a seed gives the same tensors on every device.
"""

import numpy as np


class Generator:
    """A seedable source of random arrays (wraps numpy.random.Generator)."""

    def __init__(self, seed=None):
        self.manual_seed(seed)

    def manual_seed(self, seed):
        self.seed = seed
        self.np = np.random.default_rng(seed)
        return self

    def get_state(self):
        """The generator's state as a JSON-able dict (saved in checkpoints)."""
        return self.np.bit_generator.state

    def set_state(self, state):
        self.np.bit_generator.state = state


default_generator = Generator(None)


def manual_seed(seed):
    """Seed the default generator: tc.rand/randn/randint, nn.init, dropout and DataLoader shuffling."""
    default_generator.manual_seed(int(seed))
    return default_generator


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _gen(generator):
    return (generator or default_generator).np
