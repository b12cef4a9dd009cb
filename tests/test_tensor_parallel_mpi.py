"""Tensor parallelism across processes (run under `mpirun -n 2` by `python -m tensorcore.distributed.launch_tests`).

Every rank runs every test. The central check: the MLP and the GPT split over the ranks (Megatron-LM's
column/row-parallel layers, heads split, vocab-parallel embedding) take the same 20 steps as one dense
process: the same losses, and the same gathered parameters, to 1e-6 in float64.
"""

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import tensorcore as tc  # noqa: E402
import tensorcore.distributed as dist  # noqa: E402
from tensorcore import nn  # noqa: E402
from tensorcore.distributed import tensor_parallel as tp  # noqa: E402
from tensorcore.models.gpt import GPT  # noqa: E402

from .mpi_helpers import process_group_fixture  # noqa: E402

pytestmark = pytest.mark.mpi


group = process_group_fixture()


def mlp(seed=0):
    tc.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 12), nn.Tanh(),
                         nn.Linear(12, 4)).to(tc.float64)


def gpt(seed=0):
    tc.manual_seed(seed)
    return GPT(11, block_size=8, n_layer=2, n_head=2, n_embd=16).to(tc.float64)


def lm_loss(logits, y):
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _train(model, batches, make_opt, loss_fn):
    opt = make_opt(model.parameters())
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = loss_fn(model(tc.tensor(x)), tc.tensor(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("which", ["mlp", "gpt"])
def test_tensor_parallel_matches_one_process_after_20_steps(which):
    rng = np.random.default_rng(3)
    if which == "mlp":
        build, loss_fn = mlp, nn.functional.cross_entropy
        batches = [(rng.standard_normal((4, 6)), rng.integers(0, 4, 4)) for _ in range(20)]
        make_opt = lambda ps: tc.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3)  # noqa: E731
    else:
        build, loss_fn = gpt, lm_loss
        batches = [(rng.integers(0, 11, (4, 8)), rng.integers(0, 11, (4, 8))) for _ in range(20)]
        make_opt = lambda ps: tc.optim.Adam(ps, lr=1e-2)  # noqa: E731
    dense = build()
    model = tp.parallelize(build())
    sharded = [m for m in model.modules() if isinstance(m, (tp.ColumnParallelLinear, tp.RowParallelLinear,
                                                                tp.VocabParallelEmbedding))]
    assert len(sharded) == (3 if which == "mlp" else 1 + 2 * 4)
    want = _train(dense, batches, make_opt, loss_fn)
    got = _train(model, batches, make_opt, loss_fn)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert want[-1] < want[0]
    full = tp.dense_state_dict(model)
    for name, t in dense.state_dict().items():
        np.testing.assert_allclose(full[name].numpy(), t.numpy(), rtol=0, atol=1e-6, err_msg=name)
    # The gathered state loads into a plain dense model, which then computes the same outputs.
    fresh = build(seed=1)
    fresh.load_state_dict(full)
    x = tc.tensor(batches[0][0])
    np.testing.assert_allclose(fresh(x).numpy(), model(x).numpy(), rtol=0, atol=1e-9)


def test_gradients_of_every_shard_match_the_dense_model():
    """One backward: each rank's weight slices get exactly the dense gradient's slices (GPT)."""
    rank, world = dist.get_rank(), dist.get_world_size()
    dense, model = gpt(), tp.parallelize(gpt())
    idx = tc.tensor(np.random.default_rng(0).integers(0, 11, (2, 8)))
    (dense(idx) ** 2).mean().backward()
    (model(idx) ** 2).mean().backward()
    modules = dict(dense.named_modules())
    for name, m in model.named_modules():
        d = modules.get(name)
        if isinstance(m, tp.ColumnParallelLinear):
            rows = m._all_rows[rank]
            np.testing.assert_allclose(m.weight.grad.numpy(), d.weight.grad.numpy()[rows], atol=1e-12, err_msg=name)
            np.testing.assert_allclose(m.bias.grad.numpy(), d.bias.grad.numpy()[rows], atol=1e-12, err_msg=name)
        elif isinstance(m, tp.RowParallelLinear):
            cols = m._all_cols[rank]
            np.testing.assert_allclose(m.weight.grad.numpy(), d.weight.grad.numpy()[:, cols], atol=1e-12)
            np.testing.assert_allclose(m.bias.grad.numpy(), d.bias.grad.numpy(), atol=1e-12)
        elif isinstance(m, tp.VocabParallelEmbedding):
            np.testing.assert_allclose(m.weight.grad.numpy(), d.weight.grad.numpy()[m.vocab_start : m.vocab_end],
                                       atol=1e-12)
    # Replicated parameters (layer norms, position embedding) get the dense gradient on every rank.
    np.testing.assert_allclose(model.wpe.weight.grad.numpy(), dense.wpe.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(model.h[1].ln_2.weight.grad.numpy(), dense.h[1].ln_2.weight.grad.numpy(), atol=1e-12)
    assert model.wte.partition_sizes == tuple(tp.vocab_range(11, r, world)[1] - tp.vocab_range(11, r, world)[0]
                                              for r in range(world))


def test_collectives_forward_and_backward_on_two_ranks():
    """Each mapping's forward and its adjoint backward, with rank-dependent inputs."""
    rank, world = dist.get_rank(), dist.get_world_size()
    x = tc.tensor(np.full((2, 3), rank + 1.0), requires_grad=True)
    y = tp.reduce_from_parallel_region(x)
    np.testing.assert_allclose(y.numpy(), world * (world + 1) / 2)
    y.backward(tc.tensor(np.ones((2, 3))))
    np.testing.assert_allclose(x.grad.numpy(), 1.0)  # identity backward
    x.grad = None
    tp.copy_to_parallel_region(x).backward(tc.tensor(np.full((2, 3), rank + 1.0)))
    np.testing.assert_allclose(x.grad.numpy(), world * (world + 1) / 2)  # all-reduce backward
    # gather (even and uneven) / scatter along the last dim
    for sizes in (None, tuple(range(1, world + 1))):
        width = 2 if sizes is None else sizes[rank]
        part = tc.tensor(np.full((3, width), float(rank)), requires_grad=True)
        full = tp.gather_from_parallel_region(part, sizes=sizes)
        expect = np.concatenate([np.full((3, 2 if sizes is None else sizes[r]), float(r)) for r in range(world)], 1)
        np.testing.assert_array_equal(full.numpy(), expect)
        g = np.arange(full.numel(), dtype=np.float64).reshape(full.shape)
        full.backward(tc.tensor(g))
        start = 2 * rank if sizes is None else sum(sizes[:rank])
        np.testing.assert_array_equal(part.grad.numpy(), g[:, start : start + width])
    whole = tc.tensor(np.arange(4.0 * world).reshape(2, 2 * world), requires_grad=True)
    mine = tp.scatter_to_parallel_region(whole)
    np.testing.assert_array_equal(mine.numpy(), whole.numpy()[:, 2 * rank : 2 * rank + 2])
    mine.backward(tc.tensor(np.full((2, 2), rank + 1.0)))
    np.testing.assert_array_equal(whole.grad.numpy(), np.repeat(np.arange(1.0, world + 1), 2)[None].repeat(2, 0))
    # reduce-scatter / all-gather along dim 0 (sequence parallel), and double backward through them
    z = tc.tensor(np.full((2 * world, 2), rank + 1.0), requires_grad=True)
    rs = tp.reduce_scatter_to_sequence_parallel_region(z)
    np.testing.assert_allclose(rs.numpy(), world * (world + 1) / 2)
    assert rs.shape == (2, 2)
    rs.backward(tc.tensor(np.full((2, 2), float(rank))))
    np.testing.assert_array_equal(z.grad.numpy()[:, 0], np.repeat(np.arange(world, dtype=float), 2))
    v = tc.tensor(np.full((1, 2), rank + 1.0), requires_grad=True)
    gathered = tp.gather_from_sequence_parallel_region(v)
    assert gathered.shape == (world, 2)
    (gathered * gathered).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), 2 * world * (rank + 1.0))  # every rank's copy of v's gradient


def test_bad_shapes_name_the_layer():
    world = dist.get_world_size()
    with pytest.raises(dist.DistributedError, match=rf"ColumnParallelLinear: out_features \(5\) is not divisible by "
                                                    rf"the tensor-parallel world size \({world}\)"):
        tp.ColumnParallelLinear(4, 5)
    with pytest.raises(dist.DistributedError, match=r"RowParallelLinear: in_features \(3\)"):
        tp.RowParallelLinear(3, 4)
    with pytest.raises(dist.DistributedError, match=r"n_head \(3\) is not divisible"):
        tp.ParallelCausalSelfAttention(12, 3)
    row = tp.RowParallelLinear(4, 2, input_is_parallel=True)
    with pytest.raises(tc.TensorcoreError, match=r"RowParallelLinear: input of shape \(3, 4\), expected last dim 2"):
        row(tc.zeros((3, 4)))
    with pytest.raises(tc.TensorcoreError, match=r"VocabParallelEmbedding: indices must be in \[0, 7\)"):
        tp.VocabParallelEmbedding(7, 4)(tc.tensor([[0, 7]]))
    with pytest.raises(tc.TensorcoreError, match=r"scatter_to_parallel_region: dim 1 of shape \(2, 3\)"):
        tp.scatter_to_parallel_region(tc.zeros((2, 3)))


def test_memory_per_rank_is_about_one_over_n():
    """Each rank holds 1/N of every split weight; replicated ones (layer norms, wpe, row biases) in full."""
    world = dist.get_world_size()
    dense, model = gpt(), tp.parallelize(gpt())
    dense_bytes = sum(p.numpy().nbytes for p in dense.parameters())
    rank_bytes = sum(p.numpy().nbytes for p in model.parameters())
    split = [m for m in model.modules() if isinstance(m, (tp.ColumnParallelLinear, tp.RowParallelLinear))]
    split_rank = sum(p.numpy().nbytes for m in split for p in [m.weight])
    split_dense = sum(m.in_features * m.out_features * 8 for m in split)
    replicated = sum(p.numpy().nbytes for n, p in model.named_parameters()
                     if "ln_" in n or n.startswith("wpe") or n.endswith("c_proj.bias"))
    print(f"\ntensor parallel GPT, rank {dist.get_rank()} of {world}: parameters {rank_bytes:,} B of "
          f"{dense_bytes:,} B dense ({rank_bytes / dense_bytes:.3f}); split weights {split_rank:,} of {split_dense:,}")
    assert split_rank * world == split_dense
    vocab_rows = model.wte.weight.shape[0]
    assert vocab_rows in (11 // world, 11 // world + 1)
    assert rank_bytes == split_rank + replicated + sum(p.numpy().nbytes for m in split for p in [m.bias]
                                                       if isinstance(m, tp.ColumnParallelLinear)) \
        + vocab_rows * 16 * 8
    assert rank_bytes < dense_bytes / world + replicated + 16 * 8


def _train_cli(argv):
    """Run `tensorcore train argv` on every rank; (train loss, train acc, val loss, val acc, test acc) on rank 0."""
    import contextlib
    import io
    import re
    import sys

    from tensorcore import train

    out, stdout = io.StringIO(), sys.stdout
    try:
        with contextlib.redirect_stdout(out):
            code = train.main(["--model", "mlp", "--epochs", "1", "--limit", "640", "--batch-size", "16", "--quiet",
                               "--optimizer", "sgd", "--lr", "0.05", *argv])
    finally:
        sys.stdout = stdout
    assert code == 0
    text = out.getvalue()
    numbers = re.search(r"train loss ([\d.]+) acc ([\d.]+)  val loss ([\d.]+) acc ([\d.]+)", text)
    test = re.search(r"test accuracy ([\d.]+)", text)
    return text, [float(v) for v in numbers.groups()] + [float(test.group(1))] if numbers else None


def test_tensorcore_train_tensor_parallel_and_zero_match_their_references():
    """`tensorcore train --tensor-parallel 2` = one process; `--distributed --zero 2` = `--distributed` (float32)."""
    from tensorcore import data

    try:
        data.find_files("fashion-mnist")
    except Exception:  # noqa: BLE001 - the data set is optional on a developer machine
        pytest.skip("Fashion-MNIST is not installed")
    rank = dist.get_rank()
    alone = _train_cli([])  # no flag: every rank trains alone, as one process would
    split = _train_cli(["--tensor-parallel", "2"])
    tp.destroy_model_parallel()
    ddp = _train_cli(["--distributed"])
    zero = _train_cli(["--distributed", "--zero", "2"])
    tp.destroy_model_parallel()
    if rank == 0:
        assert "model parallel: 2 tensor-parallel x 1 data-parallel ranks" in split[0]
        assert "ZeRO stage 2" in zero[0]
        np.testing.assert_allclose(split[1], alone[1], atol=2e-4)
        np.testing.assert_allclose(zero[1], ddp[1], atol=2e-4)
        assert alone[1][-1] > 0.5
    with pytest.raises(tc.TensorcoreError, match="--save and --resume are not supported with --tensor-parallel"):
        _train_cli(["--tensor-parallel", "2", "--save", "x.npz"])


def test_tensorcore_train_gpt_tensor_parallel_matches_one_process(tmp_path):
    """`tensorcore train --model gpt --tensor-parallel 2`: the printed losses of one process (float32)."""
    import contextlib
    import io
    import re
    import sys

    from tensorcore import train

    folder = dist.broadcast_object(str(tmp_path))  # one folder for both ranks (the same machine)
    if dist.get_rank() == 0:
        words = np.random.default_rng(0).choice(["the ", "cat ", "sat ", "on ", "a ", "mat.\n", "dog "], 4000)
        (tmp_path / "corpus.txt").write_text("".join(words))
    dist.barrier()

    def run(extra):
        out, stdout = io.StringIO(), sys.stdout
        try:
            with contextlib.redirect_stdout(out):
                assert train.main(["--model", "gpt", "--dataset", "fortunes", "--text-dir", folder, "--steps", "4",
                                   "--eval-every", "2", "--val-batches", "1", "--batch-size", "4", "--block-size", "16",
                                   "--quiet", *extra]) == 0
        finally:
            sys.stdout = stdout
        return [float(v) for v in re.findall(r"loss ([\d.]+)", out.getvalue())]

    alone = run([])
    split = run(["--tensor-parallel", "2"])
    tp.destroy_model_parallel()
    if dist.get_rank() == 0:
        assert len(alone) == 4
        np.testing.assert_allclose(split, alone, atol=2e-4)
