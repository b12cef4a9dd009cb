"""Which registered ops autocast touches, per device type: PyTorch's autocast op lists, by tensorcore op name.

- "lower": cast floating inputs to the autocast dtype (float16 / bfloat16) and run there (matmul, conv, ...);
- "fp32": cast floating inputs to float32 (losses, reductions, norms; on cuda also exp, log, softmax, ...);
- "promote": run in the widest floating input type (float32 if any input is float32);
- "banned": refuse under autocast (binary_cross_entropy on cuda, as PyTorch);
- "keep": no cast, and the ops inside run uncast (a tensorcore op built of listed ones, where PyTorch's is unlisted);
- (kind, when): `kind` only for the calls where when(args, kwargs) holds (F.pad's reflect/replicate modes, RNN modes).
float64 and non-floating tensors are never cast. The lists follow PyTorch's docs (torch.amp, "Op-Specific
Behavior") and aten/src/ATen/autocast_mode.cpp, restricted to the ops tensorcore has; on cpu they are checked
op by op against torch.autocast("cpu") (float16 and bfloat16) in tests/test_amp.py.

Each registered op checks `active` (autocast contexts entered, in any thread) once: the op registry's
guard does it for most ops, and the lean ops (the declared elementwise ops, matmul, sum) do it in their
public function, so an op outside autocast pays one read of this module global.
"""


_MATMUL_CONV = ("matmul", "mm", "bmm", "baddbmm", "addmm", "addbmm", "linear", "conv1d", "conv2d", "conv3d",
                "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "prelu", "scaled_dot_product_attention")

_LOSSES = ("cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
           "binary_cross_entropy_with_logits", "poisson_nll_loss", "cosine_embedding_loss",
           "hinge_embedding_loss", "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss")

LOWER = {
    "cpu": frozenset(_MATMUL_CONV),
    "cuda": frozenset(_MATMUL_CONV + ("addmv", "addr", "mv", "einsum", "multi_dot")),
}

FP32 = {
    "cpu": frozenset(_LOSSES + (
        "binary_cross_entropy", "prod", "quantile", "nanquantile", "cdist", "trace", "multi_margin_loss",
        "multilabel_margin_loss", "inv", "pinv", "solve", "lstsq", "cholesky", "cholesky_inverse", "cholesky_solve",
        "triangular_solve", "eigh", "eigvalsh", "qr", "svd", "svdvals", "max_pool3d", "max_unpool1d", "max_unpool2d",
        "max_unpool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "local_response_norm")),
    "cuda": frozenset(_LOSSES + (
        "multi_margin_loss", "multilabel_margin_loss", "pdist",
        "acos", "asin", "cosh", "sinh", "tan", "erfinv", "exp", "expm1", "log", "log10", "log1p", "log2",
        "reciprocal", "rsqrt", "pow", "softmax", "log_softmax", "softmin", "softplus", "layer_norm", "rms_norm",
        "group_norm", "norm", "normalize", "cosine_similarity", "cumsum", "cumprod", "dist", "cdist", "prod",
        "sum", "renorm", "logsumexp")),
}

PROMOTE = {
    "cpu": frozenset(("cat", "stack", "index_copy")),
    "cuda": frozenset(("addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "vdot", "index_put",
                       "scatter_add", "tensordot")),
}

BANNED = {"cpu": frozenset(), "cuda": frozenset(("binary_cross_entropy",))}

# tensorcore's mv and interpolate call matmul (listed); PyTorch's cpu ones run in their inputs' dtype
KEEP = {"cpu": frozenset(("mv", "interpolate")), "cuda": frozenset()}


def _mode(position, default):
    return lambda args, kwargs: kwargs.get("mode", args[position] if len(args) > position else default)


_pad_mode, _rnn_mode = _mode(2, "constant"), _mode(99, "LSTM")
# F.pad: reflection_pad / replication_pad are fp32 ops on cpu; the RNNs: PyTorch's cpu LSTM and RNN run in low
# precision (oneDNN's rnn layer, aten's rnn_tanh / rnn_relu), its GRU in the input's dtype.
WHEN = {
    "cpu": {"functional_pad": ("fp32", lambda a, k: _pad_mode(a, k) in ("reflect", "replicate")),
            "rnn_layer": ("lower", lambda a, k: _rnn_mode(a, k) in ("LSTM", "RNN_TANH", "RNN_RELU"))},
    "cuda": {},
}

#: device type -> op name -> "lower" | "fp32" | "promote" | "banned" | "keep" | (one of these, when(args, kwargs))
KIND = {
    device: {**{n: "promote" for n in PROMOTE[device]}, **{n: "fp32" for n in FP32[device]},
             **{n: "lower" for n in LOWER[device]}, **{n: "banned" for n in BANNED[device]},
             **{n: "keep" for n in KEEP[device]}, **WHEN[device]}
    for device in ("cpu", "cuda")
}

NAMES = frozenset(n for kinds in KIND.values() for n in kinds)

active = 0  # autocast contexts entered and not yet left, in any thread (autocast_mode keeps it)
dispatch = None  # autocast_mode's (name, op, args, kwargs) -> result; set when autocast_mode is imported
