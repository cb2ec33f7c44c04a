"""vpt.atomic: a file is whole or absent, and a failed write leaves the previous one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vpt.atomic import atomic_open, atomic_output, atomic_path, atomic_write_json, atomic_write_text


def test_temporary_name_is_hidden_and_keeps_the_suffix(tmp_path):
    tmp = atomic_path(tmp_path / "a.labels.npz")
    assert tmp.parent == tmp_path and tmp.name.startswith(".") and ".tmp" in tmp.name
    assert tmp.name.endswith(".npz") and not tmp.name.endswith(".labels.npz")


def test_writers_replace_the_file_and_leave_no_temporary(tmp_path):
    atomic_write_text(tmp_path / "x.txt", "one")
    atomic_write_text(tmp_path / "x.txt", "two")
    atomic_write_json(tmp_path / "sub" / "y.json", {"a": 1})  # the parent folder is made
    with atomic_output(tmp_path / "z.npz") as tmp:
        np.savez(tmp, v=np.arange(3))
    assert (tmp_path / "x.txt").read_text() == "two"
    assert json.loads((tmp_path / "sub" / "y.json").read_text()) == {"a": 1}
    np.testing.assert_array_equal(np.load(tmp_path / "z.npz")["v"], np.arange(3))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub", "x.txt", "y.json", "z.npz"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_open(path) as f:
            f.write("half a li")
            raise RuntimeError("killed mid-write")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]
