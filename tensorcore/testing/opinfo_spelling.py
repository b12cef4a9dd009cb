"""How op_db's samples are spelled for both sides where a plain call would not compare like with like:
arguments rearranged as op_db's own op rearranges them, inputs that keep their storage (as_strided), and
outputs unique only up to signs (eigh, svd), gauge-fixed on both sides before comparing."""

import numpy as np

import tensorcore as tc


def _column_signs(V, xp):
    """+-1 per column of V (..., n, k): the sign of the column's entry of largest magnitude (ties: the first)."""
    pick = xp.argmax(abs(V), axis=-2)[..., None, :]
    return xp.where(xp.take_along_axis(V, pick, axis=-2) < 0, -1.0, 1.0)


def _eigh_gauge(out, lib):
    """eigh's (w, V) with each eigenvector's sign fixed (its largest entry positive), on tensorcore's side or
    torch's. Eigenvectors are unique only up to sign (LAPACK builds differ); PyTorch's own tests compare them
    sign-invariantly too (op_db's output_process_fn_grad uses abs(V)). The signs are constants: the vjp of the
    gauge-fixed output is unique."""
    w, V = out
    if not V.numel():
        return out
    signs = _column_signs(V.detach().numpy(), np)
    return w, V * lib.tensor(signs, dtype=V.dtype)


# Entries whose op_db op rearranges the sample before calling PyTorch's name: (input, args) as that name takes
# them, on both sides (the gradients are still taken with respect to the sample's own tensors).
SPELLED = {
    "einsum": lambda x, args: (args[0], tuple(x)),  # op_db: (operands, equation); torch.einsum(equation, *operands)
    "nn.functional.embedding": lambda x, args: (args[0], (x,) + tuple(args[1:])),  # (weight, indices)
}

# Entries that read the input's storage beyond its view (storage_offset, strides): the input keeps its storage.
STORAGE_OPS = {"as_strided", "as_strided_copy", "as_strided_scatter"}


def _with_storage(v, torch):
    """A tensorcore tensor with torch tensor v's whole storage, storage offset and strides."""
    n = v.untyped_storage().nbytes() // v.element_size()
    whole = torch.as_strided(v.detach(), (n,), (1,), 0).numpy().copy()
    t = tc.tensor(whole).as_strided(tuple(v.shape), v.stride(), v.storage_offset())
    return t.requires_grad_(True) if v.requires_grad else t


def _svd_gauge(out, lib, transposed_v=False):
    """svd's (U, S, Vh) (torch.svd's (U, S, V)) gauge-fixed: each singular pair's sign from its U column, and in
    place of the complement's basis (not unique) its projector."""
    U, S, V = out
    Vh = V.mT if transposed_v else V
    k = S.shape[-1]
    if not U.numel() or not Vh.numel() or not k:
        return out
    signs = lib.tensor(_column_signs(U[..., :k].detach().numpy(), np), dtype=U.dtype)
    fixed = [U[..., :k] * signs, S, Vh[..., :k, :] * signs.mT]
    if U.shape[-1] > k:
        fixed.append(U[..., k:] @ U[..., k:].mT)
    if Vh.shape[-2] > k:
        fixed.append(Vh[..., k:, :].mT @ Vh[..., k:, :])
    return tuple(fixed)


# op_db entries whose outputs are unique only up to the sign of each vector: both sides are gauge-fixed first.
GAUGE = {"linalg.eigh": _eigh_gauge, "linalg.svd": _svd_gauge,
         "svd": lambda out, lib: _svd_gauge(out, lib, transposed_v=True)}
