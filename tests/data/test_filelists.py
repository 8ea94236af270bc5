"""Standard layouts: scan a fake mini layout, write the file list, load it back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from perceive_ir.data import LAYOUTS, FileListDataset, read_filelist, write_filelist
from perceive_ir.data.filelists import main

from ._helpers import make_layout


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_round_trip(name: str, tmp_path: Path) -> None:
    root = tmp_path / "data"
    expected = make_layout(name, root)
    paths = write_filelist(name, root, tmp_path / "lists")
    layout = LAYOUTS[name]
    assert [p.name for p in paths] == [f"{name}_{s}.json" for s in layout.splits]
    for path in paths:
        meta, items = read_filelist(path)
        assert meta["task"] == layout.task and meta["dataset"] == name and len(items) == expected
        ds = FileListDataset(path)
        assert len(ds) == expected and ds.task == layout.task
        for i in range(len(ds)):
            s = ds[i]
            assert s["task"] == ds.task_id and s["degraded"].shape == s["clean"].shape
            if items[i].degraded is not None:  # real pairs: the degraded half of the clean value
                assert abs(float(s["degraded"].mean()) - float(s["clean"].mean()) / 2) < 0.02, s["name"]
                assert items[i].clean.parent.name in ("norain", "clear", "gt", "sharp", "high")
            else:
                assert (s["degraded"] - s["clean"]).abs().mean() > 0.01
    # relocated data: override the root recorded in the list
    moved = tmp_path / "moved"
    root.rename(moved)
    with pytest.raises(FileNotFoundError, match="missing"):
        FileListDataset(paths[0])
    assert len(FileListDataset(paths[0], root=moved)) == expected


def test_name_mappings(tmp_path: Path) -> None:
    make_layout("reside_ots", tmp_path / "ots")
    _, items = read_filelist(write_filelist("reside_ots", tmp_path / "ots", tmp_path / "l.json")[0])
    assert {(i.degraded.name, i.clean.name) for i in items} == {
        ("0001_0.8_0.2.jpg", "0001.jpg"), ("0001_1_0.16.jpg", "0001.jpg"), ("0002_0.9_0.1.jpg", "0002.jpg")}
    make_layout("rain100l", tmp_path / "rain")
    _, items = read_filelist(write_filelist("rain100l", tmp_path / "rain", tmp_path / "r.json", ["test"])[0])
    assert {(i.degraded.name, i.clean.name) for i in items} == {
        ("rain-001.png", "norain-001.png"), ("rain-002.png", "norain-002.png")}


def test_cbsd68_is_reproducible_and_bsd_is_fresh(tmp_path: Path) -> None:
    make_layout("cbsd68", tmp_path / "cbsd")
    path = write_filelist("cbsd68", tmp_path / "cbsd", tmp_path / "lists")[0]
    a, b = FileListDataset(path), FileListDataset(path)
    assert all(torch.equal(a[i]["degraded"], b[i]["degraded"]) for i in range(len(a)))
    names = [a[i]["name"] for i in range(len(a))]
    assert names[:3] == ["0000@noise15", "0000@noise25", "0000@noise50"]
    stds = [float((a[i]["degraded"] - a[i]["clean"]).std()) * 255 for i in range(3)]
    assert stds[0] < stds[1] < stds[2]
    only25 = FileListDataset(path, degradations=["noise25"])
    assert len(only25) == 2 and all(only25[i]["name"].endswith("@noise25") for i in range(2))
    make_layout("bsd400_wed", tmp_path / "bsd")
    train = FileListDataset(write_filelist("bsd400_wed", tmp_path / "bsd", tmp_path / "lists")[0])
    assert not torch.equal(train[0]["degraded"], train[0]["degraded"])


def test_bad_layouts_fail_loudly(tmp_path: Path) -> None:
    make_layout("lol", tmp_path / "lol")
    (tmp_path / "lol" / "eval15" / "high" / "22.png").unlink()
    with pytest.raises(ValueError, match="22.png"):
        write_filelist("lol", tmp_path / "lol", tmp_path / "lists")
    (tmp_path / "empty_root").mkdir()
    with pytest.raises(FileNotFoundError, match="our485"):
        write_filelist("lol", tmp_path / "empty_root", tmp_path / "lists")
    with pytest.raises(ValueError, match="splits"):
        write_filelist("lol", tmp_path / "lol", tmp_path / "lists", ["val"])
    with pytest.raises(ValueError, match="Unknown dataset"):
        write_filelist("rain200h", tmp_path, tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a perceive-ir file list"):
        read_filelist(bad)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_layout("sots_outdoor", tmp_path / "sots")
    assert main(["--task", "sots_outdoor", "--root", str(tmp_path / "sots"), "--out", str(tmp_path / "lists")]) == 0
    assert "sots_outdoor_test.json (2 items)" in capsys.readouterr().out
    assert main(["--task", "gopro", "--root", str(tmp_path / "sots"), "--out", str(tmp_path / "lists")]) == 1
    assert "train" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "perceive_ir.data.filelists", "--help"],
                          capture_output=True, text=True, check=True)
    assert "--task" in proc.stdout and "rain100l" in proc.stdout
