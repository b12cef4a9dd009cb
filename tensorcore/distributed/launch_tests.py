"""Run the tests marked `mpi` under mpirun: DEFAULT_TESTS on 2 ranks, FOUR_RANK_TESTS on 4 (the CI step).

    python -m tensorcore.distributed.launch_tests [pytest arguments]
    python -m tensorcore.distributed.launch_tests --ranks 4 tests/test_pipeline_mpi.py -k gpt

Every rank runs pytest on the same files; rank 0 prints, the other ranks' output is shown only if
they fail. Without test paths both passes run (2 ranks, then 4 with --oversubscribe); with paths,
one pass on --ranks ranks (default 2). All passes together are killed after 300 s (a hang cannot
block CI), and every collective or message inside gives up after TENSORCORE_DIST_TIMEOUT=60 s.
Exits 5 (pytest's "no tests ran", which tests/run.sh does not count as a failure) when mpi4py or
mpirun is not installed.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

DEFAULT_TESTS = ["tests/test_distributed_mpi.py", "tests/test_tensor_parallel_mpi.py", "tests/test_zero_mpi.py",
                 "tests/test_async_training_mpi.py"]
FOUR_RANK_TESTS = ["tests/test_pipeline_mpi.py"]  # pipeline parallelism: 2 pipelines of 2 stages, or one of 4
WALL_LIMIT_S = 300
RANKS = 2


def _rank():
    for var in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"):
        if var in os.environ:
            return int(os.environ[var])
    return 0


def worker(pytest_args):
    """Inside mpirun: pytest on this rank; non-zero ranks write to a log printed only on failure."""
    import pytest

    rank = _rank()
    if rank == 0:
        return pytest.main(pytest_args)
    with tempfile.TemporaryFile(mode="w+") as log:
        saved = os.dup(1), os.dup(2)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            code = pytest.main(pytest_args)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
        if code not in (0, 5):
            log.seek(0)
            sys.stderr.write(f"\n===== rank {rank} output =====\n{log.read()}")
    return code


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--worker"]:
        return worker(argv[1:])
    from .launch import find_mpirun, mpirun_argv
    from .process_group import is_available

    if not is_available() or find_mpirun() is None:
        print("distributed tests skipped: mpi4py or mpirun is not installed (pip install 'tensorcore[mpi]')")
        return 5
    ranks = RANKS
    if argv[:1] == ["--ranks"] and len(argv) > 1:
        ranks, argv = int(argv[1]), argv[2:]
    paths = [a for a in argv if a.endswith(".py") or "::" in a or os.path.isdir(a)]
    passes = [(ranks, [])] if paths else [(RANKS, DEFAULT_TESTS), (4, FOUR_RANK_TESTS)]
    env = dict(os.environ, TENSORCORE_DIST_TIMEOUT=os.environ.get("TENSORCORE_DIST_TIMEOUT", "60"))
    deadline = time.monotonic() + WALL_LIMIT_S
    codes = [_run_pass(mpirun_argv(n), ["-q", "-m", "mpi", "-p", "no:cacheprovider"] + argv + tests, env, deadline)
             for n, tests in passes]
    failed = [c for c in codes if c not in (0, 5)]
    return failed[0] if failed else (0 if 0 in codes else 5)


def _run_pass(mpirun, pytest_args, env, deadline):
    print(f"=== {' '.join(os.path.basename(a) if i == 0 else a for i, a in enumerate(mpirun))}: "
          f"{' '.join(pytest_args)}", flush=True)
    command = mpirun + [sys.executable, "-m", "tensorcore.distributed.launch_tests", "--worker"] + pytest_args
    proc = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        print(f"distributed tests: killed after {WALL_LIMIT_S} s in all", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
