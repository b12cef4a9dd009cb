"""Backends: one module per device type, each exposing the same primitive table.

The table (see `PRIMITIVES`) names the array operations that ops dispatch through the backend
instead of calling the array module `xp` directly: those with custom kernels on the GPU.
"""

PRIMITIVES = (
    "xp",
    "name",
    "asarray",
    "to_numpy",
    "from_host",
    "erf",
    "matmul",
    "linear",
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "gelu",
    "softmax",
    "log_softmax",
    "softmax_cross_entropy",
    "check_targets",
    "adam_update",
    # convolution and pooling (backends/cpu_conv.py)
    "conv2d_forward",
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    # sequence models (backends/cpu_attention.py; kernels/attention.py, layernorm.py, embedding.py)
    "attention_forward",
    "attention_backward",
    "layer_norm_forward",
    "layer_norm_backward",
    "embedding_forward",
    "embedding_backward",
)


def __getattr__(name):
    """`tc.backends.cpu` / `tc.backends.cuda` import their module on first use."""
    if name in ("cpu", "cuda"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name in ("cudnn", "mps", "mkldnn", "openmp"):  # torch.backends' flags (backends/torch_flags.py)
        from . import torch_flags

        return getattr(torch_flags, name)
    raise AttributeError(name)
