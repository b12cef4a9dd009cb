"""`tensorcore info`: versions, devices and backends."""

import platform


def add_arguments(parser):
    pass


def run(args):
    import numpy as np

    import tensorcore as tc

    print(f"tensorcore {tc.__version__}  python {platform.python_version()}  numpy {np.__version__}")
    print(f"machine    {platform.machine()}  {platform.processor() or platform.platform()}")
    try:
        from . import cuda

        available = cuda.is_available()
        sim = " (simulated)" if available and cuda.is_simulated() else ""
        print(f"cuda       {'available' + sim if available else 'not available'}")
    except ImportError:
        print("cuda       not available")
    return 0
