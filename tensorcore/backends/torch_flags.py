"""torch.backends' switches that scripts set (cudnn.benchmark, cudnn.deterministic, mps.is_available() ...):
tensorcore has no cuDNN or MPS, so each is a plain settable flag and the availability checks say False."""


class _Flags:
    def __init__(self, name, **flags):
        self.__dict__.update(flags)
        self._name = name

    def is_available(self):
        return False

    def is_built(self):
        return False

    def version(self):
        return None

    def __repr__(self):
        flags = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"torch.backends.{self._name}({flags})"


cudnn = _Flags("cudnn", enabled=True, benchmark=False, deterministic=False, allow_tf32=True)
mps = _Flags("mps")
mkldnn = _Flags("mkldnn", enabled=True)
openmp = _Flags("openmp")


class _SdpFlags:
    """torch.backends.cuda's scaled-dot-product switches (enable_flash_sdp(False), flash_sdp_enabled() ...):
    recorded and reported; tensorcore's attention picks its own kernels."""

    def __init__(self):
        self.enabled = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}

    def install(self, namespace):
        for kind in self.enabled:
            namespace[f"enable_{kind}_sdp"] = self._setter(kind)
            namespace[f"{kind}_sdp_enabled"] = self._getter(kind)
        namespace["sdp_kernel"] = self.sdp_kernel

    def _setter(self, kind):
        def enable(enabled):
            self.enabled[kind] = bool(enabled)
        enable.__name__ = f"enable_{kind}_sdp"
        return enable

    def _getter(self, kind):
        def enabled():
            return self.enabled[kind]
        enabled.__name__ = f"{kind}_sdp_enabled"
        return enabled

    def sdp_kernel(self, enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
        import contextlib

        @contextlib.contextmanager
        def switched():
            before = dict(self.enabled)
            self.enabled.update(flash=bool(enable_flash), math=bool(enable_math),
                                mem_efficient=bool(enable_mem_efficient), cudnn=bool(enable_cudnn))
            try:
                yield
            finally:
                self.enabled.update(before)
        return switched()


def install_cuda_flags(namespace):
    """Give the cuda backend module (which is tc.backends.cuda) torch.backends.cuda's names: the flags on
    torch.backends.cuda.matmul (set on our matmul primitive, which stays callable), is_built() and the
    scaled-dot-product switches. nanoGPT sets torch.backends.cuda.matmul.allow_tf32 = True at its top."""
    matmul = namespace["matmul"]
    matmul.allow_tf32 = False
    matmul.allow_fp16_reduced_precision_reduction = True
    matmul.allow_bf16_reduced_precision_reduction = True
    matmul.fp32_precision = "ieee"

    def is_built():
        from .. import cuda

        return cuda.is_available()

    namespace["is_built"] = is_built
    _SdpFlags().install(namespace)
