"""tc.save/tc.load with file objects and torch.save/torch.load's extra arguments (a PyTorch program's calls)."""

import io

import numpy as np
import pytest

import tensorcore as tc


def test_save_and_load_through_file_objects(tmp_path):
    state = {"w": tc.arange(6.0).reshape(2, 3), "step": 7, "names": ["a", "b"]}
    buf = io.BytesIO()
    tc.save(state, buf)
    buf.seek(0)
    back = tc.load(buf, map_location="cpu", weights_only=True)
    assert back["step"] == 7 and back["names"] == ["a", "b"]
    np.testing.assert_array_equal(back["w"].numpy(), state["w"].numpy())
    path = tmp_path / "ck.pt"
    with open(path, "wb") as f:
        tc.save(state, f, pickle_protocol=4)
    with open(path, "rb") as f:
        assert tc.load(f, weights_only=False, mmap=False)["step"] == 7
    assert tc.load(path)["step"] == 7  # the same bytes as a path


def test_file_objects_are_checked_as_paths_are():
    with pytest.raises(tc.TensorcoreError, match="pickle"):
        tc.load(io.BytesIO(b"\x80\x04\x95junk"))
    with pytest.raises(tc.TensorcoreError, match="empty"):
        tc.load(io.BytesIO(b""))
    buf = io.BytesIO()
    tc.save({"x": tc.ones(3)}, buf)
    with pytest.raises(tc.TensorcoreError, match="corrupt|truncated"):
        tc.load(io.BytesIO(buf.getvalue()[:-40]))
