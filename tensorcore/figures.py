"""What every picture tensorcore draws shares: a headless pyplot, integer epoch ticks, an atomic PNG write.

Example:
    plt = pyplot()
    fig, ax = plt.subplots()
    save(fig, "out.png")
"""

import os


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def integer_ticks(axis):
    """Ticks at whole numbers only (epochs, counts): never 0.96 ... 1.04."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def save(fig, path, dpi=100):
    """Write `fig` as a PNG at `path` atomically (serialization.atomic_write) and close it; returns path."""
    import matplotlib.pyplot as plt

    from .serialization import atomic_write

    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        with atomic_write(path) as f:
            fig.savefig(f, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(fig)
    return path
