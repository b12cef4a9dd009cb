#!/usr/bin/env bash
# The whole test suite, as README.md's test command runs it. Each step is its own process because
# Numba's CUDA simulator must be switched on before numba is imported.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
step() { echo; echo "=== $1"; shift; "$@" || { rc=$?; [ $rc -eq 5 ] || status=$rc; }; }  # 5: no tests collected

step "lint (ruff)" python -m ruff check tensorcore kernels tests bench
# 1. CPU: every op, the tape, gradcheck, networks, PTX compilation of the kernels.
step "cpu + ptx" python -m pytest -q -m "not kernels and not cuda and not gpu and not mpi" "$@"
# 2. The GPU path without a GPU: kernels and the cuda device in Numba's CUDA simulator.
step "kernels + cuda device (simulated)" env NUMBA_ENABLE_CUDASIM=1 TENSORCORE_CUDA_SIM=1 \
  python -m pytest -q -m "(kernels or cuda) and not gpu" -p no:cacheprovider "$@"
# 3. Data parallelism across processes: the tests marked mpi, under mpirun -n 2 (tensorcore.distributed).
step "distributed (mpirun -n 2)" python -m tensorcore.distributed.launch_tests
exit $status
