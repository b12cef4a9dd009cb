"""torch.jit: script/trace hand back what they got (a module stays a module), trace runs the example once with
is_tracing() on, the decorators and annotate/Final/Attribute as torch's eager behaviour, freeze's eval-mode
rule, and jit.save/load rebuilding a module (values, dtype, train/eval flags, buffers) or raising JitError."""

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")


class Scaled(tc.nn.Module):
    """A user module whose constructor arguments are kept as attributes: jit.save can rebuild it."""

    def __init__(self, features, scale=2.0):
        super().__init__()
        self.features = features
        self.scale = scale
        self.fc = tc.nn.Linear(features, features)

    def forward(self, x):
        return self.fc(x) * self.scale

    def extra_repr(self):
        return f"features={self.features}, scale={self.scale}"


class Opaque(tc.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = tc.nn.Linear(n, 1)


def test_script_and_trace_return_the_module_itself():
    m = tc.nn.Sequential(tc.nn.Linear(3, 4), tc.nn.ReLU())
    s = tc.jit.script(m)
    assert s is m and isinstance(s, tc.nn.Module) and isinstance(s, tc.jit.ScriptModule)
    assert list(s.state_dict()) == ["0.weight", "0.bias"]
    s.eval()
    assert not m.training
    seen = []

    def fn(x):
        seen.append(tc.jit.is_tracing())
        return x * 2

    traced = tc.jit.trace(fn, tc.ones(2))
    assert traced is fn and seen == [True] and not tc.jit.is_tracing()
    assert tc.jit.trace(m, (tc.ones(1, 3),)) is m
    assert not tc.jit.is_scripting() and not torch.jit.is_scripting()
    with pytest.raises(tc.TensorcoreError):
        tc.jit.trace(tc.nn.Linear(3, 4), tc.ones(1, 5))  # a wrong example fails at trace time, as torch's
    with pytest.raises(RuntimeError):
        torch.jit.trace(torch.nn.Linear(3, 4), torch.ones(1, 5))


def test_decorators_annotate_final_attribute_as_torch():
    def f(x):
        return x + 1

    for ours, theirs in ((tc.jit.ignore(f), torch.jit.ignore(f)), (tc.jit.ignore(drop=True)(f), f),
                         (tc.jit.unused(f), torch.jit.unused(f)), (tc.jit.export(f), torch.jit.export(f))):
        assert ours(1) == theirs(1) == 2
    assert tc.jit.annotate(list, [1]) == torch.jit.annotate(list, [1]) == [1]
    assert tc.jit.Final is torch.jit.Final
    assert tuple(tc.jit.Attribute(3, int)) == tuple(torch.jit.Attribute(3, int))
    assert tc.jit.wait(tc.jit.fork(f, 2)) == torch.jit.wait(torch.jit.fork(f, 2)) == 3


def test_freeze_needs_eval_mode():
    m = tc.nn.Linear(2, 2)
    with pytest.raises(tc.TensorcoreError, match="eval mode"):
        tc.jit.freeze(m)
    with pytest.raises(RuntimeError, match="eval mode"):
        torch.jit.freeze(torch.jit.script(torch.nn.Linear(2, 2)))
    assert tc.jit.freeze(m.eval()) is m
    assert tc.jit.optimize_for_inference(tc.nn.Linear(2, 2)).training is False


def test_save_load_round_trip(tmp_path):
    tc.manual_seed(0)
    m = tc.nn.Sequential(tc.nn.Conv2d(1, 2, 3, stride=2, padding=1, bias=False), tc.nn.BatchNorm2d(2),
                         tc.nn.ReLU(), tc.nn.Flatten(), tc.nn.Linear(18, 3), Scaled(3, scale=0.5)).double()
    m(tc.randn(4, 1, 5, 5, dtype=tc.float64))  # running statistics move
    m.eval()
    m[1].train()
    extra = {"note.txt": "hello"}
    tc.jit.script(m).save(str(tmp_path / "m.pt"), _extra_files=extra)
    got = {"note.txt": ""}
    r = tc.jit.load(str(tmp_path / "m.pt"), _extra_files=got)
    assert got == {"note.txt": b"hello"}
    assert repr(r) == repr(m) and r is not m
    assert [mod.training for mod in r.modules()] == [mod.training for mod in m.modules()]
    for (k, v), (k2, v2) in zip(m.state_dict().items(), r.state_dict().items()):
        assert k == k2 and v.dtype == v2.dtype
        np.testing.assert_array_equal(v.numpy(), v2.numpy())
    m.eval()
    r.eval()
    x = tc.randn(2, 1, 5, 5, dtype=tc.float64)
    np.testing.assert_array_equal(r(x).detach().numpy(), m(x).detach().numpy())
    # torch's own round trip keeps values the same way
    t = torch.nn.Linear(2, 2)
    torch.jit.save(torch.jit.script(t), str(tmp_path / "t.pt"))
    assert torch.equal(torch.jit.load(str(tmp_path / "t.pt")).weight, t.weight)


def test_save_load_function(tmp_path):
    tc.jit.save(tc.jit.script(np.linalg.norm), str(tmp_path / "f.pt"))
    assert tc.jit.load(str(tmp_path / "f.pt")) is np.linalg.norm


def test_save_refuses_what_load_could_not_rebuild(tmp_path):
    class Local(tc.nn.Module):
        pass

    with pytest.raises(tc.jit.JitError, match="inside a function"):
        tc.jit.save(Local(), str(tmp_path / "a.pt"))
    with pytest.raises(tc.jit.JitError, match="'n'"):
        tc.jit.save(Opaque(3), str(tmp_path / "b.pt"))
    with pytest.raises(tc.jit.JitError):
        tc.jit.save(3, str(tmp_path / "c.pt"))
    replaced = Scaled(3)
    replaced.fc = tc.nn.Linear(3, 3, bias=False)
    tc.manual_seed(5)
    with pytest.raises(tc.jit.JitError, match="replaced after construction"):
        tc.jit.save(replaced, str(tmp_path / "e.pt"))
    after = tc.rand(2)
    tc.manual_seed(5)
    np.testing.assert_array_equal(after.numpy(), tc.rand(2).numpy())  # the check drew nothing for the caller
    tc.save({"weights": tc.ones(2)}, str(tmp_path / "d.pt"))
    with pytest.raises(tc.jit.JitError, match="not a file written by"):
        tc.jit.load(str(tmp_path / "d.pt"))
    assert not (tmp_path / "a.pt").exists() and not (tmp_path / "e.pt").exists()
    with pytest.raises(tc.TensorcoreError):
        tc.jit.trace(lambda x: x)
