"""Session 8 optim/data parity with torch 2.13: state_dict() layout (state entries and their types, every
param_groups key), load_state_dict of a state dict saved by torch itself (training continues as torch's),
Adafactor and SparseAdam, SWALR and ReduceLROnPlateau as LRScheduler subclasses, torch.utils.data gaps."""

import collections

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")

OPTIMIZERS = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", {}), ("AdamW", {}), ("Adagrad", {}), ("Adadelta", {}),
              ("Adamax", {}), ("NAdam", {}), ("RAdam", {}), ("RMSprop", {}), ("Rprop", {}), ("ASGD", {}),
              ("Adafactor", {}), ("Adafactor", dict(weight_decay=0.1, maximize=True))]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)]
START = [[1.0, -2.0, 3.0], [[0.5, -1.5], [2.0, 0.25]]]  # a vector and a matrix (Adafactor factors matrices)


def _train(lib, name, kw, steps, start=START):
    params = [lib.nn.Parameter(lib.tensor(v, dtype=lib.float64)) for v in start]
    opt = getattr(lib.optim, name)(params, **kw)
    for _ in range(steps):
        _step(lib, opt, params)
    return opt, params


def _step(lib, opt, params):
    opt.zero_grad()
    sum((p ** 2).sum() + (p ** 3).sum() * 0.1 for p in params).backward()
    opt.step()


def _layout(state_dict):
    state = {i: {k: ("Tensor", str(v.dtype).replace("torch.", ""), tuple(v.shape)) if hasattr(v, "shape")
                 else type(v).__name__ for k, v in st.items()} for i, st in state_dict["state"].items()}
    return state, [sorted(g) for g in state_dict["param_groups"]]


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=IDS)
def test_state_dict_layout_is_torchs(name, kw):
    expected = _layout(_train(torch, name, kw, 2)[0].state_dict())
    got = _layout(_train(tc, name, kw, 2)[0].state_dict())
    assert got == expected


def test_sgd_keeps_no_step_and_adam_a_float32_step():
    sgd = _train(tc, "SGD", dict(lr=0.1, momentum=0.9), 3)[0].state_dict()
    assert all("step" not in st for st in sgd["state"].values())
    adam = _train(tc, "Adam", {}, 3)[0].state_dict()
    step = adam["state"][0]["step"]
    assert isinstance(step, tc.Tensor) and step.dtype == tc.float32 and step.shape == () and step.item() == 3.0


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=IDS)
def test_state_step_in_memory_is_torchs(name, kw):
    """optimizer.state[p]["step"]: absent for SGD, else a 0-d float32 tensor counting the steps, updated in place."""
    t_opt, t_params = _train(torch, name, kw, 2)
    c_opt, c_params = _train(tc, name, kw, 2)
    steps = []
    for tp, cp in zip(t_params, c_params):
        t_st, c_st = t_opt.state[tp], c_opt.state[cp]
        assert sorted(k for k in c_st if not k.startswith("_")) == sorted(t_st)
        if "step" in t_st:
            step = c_st["step"]
            assert isinstance(step, tc.Tensor) and step.dtype == tc.float32 and step.shape == ()
            assert step.item() == t_st["step"].item() == 2.0
            steps.append((cp, step))
    _step(tc, c_opt, c_params)
    for cp, step in steps:
        assert step.item() == 3.0 and c_opt.state[cp]["step"] is step  # counted in place, as torch's


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=IDS)
def test_load_state_dict_saved_by_torch_continues_as_torch(name, kw):
    t_opt, t_params = _train(torch, name, kw, 3)
    c_opt, c_params = _train(tc, name, kw, 0, start=[p.detach().tolist() for p in t_params])
    c_opt.load_state_dict(t_opt.state_dict())
    for _ in range(3):
        _step(torch, t_opt, t_params)
        _step(tc, c_opt, c_params)
    for c, t in zip(c_params, t_params):
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=IDS)
def test_state_dict_round_trip_resumes_exactly(name, kw):
    a, pa = _train(tc, name, kw, 3)
    b, pb = _train(tc, name, kw, 0, start=[p.detach().tolist() for p in pa])
    b.load_state_dict(a.state_dict())
    for _ in range(2):
        _step(tc, a, pa)
        _step(tc, b, pb)
    for x, y in zip(pa, pb):
        np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())


def test_step_given_as_a_bad_tensor_is_refused():
    opt, _ = _train(tc, "Adam", {}, 1)
    sd = opt.state_dict()
    sd["state"][0]["step"] = tc.tensor(1.5)
    with pytest.raises(tc.TensorcoreError, match="step"):
        opt.load_state_dict(sd)


def test_sparse_adam_refuses_dense_gradients_as_torch():
    for lib in (torch, tc):
        p = lib.nn.Parameter(lib.ones(3))
        opt = lib.optim.SparseAdam([p])
        (p * 2).sum().backward()
        with pytest.raises(RuntimeError, match="dense gradients"):
            opt.step()
        assert sorted(opt.state_dict()["param_groups"][0]) == ["betas", "eps", "lr", "maximize", "params"]
    with pytest.raises(tc.TensorcoreError):
        tc.optim.SparseAdam([p], eps=0.0)


def test_adafactor_refuses_bad_hyperparameters_by_name():
    p = [tc.nn.Parameter(tc.ones(2))]
    for kw, word in [(dict(beta2_decay=0.5), "beta2_decay"), (dict(d=0.5), "d"), (dict(eps=(None, -1.0)), "eps2"),
                     (dict(eps=1e-3), "eps"), (dict(weight_decay=-1.0), "weight_decay")]:
        with pytest.raises(tc.TensorcoreError, match=word):
            tc.optim.Adafactor(p, **kw)


@pytest.mark.parametrize("kind", ["plateau", "swalr"])
def test_plateau_and_swalr_are_lr_schedulers_as_in_torch(kind):
    def run(lib):
        L = lib.optim.lr_scheduler
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(2))], lr=1.0)
        if kind == "plateau":
            sched = L.ReduceLROnPlateau(opt, patience=0, factor=0.5)
            steps = [lambda m=m: sched.step(m) for m in (1.0, 2.0, 3.0, 0.5, 0.7)]
        else:
            sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=3, anneal_strategy="linear")
            steps = [sched.step] * 5
        lrs = []
        for s in steps:
            s()
            lrs.append(sched.get_last_lr())
        return isinstance(sched, L.LRScheduler), lrs, sched

    t_is, t_lrs, _ = run(torch)
    c_is, c_lrs, sched = run(tc)
    assert t_is and c_is
    np.testing.assert_allclose(np.array(c_lrs), np.array(t_lrs), rtol=1e-12)
    state = sched.state_dict()  # the base class's: plain values, no optimizer
    assert "optimizer" not in state and state["_last_lr"] == c_lrs[-1]
    assert type(sched).state_dict is tc.optim.lr_scheduler.LRScheduler.state_dict
    assert type(sched).get_last_lr is tc.optim.lr_scheduler.LRScheduler.get_last_lr


# --- torch.utils.data ------------------------------------------------------------------------------
P = collections.namedtuple("P", "a b")
BATCHES = [
    [{"x": np.ones(2, dtype=np.float32), "y": 1, "s": "a", "n": {"z": np.float64(2.5)}},
     {"x": np.zeros(2, dtype=np.float32), "y": 2, "s": "b", "n": {"z": np.float64(1.5)}}],
    [P(np.int32(1), True), P(np.int32(3), False)],
    [(1.5, np.array(3)), (2.5, np.array(4))],
    [np.bool_(True), np.bool_(False)],
]


def _describe(v):
    if hasattr(v, "dtype") and hasattr(v, "shape"):
        return str(v.dtype).replace("torch.", ""), tuple(v.shape), v.tolist()
    if isinstance(v, dict):
        return {k: _describe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v).__name__, [_describe(x) for x in v]
    return v


@pytest.mark.parametrize("i", range(len(BATCHES)))
def test_default_collate_of_dicts_namedtuples_and_numpy_as_torch(i):
    expected = _describe(torch.utils.data.default_collate(BATCHES[i]))
    assert _describe(tc.utils.data.default_collate(BATCHES[i])) == expected


def _data_facts(lib):
    D = lib.utils.data
    out = [[len(s) for s in D.random_split(range(n), fr, generator=lib.Generator().manual_seed(0))]
           for n, fr in [(10, [0.3, 0.7]), (11, [0.3, 0.3, 0.4]), (5, [0.5, 0.5]), (7, [0.1, 0.9])]]
    c = D.ConcatDataset([list(range(3)), list(range(10, 12))])
    s = D.Subset(list(range(10)), [2, 5, 7])
    out += [(len(c), c[3], c[-1], list(c.cumulative_sizes)), (len(s), s[1], s[-1], list(s.indices))]
    out += [list(D.BatchSampler(range(7), 3, drop_last=d)) for d in (False, True)]
    out.append(len(D.BatchSampler(range(7), 3, drop_last=True)))
    w = list(D.WeightedRandomSampler([0.1, 0.9, 0.0, 0.5], 3, replacement=False,
                                     generator=lib.Generator().manual_seed(0)))
    out.append((len(w), len(set(w)), 2 in w))  # without replacement: 3 distinct, never the zero weight
    dl = D.DataLoader(list(range(10)), batch_size=4, drop_last=True, generator=lib.Generator().manual_seed(1),
                      worker_init_fn=lambda worker: None, persistent_workers=False, shuffle=True)
    batches = [b.tolist() for b in dl]
    out.append((len(dl), len(batches), sorted(len(b) for b in batches)))
    return out


def test_random_split_subset_concat_samplers_and_loader_arguments_as_torch():
    assert _data_facts(tc) == _data_facts(torch)


@pytest.mark.parametrize("bad", [
    lambda D: D.random_split(range(5), [0.5, 0.6]),
    lambda D: list(D.WeightedRandomSampler([0.1, 0.9], num_samples=3, replacement=False)),
    lambda D: D.WeightedRandomSampler([0.1], num_samples=0),
    lambda D: D.DataLoader(list(range(4)), num_workers=0, persistent_workers=True),
    lambda D: D.ConcatDataset([list(range(3))])[5],
])
def test_data_errors_where_torch_raises(bad):
    with pytest.raises((ValueError, RuntimeError, IndexError)):
        bad(torch.utils.data)
    with pytest.raises((tc.TensorcoreError, IndexError)):
        bad(tc.utils.data)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_state_dict_is_torchs_and_torchs_loads(line_search_fn):
    def run(params, opt, steps):
        def closure():
            opt.zero_grad()
            loss = sum(((p - 0.3) ** 4).sum() + (p ** 2).sum() for p in params)
            loss.backward()
            return loss
        for _ in range(steps):
            opt.step(closure)

    kw = dict(lr=0.5, max_iter=3, history_size=4, line_search_fn=line_search_fn)
    tp = [torch.nn.Parameter(torch.tensor(v, dtype=torch.float64)) for v in START]
    t_opt = torch.optim.LBFGS(tp, **kw)
    run(tp, t_opt, 2)
    cp = [tc.nn.Parameter(tc.tensor(p.detach().numpy())) for p in tp]
    c_opt = tc.optim.LBFGS(cp, **kw)
    c_opt.load_state_dict(t_opt.state_dict())
    run(tp, t_opt, 2)
    run(cp, c_opt, 2)
    for c, t in zip(cp, tp):
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)

    def kinds(sd):
        return {k: (type(v).__name__, [type(x).__name__ for x in v]) if isinstance(v, list) else type(v).__name__
                for k, v in sd["state"][0].items()}
    assert kinds(c_opt.state_dict()) == kinds(t_opt.state_dict())
