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
