"""nn.utils.weight_norm and nn.utils.spectral_norm (PyTorch's hook-based forms): the weight is recomputed
from new parameters by a forward pre-hook before each call.

    weight_norm:   weight = g * v / ||v||   (the norm over every dim but `dim`; g and v are the parameters
                   weight_g, weight_v)
    spectral_norm: weight = weight_orig / sigma, sigma = u^T W v with u, v (buffers weight_u, weight_v) from
                   n_power_iterations of power iteration per training-mode call (none in eval)
"""

from ..errors import ArgumentError
from ..grad_mode import no_grad
from .module import Parameter


def _norm_except_dim(v, dim):
    """The 2-norm over every dim but `dim` (dim -1 or None: over all), keeping dims (torch.norm_except_dim)."""
    if dim is None or dim == -1:
        return v.norm()
    dim = dim % v.ndim
    moved = v.transpose(0, dim) if dim else v
    norms = moved.reshape(moved.shape[0], -1).norm(dim=1)
    shape = [1] * v.ndim
    shape[dim] = v.shape[dim]
    return norms.reshape(shape)


class _WeightNorm:
    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute_weight(self, module):
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Reparameterize module.<name> as g * v / ||v|| (parameters <name>_g and <name>_v); returns module.
    Deprecated, as in PyTorch (FutureWarning): nn.utils.parametrizations.weight_norm is the current form."""
    import warnings

    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    if any(isinstance(h, _WeightNorm) and h.name == name for h, _ in _pre_hooks(module)):
        raise ArgumentError(f"weight_norm: {name!r} of {type(module).__name__} is already weight-normalized")
    weight = module._parameters.get(name)
    if weight is None:
        raise ArgumentError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    fn = _WeightNorm(name, dim)
    del module._parameters[name]
    module.__dict__.pop(name, None)
    with no_grad():
        module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, dim).detach().clone()))
        module.register_parameter(name + "_v", Parameter(weight.detach().clone()))
    object.__setattr__(module, name, fn.compute_weight(module))
    module.__dict__.setdefault("_norm_hooks", {})[name] = module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module, name="weight"):
    """Fold g and v back into one parameter <name>; returns module."""
    handle = module.__dict__.get("_norm_hooks", {}).pop(name, None)
    if handle is None:
        raise ArgumentError(f"remove_weight_norm: weight_norm of {name!r} not found in {type(module).__name__}")
    fn = [h for h, _ in _pre_hooks(module) if isinstance(h, _WeightNorm) and h.name == name][0]
    with no_grad():
        weight = fn.compute_weight(module).detach().clone()
    handle.remove()
    for suffix in ("_g", "_v"):
        del module._parameters[name + suffix]
        module.__dict__.pop(name + suffix, None)
    module.__dict__.pop(name, None)
    module.register_parameter(name, Parameter(weight))
    return module


class _SpectralNorm:
    def __init__(self, name, n_power_iterations, dim, eps):
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def matrix(self, weight):
        if self.dim:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        from .functional import normalize

        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = self.matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(normalize(mat.t() @ u, dim=0, eps=self.eps))
                    u.copy_(normalize(mat @ v, dim=0, eps=self.eps))
            if self.n_power_iterations > 0:
                u, v = u.clone(), v.clone()
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module, module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide module.<name> by its largest singular value, estimated by power iteration; returns module.

    Parameters <name>_orig, buffers <name>_u and <name>_v (random unit vectors at first); dim: 0, or 1 for
    transposed convolutions.
    """
    from ..creation import randn
    from .functional import normalize

    weight = module._parameters.get(name)
    if weight is None:
        raise ArgumentError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    if n_power_iterations <= 0:
        raise ArgumentError(f"spectral_norm: n_power_iterations must be positive, got {n_power_iterations}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    fn = _SpectralNorm(name, n_power_iterations, dim, eps)
    mat = fn.matrix(weight)
    height, width = mat.shape
    with no_grad():
        u = normalize(randn(height, dtype=weight.dtype, device=weight.device), dim=0, eps=eps)
        v = normalize(randn(width, dtype=weight.dtype, device=weight.device), dim=0, eps=eps)
    del module._parameters[name]
    module.__dict__.pop(name, None)
    module.register_parameter(name + "_orig", weight)
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    object.__setattr__(module, name, weight.detach())
    module.__dict__.setdefault("_norm_hooks", {})[name] = module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name="weight"):
    """Keep the current normalized weight as a plain parameter <name>; returns module."""
    handle = module.__dict__.get("_norm_hooks", {}).pop(name, None)
    if handle is None:
        raise ArgumentError(f"remove_spectral_norm: spectral_norm of {name!r} not found in {type(module).__name__}")
    fn = [h for h, _ in _pre_hooks(module) if isinstance(h, _SpectralNorm) and h.name == name][0]
    with no_grad():
        weight = fn.compute_weight(module, False).detach().clone()
    handle.remove()
    del module._parameters[name + "_orig"]
    for key in (name + "_orig", name + "_u", name + "_v", name):
        module.__dict__.pop(key, None)
    module._buffers.pop(name + "_u", None)
    module._buffers.pop(name + "_v", None)
    module.register_parameter(name, Parameter(weight))
    return module


def _pre_hooks(module):
    return list(module.__dict__.get("_forward_pre_hooks", {}).values())
