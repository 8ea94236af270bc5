"""Paired-folder datasets, image IO, aligned crops: pairing and loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from perceive_ir.data import (
    ImageReadError,
    PairedAugment,
    PairedFolderDataset,
    PairedImageDataset,
    PairItem,
    read_image,
    save_png,
)

from ._helpers import constant, write_image


def _make_pairs(root: Path, n: int = 4, ext_deg: str = ".png", ext_clean: str = ".png") -> dict[str, float]:
    values = {}
    for i in range(n):
        v = 0.2 + 0.15 * i
        values[f"img{i:02d}"] = v
        write_image(root / "clean" / f"img{i:02d}{ext_clean}", constant(v, 40, 48))
        write_image(root / "degraded" / f"img{i:02d}{ext_deg}", constant(v / 2, 40, 48))
    return values


def test_pairs_match_by_name(tmp_path: Path) -> None:
    values = _make_pairs(tmp_path, ext_deg=".jpg")
    ds = PairedFolderDataset(tmp_path / "degraded", tmp_path / "clean", task="derain")
    assert len(ds) == 4 and ds.task == "derain" and ds.task_id == 1
    for i in range(len(ds)):
        s = ds[i]
        assert set(s) == {"degraded", "clean", "task", "name"}
        assert s["clean"].dtype == torch.float32 and s["clean"].shape == (3, 40, 48)
        assert abs(float(s["clean"].mean()) - values[s["name"]]) < 0.01
        assert abs(float(s["degraded"].mean()) - values[s["name"]] / 2) < 0.01
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["task"].tolist() == [1, 1, 1, 1] and batch["degraded"].shape == (4, 3, 40, 48)


def test_missing_counterpart_lists_the_files(tmp_path: Path) -> None:
    _make_pairs(tmp_path)
    (tmp_path / "clean" / "img01.png").unlink()
    write_image(tmp_path / "clean" / "extra.png", constant(0.5))
    with pytest.raises(ValueError, match="img01") as info:
        PairedFolderDataset(tmp_path / "degraded", tmp_path / "clean", task=0)
    assert "extra.png" in str(info.value)


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    (tmp_path / "degraded").mkdir()
    _make_pairs(tmp_path / "other")
    with pytest.raises(ValueError, match="No images"):
        PairedFolderDataset(tmp_path / "degraded", tmp_path / "other" / "clean", task=0)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        PairedFolderDataset(tmp_path / "nowhere", tmp_path / "other" / "clean", task=0)


def test_corrupt_file_names_the_file(tmp_path: Path) -> None:
    _make_pairs(tmp_path)
    bad = tmp_path / "degraded" / "img02.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    ds = PairedFolderDataset(tmp_path / "degraded", tmp_path / "clean", task=0)
    ds[0]
    with pytest.raises(ImageReadError, match="img02.png"):
        ds[2]
    trunc = tmp_path / "clean" / "img03.png"
    trunc.write_bytes(trunc.read_bytes()[:60])
    with pytest.raises(ImageReadError, match="img03.png"):
        ds[3]


def test_size_mismatch_is_an_error(tmp_path: Path) -> None:
    _make_pairs(tmp_path, n=1)
    write_image(tmp_path / "degraded" / "img00.png", constant(0.1, 20, 20))
    ds = PairedFolderDataset(tmp_path / "degraded", tmp_path / "clean", task=0)
    with pytest.raises(ValueError, match="img00"):
        ds[0]


def test_missing_file_in_items_is_reported(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", constant(0.3))
    with pytest.raises(FileNotFoundError, match="b.png"):
        PairedImageDataset([PairItem("a", tmp_path / "a.png", degraded=tmp_path / "b.png")], "denoise")
    with pytest.raises(ValueError, match="exactly one"):
        PairItem("a", tmp_path / "a.png")
    with pytest.raises(ValueError, match="Unknown task"):
        PairedImageDataset([PairItem("a", tmp_path / "a.png", degradation="noise15")], "denoising")


def test_aligned_crops_and_flips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    for i in range(3):
        clean = torch.rand(3, 37, 53)
        save_png(clean, tmp_path / "clean" / f"{i}.png")
        save_png(clean.flip(0), tmp_path / "degraded" / f"{i}.png")  # channel-reversed: a pointwise map
    ds = PairedFolderDataset(tmp_path / "degraded", tmp_path / "clean", task=3, crop=16, hflip=True, vflip=True,
                             seed=5)
    for i in range(3):
        s = ds[i]
        assert s["degraded"].shape == (3, 16, 16)
        assert torch.equal(s["degraded"], s["clean"].flip(0))
    assert torch.equal(ds[1]["clean"], ds[1]["clean"])  # seeded: same epoch, same crop
    first = ds[1]["clean"]
    ds.set_epoch(1)
    assert not torch.equal(ds[1]["clean"], first)
    # smaller than the crop: upscaled (the authors' rule), or an error when upscaling is off
    big = PairedFolderDataset(tmp_path / "degraded", tmp_path / "clean", task=3, crop=64, seed=0)[0]
    assert big["degraded"].shape == big["clean"].shape == (3, 64, 64)
    assert torch.allclose(big["degraded"], big["clean"].flip(0), atol=1 / 255 + 1e-6)
    with pytest.raises(ValueError, match="crop"):
        PairedAugment(crop=64, upscale_small=False)([torch.rand(3, 37, 53)])


def test_synthesised_pairs_fixed_and_fresh_seeds(tmp_path: Path) -> None:
    clean = tmp_path / "c.png"
    save_png(torch.rand(3, 32, 32), clean)
    fixed = PairedImageDataset([PairItem("c", clean, degradation="noise25", seed=11)], "denoise")
    assert torch.equal(fixed[0]["degraded"], fixed[0]["degraded"])
    fresh = PairedImageDataset([PairItem("c", clean, degradation="noise25")], "denoise")
    assert not torch.equal(fresh[0]["degraded"], fresh[0]["degraded"])
    noise = fixed[0]["degraded"] - fixed[0]["clean"]
    assert 15 < float(noise.std()) * 255 < 30


def test_read_image_gray_and_missing(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("L", (7, 5), color=128).save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.shape == (3, 5, 7) and abs(float(img.mean()) - 128 / 255) < 1e-6
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")


def test_save_png_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    target = tmp_path / "out.png"
    save_png(constant(0.5), target)
    before = target.read_bytes()

    def boom(self, *a, **k):  # noqa: ANN001
        raise RuntimeError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_png(constant(0.9), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_paired_augment_validates() -> None:
    with pytest.raises(ValueError, match="crop"):
        PairedAugment(crop=0)
    with pytest.raises(ValueError, match="sizes must match"):
        PairedAugment(crop=4)([torch.rand(3, 8, 8), torch.rand(3, 9, 8)])
