"""Run one program of tests/programs_s8/ twice: as written (`import tensorcore as torch`) and with that line
turned into `import torch`; copy weights across (PyTorch's initialisation into tensorcore's model, through
load_state_dict with strict=True, so the parameter names must match too) and compare what the runs compute."""

import pathlib
import sys
import types

import numpy as np

PROGRAMS = pathlib.Path(__file__).parent
IMPORT_LINE = "import tensorcore as torch\n"


def load(name, framework):
    """The program as a module, with `import tensorcore as torch` or, for PyTorch, `import torch`."""
    source = (PROGRAMS / f"{name}.py").read_text()
    assert IMPORT_LINE in source, f"{name}: the program must import tensorcore as torch"
    if framework == "torch":
        source = source.replace(IMPORT_LINE, "import torch\n")
    module = types.ModuleType(f"program_s8_{name}_{framework}")
    sys.modules[module.__name__] = module  # torch.save(model) pickles its class by module name, as upstream
    exec(compile(source, str(PROGRAMS / f"{name}.py"), "exec"), module.__dict__)
    return module


def both(name):
    return load(name, "tensorcore"), load(name, "torch")


def numpy_of(t):
    return t.detach().cpu().numpy()


def state_arrays(model):
    return {k: numpy_of(v).copy() for k, v in model.state_dict().items()}


def copy_weights(src, dst, dst_torch):
    """dst.load_state_dict(src's state), strict: the names, shapes and buffers must all correspond."""
    dst.load_state_dict({k: dst_torch.tensor(v) for k, v in state_arrays(src).items()})


def no_dropout(model):
    """Dropout draws differ between the two random generators: zero every dropout probability for the
    step-by-step comparison (the runs with dropout on are compared by what they reach, not step by step)."""
    for m in model.modules():
        if type(m).__name__.startswith("Dropout"):
            m.p = 0.0
        if hasattr(m, "dropout") and isinstance(m.dropout, float):
            m.dropout = 0.0
    return model


def close(got, want, rtol=2e-4, atol=2e-5, what=""):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64),
                               rtol=rtol, atol=atol, err_msg=what)


def images(n, classes, size, seed, noise=0.3):
    """MNIST-like data in [0, 1]: a fixed random template per class, shifted by a pixel and noised."""
    rng = np.random.default_rng(seed)
    templates = (np.random.default_rng(99).random((classes, size, size)) > 0.6).astype(np.float32)
    labels = rng.integers(0, classes, n)
    x = np.stack([np.roll(templates[c], tuple(s), axis=(0, 1)) for c, s in zip(labels, rng.integers(-1, 2, (n, 2)))])
    x = np.clip(x + rng.normal(0, noise, x.shape), 0, 1).astype(np.float32)
    return x[:, None], labels.astype(np.int64)


def feed_noise(monkeypatch, mod_torch, seed):
    """Replace mod_torch.randn / randn_like / rand with draws from one NumPy stream (the two frameworks' generators
    differ): run each framework after feed_noise with the same seed and both see the same noise."""
    rng = np.random.default_rng(seed)

    def make(draw):
        def sample(*size, dtype=None, device=None, requires_grad=False, generator=None, out=None, **kw):
            size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
            t = mod_torch.tensor(draw(size).astype(np.float32), device=device)
            return t.to(dtype if dtype is not None else mod_torch.get_default_dtype()).requires_grad_(requires_grad)
        return sample

    randn, rand = make(rng.standard_normal), make(rng.random)
    monkeypatch.setattr(mod_torch, "randn", randn)
    monkeypatch.setattr(mod_torch, "rand", rand)
    monkeypatch.setattr(mod_torch, "randn_like", lambda t, dtype=None, **kw: randn(*t.shape, dtype=dtype or t.dtype))
    monkeypatch.setattr(mod_torch, "rand_like", lambda t, dtype=None, **kw: rand(*t.shape, dtype=dtype or t.dtype))
    return rng


def feed_categorical(monkeypatch, mod_torch, seed):
    """Categorical.sample from one NumPy stream of uniforms (inverse CDF of the distribution's own probs)."""
    rng = np.random.default_rng(seed)

    def sample(self, sample_shape=()):
        p = numpy_of(self.probs).astype(np.float64)
        u = rng.random(tuple(sample_shape) + p.shape[:-1] + (1,))
        idx = np.minimum((np.cumsum(p, -1) < u).sum(-1), p.shape[-1] - 1)
        return mod_torch.tensor(idx, dtype=mod_torch.long)

    monkeypatch.setattr(mod_torch.distributions.Categorical, "sample", sample)
