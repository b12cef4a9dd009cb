"""What the tests marked `mpi` share (they run under mpirun, from `python -m tensorcore.distributed.launch_tests`)."""

import pytest


def process_group_fixture(world_size=None):
    """A module-scoped autouse fixture: one MPI process group for the module's tests, which skip (saying
    why) outside mpirun with at least 2 ranks, or exactly `world_size` ranks when it is given."""

    @pytest.fixture(scope="module", autouse=True)
    def group():
        import tensorcore.distributed as dist

        dist.init_process_group("mpi")
        n = dist.get_world_size()
        if (n < 2) if world_size is None else (n != world_size):
            dist.destroy_process_group()
            pytest.skip(f"needs mpirun -n {world_size or '2 or more'} "
                        "(python -m tensorcore.distributed.launch_tests runs it so)")
        yield
        dist.barrier()
        dist.destroy_process_group()

    return group
