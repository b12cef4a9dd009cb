"""Numba CUDA kernels with launch wrappers; installed as tensorcore.kernels. Imports nothing from tensorcore."""
