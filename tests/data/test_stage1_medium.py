"""Stage 1 as the authors do it: fold hash, medium restorer, optimiser, resampling, crops, σ, noise, tiles."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch import nn

from perceive_ir.data import PairedImageDataset, PairItem, read_image, save_png
from perceive_ir.data.stage1_scenes import authors_noisy, fold_key, render_noise_seed, scene_fold, scene_table
from perceive_ir.inference.authors_paths import restore_per_tile
from perceive_ir.models.medium_restorers import DEFAULT_MEDIUM_RESTORER, medium_restorer
from perceive_ir.training.medium_training import (
    AUTHORS_TASK_RESAMPLING,
    epoch_order,
    medium_optimizer,
    random_crop_pair,
    train_medium_restorer,
    uses_bf16,
)
from perceive_ir.training.triplets import build_triplets


def _sha1_big_endian(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], byteorder="big")


@pytest.mark.parametrize(
    "key",
    ["derain|data/AiOIR/train/Derain/input/rain-1.png", "denoise|data/AiOIR/train/Denoise/gt/0001.bmp",
     "dehaze|/abs/path/0001_0.8_0.2.jpg", "lowlight|é/ü.png"],
)
def test_fold_is_sha1_big_endian_mod_2(key: str) -> None:
    assert scene_fold(key) == _sha1_big_endian(key) % 2
    assert scene_fold(key, folds=7) == _sha1_big_endian(key) % 7
    assert render_noise_seed(key) == int(hashlib.sha1(key.encode()).hexdigest()[:16], 16) % 2**31


def test_folds_split_real_names_about_evenly() -> None:
    keys = [fold_key("derain", f"data/AiOIR/train/Derain/input/rain-{i}.png") for i in range(1, 201)]
    assert keys[0] == "derain|data/AiOIR/train/Derain/input/rain-1.png"
    assert 70 < sum(scene_fold(k) for k in keys) < 130


def test_default_medium_restorer_is_the_authors() -> None:
    factory, multiple = medium_restorer(DEFAULT_MEDIUM_RESTORER)
    net = factory()
    assert type(net).__name__ == "MediumRestorer" and multiple == 8
    assert sum(p.numel() for p in net.parameters()) == 25_571_439


def test_adamw_and_cosine_endpoints() -> None:
    net = nn.Linear(4, 4)
    opt, sched = medium_optimizer(net, lr=2e-4, min_lr=1e-6, weight_decay=0.01, steps=20)
    assert isinstance(opt, torch.optim.AdamW)
    group = opt.param_groups[0]
    assert group["weight_decay"] == 0.01 and group["betas"] == (0.9, 0.999) and group["lr"] == 2e-4
    lrs = []
    for _ in range(20):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[-1] == pytest.approx(1e-6, abs=1e-12)
    assert lrs[9] == pytest.approx(1e-6 + (2e-4 - 1e-6) / 2, rel=1e-6)  # half way: the cosine's mean
    assert all(a > b for a, b in zip(lrs[:-1], lrs[1:], strict=True))


def test_task_resampling_counts_and_reshuffle() -> None:
    assert AUTHORS_TASK_RESAMPLING == {"denoise": 3, "dehaze": 1, "derain": 120, "deblur": 50, "lowlight": 40}
    tasks = ["denoise", "denoise", "dehaze", "derain", "deblur", "lowlight", "custom"]
    order = epoch_order(tasks, AUTHORS_TASK_RESAMPLING, seed=0, epoch=0)
    counts = Counter(order)
    assert [counts[i] for i in range(len(tasks))] == [3, 3, 1, 120, 50, 40, 1]
    # the authors' DistributedSampler order: randperm seeded by seed + epoch
    repeated = [i for i, t in enumerate(tasks) for _ in range(AUTHORS_TASK_RESAMPLING.get(t, 1))]
    perm = torch.randperm(len(repeated), generator=torch.Generator().manual_seed(0 + 1)).tolist()
    assert epoch_order(tasks, AUTHORS_TASK_RESAMPLING, seed=0, epoch=1) == [repeated[j] for j in perm]
    assert epoch_order(tasks, AUTHORS_TASK_RESAMPLING, seed=0, epoch=1) != order


def test_crops_flip_both_ways_and_small_images_are_upscaled() -> None:
    image = torch.arange(3 * 6 * 6, dtype=torch.float32).view(3, 6, 6) / (3 * 36)
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(64):
        low, high = random_crop_pair(image, image.clone(), 6, g)
        assert torch.equal(low, high)
        seen.add((torch.equal(low, image.flip(-1)), torch.equal(low, image.flip(-2)),
                  torch.equal(low, image.flip(-1).flip(-2)), torch.equal(low, image)))
    # identity, h flip, v flip and both all occur
    assert seen == {(False, False, False, True), (True, False, False, False), (False, True, False, False),
                    (False, False, True, False)}
    small = torch.rand(3, 10, 20)
    low, _ = random_crop_pair(small, small.clone(), 16, g)
    assert low.shape == (3, 16, 16)  # 10×20 upscaled to 16×32, then cropped


def test_every_read_draws_afresh(tmp_path: Path) -> None:
    """Repeats of a scene within an epoch get different crops, flips and noise."""
    clean = torch.rand(3, 40, 40)
    reads: list[tuple[torch.Tensor, torch.Tensor]] = []

    def read_pair(position: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return authors_noisy(clean, 25, generator), clean

    class Spy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            reads.extend((b, b) for b in x)
            return x + self.w

    train_medium_restorer(Spy, read_pair, ["denoise"], steps=3, crop=16, batch_size=3, lr=1e-3, min_lr=1e-6,
                          weight_decay=0.01, task_resampling={"denoise": 3}, precision="fp32", seed=0,
                          device=torch.device("cpu"), progress=False)
    crops = [r[0] for r in reads]
    assert len(crops) == 9  # one scene, three repeats per epoch, three epochs
    assert all(not torch.equal(a, b) for i, a in enumerate(crops) for b in crops[i + 1 :])


def test_authors_noise_is_8bit_truncated() -> None:
    clean = torch.rand(3, 8, 8)
    noisy = authors_noisy(clean, 50, torch.Generator().manual_seed(3))
    n = torch.randn(clean.shape, generator=torch.Generator().manual_seed(3))
    expected = torch.floor((clean * 255 + n * 50).clamp(0, 255)) / 255
    assert torch.equal(noisy, expected)


def _denoise_set(root: Path, n: int) -> PairedImageDataset:
    items = []
    for i in range(n):
        path = root / f"img{i:02d}.png"
        save_png(torch.rand(3, 20, 20, generator=torch.Generator().manual_seed(i)), path)
        items += [PairItem(f"img{i:02d}@noise{s}", path, degradation=f"noise{s}") for s in (50, 15, 25)]
    return PairedImageDataset(items, "denoise")


def test_one_sigma_per_image_cycling_in_sorted_path_order(tmp_path: Path) -> None:
    ds = _denoise_set(tmp_path, 7)
    scenes = scene_table(ds)
    assert [s.name for s in scenes] == [f"img{i:02d}@noise{(15, 25, 50)[i % 3]}" for i in range(7)]
    assert [s.sigma for s in scenes] == [float((15, 25, 50)[i % 3]) for i in range(7)]
    # every σ of an image shares its fold key: the clean file, as the authors key denoising scenes
    assert all(s.key == f"denoise|{tmp_path / s.name.split('@')[0]}.png" for s in scenes)
    assert len(scene_table(ds, denoise_sigmas="all")) == 21
    partial = PairedImageDataset([it for it in ds.items if it.degradation == "noise25"], "denoise")
    with pytest.raises(ValueError, match="denoise_sigmas='all'"):
        scene_table(partial)


def test_end_to_end_denoising_triplets_match_the_authors_renderer(tmp_path: Path) -> None:
    ds = _denoise_set(tmp_path / "data", 8)
    out = tmp_path / "out"
    m = build_triplets(ds, out, strategy="crossfit", steps=2, crop=16, batch_size=2, restorer_factory="tiny",
                       fold_path=lambda p: Path(p).name, progress=False)
    doc = json.loads(m.read_text())
    assert doc["settings"]["precision"] == "fp32" and doc["settings"]["denoise_sigmas"] == "cycle"
    assert len(doc["scenes"]) == 8 and {e["fold"] for e in doc["scenes"]} == {0, 1}
    for entry in doc["scenes"]:
        image = entry["name"].split("@")[0]
        assert entry["fold_key"] == f"denoise|{image}.png"
        assert entry["fold"] == _sha1_big_endian(entry["fold_key"]) % 2
        # the low image is the authors' deterministic 8-bit noise for this key
        clean = read_image(tmp_path / "data" / f"{image}.png")
        low = authors_noisy(clean, entry["sigma"], torch.Generator().manual_seed(render_noise_seed(entry["fold_key"])))
        assert torch.equal(read_image(out / entry["low"]), low)


def test_uniform_tiles_average_overlaps_and_pad_each_tile() -> None:
    x = torch.rand(1, 3, 50, 37)
    sizes: list[tuple[int, int]] = []

    def fn(t: torch.Tensor) -> torch.Tensor:
        sizes.append(tuple(t.shape[-2:]))
        return t + 1

    y = restore_per_tile(fn, x, tile=16, overlap=4, multiple=8, clamp_tiles=False)
    assert torch.allclose(y, x + 1)
    assert all(h % 8 == 0 and w % 8 == 0 for h, w in sizes)
    # the authors' positions: every 12 px, plus one flush with the far edge
    assert len(sizes) == len([0, 12, 24, 34]) * len([0, 12, 21])


def test_precision_auto_is_fp32_on_cpu() -> None:
    assert uses_bf16("auto", torch.device("cpu")) is False
    assert uses_bf16("fp32", torch.device("cuda")) is False
    with pytest.raises(ValueError, match="precision"):
        uses_bf16("fp16", torch.device("cpu"))  # type: ignore[arg-type]


def test_heldout_restorers_render_their_fold_and_train_nothing(tmp_path: Path, monkeypatch) -> None:
    import perceive_ir.training.crossfit as crossfit_mod
    from perceive_ir.models import TinyRestorer
    from perceive_ir.training import load_crossfit_restorers

    def shifted(value: float) -> TinyRestorer:
        net = TinyRestorer()
        nn.init.constant_(net.body[-1].bias, value)
        return net

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("heldout_restorers are given: nothing may be trained")

    monkeypatch.setattr(crossfit_mod, "_train_restorer", no_training)
    ds = _denoise_set(tmp_path / "data", 8)
    nets = [shifted(0.2), shifted(-0.2)]  # holding out fold 0, fold 1
    m = build_triplets(ds, tmp_path / "out", restorer_factory=TinyRestorer, heldout_restorers=nets,
                       fold_path=lambda p: Path(p).name, progress=False)
    for entry in json.loads(m.read_text())["scenes"]:
        low, medium = read_image(tmp_path / "out" / entry["low"]), read_image(tmp_path / "out" / entry["medium"])
        with torch.no_grad():
            expected = nets[entry["fold"]](low[None])[0].clamp(0, 1)
        assert torch.equal(medium, (expected * 255).to(torch.uint8).float() / 255)
    # saved as the build's checkpoints: fold<f> = trained on fold f = holding out the other one
    loaded = load_crossfit_restorers(tmp_path / "out", restorer_factory=TinyRestorer)
    x = torch.full((1, 3, 8, 8), 0.5)
    assert [round(float(r(x).mean()), 4) for r in loaded] == [0.3, 0.7]
    with pytest.raises(ValueError, match="two nn.Modules"):
        build_triplets(ds, tmp_path / "o2", heldout_restorers=nets[:1], progress=False)


def test_an_epoch_smaller_than_a_batch_runs_on_into_the_next() -> None:
    from perceive_ir.training.medium_training import _batches

    batches = _batches(["dehaze", "dehaze", "derain"], {"derain": 2}, seed=0, batch_size=3)
    assert [len(next(batches)) for _ in range(3)] == [3, 3, 3]  # 4 per epoch: the 4th sample is dropped
    tiny = _batches(["dehaze"], {}, seed=0, batch_size=4)
    assert next(tiny) == [0, 0, 0, 0]  # one sample per epoch: four epochs make a batch


def test_bf16_autocast_trains_on_cpu_when_asked() -> None:
    from perceive_ir.models import TinyRestorer

    clean = torch.rand(3, 24, 24)
    net = train_medium_restorer(TinyRestorer, lambda i, g: (authors_noisy(clean, 25, g), clean), ["denoise"],
                                steps=2, crop=16, batch_size=2, lr=1e-3, min_lr=1e-6, weight_decay=0.01,
                                task_resampling={"denoise": 3}, precision="bf16", seed=0,
                                device=torch.device("cpu"), progress=False)
    assert not net.training and next(net.parameters()).dtype == torch.float32
