"""tensorcore bench: record schema and JSON, ceilings, the correctness gate, and quick CLI runs on the CPU.

Sizes and repeats are shrunk through the suites' parameters so the whole file runs in seconds.
"""

import json
import os
import re

import numpy as np
import pytest

from tensorcore.bench import ceilings, gate, record, references, timing
from tensorcore.bench.suites import kernels


def _timing(med=2e-3):
    return timing.Timing(median_s=med, min_s=med * 0.9, max_s=med * 1.5, runs=5)


# --- timing -----------------------------------------------------------------------------------------


def test_measure_reports_ordered_summary():
    calls = []
    t = timing.measure(lambda: calls.append(1), warmup=2, min_runs=4, max_runs=8, min_time=0.0)
    assert 4 <= t.runs <= 8
    assert 0 < t.min_s <= t.median_s <= t.max_s
    assert len(calls) >= 2 + t.runs * t.inner  # warm-up calls ran first


def test_measure_alternating_times_every_region():
    (ta, tb), samples = timing.measure_alternating([lambda: None, lambda: sum(range(100))], rounds=3,
                                                   target_sample_s=1e-4)
    assert ta.runs == tb.runs == 3
    assert [len(s) for s in samples] == [3, 3]


# --- record schema and JSON ---------------------------------------------------------------------------


def test_record_has_schema_keys_and_rates():
    c = {"gflops": 100.0, "gbps": 10.0}
    rec = record.make_record("matmul", (64, 64, 64), "float32", "cpu", "numpy", timing=_timing(), flops=2 * 64**3,
                             nbytes=3 * 4 * 64 * 64, ceilings=c)
    record.validate_record(rec)
    for key in record.RECORD_KEYS:
        assert key in rec
    assert rec["gflops"] == pytest.approx(2 * 64**3 / 2e-3 / 1e9)
    assert rec["fraction_of_ceiling"] == pytest.approx(rec["gflops"] / 100.0)
    mem = record.make_record("relu", (1024,), "float32", "cpu", "numpy", timing=_timing(), nbytes=8 * 1024,
                             memory_bound=True, ceilings=c)
    assert mem["fraction_of_ceiling"] == pytest.approx(mem["gbps"] / 10.0)


@pytest.mark.parametrize("status", ["failed: relative error 1e-1", "unavailable: cupy not installed"])
def test_untimed_records_have_no_timing(status):
    rec = record.make_record("matmul", (8, 8, 8), "float32", "cuda", "cupy", status=status, timing=_timing())
    record.validate_record(rec)
    assert rec["median_s"] is None and rec["gflops"] is None


def test_validate_rejects_bad_records():
    good = record.make_record("matmul", (8, 8, 8), "float32", "cpu", "numpy", timing=_timing(), flops=1024)
    with pytest.raises(ValueError, match="missing"):
        record.validate_record({k: v for k, v in good.items() if k != "median_s"})
    with pytest.raises(ValueError, match="status"):
        record.validate_record({**good, "status": "great"})
    with pytest.raises(ValueError, match="inconsistent"):
        record.validate_record({**good, "min_s": 1.0})
    with pytest.raises(ValueError, match="timed"):
        record.validate_record({**good, "status": "failed: wrong"})


def test_json_is_atomic_and_round_trips(tmp_path):
    path = tmp_path / "sub" / "k.json"
    rec = record.make_record("matmul", (8, 8, 8), "float32", "cpu", "numpy", timing=_timing(), flops=1024,
                             extra_value=np.float32(1.5))
    record.write_json(path, {"suite": "kernels", "records": [rec], "nan": float("nan")})
    payload = record.read_json(path)
    assert payload["schema"] == record.SCHEMA and payload["nan"] is None
    assert payload["records"][0]["extra_value"] == 1.5
    assert os.listdir(path.parent) == ["k.json"]  # no temporary file left behind

    class Boom:
        def item(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        record.write_json(path, {"records": [Boom()]})
    assert record.read_json(path)["records"][0]["op"] == "matmul"  # the old file survives a failed write
    assert os.listdir(path.parent) == ["k.json"]


# --- ceilings ---------------------------------------------------------------------------------------------


def test_cpu_ceilings_are_sane():
    c = ceilings.cpu_ceilings(gemm_n=256, copy_mib=8, min_time=0.02)
    assert c["device"] == "cpu"
    assert 0.1 < c["gflops"] < 1e5  # a CPU core does more than 0.1 and far less than 100 TFLOP/s
    assert 0.1 < c["gbps"] < 1e4
    for part in ("gemm", "copy"):
        t = c[part]
        assert 0 < t["min_s"] <= t["median_s"] <= t["max_s"] and t["runs"] >= 3


def test_kernel_suite_records_a_gpu_ceiling_failure_instead_of_crashing(monkeypatch):
    def no_gpu(**kw):
        raise RuntimeError("cudaErrorNoDevice")

    monkeypatch.setattr(ceilings, "gpu_ceilings", no_gpu)
    got = kernels.measure_ceilings(("cuda",), True, [(kernels.CupyBackend(), None)])
    assert got["cuda"]["error"] == "RuntimeError: cudaErrorNoDevice"


# --- the correctness gate ---------------------------------------------------------------------------------


def test_gate_accepts_close_and_rejects_wrong():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((16, 16))
    assert gate.check(ref.astype(np.float32), ref, 1e-4) == (True, "")
    ok, why = gate.check(ref.astype(np.float32) * 1.01, ref, 1e-4)
    assert not ok and "relative error" in why
    bad = ref.copy()
    bad[3, 3] = np.nan
    ok, why = gate.check(bad, ref, 1e-4)
    assert not ok and "NaN" in why
    ok, why = gate.check(ref[:8], ref, 1e-4)
    assert not ok and "shape" in why


class _WrongMatmul(kernels.Backend):
    """A 'fast' kernel that forgets the last row of K: must be failed, never timed."""

    name = "wrong"

    def op_matmul(self, case, a, b):
        return lambda: a[:, :-1] @ b[:-1]


class _CrashingMatmul(kernels.Backend):
    name = "crash"

    def op_matmul(self, case, a, b):
        def run():
            raise RuntimeError("launch failed")

        return run


def test_gate_fails_a_wrong_kernel_instead_of_timing_it():
    case = kernels.matmul_case("square", 24, 24, 24)
    settings = kernels.Settings(warmup=1, min_runs=2, max_runs=3, min_time=0.0)
    rng = np.random.default_rng(0)
    rec = kernels.time_case(_WrongMatmul(), case, {}, settings, rng)
    assert rec["status"].startswith("failed: relative error")
    assert rec["median_s"] is None and rec["gflops"] is None
    rec = kernels.time_case(_CrashingMatmul(), case, {}, settings, rng)
    assert rec["status"] == "failed: raised RuntimeError: launch failed"
    rec = kernels.time_case(kernels.NumpyBackend(), case, {"cpu": {"gflops": 50.0, "gbps": 5.0}}, settings, rng)
    record.validate_record(rec)
    assert rec["status"] == "ok" and rec["gflops"] > 0 and rec["fraction_of_ceiling"] > 0


def test_large_matmul_gate_by_projection_still_catches_a_wrong_kernel(monkeypatch):
    monkeypatch.setattr(kernels, "PROJECT_ABOVE", 1000)
    case = kernels.matmul_case("square", 20, 20, 20)
    assert "project" in case.params
    settings = kernels.Settings(warmup=1, min_runs=2, max_runs=3, min_time=0.0)
    rng = np.random.default_rng(0)
    assert kernels.time_case(kernels.NumpyBackend(), case, {}, settings, rng)["status"] == "ok"
    assert kernels.time_case(_WrongMatmul(), case, {}, settings, rng)["status"].startswith("failed: relative")


@pytest.mark.kernels
def test_numba_kernels_pass_the_gate_in_the_simulator():
    """Runs in the simulated test step (NUMBA_ENABLE_CUDASIM=1): the suite's calls into every kernel
    family give the reference's results, so the GPU run only has to time them."""
    import os

    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 before numba is imported (tests/run.sh step 2)")
    backend = kernels.NumbaBackend(simulated=True)
    assert backend.availability() is None
    settings = kernels.Settings(warmup=1, min_runs=1, max_runs=1, min_time=0.0, pause_s=0.0)
    cases = [kernels.matmul_case("tiny", 5, 7, 3), *kernels.relu_cases(300), kernels.ce_case(3, 5),
             kernels.pool_case("tiny", 1, 2, 7, 3, 2, 1), *kernels.conv_cases("tiny", 1, 2, 6, 2, 3, 2, 1, 2)]
    rng = np.random.default_rng(0)
    for case in cases:
        rec = kernels.time_case(backend, case, {}, settings, rng)
        assert rec["status"] == "ok", (case.op, rec["status"])


def test_unsupported_op_is_unavailable_not_failed():
    case = kernels.pool_case("tiny", 2, 3, 9, 3, 2, 1)
    rec = kernels.time_case(kernels.CupyBackend(), case, {}, kernels.Settings.quick(), np.random.default_rng(0))
    assert rec["status"] == "unavailable: cupy has no max_pool2d"


# --- references (checked against direct loops, and against PyTorch when installed) --------------------


def _conv_direct(x, w, stride, padding, groups):
    N, C, H, W = x.shape
    O, Cg, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho = (H + 2 * padding - KH) // stride + 1
    Wo = (W + 2 * padding - KW) // stride + 1
    y = np.zeros((N, O, Ho, Wo))
    Og = O // groups
    for n in range(N):
        for o in range(O):
            g = o // Og
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, g * Cg:(g + 1) * Cg, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    y[n, o, i, j] = (patch * w[o]).sum()
    return y


def test_conv_references_against_direct_loops_and_adjoints():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 2, 3, 2))
    p = {"stride": (2, 2), "padding": (1, 1), "dilation": (1, 1), "groups": 2}
    y = references.conv2d_forward(x, w, **p)
    np.testing.assert_allclose(y, _conv_direct(x, w, 2, 1, 2), rtol=1e-12, atol=1e-12)
    # The gradients are the adjoints of the forward map: <gy, conv(x, w)> = <dx, x> = <dw, w>.
    gy = rng.standard_normal(y.shape)
    gx = references.conv2d_backward_input(gy, w, x.shape, **p)
    gw = references.conv2d_backward_weight(x, gy, w.shape, **p)
    assert np.vdot(gy, y) == pytest.approx(np.vdot(gx, x)) == pytest.approx(np.vdot(gw, w))


def test_references_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 9, 9))
    w = rng.standard_normal((6, 2, 3, 3))
    p = {"stride": (2, 2), "padding": (1, 1), "dilation": (1, 1), "groups": 2}
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    ty = F.conv2d(tx, tw, None, 2, 1, 1, 2)
    gy = rng.standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(references.conv2d_forward(x, w, **p), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(references.conv2d_backward_input(gy, w, x.shape, **p), tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(references.conv2d_backward_weight(x, gy, w.shape, **p), tw.grad.numpy(), atol=1e-10)
    pooled = F.max_pool2d(torch.tensor(x), 3, 2, 1).numpy()
    np.testing.assert_allclose(references.max_pool2d(x, (3, 3), (2, 2), (1, 1)), pooled)


# --- the command line (quick runs with tiny sizes) ----------------------------------------------------------


@pytest.fixture
def tiny_suite(monkeypatch):
    monkeypatch.setattr(kernels, "SQUARE_QUICK", (16, 32))
    monkeypatch.setattr(kernels, "MATMUL_SHAPES", (("mlp.fc3", 4, 8, 10),))
    monkeypatch.setattr(kernels, "RELU_SIZES_QUICK", (1000,))
    monkeypatch.setattr(kernels, "CE_SHAPES_QUICK", ((8, 10),))
    monkeypatch.setattr(kernels, "CONV_LAYERS", (("lenet5.tiny", 2, 3, 8, 4, 3, 1, 1, 1),))
    monkeypatch.setattr(kernels, "POOL_LAYERS", (("lenet5.tiny", 2, 3, 8, 2, 2, 0),) * 2)
    monkeypatch.setattr(kernels.Settings, "quick", classmethod(lambda cls: cls(warmup=1, min_runs=2, max_runs=3,
                                                                                min_time=0.0)))
    real = ceilings.cpu_ceilings
    monkeypatch.setattr(ceilings, "cpu_ceilings", lambda **kw: real(gemm_n=128, copy_mib=4, min_time=0.01))


def test_cli_kernels_quick_writes_json_and_plot_and_names_unavailable(tiny_suite, tmp_path, capsys):
    from tensorcore.cli import main

    out, png = tmp_path / "k.json", tmp_path / "k.png"
    rc = main(["bench", "kernels", "--quick", "--json", str(out), "--plot", str(png)])
    text = capsys.readouterr().out
    assert rc == 0, text
    payload = record.read_json(out)  # validates every record
    assert payload["suite"] == "kernels" and payload["machine"]["cores"] >= 1
    assert {"cpu"} <= set(payload["ceilings"])
    assert payload["backends"]["tensorcore-cpu"] == "ok"
    ops = {r["op"] for r in payload["records"] if r["backend"] == "tensorcore-cpu"}
    assert {"matmul", "relu", "relu_backward", "softmax_cross_entropy"} <= ops
    roof = payload["roofline"]["cpu"]  # the best measured rates: every timed result at or under them
    for r in payload["records"]:
        if r["status"] == "ok" and r["device"] == "cpu":
            assert r["fraction_of_ceiling"] <= 1 + 1e-12
            if r.get("gflops") and r.get("bytes"):
                assert r["gflops"] <= min(roof["peak_gflops"], roof["gbps"] * r["intensity"]) * (1 + 1e-12)
    for name in ("tensorcore-cuda", "cupy", "torch-cuda"):
        state = payload["backends"][name]
        if state != "ok":
            assert state.startswith("unavailable: ")
            assert re.search(rf"{name} +unavailable: ", text)  # said clearly in the terminal too
    assert png.stat().st_size > 10_000
    with open(out) as f:
        assert json.load(f)["schema"] == record.SCHEMA


def test_cli_rejects_unknown_op(capsys):
    from tensorcore.cli import main

    assert main(["bench", "kernels", "--ops", "fft"]) == 2
    assert "unknown op 'fft'" in capsys.readouterr().err


def test_cli_train_quick(tmp_path, capsys):
    from tensorcore.cli import main

    out = tmp_path / "t.json"
    rc = main(["bench", "train", "--quick", "--model", "mlp", "--rounds", "1", "--json", str(out)])
    text = capsys.readouterr().out
    payload = record.read_json(out)
    (tc_rec,) = [r for r in payload["records"] if r["backend"] == "tensorcore"]
    assert tc_rec["status"] == "ok" or tc_rec["status"].startswith("unavailable: "), text
    assert "numpy-manual" in {r["backend"] for r in payload["records"]}  # the floor, gated against tensorcore
    if tc_rec["status"] == "ok":
        assert rc == 0
        if "torch" in {r["backend"] for r in payload["records"]}:
            assert tc_rec["ratio_vs_torch"] > 0 and "vs torch" in text
            a, b = tc_rec["gate_losses"][0]
            assert a == pytest.approx(b, rel=1e-4)  # the same model, weights and data


def test_overhead_suite_tiny():
    from tensorcore.bench.suites import overhead

    result = overhead.run_suite(rounds=1, ops=("add", "matmul"), sizes=("1",))
    for rec in result["records"]:
        record.validate_record(rec)
    tc_recs = [r for r in result["records"] if r["backend"] == "tensorcore"]
    assert [r["status"] for r in tc_recs] == ["ok"] * 4  # 2 ops x (forward, forward+backward)
    assert "tensorcore" in overhead.format_table(result)


def test_train_gate_fails_a_peer_that_is_not_the_same_model(monkeypatch):
    torch = pytest.importorskip("torch")
    from tensorcore.bench.suites import train

    real = train.torch_model

    def tanh_instead_of_relu(layers):
        model = real(layers)
        return torch.nn.Sequential(*[torch.nn.Tanh() if isinstance(m, torch.nn.ReLU) else m for m in model])

    monkeypatch.setattr(train, "torch_model", tanh_instead_of_relu)
    result = train.run_suite(models=("mlp",), quick=True, rounds=1, epoch=False)
    (rec,) = result["records"]
    assert rec["status"].startswith("failed: tensorcore and PyTorch disagree"), rec["status"]
    assert rec["median_s"] is None


def test_overhead_gate_uses_the_float32_tolerance(monkeypatch):
    """A float32 matmul summed in another order (rel. err ~1e-6) agrees; a 1e-3 error does not."""
    torch = pytest.importorskip("torch")
    from tensorcore.bench.suites import overhead

    tc_fn, torch_fn = overhead.build_pair("matmul", "32x64", "forward", np.random.default_rng(0), torch)
    assert callable(tc_fn) and callable(torch_fn)
    real = overhead._ops

    def off_by_1e3(lib):
        ops = dict(real(lib))
        if lib is not torch:
            fn, b_shape = ops["matmul"]
            ops["matmul"] = (lambda a, b: fn(a, b) * 1.001, b_shape)
        return ops

    monkeypatch.setattr(overhead, "_ops", off_by_1e3)
    with pytest.raises(AssertionError, match=r"disagree .*relative error 1\.0e-03 > 1e-04"):
        overhead.build_pair("matmul", "32x64", "forward", np.random.default_rng(0), torch)


def test_numpy_floor_trains_exactly_like_tensorcore():
    """The hand-written NumPy MLP step (the floor) is the same computation as tensorcore's: same losses."""
    import tensorcore as tc
    from tensorcore.bench.suites import numpy_floor
    from tensorcore.nn import functional as F

    tc.manual_seed(0)
    model = tc.models.mlp()
    floor = numpy_floor.mlp_step([p.numpy() for p in model.parameters()], lr=1e-3)
    opt = tc.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x, y = rng.standard_normal((8, 784), dtype=np.float32), rng.integers(0, 10, 8)
        opt.zero_grad()
        loss = F.cross_entropy(model(tc.tensor(x)), tc.tensor(y))
        loss.backward()
        opt.step()
        assert floor(x, y) == pytest.approx(float(loss.item()), rel=1e-5)
    np.testing.assert_allclose(floor.params[0], next(iter(model.parameters())).numpy(), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="6 arrays"):
        numpy_floor.mlp_step(floor.params[:2])
