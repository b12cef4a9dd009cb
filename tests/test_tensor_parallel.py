"""Tensor parallelism, ZeRO and the asynchronous optimizers in one process (a group of one rank).

With one rank every layer holds the whole weight and every collective is the identity, so each must
equal its dense counterpart exactly, and the autograd Functions are gradchecked in float64. The
multi-rank checks are in test_tensor_parallel_mpi.py, test_zero_mpi.py and test_async_training_mpi.py.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tensorcore as tc
import tensorcore.distributed as dist
from tensorcore import nn
from tensorcore.distributed import async_training as at
from tensorcore.distributed import tensor_parallel as tp
from tensorcore.distributed.optim import ZeroRedundancyOptimizer, optimizer_state_bytes
from tensorcore.models.gpt import GPT


class OneRank:
    """A group of one rank (what new_group gives in a world of one), without starting MPI in this process."""

    rank, size = 0, 1

    class comm:  # noqa: N801 - stands in for an MPI communicator
        @staticmethod
        def Dup():  # noqa: N802
            return OneRank.comm


G = OneRank()


def r64(*shape, seed=0):
    return tc.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("fn,same", [
    (lambda x: tp.copy_to_parallel_region(x, G), True),
    (lambda x: tp.reduce_from_parallel_region(x, G), True),
    (lambda x: tp.gather_from_parallel_region(x, G, dim=-1), True),
    (lambda x: tp.gather_from_parallel_region(x, G, dim=0, sizes=[3]), True),
    (lambda x: tp.scatter_to_parallel_region(x, G, dim=1), True),
    (lambda x: tp.reduce_scatter_to_sequence_parallel_region(x, G), True),
    (lambda x: tp.gather_from_sequence_parallel_region(x, G), True),
    (lambda x: tp.copy_to_parallel_region(x, G) * tp.reduce_from_parallel_region(x, G), False),
], ids=["copy", "reduce", "gather", "gather-sizes", "scatter", "reduce-scatter", "gather-seq", "product"])
def test_mappings_gradcheck_and_are_identities_on_one_rank(fn, same):
    x = r64(3, 4)
    assert tc.gradcheck(fn, (x,))
    np.testing.assert_array_equal(fn(x).numpy(), x.numpy() if same else x.numpy() ** 2)


def test_second_derivatives_pass_through_the_mappings():
    x = r64(2, 3)
    y = tp.gather_from_parallel_region(tp.copy_to_parallel_region(x, G) ** 3, G).sum()
    (g,) = tc.autograd.grad(y, x, create_graph=True)
    (gg,) = tc.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.numpy())


def test_layers_equal_their_dense_counterparts_on_one_rank():
    tc.manual_seed(0)
    dense = nn.Linear(5, 6).to(tc.float64)
    x = r64(4, 5, seed=1)
    column, row = tp.ColumnParallelLinear.from_dense, tp.RowParallelLinear.from_dense
    for layer in (column(dense, True, G), column(dense, False, G), row(dense, False, G), row(dense, True, G)):
        np.testing.assert_allclose(layer(x).numpy(), dense(x).numpy(), rtol=0, atol=1e-12)
        assert tc.gradcheck(lambda a, layer=layer: layer(a), (x,))
    # Built from scratch, a layer draws nn.Linear's initialisation from the same generator.
    for cls in (tp.ColumnParallelLinear, tp.RowParallelLinear):
        tc.manual_seed(0)
        fresh = cls(5, 6, group=G)
        tc.manual_seed(0)
        want = nn.Linear(5, 6)
        np.testing.assert_array_equal(fresh.weight.numpy(), want.weight.numpy())
        np.testing.assert_array_equal(fresh.bias.numpy(), want.bias.numpy())
    tc.manual_seed(0)
    emb = nn.Embedding(7, 3).to(tc.float64)
    vocab = tp.VocabParallelEmbedding.from_dense(emb, G)
    ids = tc.tensor([[0, 6, 3], [2, 2, 1]])
    np.testing.assert_array_equal(vocab(ids).numpy(), emb(ids).numpy())
    vocab(ids).sum().backward()
    emb(ids).sum().backward()
    np.testing.assert_array_equal(vocab.weight.grad.numpy(), emb.weight.grad.numpy())


def test_parallel_gpt_and_mlp_on_one_rank_equal_the_dense_models():
    def gpt():
        tc.manual_seed(0)
        return GPT(11, block_size=8, n_layer=2, n_head=2, n_embd=16).to(tc.float64)

    dense, model = gpt(), tp.parallelize(gpt(), G)
    assert isinstance(model, tp.TensorParallelGPT) and isinstance(model.h[0].attn, tp.ParallelCausalSelfAttention)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in dense.named_parameters()]
    idx = tc.tensor(np.random.default_rng(0).integers(0, 11, (2, 8)))
    np.testing.assert_allclose(model(idx).numpy(), dense(idx).numpy(), rtol=0, atol=1e-12)
    full = tp.dense_state_dict(model)
    for k, v in dense.state_dict().items():
        np.testing.assert_array_equal(full[k].numpy(), v.numpy())
    tc.manual_seed(0)
    mlp = tc.models.get_model("mlp")
    tc.manual_seed(0)
    par = tp.parallelize(tc.models.get_model("mlp"), G)
    kinds = [type(m).__name__ for m in par]
    assert kinds == ["Flatten", "ColumnParallelLinear", "ReLU", "RowParallelLinear", "ReLU", "ColumnParallelLinear"]
    x = tc.randn(3, 784)
    np.testing.assert_allclose(par(x).numpy(), mlp(x).numpy(), rtol=0, atol=1e-5)


def test_row_indices_of_the_split_heads_and_vocabulary():
    rows = tp.qkv_rows(8, 4, 2)  # head_dim 2, 2 heads per rank: q rows 0-3 | k rows 8-11 | v rows 16-19 on rank 0
    assert rows[0].tolist() == [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19]
    assert rows[1].tolist() == [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23]
    assert [tp.vocab_range(11, r, 3) for r in range(3)] == [(0, 4), (4, 8), (8, 11)]
    assert [tp.vocab_range(4, r, 4) for r in range(4)] == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_errors_name_the_layer_and_the_shapes():
    with pytest.raises(dist.DistributedError, match="init_process_group"):
        tp.ColumnParallelLinear(4, 4)
    with pytest.raises(dist.DistributedError, match="group must come from new_group"):
        tp.copy_to_parallel_region(tc.ones(2), group="world")
    with pytest.raises(tc.TensorcoreError, match=r"ColumnParallelLinear: input of shape \(2, 3\), expected last dim "
                                                 r"in_features=4"):
        tp.ColumnParallelLinear(4, 2, group=G)(tc.ones((2, 3)))
    with pytest.raises(tc.TensorcoreError, match=r"gather_from_parallel_region: sizes \(3, 1\) do not split"):
        tp.gather_from_parallel_region(tc.ones((2, 3)), G, sizes=(3, 1))
    with pytest.raises(tc.TensorcoreError, match="dim 5 is out of range for shape"):
        tp.scatter_to_parallel_region(tc.ones((2, 3)), G, dim=5)
    with pytest.raises(tc.TensorcoreError, match="indices must be integers"):
        tp.VocabParallelEmbedding(5, 2, group=G)(tc.ones((2,)))
    with pytest.raises(dist.DistributedError, match="no tensor-parallel form for Linear"):
        tp.parallelize(nn.Linear(2, 2), G)
    with pytest.raises(dist.DistributedError, match=r"layer 1 \(BatchNorm1d\) between a column- and a row-parallel"):
        tp.parallelize(nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)), G)


@pytest.mark.parametrize("stage", [1, 2])
def test_zero_on_one_rank_is_the_wrapped_optimizer(stage):
    def build():
        tc.manual_seed(0)
        return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(tc.float64)

    ref, net = build(), build()
    ref_opt = tc.optim.Adam(ref.parameters(), lr=0.05, weight_decay=0.01)
    opt = ZeroRedundancyOptimizer(net.parameters(), tc.optim.Adam, process_group=G, zero_stage=stage, lr=0.05,
                                  weight_decay=0.01)
    x = r64(6, 3)
    for _ in range(5):
        for m, o in ((ref, ref_opt), (net, opt)):
            o.zero_grad()
            (m(x) ** 2).mean().backward()
            o.step()
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=0, atol=1e-12)
    mem = opt.memory_bytes()
    assert mem["optimizer_state"] == optimizer_state_bytes(ref_opt) == 2 * 8 * 32  # exp_avg, exp_avg_sq
    opt.consolidate_state_dict()
    state = opt.state_dict()
    want = ref_opt.state_dict()["state"][2]["exp_avg"].numpy()
    np.testing.assert_allclose(state["state"][2]["exp_avg"].numpy(), want)
    again = ZeroRedundancyOptimizer(net.parameters(), tc.optim.Adam, process_group=G, lr=1.0)
    again.load_state_dict(state)
    assert again.param_groups[0]["lr"] == 0.05
    with pytest.raises(dist.DistributedError, match="add_param_group after construction"):
        again.add_param_group({"params": [nn.Parameter(tc.ones(2))]})


def test_averagers_on_one_rank_leave_the_parameters_alone():
    tc.manual_seed(0)
    net = nn.Linear(3, 2)
    before = [p.numpy().copy() for p in net.parameters()]
    for averager in (at.PeriodicModelAverager(2, process_group=G), at.AsyncModelAverager(2, process_group=G)):
        for _ in range(3):
            averager.average_parameters(net.parameters())
        averager.finish(net.parameters())
        assert averager.step == 3
    for p, b in zip(net.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), b)
    with pytest.raises(dist.DistributedError, match="warmup_steps must be >= 0"):
        at.PeriodicModelAverager(2, warmup_steps=-1, process_group=G)


@pytest.mark.skipif(not dist.is_available(), reason="mpi4py is not installed")
def test_world_of_one_with_real_mpi():
    """A plain `python script.py`: the world's group, new_group, and the RMA parameter server on itself."""
    code = """
        import numpy as np, tensorcore as tc, tensorcore.distributed as dist
        from tensorcore import nn
        from tensorcore.distributed import tensor_parallel as tp, async_training as at
        dist.init_process_group("mpi")
        tp.initialize_model_parallel(1)
        assert tp.get_tensor_parallel_group().size == 1 and tp.new_group([0]).size == 1
        x = tc.tensor(np.arange(6.0).reshape(2, 3))
        assert tp.reduce_scatter_to_sequence_parallel_region(x).tolist() == x.tolist()
        tc.manual_seed(0); a = nn.Linear(3, 2).to(tc.float64)
        tc.manual_seed(0); b = nn.Linear(3, 2).to(tc.float64)
        ref = tc.optim.SGD(a.parameters(), lr=0.1)
        ps = at.ParameterServerOptimizer(tc.optim.SGD(b.parameters(), lr=0.1))
        for _ in range(3):
            for m, o in ((a, ref), (b, ps)):
                o.zero_grad(); (m(x) ** 2).sum().backward(); o.step()
        ps.finish(); ps.close()
        assert all(np.allclose(p.numpy(), q.numpy(), atol=1e-12) for p, q in zip(a.parameters(), b.parameters()))
        tp.destroy_model_parallel()
        dist.destroy_process_group()
        print("ok")
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, TENSORCORE_DIST_TIMEOUT="30"))
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


@pytest.mark.parametrize("argv,message", [
    (["--tensor-parallel", "2", "--save", "x.npz"], "--save and --resume are not supported with --tensor-parallel"),
    (["--zero", "1", "--resume", "x.npz"], "--save and --resume are not supported"),
    (["--async", "local-sgd", "--zero", "1"], "--async does not combine with --zero or --tensor-parallel"),
    (["--tensor-parallel", "0"], "--tensor-parallel must be >= 1, got 0"),
    (["--async", "param-server", "--async-period", "0"], "--async-period must be >= 1"),
    (["--model", "gpt", "--dataset", "fortunes", "--async", "local-sgd"], "--async trains the Fashion-MNIST models"),
])
def test_train_flags_are_checked_before_any_work(argv, message):
    from tensorcore import train

    with pytest.raises(tc.TensorcoreError, match=message):
        train.main(argv)
    assert not dist.is_initialized()
