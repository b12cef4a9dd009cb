"""tensorcore.distributed.optim: optimizers across ranks (torch.distributed.optim's names).

    ZeroRedundancyOptimizer(params, optimizer_class=tc.optim.Adam, lr=1e-3)             # ZeRO stage 1
    ZeroRedundancyOptimizer(params, tc.optim.Adam, zero_stage=2, lr=1e-3)                # + gradient sharding
    PostLocalSGDOptimizer(tc.optim.SGD(params, lr=0.1), averager)                        # local SGD
"""

from ..async_training import PostLocalSGDOptimizer
from .zero import ZeroRedundancyOptimizer, optimizer_state_bytes

__all__ = ["PostLocalSGDOptimizer", "ZeroRedundancyOptimizer", "optimizer_state_bytes"]
