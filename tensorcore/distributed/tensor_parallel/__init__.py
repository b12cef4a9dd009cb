"""Tensor parallelism (Megatron-LM's): layers whose weights are split over the ranks of a group.

    import tensorcore.distributed as dist
    from tensorcore.distributed import tensor_parallel as tp

    dist.init_process_group("mpi")                 # mpirun -n 2 ...
    tp.initialize_model_parallel(2)                # optional: tensor-parallel groups of 2 (default: the world)
    fc1 = tp.ColumnParallelLinear(784, 256, gather_output=False)
    fc2 = tp.RowParallelLinear(256, 10, input_is_parallel=True)
    y = fc2(fc1(x).relu())                         # one all-reduce forward, one backward

    model = tp.parallelize(tc.models.get_model("gpt", vocab_size=65))   # GPT or MLP, in place
    full = tp.dense_state_dict(model)              # gathered full weights, the dense model's keys

The collectives are autograd Functions (mappings.py), so backward communicates. See README.md.
"""

from .blocks import (
    ParallelCausalSelfAttention,
    ParallelMLP,
    TensorParallelGPT,
    dense_state_dict,
    parallelize,
    parallelize_gpt,
    parallelize_mlp,
    qkv_rows,
)
from .comm import (
    destroy_model_parallel,
    get_data_parallel_group,
    get_tensor_parallel_group,
    initialize_model_parallel,
    new_group,
)
from .layers import ColumnParallelLinear, RowParallelLinear, VocabParallelEmbedding, vocab_range
from .mappings import (
    copy_to_parallel_region,
    gather_from_parallel_region,
    gather_from_sequence_parallel_region,
    reduce_from_parallel_region,
    reduce_scatter_to_sequence_parallel_region,
    scatter_to_parallel_region,
)

__all__ = [
    "ColumnParallelLinear",
    "ParallelCausalSelfAttention",
    "ParallelMLP",
    "RowParallelLinear",
    "TensorParallelGPT",
    "VocabParallelEmbedding",
    "copy_to_parallel_region",
    "dense_state_dict",
    "destroy_model_parallel",
    "gather_from_parallel_region",
    "gather_from_sequence_parallel_region",
    "get_data_parallel_group",
    "get_tensor_parallel_group",
    "initialize_model_parallel",
    "new_group",
    "parallelize",
    "parallelize_gpt",
    "parallelize_mlp",
    "qkv_rows",
    "reduce_from_parallel_region",
    "reduce_scatter_to_sequence_parallel_region",
    "scatter_to_parallel_region",
    "vocab_range",
]
