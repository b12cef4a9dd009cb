"""nn containers and modules against torch.nn: names, state_dict keys, shapes, values; PyTorch state dicts load."""

from collections import OrderedDict

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn

torch = pytest.importorskip("torch")


def _keys(module):
    return list(module.state_dict().keys())


def _load_from_torch(model, tmodel):
    model.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})


def test_sequential_indexing_slicing_and_editing_as_torch():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.ReLU(), lib.nn.Linear(5, 3), lib.nn.Tanh())

    seq, tseq = build(tc), build(torch)
    assert len(seq) == len(tseq) == 4
    assert type(seq[-2]).__name__ == type(tseq[-2]).__name__ == "Linear"
    assert _keys(seq[1:3]) == list(tseq[1:3].state_dict().keys()) == ["2.weight", "2.bias"]
    for s in (seq, tseq):
        s.insert(1, type(s[1])())
        s.append(type(s[1])())
        del s[0]
    assert _keys(seq) == list(tseq.state_dict().keys())
    assert [type(m).__name__ for m in seq] == [type(m).__name__ for m in tseq]
    assert type(seq.pop(-1)).__name__ == type(tseq.pop(-1)).__name__
    assert len(seq) == len(tseq)
    with pytest.raises(tc.TensorcoreError):
        seq[10]
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.ReLU()))
    assert _keys(named) == ["fc.weight", "fc.bias"] and named[0] is named.fc


def test_module_list_and_dict_as_torch():
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)])
    tml = torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.Linear(2, 3)])
    for m, lib in ((ml, nn), (tml, torch.nn)):
        m.insert(0, lib.Linear(3, 1))
        m += [lib.Linear(1, 1)]
        del m[1]
    assert _keys(ml) == list(tml.state_dict().keys())
    md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    tmd = torch.nn.ModuleDict({"a": torch.nn.Linear(2, 2), "b": torch.nn.ReLU()})
    md["c"], tmd["c"] = nn.Linear(2, 1), torch.nn.Linear(2, 1)
    assert list(md.keys()) == list(tmd.keys()) and _keys(md) == list(tmd.state_dict().keys())
    assert "b" in md and len(md) == 3
    md.pop("a")
    assert _keys(md) == ["c.weight", "c.bias"]


def test_parameter_list_and_dict_as_torch():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([nn.Parameter(tc.ones(2, 3)), tc.zeros(3)])  # a Tensor is wrapped
            self.pd = nn.ParameterDict({"scale": nn.Parameter(tc.ones(1))})

    net = Net()
    assert _keys(net) == ["ws.0", "ws.1", "pd.scale"]
    assert isinstance(net.ws[1], nn.Parameter) and len(list(net.parameters())) == 3
    net.ws.append(nn.Parameter(tc.ones(4)))
    assert net.ws[-1].shape == (4,) and len(net.ws) == 3
    tpl = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)), torch.zeros(3)])
    assert list(tpl.state_dict().keys()) == ["0", "1"] == _keys(nn.ParameterList([tc.ones(2, 3), tc.zeros(3)]))
    net.pd["shift"] = tc.zeros(1)
    assert list(net.pd.keys()) == ["scale", "shift"] and isinstance(net.pd["shift"], nn.Parameter)


def test_identity_flatten_unflatten_values_as_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    for make in (lambda lib: lib.nn.Identity(54, unused="x"), lambda lib: lib.nn.Flatten(),
                 lambda lib: lib.nn.Flatten(0, 2), lambda lib: lib.nn.Unflatten(2, (2, 2)),
                 lambda lib: lib.nn.Unflatten(-1, (5, 1))):
        ours, theirs = make(tc)(tc.tensor(x)), make(torch)(torch.tensor(x))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_torch_state_dict_loads_into_the_same_model():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(6, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))

    model, tmodel = build(tc), build(torch).double()
    assert _keys(model) == list(tmodel.state_dict().keys())
    _load_from_torch(model, tmodel)
    x = np.random.default_rng(1).standard_normal((3, 6))
    np.testing.assert_allclose(model.double()(tc.tensor(x)).numpy(), tmodel(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)
