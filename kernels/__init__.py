"""Numba CUDA kernels with launch wrappers; installed as tensorcore.kernels.

Imports nothing from tensorcore. Families: gemm, conv, attention, pool, activations, softmax,
layernorm, embedding, optim (import each submodule explicitly; this package imports none of them, so
``import tensorcore.kernels`` stays cheap). ``python -m tensorcore.kernels.resources --write``
regenerates ``RESOURCES.md``. float16 storage with float32 arithmetic: gemm_f16, and the float16 variants
of activations, softmax, layernorm and attention (kernels/_rows.py, _vector_f16.py).
"""
