"""karpathy/minGPT (model.py, trainer.py, demo.ipynb's sorting task) under `import tensorcore as torch`, step by
step against PyTorch from the same weights and examples; SortDataset as written (randint, rand, unique, sort)."""

import numpy as np
import pytest

from tests.programs_s8.harness import both, close, copy_weights, no_dropout, numpy_of

torch = pytest.importorskip("torch", reason="PyTorch is the oracle the programs are compared with")
torch.set_num_threads(1)


def sort_examples(mod, n, split="train", seed=0):
    mod.torch.manual_seed(seed)
    ds = mod.SortDataset(split)
    xs, ys = zip(*[ds[i] for i in range(n)])
    return np.stack([numpy_of(x) for x in xs]), np.stack([numpy_of(y) for y in ys])


def test_sort_dataset_as_written():
    ours, theirs = both("mingpt")
    x, y = sort_examples(ours, 40)
    assert x.shape == y.shape == (40, 11) and x.dtype == y.dtype == np.int64
    assert (y[:, :5] == -1).all()
    np.testing.assert_array_equal(np.sort(x[:, :6], axis=1), y[:, 5:])  # the second half is the sorted first
    import pickle
    assert all(hash(pickle.dumps(row[:6].tolist())) % 4 != 0 for row in x)  # all from the train split


def test_mingpt_sorting_trains_as_torch_does():
    ours, theirs = both("mingpt")
    x, y = sort_examples(ours, 64)
    tx, _ = sort_examples(ours, 16, "test", seed=1)
    runs = []
    torch.manual_seed(0)
    for mod in (theirs, ours):
        config = mod.GPT.get_default_config()
        config.model_type = 'gpt-pico'
        config.vocab_size, config.block_size = 3, 11
        runs.append(mod.GPT(config))
    th_model, tc_model = runs
    assert isinstance(tc_model.transformer.h[0].mlpf(ours.torch.zeros(1, 16)), ours.torch.Tensor)
    copy_weights(th_model, tc_model, ours.torch)
    no_dropout(th_model), no_dropout(tc_model)
    results = []
    for mod, model in ((ours, tc_model), (theirs, th_model)):
        ds = mod.torch.utils.data.TensorDataset(mod.torch.tensor(x), mod.torch.tensor(y))
        train_config = mod.Trainer.get_default_config()
        train_config.learning_rate = 5e-3
        train_config.max_iters = 12  # three passes over the 64 examples: the iterator restarts on StopIteration
        train_config.batch_size = 16
        train_config.num_workers = 0
        train_config.sampler = mod.torch.utils.data.SequentialSampler(ds)
        trainer = mod.Trainer(train_config, model, ds)
        losses = []
        trainer.set_callback('on_batch_end', lambda t, losses=losses: losses.append(t.loss.item()))
        trainer.run()
        groups = trainer.optimizer.param_groups
        model.eval()
        test = mod.torch.utils.data.TensorDataset(mod.torch.tensor(tx), mod.torch.tensor(tx))
        correct, cat = mod.eval_split(model, test, 16, 6)
        results.append((losses, [len(g["params"]) for g in groups], correct, numpy_of(cat)))
    got, want = results
    assert len(got[0]) == 12
    close(got[0], want[0], rtol=2e-4, atol=2e-5, what="training losses")
    assert got[1] == want[1] == [9, 20]  # decay: the Linear weights; no decay: biases, LayerNorm, Embedding
    assert got[0][-1] < got[0][0]
    np.testing.assert_array_equal(got[3], want[3])  # greedy generation (topk k=1) gives the same tokens
    assert got[2] == want[2]


def test_mingpt_trainer_as_written_with_workers_and_random_sampler():
    ours, _ = both("mingpt")
    ours.torch.manual_seed(3)
    config = ours.GPT.get_default_config()
    config.model_type = 'gpt-pico'
    config.vocab_size, config.block_size = 3, 11
    model = ours.GPT(config)
    train_config = ours.Trainer.get_default_config()
    train_config.max_iters, train_config.batch_size, train_config.num_workers = 3, 8, 2
    trainer = ours.Trainer(train_config, model, ours.SortDataset('train'))
    seen = []
    trainer.add_callback('on_batch_end', lambda t: seen.append((t.iter_num, t.loss.item())))
    trainer.run()
    assert [s[0] for s in seen] == [0, 1, 2] and all(np.isfinite([s[1] for s in seen]))
    out = model.generate(ours.torch.tensor([[0, 2, 1]]), 4, do_sample=True, top_k=2)
    assert tuple(out.shape) == (1, 7) and int(out.max()) < 3
