"""Triplet strategies and medium restorers are registries: user entries are built by name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from perceive_ir.data import PairedFolderDataset, TripletDataset, save_png
from perceive_ir.data.stage1_scenes import Scene
from perceive_ir.models import MEDIUM_RESTORERS, MediumRestorerEntry, TinyRestorer
from perceive_ir.training import (
    TRIPLET_STRATEGIES,
    TripletRenderer,
    build_triplets,
    load_crossfit_restorers,
)


def _dataset(root: Path, n: int = 6) -> PairedFolderDataset:
    g = torch.Generator().manual_seed(0)
    for i in range(n):
        clean = torch.rand(3, 20, 22, generator=g)
        save_png(clean, root / "gt" / f"s{i}.png")
        save_png((clean * 0.5 + 0.4).clamp(0, 1), root / "lq" / f"s{i}.png")
    return PairedFolderDataset(root / "lq", root / "gt", task="dehaze")


class _Halfway(TripletRenderer):
    """Medium = the mean of low and high; records its own setting and a field per scene."""

    def settings(self) -> dict[str, Any]:
        return {"halfway": True}

    def medium(self, scene: Scene, low: Tensor, high: Tensor) -> Tensor:
        return (low + high) / 2

    def entry(self, scene: Scene) -> dict[str, Any]:
        return {"halfway_of": scene.name}


@pytest.fixture
def halfway() -> Iterator[str]:
    TRIPLET_STRATEGIES.register("halfway", _Halfway)
    try:
        yield "halfway"
    finally:
        del TRIPLET_STRATEGIES._entries["halfway"]


def test_a_user_strategy_is_used_by_name(halfway: str, tmp_path: Path) -> None:
    m = build_triplets(_dataset(tmp_path / "data", 3), tmp_path / "out", strategy=halfway, progress=False)
    doc = json.loads(m.read_text())
    assert doc["settings"] == {"strategy": "halfway", "seed": 0, "denoise_sigmas": "cycle", "fold_hash": "sha1-be",
                               "halfway": True}
    assert [e["halfway_of"] for e in doc["scenes"]] == ["s0", "s1", "s2"]
    s = TripletDataset(m, crop=None, hflip=False)[1]
    assert (s["medium"] - (s["low"] + s["high"]) / 2).abs().max() <= 1 / 255


def test_unknown_strategies_list_the_known_ones(halfway: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Unknown triplet strategy 'paper'; known: crossfit, halfway, mild, model"):
        build_triplets(_dataset(tmp_path / "data", 1), tmp_path / "out", strategy="paper", progress=False)
    assert not (tmp_path / "out").exists()  # refused before anything is written


class _SizeSpy(TinyRestorer):
    """A TinyRestorer that records the input sizes it sees."""

    sizes: list[tuple[int, int]] = []

    def forward(self, x: Tensor) -> Tensor:
        _SizeSpy.sizes.append((x.shape[-2], x.shape[-1]))
        return super().forward(x)


@pytest.fixture
def spy_restorer() -> Iterator[str]:
    MEDIUM_RESTORERS.register("spy", MediumRestorerEntry(_SizeSpy, multiple=16))
    _SizeSpy.sizes = []
    try:
        yield "spy"
    finally:
        del MEDIUM_RESTORERS._entries["spy"]


def test_a_user_medium_restorer_is_trained_and_reloaded_by_name(spy_restorer: str, tmp_path: Path) -> None:
    m = build_triplets(_dataset(tmp_path / "data", 8), tmp_path / "out", restorer_factory=spy_restorer, steps=1,
                       crop=16, batch_size=2, fold_path=lambda p: Path(p).name, progress=False)
    assert json.loads(m.read_text())["settings"]["restorer"] == "spy"
    assert _SizeSpy.sizes and all(h % 16 == 0 and w % 16 == 0 for h, w in _SizeSpy.sizes)  # its own multiple
    restorers = load_crossfit_restorers(tmp_path / "out")  # rebuilt from the name alone
    assert [type(r.net).__name__ for r in restorers] == ["_SizeSpy", "_SizeSpy"]
    assert all(r.multiple == 16 for r in restorers)
    assert tuple(restorers[0](torch.rand(1, 3, 10, 13)).shape) == (1, 3, 10, 13)
    with pytest.raises(ValueError, match="Unknown medium restorer 'nosuch'"):
        build_triplets(_dataset(tmp_path / "d2", 2), tmp_path / "o2", restorer_factory="nosuch", progress=False)
    assert isinstance(MEDIUM_RESTORERS["tiny"](), nn.Module)  # an entry is a factory
