"""Data files: a file list or triplet manifest that is binary, a folder, or not JSON is named clearly."""

from __future__ import annotations

import pytest

from perceive_ir.data import TripletDataset, read_filelist


@pytest.mark.parametrize(
    "content, fragment",
    [(bytes(range(256)), "is not a text file"), (b"{", "is not valid JSON"), (b"[]", "not a perceive-ir file list")],
)
def test_read_filelist_names_the_file(tmp_path, content, fragment):
    path = tmp_path / "list.json"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        read_filelist(path)
    assert str(path) in str(info.value) and fragment in str(info.value)


def test_read_filelist_on_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is a folder; expected a JSON file list"):
        read_filelist(tmp_path)


@pytest.mark.parametrize(
    "content, fragment",
    [(bytes(range(256)), "is not valid JSON"), (b"[1]", "holds a JSON list"), (b"{}", "not a perceive-ir triplet")],
)
def test_a_bad_triplet_manifest_names_the_file(tmp_path, content, fragment):
    path = tmp_path / "manifest.json"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        TripletDataset(path)
    assert str(path) in str(info.value) and fragment in str(info.value)
