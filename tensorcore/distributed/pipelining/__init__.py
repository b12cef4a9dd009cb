"""tensorcore.distributed.pipelining: pipeline parallelism with torch.distributed.pipelining's names.

A model is cut into stages (pipeline_split), stage i runs on rank i, and a schedule pushes each
step's micro-batches through them; activations and gradients travel as point-to-point messages.

    import tensorcore.distributed as dist
    from tensorcore.distributed.pipelining import PipelineStage, ScheduleGPipe, pipeline_split

    dist.init_process_group("mpi")                         # mpirun -n 2 python train.py
    rank = dist.get_rank()
    stage = PipelineStage(pipeline_split(model, 2)[rank], rank, 2)
    schedule = ScheduleGPipe(stage, n_microbatches=4, loss_fn=nn.CrossEntropyLoss())
    opt = tc.optim.SGD(stage.submod.parameters(), lr=0.1)
    losses = []
    schedule.step(x) if rank == 0 else schedule.step(target=y, losses=losses)
    opt.step(); opt.zero_grad()
"""

from .schedules import (
    Schedule1F1B,
    ScheduleGPipe,
    StepTimes,
    expected_bubble,
    gpipe_actions,
    one_f_one_b_actions,
)
from .split import GPTStage, gather_state_dict, pipeline_split, split_gpt, split_sequential
from .stage import PipelineStage

__all__ = [
    "GPTStage",
    "PipelineStage",
    "Schedule1F1B",
    "ScheduleGPipe",
    "StepTimes",
    "expected_bubble",
    "gather_state_dict",
    "gpipe_actions",
    "one_f_one_b_actions",
    "pipeline_split",
    "split_gpt",
    "split_sequential",
]
