"""Benchmark suites: kernels (single ops across backends), train (training steps against PyTorch),
overhead (per-op overhead on small tensors). Each exposes `run_suite(...)` returning records."""
