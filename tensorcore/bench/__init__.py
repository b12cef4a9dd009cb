"""`tensorcore bench`: reproducible benchmarks of kernels, training steps and per-op overhead.

Modules: `timing` (warm-up, repeated timing, CUDA events), `machine` (what it ran on), `ceilings`
(the measured GEMM and copy ceilings), `record` (the record schema and atomic JSON), `gate` (the
correctness gate), `references` (NumPy float64 references), `suites/` (kernels, train, overhead),
`plot` (matmul GFLOP/s and roofline PNGs), `cli` (the command line). Nothing here imports torch,
cupy or numba until a suite needs it.
"""
