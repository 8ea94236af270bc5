"""Quality triplets: the three strategies, cross-fit wiring, resume after interruption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import perceive_ir.training.crossfit as crossfit_mod
import perceive_ir.training.triplets as triplets_mod
from perceive_ir.data import (
    PairedFolderDataset,
    PairedImageDataset,
    TripletDataset,
    save_png,
    scene_fold,
)
from perceive_ir.models import TinyRestorer
from perceive_ir.training import build_triplets, load_crossfit_restorers


def _by_file_name(path: str) -> str:
    """Fold keys from file names, so folds do not depend on where pytest puts tmp_path."""
    return Path(path).name


def _dataset(root: Path, n: int = 6, size: int = 24) -> PairedFolderDataset:
    g = torch.Generator().manual_seed(0)
    for i in range(n):
        clean = torch.rand(3, size, size + 4, generator=g)
        save_png(clean, root / "gt" / f"scene{i:02d}.png")
        save_png((clean * 0.5 + 0.4).clamp(0, 1), root / "lq" / f"scene{i:02d}.png")
    return PairedFolderDataset(root / "lq", root / "gt", task="dehaze")


def _tmp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_mild_strategy_and_aligned_crops(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "data", n=3)
    manifest = build_triplets(ds, tmp_path / "out", strategy="mild", mild_strength=0.5, progress=False)
    doc = json.loads(manifest.read_text())
    assert doc["settings"]["strategy"] == "mild" and len(doc["scenes"]) == 3
    entry = doc["scenes"][0]
    assert entry["task"] == 2 and entry["task_name"] == "dehaze" and entry["strategy"] == "mild"
    tds = TripletDataset(manifest, crop=8, hflip=True, seed=0)
    for i in range(len(tds)):
        s = tds[i]
        assert s["low"].shape == s["medium"].shape == s["high"].shape == (3, 8, 8)
        # medium = (low + high) / 2 at the same location: proves the crops are aligned
        assert (s["medium"] - (s["low"] + s["high"]) / 2).abs().max() <= 1.5 / 255
        assert s["task"] == 2


def test_model_strategy_uses_tiles(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "data", n=2, size=40)
    shapes: list[tuple[int, ...]] = []

    def restorer(x: torch.Tensor) -> torch.Tensor:
        shapes.append(tuple(x.shape))
        return x * 0.5

    m = build_triplets(ds, tmp_path / "out", strategy="model", model=restorer, tile=16, overlap=4, progress=False)
    s = TripletDataset(m, crop=None, hflip=False)[0]
    assert (s["medium"] - s["low"] * 0.5).abs().max() <= 1.5 / 255
    assert shapes and all(h <= 16 and w <= 16 for *_, h, w in shapes)
    with pytest.raises(ValueError, match="model"):
        build_triplets(ds, tmp_path / "o2", strategy="model")


class _Const(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, self.value)


def test_crossfit_renders_each_half_with_the_other_halfs_model(tmp_path: Path, monkeypatch) -> None:
    ds = _dataset(tmp_path / "data", n=8)
    # the authors' fold of a scene: sha1(f"{task}|{path}") (the degraded file's path here)
    folds = [scene_fold(f"dehaze|{it.degraded.name}") for it in ds.items]
    assert set(folds) == {0, 1}
    trained_on: list[set[int]] = []

    def fake_train(factory, dataset, scenes, **kw):  # noqa: ANN001, ANN003
        trained_on.append({s.index for s in scenes})
        # the default medium restorer is the authors' RestormerMedium, trained as they train it
        net = factory()
        assert type(net).__name__ == "MediumRestorer"
        assert sum(p.numel() for p in net.parameters()) == 25_571_439
        assert (kw["steps"], kw["crop"], kw["batch_size"], kw["lr"], kw["min_lr"], kw["weight_decay"]) == (
            20_000, 128, 4, 2e-4, 1e-6, 0.01)
        assert kw["task_resampling"] == {"denoise": 3, "dehaze": 1, "derain": 120, "deblur": 50, "lowlight": 40}
        assert kw["precision"] == "fp32"  # "auto" on a CPU
        return _Const(0.25 if folds[scenes[0].index] == 0 else 0.75)

    monkeypatch.setattr(crossfit_mod, "_train_restorer", fake_train)
    monkeypatch.setattr(crossfit_mod, "_save_model", lambda model, path: None)
    m = build_triplets(ds, tmp_path / "out", strategy="crossfit", fold_path=_by_file_name, progress=False)
    assert len(trained_on) == 2 and trained_on[0].isdisjoint(trained_on[1])
    assert trained_on[0] | trained_on[1] == set(range(8))
    tds = TripletDataset(m, crop=None, hflip=False)
    entries = {e["name"]: e for e in json.loads(m.read_text())["scenes"]}
    for i in range(len(tds)):
        s = tds[i]
        fold = folds[[it.name for it in ds.items].index(s["name"])]
        # a scene of fold f must come from the model trained on fold 1 - f
        expected = 0.75 if fold == 0 else 0.25
        assert abs(float(s["medium"].mean()) - expected) < 1 / 255, (s["name"], fold)
        assert entries[s["name"]]["fold"] == fold
        assert entries[s["name"]]["fold_key"] == f"dehaze|{s['name']}.png"


def test_crossfit_really_trains_and_keeps_global_rng(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "data", n=6)
    state = torch.get_rng_state()
    m = build_triplets(ds, tmp_path / "out", strategy="crossfit", steps=25, crop=16, batch_size=4, lr=3e-3,
                       restorer_factory="tiny", task_resampling={"dehaze": 2}, fold_path=_by_file_name,
                       progress=False)
    assert torch.equal(torch.get_rng_state(), state)
    assert (tmp_path / "out" / "crossfit_fold0.pt").is_file() and (tmp_path / "out" / "crossfit_fold1.pt").is_file()
    tds = TripletDataset(m, crop=None, hflip=False)
    improved = 0
    for i in range(len(tds)):
        s = tds[i]
        err_low = (s["low"] - s["high"]).abs().mean()
        err_med = (s["medium"] - s["high"]).abs().mean()
        improved += int(err_med < err_low)
        assert not torch.equal(s["medium"], s["low"])  # the trained nets changed the image
    assert improved == len(tds)  # partially restored: closer to the clean image than the input
    # the two trained restorers load back (stage 2's proxies) and reproduce the medium images
    restorers = load_crossfit_restorers(tmp_path / "out")
    assert len(restorers) == 2 and not any(p.requires_grad for r in restorers for p in r.parameters())
    folds = {e["name"]: e["fold"] for e in json.loads(m.read_text())["scenes"]}
    for i in range(len(tds)):
        s = tds[i]
        with torch.no_grad():
            medium = restorers[1 - folds[s["name"]]](s["low"][None])[0].clamp(0, 1)
        # written as the authors write it: 8 bits by truncation
        assert torch.equal(s["medium"], (medium * 255).to(torch.uint8).float() / 255)


def test_resume_after_interruption(tmp_path: Path, monkeypatch) -> None:
    ds = _dataset(tmp_path / "data", n=6)
    out = tmp_path / "out"
    real_save = triplets_mod.save_png
    calls = {"n": 0}
    k = 2

    def flaky_save(img, path):  # noqa: ANN001
        calls["n"] += 1
        if calls["n"] == 3 * k + 2:  # scene k+1: low written, high fails
            raise RuntimeError("simulated crash")
        real_save(img, path)

    trains = {"n": 0}
    real_train = crossfit_mod._train_restorer

    def counting_train(*a, **kw):  # noqa: ANN002, ANN003
        trains["n"] += 1
        return real_train(*a, **kw)

    monkeypatch.setattr(triplets_mod, "save_png", flaky_save)
    monkeypatch.setattr(crossfit_mod, "_train_restorer", counting_train)
    kwargs = dict(strategy="crossfit", steps=3, crop=16, batch_size=2, restorer_factory="tiny",
                  fold_path=_by_file_name, progress=False)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_triplets(ds, out, **kwargs)
    doc = json.loads((out / "manifest.json").read_text())
    assert len(doc["scenes"]) == k
    done = {s["name"]: {t: (out / s[t]).stat().st_mtime_ns for t in ("low", "medium", "high")}
            for s in doc["scenes"]}
    trains_before = trains["n"]
    (out / "low" / ".stale.png.abc.tmp").write_bytes(b"left over by a killed process")

    calls["n"] = 0
    monkeypatch.setattr(triplets_mod, "save_png", lambda img, path: (calls.__setitem__("n", calls["n"] + 1),
                                                                       real_save(img, path)))
    m = build_triplets(ds, out, **kwargs)
    doc = json.loads(m.read_text())
    assert sorted(s["name"] for s in doc["scenes"]) == [f"scene{i:02d}" for i in range(6)]
    assert calls["n"] == 3 * (6 - k)  # only the unfinished scenes were rendered
    # each half's restorer is trained exactly once over both runs: saved checkpoints are reused
    assert trains_before >= 1 and trains["n"] == 2
    for s in doc["scenes"]:
        if s["name"] in done:
            assert {t: (out / s[t]).stat().st_mtime_ns for t in ("low", "medium", "high")} == done[s["name"]]
    assert _tmp_files(out) == []
    assert len(list((out / "low").glob("*.png"))) == 6
    # a third run has nothing to do
    calls["n"] = 0
    build_triplets(ds, out, **kwargs)
    assert calls["n"] == 0
    # a scene whose file vanished is rebuilt
    (out / doc["scenes"][0]["medium"]).unlink()
    build_triplets(ds, out, **kwargs)
    assert calls["n"] == 3
    with pytest.raises(ValueError, match="settings"):
        build_triplets(ds, out, strategy="mild", progress=False)


def test_crossfit_needs_both_halves_and_unique_names(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "data", n=1)
    with pytest.raises(ValueError, match="both halves"):
        build_triplets(ds, tmp_path / "out", strategy="crossfit", progress=False)
    with pytest.raises(ValueError, match="strategy"):
        build_triplets(ds, tmp_path / "out2", strategy="paper", progress=False)  # type: ignore[arg-type]
    cropped = PairedFolderDataset(tmp_path / "data" / "lq", tmp_path / "data" / "gt", task=2, crop=8)
    with pytest.raises(ValueError, match="crop"):
        build_triplets(cropped, tmp_path / "out3", strategy="mild", progress=False)
    dup = PairedImageDataset([ds.items[0], ds.items[0]], "dehaze")
    with pytest.raises(ValueError, match="unique"):
        build_triplets(dup, tmp_path / "out4", strategy="mild", progress=False)


def test_tiny_restorer_starts_as_identity() -> None:
    x = torch.rand(2, 3, 12, 12)
    assert torch.equal(TinyRestorer()(x), x)
