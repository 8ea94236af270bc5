"""Dataset layouts are a registry: a layout registered from user code is scanned and listed by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from perceive_ir.data import LAYOUTS, DatasetLayout, FileListDataset, get_layout, save_png, scan_dataset, write_filelist


def _scan_mine(root: Path, split: str) -> list[dict[str, Any]]:
    return [{"name": p.stem, "degraded": f"{split}/lq/{p.name}", "clean": f"{split}/gt/{p.name}"}
            for p in sorted((root / split / "lq").glob("*.png"))]


@pytest.fixture
def mine() -> Iterator[DatasetLayout]:
    layout = DatasetLayout("mine", "derain", "Rain pairs of my own.", ("train",),
                           "ROOT/train/lq/*.png  ROOT/train/gt/*.png", _scan_mine)
    LAYOUTS.register(layout.name, layout)
    try:
        yield layout
    finally:
        del LAYOUTS._entries[layout.name]  # leave the registry as the other tests expect it


def test_a_user_layout_is_found_by_name(mine: DatasetLayout, tmp_path: Path) -> None:
    for name in ("a", "b"):
        save_png(torch.rand(3, 8, 8), tmp_path / "train" / "lq" / f"{name}.png")
        save_png(torch.rand(3, 8, 8), tmp_path / "train" / "gt" / f"{name}.png")
    assert get_layout("mine") is mine and "mine" in LAYOUTS.names()
    doc = scan_dataset("mine", tmp_path, "train")
    assert doc["task"] == "derain" and [item["name"] for item in doc["items"]] == ["a", "b"]
    (path,) = write_filelist("mine", tmp_path, tmp_path / "lists")
    dataset = FileListDataset(path, root=tmp_path)
    assert len(dataset) == 2 and dataset[0]["name"] == "a"


def test_unknown_layouts_list_the_known_ones_and_names_are_not_taken_twice(mine: DatasetLayout) -> None:
    with pytest.raises(ValueError, match=r"Unknown dataset layout 'nosuch'; known: .*lol, mine, rain100l") as info:
        get_layout("nosuch")
    assert "LAYOUTS.register" in str(info.value)
    with pytest.raises(ValueError, match="already registered"):
        LAYOUTS.register("mine", mine)
