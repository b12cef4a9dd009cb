"""Running a function at a given Numba thread count (the parallel CPU kernels' determinism tests)."""


def with_numba_threads(n, fn):
    """fn() with Numba's thread count set to n (at most the size of its pool), restored afterwards."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        return fn()
    finally:
        numba.set_num_threads(before)
