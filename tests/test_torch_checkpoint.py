"""tc.load of files torch.save wrote (its zip of data.pkl and raw storages), read without unpickling: values,
dtypes, layouts and map_location as torch.load gives them; anything beyond a state dict refused by name."""

import io
import os
import zipfile

import numpy as np
import pytest

import tensorcore as tc

torch = pytest.importorskip("torch", reason="PyTorch writes the checkpoints these tests read")


def saved(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def load_bytes(data, **kw):
    return tc.load(io.BytesIO(data), **kw)


def test_a_torch_state_dict_and_optimizer_state_load_as_torch_load_gives_them():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    data = saved({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7, "loss": 0.25})
    want, got = torch.load(io.BytesIO(data)), load_bytes(data)
    assert list(got["model"]) == list(want["model"]) and got["epoch"] == 7 and got["loss"] == 0.25
    for key, value in want["model"].items():
        assert got["model"][key].dtype == tc.dtype(str(value.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(got["model"][key].numpy(), value.numpy())
    ours = tc.nn.Sequential(tc.nn.Linear(3, 4), tc.nn.BatchNorm1d(4), tc.nn.Linear(4, 2))
    ours.load_state_dict(got["model"])
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    model.eval(), ours.eval()
    np.testing.assert_allclose(ours(tc.tensor(x)).detach().numpy(), model(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    ours_opt = tc.optim.Adam(ours.parameters(), lr=0.01)
    ours_opt.load_state_dict(got["optimizer"])
    assert got["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    np.testing.assert_array_equal(got["optimizer"]["state"][0]["exp_avg"].numpy(),
                                  want["optimizer"]["state"][0]["exp_avg"].numpy())


def test_layouts_dtypes_and_plain_values_round_trip():
    base = torch.arange(12.0).reshape(3, 4)
    obj = {"t": base.t(), "slice": base[1:, ::2], "bf16": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
           "half": torch.ones(2, dtype=torch.float16), "long": torch.arange(3), "bool": torch.tensor([True, False]),
           "empty": torch.zeros(0, 3), "scalar": torch.tensor(2.5, dtype=torch.float64),
           "param": torch.nn.Parameter(torch.ones(2)), "nested": [1, (2, "x"), {"k": None}], "big": 2 ** 70,
           "neg": -3, "dtype": torch.float16, "device": torch.device("cpu"), "size": torch.Size([2, 3])}
    got = load_bytes(saved(obj))
    np.testing.assert_array_equal(got["t"].numpy(), base.t().numpy())
    np.testing.assert_array_equal(got["slice"].numpy(), base[1:, ::2].numpy())
    assert got["bf16"].dtype == tc.bfloat16 and got["bf16"].float().tolist() == [1.5, -2.0]
    assert got["half"].dtype == tc.float16 and got["long"].dtype == tc.int64 and got["bool"].tolist() == [True, False]
    assert tuple(got["empty"].shape) == (0, 3) and got["scalar"].dtype == tc.float64 and got["scalar"].item() == 2.5
    assert isinstance(got["param"], tc.nn.Parameter) and got["param"].requires_grad
    assert got["nested"] == [1, (2, "x"), {"k": None}] and got["big"] == 2 ** 70 and got["neg"] == -3
    assert got["dtype"] == tc.float16 and got["device"] == tc.device("cpu") and got["size"] == (2, 3)


def test_tied_tensors_share_one_storage_read():
    w = torch.randn(4, 3)
    got = load_bytes(saved({"a": w, "b": w, "row": w[1]}))
    np.testing.assert_array_equal(got["a"].numpy(), got["b"].numpy())
    np.testing.assert_array_equal(got["row"].numpy(), w[1].numpy())


def test_map_location_str_dict_and_callable():
    data = saved({"w": torch.ones(2)})
    assert load_bytes(data, map_location="cpu")["w"].device == tc.device("cpu")
    assert load_bytes(data, map_location={"cpu": "cpu"})["w"].device == tc.device("cpu")
    assert load_bytes(data, map_location=lambda storage, loc: storage)["w"].tolist() == [1.0, 1.0]


def test_a_saved_module_object_is_refused_by_name_and_nothing_runs(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), path)  # the whole module: a pickle of torch.nn.modules.linear.Linear
    with pytest.raises(tc.TensorcoreError, match=r"names torch\.nn\.modules\.linear\.Linear"):
        tc.load(path)


def torch_zip(pkl, storages=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        for key, raw in storages:
            z.writestr(f"archive/data/{key}", raw)
    return buf.getvalue()


def _tensor_pkl(numel, size, stride, offset=0):
    """A hand-written data.pkl: _rebuild_tensor_v2 of one float32 storage "0" of `numel` elements."""
    ints = lambda *v: b"".join(b"K" + bytes([i]) for i in v)  # noqa: E731
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(" + b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
            + b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpu" + ints(numel) + b"tQ" + ints(offset)
            + b"(" + ints(*size) + b"t(" + ints(*stride) + b"t\x89N" + b"tR.")


def test_a_hand_written_tensor_reads_and_bad_ones_are_refused():
    raw = np.arange(6, dtype=np.float32).tobytes()
    got = load_bytes(torch_zip(_tensor_pkl(6, (2, 3), (3, 1)), [("0", raw)]))
    assert got.tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(tc.TensorcoreError, match="reaches element 6 of a storage of 6"):
        load_bytes(torch_zip(_tensor_pkl(6, (2, 3), (3, 1), offset=1), [("0", raw)]))
    with pytest.raises(tc.TensorcoreError, match="holds 24 bytes, its header claims 7 elements"):
        load_bytes(torch_zip(_tensor_pkl(7, (7,), (1,)), [("0", raw)]))
    with pytest.raises(tc.TensorcoreError, match="storage 'archive/data/0' is missing"):
        load_bytes(torch_zip(_tensor_pkl(6, (6,), (1,))))


@pytest.mark.parametrize("pkl, message", [
    (b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.", r"names os\.system"),
    (b"\x80\x02cbuiltins\neval\nX\x01\x00\x00\x001\x85R.", r"names builtins\.eval"),
    (b"\x80\x02X\x01\x00\x00\x00a\x8c\x05posix\x8c\x06system\x93.", r"names posix\.system"),  # STACK_GLOBAL
    (b"\x80\x02}q\x00X\x01\x00\x00\x00a\x81.", r"pickle opcode b'\\x81'"),  # NEWOBJ
    (b"\x80\x02}h\x05.", "reads memo 5 before writing it"),
    (b"\x80\x02}X\x10\x00\x00\x00ab", "ends inside an instruction"),
    (b"\x80\x02(K\x01K\x02.", "stops with a malformed stack"),
    (b"\x80\x02K\x01X\x01\x00\x00\x00as.", "adds items to something that is not a dict"),
    (b"\x80\x02}(K\x01u.", "sets a key without a value"),
])
def test_hostile_pickles_are_refused_by_name(pkl, message, tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(tc.TensorcoreError, match=message):
        load_bytes(torch_zip(pkl))
    assert not marker.exists() and not os.path.exists("true")
