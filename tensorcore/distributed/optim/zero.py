"""ZeroRedundancyOptimizer (ZeRO, Rajbhandari et al. 2020; torch.distributed.optim's signature).

Each parameter group is laid out as one flat vector (padded to a multiple of the world size) and split
into world-size equal shards; rank r owns shard r. The wrapped optimizer (`optimizer_class`) is built on
rank r's shard alone, so its state (Adam's exp_avg and exp_avg_sq, SGD's momentum) takes 1/N of the memory.

    stage 1 (zero_stage=1, the default; as PyTorch):  gradients are already averaged over the ranks
        (DistributedDataParallel); step() takes this rank's slice of them, updates its shard, and
        all-gathers the shards back into every rank's full parameters.
    stage 2 (zero_stage=2):  no DistributedDataParallel. step() reduce-scatters the local gradients
        (flat, averaged over the ranks), so each rank receives only its shard's averaged gradient,
        drops the full gradients (p.grad = None), updates its shard, and all-gathers the parameters.

Elementwise optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) then take exactly the steps of one process.
A parameter without a gradient counts as a zero gradient. `memory_bytes()` reports what this rank holds.
parameters_as_bucket_view is accepted for PyTorch's signature (the layout is always flat); overlap_with_ddp
is refused.
"""

import numpy as np

from ...optim.optimizer import Optimizer
from ...tensor import Tensor, _make
from ..errors import DistributedError
from ..tensor_parallel.comm import _world, all_gather_array, reduce_scatter_array


def _is_array(v):
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, (int, float))


def _array(v):
    return v._data if isinstance(v, Tensor) else v


class ZeroRedundancyOptimizer(Optimizer):
    """optimizer_class on this rank's 1/N of every parameter group; step() all-gathers the parameters.

    Example:
        model = DistributedDataParallel(net)
        opt = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=tc.optim.Adam, lr=1e-3)
        # stage 2, without DistributedDataParallel (gradients reduce-scattered in step()):
        opt = ZeroRedundancyOptimizer(net.parameters(), tc.optim.Adam, zero_stage=2, lr=1e-3)
    """

    def __init__(self, params, optimizer_class, process_group=None, parameters_as_bucket_view=False,
                 overlap_with_ddp=False, zero_stage=1, **defaults):
        if overlap_with_ddp:
            raise DistributedError("ZeroRedundancyOptimizer: overlap_with_ddp=True is not supported")
        if zero_stage not in (1, 2):
            raise DistributedError(f"ZeroRedundancyOptimizer: zero_stage must be 1 or 2, got {zero_stage!r}")
        if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, Optimizer)):
            raise DistributedError("ZeroRedundancyOptimizer: optimizer_class must be a tensorcore optimizer class "
                                   f"(e.g. tc.optim.Adam), got {optimizer_class!r}")
        self.process_group = _world("ZeroRedundancyOptimizer") if process_group is None else process_group
        self.zero_stage = zero_stage
        self.parameters_as_bucket_view = parameters_as_bucket_view
        self._optimizer_class = optimizer_class
        self._consolidated = None
        self._built = False
        super().__init__(params, defaults)
        self._layouts = [self._layout(g, i) for i, g in enumerate(self.param_groups)]
        self.optim = optimizer_class([{**{k: v for k, v in g.items() if k != "params"}, "params": [lay["shard"]]}
                                      for g, lay in zip(self.param_groups, self._layouts)], **defaults)
        self._built = True

    def add_param_group(self, group):
        if getattr(self, "_built", False):
            raise DistributedError("ZeroRedundancyOptimizer.add_param_group after construction is not supported")
        super().add_param_group(group)

    def _layout(self, group, index):
        """The flat layout of one group and this rank's shard of it (a Parameter the local optimizer updates)."""
        from ...nn import Parameter

        params = group["params"]
        kinds = {(p.dtype, p.device) for p in params}
        if len(kinds) != 1:
            raise DistributedError(f"ZeroRedundancyOptimizer: parameter group {index} mixes dtypes/devices "
                                   f"{sorted(str(k) for k in kinds)}; give each its own group")
        n = self.process_group.size
        sizes = [int(p.numel()) for p in params]
        total = sum(sizes)
        shard = -(-total // n)
        xp = params[0].device.backend.xp
        flat = xp.zeros(shard * n, dtype=params[0].dtype)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        for p, a, b in zip(params, offsets[:-1], offsets[1:]):
            flat[a:b] = p._data.reshape(-1)
        start = self.process_group.rank * shard
        piece = Parameter(_make(flat[start : start + shard].copy(), params[0].device, False, None))
        return {"sizes": sizes, "offsets": offsets, "shard_size": shard, "start": start, "shard": piece}

    # --- the training step ---------------------------------------------------------------------------
    def _flat_grad(self, group, lay):
        params = group["params"]
        xp = params[0].device.backend.xp
        flat = xp.zeros(lay["shard_size"] * self.process_group.size, dtype=params[0].dtype)
        for p, a, b in zip(params, lay["offsets"][:-1], lay["offsets"][1:]):
            if p.grad is not None:
                flat[a:b] = p.grad._data.reshape(-1)
        return flat

    def step(self, closure=None):
        """(stage 2: reduce-scatter the gradients;) update this rank's shards; all-gather the parameters."""
        loss = None
        if closure is not None:
            from ...autograd import enable_grad

            with enable_grad():
                loss = closure()
        n = self.process_group.size
        for group, local, lay in zip(self.param_groups, self.optim.param_groups, self._layouts):
            local.update({k: v for k, v in group.items() if k != "params"})  # lr schedulers change ours
            self._refresh_shard(group, lay)
            flat = self._flat_grad(group, lay)
            if self.zero_stage == 2:
                grad = reduce_scatter_array(self.process_group, flat)
                grad /= n
                for p in group["params"]:
                    p.grad = None  # only this rank's averaged shard of the gradient is kept
            else:
                grad = flat[lay["start"] : lay["start"] + lay["shard_size"]].copy()
            lay["shard"].grad = _make(grad, lay["shard"].device, False, None)
        self.optim.step()
        for group, lay in zip(self.param_groups, self._layouts):
            full = all_gather_array(self.process_group, lay["shard"]._data).reshape(-1)
            for p, a, b in zip(group["params"], lay["offsets"][:-1], lay["offsets"][1:]):
                p._data[...] = full[a:b].reshape(p.shape)
                p._version += 1
        return loss

    def _refresh_shard(self, group, lay):
        """shard <- this rank's slice of the current parameters (they may have changed since the last step:
        DistributedDataParallel's broadcast of rank 0's weights, a load_state_dict)."""
        shard = lay["shard"]._data
        lo, hi = lay["start"], lay["start"] + lay["shard_size"]
        for p, a, b in zip(group["params"], lay["offsets"][:-1], lay["offsets"][1:]):
            a, b = int(a), int(b)
            if b <= lo or a >= hi:
                continue
            first, last = max(a, lo), min(b, hi)
            shard[first - lo : last - lo] = p._data.reshape(-1)[first - a : last - a]

    def zero_grad(self, set_to_none=True):
        super().zero_grad(set_to_none)
        self.optim.zero_grad(set_to_none)

    # --- memory ---------------------------------------------------------------------------------------
    def memory_bytes(self):
        """Bytes this rank holds: {'parameters' (full replica), 'parameter_shard', 'gradients' (p.grad and
        the shard's), 'optimizer_state' (the local optimizer's arrays, 1/N of one process's)}."""
        params = [p for g in self.param_groups for p in g["params"]]
        shards = [lay["shard"] for lay in self._layouts]
        grads = [t.grad for t in params + shards if t.grad is not None]
        return {"parameters": sum(int(p._data.nbytes) for p in params),
                "parameter_shard": sum(int(s._data.nbytes) for s in shards),
                "gradients": sum(int(g._data.nbytes) for g in grads),
                "optimizer_state": optimizer_state_bytes(self.optim)}

    # --- state dicts (PyTorch's protocol) ---------------------------------------------------------------
    def consolidate_state_dict(self, to=0):
        """Gather every rank's shard of the optimizer state onto rank `to` (a collective: all ranks call it)."""
        group = self.process_group
        if isinstance(to, bool) or not isinstance(to, (int, np.integer)) or not 0 <= to < group.size:
            raise DistributedError(f"consolidate_state_dict: to must be a rank in 0..{group.size - 1}, got {to!r}")
        local = self.optim.state_dict()
        state, groups, index = {}, [], 0
        for gi, (group_params, lay) in enumerate(zip(self.param_groups, self._layouts)):
            hyper = {k: v for k, v in local["param_groups"][gi].items() if k != "params"}
            ids = list(range(index, index + len(group_params["params"])))
            groups.append({**hyper, "params": ids})
            shard_state = local["state"].get(gi)
            if shard_state is not None:
                gathered, same = {}, {}
                for key in sorted(shard_state):  # the same order on every rank
                    value = shard_state[key]
                    if _is_array(value) and tuple(value.shape) == (lay["shard_size"],):
                        gathered[key] = all_gather_array(group, _array(value)).reshape(-1)
                    else:
                        same[key] = value  # e.g. "step": the same on every rank
                for i, p, a, b in zip(ids, group_params["params"], lay["offsets"][:-1], lay["offsets"][1:]):
                    state[i] = dict(same)
                    state[i].update({k: _make(v[a:b].reshape(p.shape).copy(), p.device, False, None)
                                     for k, v in gathered.items()})
            index += len(group_params["params"])
        self._consolidated = {"state": state, "param_groups": groups} if group.rank == to else None

    def state_dict(self):
        """The whole optimizer's state (as optimizer_class on all the parameters would have it), on the rank
        that consolidate_state_dict(to=...) named; raises elsewhere or before it was called."""
        if self._consolidated is None:
            raise DistributedError("ZeroRedundancyOptimizer.state_dict: call consolidate_state_dict(to=rank) on "
                                   "every rank first; the state is then available on that rank")
        return self._consolidated

    def load_state_dict(self, state_dict):
        """Load a whole state (from state_dict()) on every rank: each keeps its shard of it."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise DistributedError("ZeroRedundancyOptimizer.load_state_dict: expected {'state', 'param_groups'}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise DistributedError(f"ZeroRedundancyOptimizer.load_state_dict: {len(saved_groups)} parameter "
                                   f"groups in the state, {len(self.param_groups)} here")
        local_state, local_groups = {}, []
        for gi, (saved, group, lay) in enumerate(zip(saved_groups, self.param_groups, self._layouts)):
            ids = list(saved["params"])
            if len(ids) != len(group["params"]):
                raise DistributedError(f"ZeroRedundancyOptimizer.load_state_dict: group {gi} has {len(ids)} "
                                       f"parameters in the state, {len(group['params'])} here")
            local_groups.append({**{k: v for k, v in saved.items() if k != "params"}, "params": [gi]})
            states = [state_dict["state"].get(i, state_dict["state"].get(str(i))) for i in ids]
            if all(s is None for s in states):
                continue
            if any(s is None for s in states):
                raise DistributedError(f"ZeroRedundancyOptimizer.load_state_dict: group {gi} has state for some "
                                       "parameters only")
            local_state[gi] = self._shard_state(states, group, lay, gi)
        self.optim.load_state_dict({"state": local_state, "param_groups": local_groups})
        for group, local in zip(self.param_groups, self.optim.param_groups):
            group.update({k: v for k, v in local.items() if k != "params"})

    def _shard_state(self, states, group, lay, gi):
        params = group["params"]
        xp = params[0].device.backend.xp
        out = {}
        for key, value in states[0].items():
            if _is_array(value) and tuple(value.shape) == tuple(params[0].shape):
                flat = xp.zeros(lay["shard_size"] * self.process_group.size, dtype=params[0].dtype)
                for p, s, a, b in zip(params, states, lay["offsets"][:-1], lay["offsets"][1:]):
                    v = _array(s.get(key))
                    if v is None or tuple(v.shape) != tuple(p.shape):
                        raise DistributedError(f"ZeroRedundancyOptimizer.load_state_dict: group {gi}: state "
                                               f"{key!r} does not match a parameter of shape {tuple(p.shape)}")
                    flat[a:b] = xp.asarray(v).reshape(-1)
                out[key] = _make(flat[lay["start"] : lay["start"] + lay["shard_size"]].copy(), params[0].device,
                                 False, None)
            else:
                out[key] = value
        return out

    def __repr__(self):
        return (f"ZeroRedundancyOptimizer(stage {self.zero_stage}, rank {self.process_group.rank} of "
                f"{self.process_group.size}, {self.optim!r})")


def optimizer_state_bytes(optimizer):
    """Bytes of an optimizer's per-parameter state arrays (Adam: exp_avg + exp_avg_sq; SGD: momentum).

    Private scratch buffers (keys starting with "_", which state_dict() leaves out too) and the 0-d counters
    (Adam's step, a 0-d tensor as PyTorch keeps it) are not counted.
    """
    total = 0
    for st in optimizer.state.values():
        for k, v in st.items():
            if _is_array(v) and not k.startswith("_") and _array(v).ndim:
                total += int(_array(v).nbytes)
    return total


__all__ = ["ZeroRedundancyOptimizer", "optimizer_state_bytes"]
