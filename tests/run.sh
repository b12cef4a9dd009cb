#!/usr/bin/env bash
# The whole test suite, as README.md's test command runs it. Each step is its own process because
# Numba's CUDA simulator must be switched on before numba is imported. The last line adds up the
# pytest summaries of all steps.
set -uo pipefail
cd "$(dirname "$0")/.."
export PY_COLORS=0
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
step() {  # step NAME COMMAND...: run it, keep its output for the totals; pytest's 5 (no tests) is no failure
  echo; echo "=== $1"; shift
  "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then status=$rc; echo "=== step failed with exit code $rc"; fi
}

# pytest-xdist spreads each pytest step over every core (TENSORCORE_TEST_WORKERS=0 runs in one process).
workers=(-n "${TENSORCORE_TEST_WORKERS:-auto}" --dist loadgroup)

step "lint (ruff)" python -m ruff check tensorcore kernels tests bench
# 1. CPU: every op, the tape, gradcheck, networks, PTX compilation of the kernels.
step "cpu + ptx" python -m pytest -q "${workers[@]}" -m "not kernels and not cuda and not gpu and not mpi" "$@"
# 2. The GPU path without a GPU: kernels and the cuda device in Numba's CUDA simulator.
step "kernels + cuda device (simulated)" env NUMBA_ENABLE_CUDASIM=1 TENSORCORE_CUDA_SIM=1 \
  python -m pytest -q "${workers[@]}" -m "(kernels or cuda) and not gpu" -p no:cacheprovider "$@"
# 3. Across processes: the tests marked mpi under mpirun -n 2, then the 4-rank pipeline tests (tensorcore.distributed).
step "distributed (mpirun -n 2, then -n 4)" python -m tensorcore.distributed.launch_tests

count() { grep -E "^=*\s*[0-9]+ (passed|failed)" "$log" | grep -oE "[0-9]+ $1" | awk '{s += $1} END {print s + 0}'; }
echo
echo "tests: $(count passed) passed, $(count failed) failed, $(count skipped) skipped"
[ "$(count error)" -eq 0 ] || { echo "collection/setup errors: $(count error)"; status=1; }
exit $status
