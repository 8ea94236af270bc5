"""Per-read draws: every repeat of a sample gets its own crop/flips/noise, reproducibly; the CFE positive; upscaling."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import ConcatDataset, DataLoader

from perceive_ir.data import (
    POSITIVE_KEY,
    KeyedDataset,
    PairedFolderDataset,
    PairedImageDataset,
    PairItem,
    ReadKey,
    TaskBalancedSampler,
    TaskQuotaSampler,
    read_image,
    save_png,
    upscale_to_cover,
)


def _folder(root: Path, names: list[str], h: int = 40, w: int = 48, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for n in names:
        clean = torch.rand(3, h, w, generator=g)
        save_png(clean, root / "gt" / f"{n}.png")
        save_png((clean * 0.5).clamp(0, 1), root / "lq" / f"{n}.png")


def _train(tmp_path: Path, **kw) -> ConcatDataset:
    _folder(tmp_path / "a", ["a0", "a1"])
    _folder(tmp_path / "b", ["b0"], seed=1)
    opts = {"crop": 16, "hflip": True, "vflip": True, "seed": 0, **kw}
    return ConcatDataset([PairedFolderDataset(tmp_path / "a" / "lq", tmp_path / "a" / "gt", task="derain", **opts),
                          PairedFolderDataset(tmp_path / "b" / "lq", tmp_path / "b" / "gt", task="deblur", **opts)])


def _batch(train: ConcatDataset, keys: bool, epoch: int = 0) -> dict:
    sampler = TaskBalancedSampler(train, [5, 3], seed=0, keys=keys)
    sampler.set_epoch(epoch)
    data = KeyedDataset(train) if keys else train
    return next(iter(DataLoader(data, batch_size=len(sampler), sampler=sampler)))


def _by_name(batch: dict) -> dict[str, list[torch.Tensor]]:
    out: dict[str, list[torch.Tensor]] = defaultdict(list)
    for name, crop in zip(batch["name"], batch["degraded"], strict=True):
        out[name].append(crop)
    return out


def test_each_repeat_gets_its_own_crop_through_the_sampler(tmp_path: Path) -> None:
    train = _train(tmp_path)
    batch = _batch(train, keys=True)
    groups = _by_name(batch)
    assert {k: len(v) for k, v in groups.items()} == {"a0": 5, "a1": 5, "b0": 3}
    for name, crops in groups.items():
        for i in range(len(crops)):
            for j in range(i):
                assert not torch.equal(crops[i], crops[j]), (name, i, j)
    # the crops stay aligned with their clean side (the degraded file is half the clean one)
    assert torch.allclose(batch["degraded"], batch["clean"] * 0.5, atol=1 / 255 + 1e-6)
    # same seed, same batch; another epoch, other draws
    again = _batch(_train(tmp_path / "again"), keys=True)
    assert torch.equal(batch["degraded"], again["degraded"]) and batch["name"] == again["name"]
    assert not torch.equal(_batch(train, keys=True, epoch=1)["degraded"], batch["degraded"])
    # plain indices read one draw per (seed, epoch, index): all repeats alike (why the keys exist)
    plain = _by_name(_batch(train, keys=False))
    assert all(torch.equal(c, crops[0]) for crops in plain.values() for c in crops)


def test_synthetic_noise_is_drawn_per_read(tmp_path: Path) -> None:
    save_png(torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(2)), tmp_path / "c.png")
    ds = PairedImageDataset([PairItem("c", tmp_path / "c.png", degradation="noise25")], "denoise", seed=3)
    reads = [ds[ReadKey(0, 0, p)] for p in range(4)]
    noise = [r["degraded"] - r["clean"] for r in reads]
    assert all(not torch.equal(noise[i], noise[j]) for i in range(4) for j in range(i))
    assert torch.equal(ds[ReadKey(0, 0, 2)]["degraded"], reads[2]["degraded"])  # reproducible
    assert torch.equal(ds[0]["degraded"], ds[0]["degraded"])  # a plain read: one draw per (epoch, index)


def test_ddp_ranks_read_distinct_positions(tmp_path: Path) -> None:
    train = _train(tmp_path)
    keys = [TaskBalancedSampler(train, [5, 3], seed=0, num_replicas=2, rank=r, keys=True).read_keys()
            for r in (0, 1)]
    single = TaskBalancedSampler(train, [5, 3], seed=0, keys=True).read_keys()
    positions = sorted(k.position for ks in keys for k in ks)
    assert positions == list(range(len(positions))) and len(positions) >= len(single)
    # rank r's j-th read is the single process's read at position 2j + r: the same draw as one process
    for r, ks in enumerate(keys):
        for k in ks:
            assert k.position % 2 == r
            if k.position < len(single):
                assert single[k.position] == k
    a, b = keys[0][0], keys[1][0]
    assert a.position != b.position
    both = KeyedDataset(train)
    assert not torch.equal(both[a._replace(index=b.index)]["degraded"], both[b]["degraded"])


def _find(window: torch.Tensor, image: torch.Tensor) -> list[tuple[int, int, bool, bool]]:
    """Every (y, x, hflip, vflip) at which ``window`` is an exact crop of ``image``."""
    s = window.shape[-1]
    hits = []
    for y in range(image.shape[-2] - s + 1):
        for x in range(image.shape[-1] - s + 1):
            crop = image[:, y : y + s, x : x + s]
            for hf in (False, True):
                for vf in (False, True):
                    c = crop.flip(-1) if hf else crop
                    c = c.flip(-2) if vf else c
                    if torch.equal(c, window):
                        hits.append((y, x, hf, vf))
    return hits


def test_positive_is_another_crop_of_the_same_degraded_file(tmp_path: Path) -> None:
    _folder(tmp_path, ["s"], h=20, w=24)
    ds = PairedFolderDataset(tmp_path / "lq", tmp_path / "gt", task="derain", crop=16, hflip=True, vflip=True,
                             seed=0, positive=True)
    full = read_image(tmp_path / "lq" / "s.png")
    places = set()
    for p in range(6):
        s = ds[ReadKey(0, 0, p)]
        assert set(s) == {"degraded", "clean", "task", "name", POSITIVE_KEY}
        assert s[POSITIVE_KEY].shape == s["degraded"].shape == (3, 16, 16)
        assert not torch.equal(s[POSITIVE_KEY], s["degraded"])
        anchor, positive = _find(s["degraded"], full), _find(s[POSITIVE_KEY], full)
        assert len(anchor) == 1 and len(positive) == 1 and anchor != positive
        places.add(positive[0])
    assert len(places) > 3 and any(hf for _, _, hf, _ in places) and any(vf for _, _, _, vf in places)
    assert POSITIVE_KEY not in PairedFolderDataset(tmp_path / "lq", tmp_path / "gt", task="derain", crop=16)[0]


def test_noise_positive_is_cut_from_the_anchors_realisation(tmp_path: Path) -> None:
    clean_full = torch.rand(3, 20, 20, generator=torch.Generator().manual_seed(4))
    save_png(clean_full, tmp_path / "c.png")
    clean_full = read_image(tmp_path / "c.png")
    ds = PairedImageDataset([PairItem("c", tmp_path / "c.png", degradation="noise25")], "denoise", crop=16,
                            hflip=False, vflip=False, seed=1, positive=True)
    for p in range(4):
        s = ds[ReadKey(0, 0, p)]
        ((ay, ax, _, _),) = _find(s["clean"], clean_full)  # the anchor's box, from its clean crop
        # the positive's box: where cropping the clean image leaves a noise-sized residual
        errors = {(y, x): float((s[POSITIVE_KEY] - clean_full[:, y : y + 16, x : x + 16]).std())
                  for y in range(5) for x in range(5)}
        (py, px), best = min(errors.items(), key=lambda kv: kv[1])
        assert 15 < best * 255 < 30 and sorted(errors.values())[1] > 2 * best
        assert (py, px) != (ay, ax)
        # one realisation: where the boxes overlap, the anchor and the positive hold the same noisy pixels
        top, left, bottom, right = max(ay, py), max(ax, px), min(ay, py) + 16, min(ax, px) + 16
        a = s["degraded"][:, top - ay : bottom - ay, left - ax : right - ax]
        b = s[POSITIVE_KEY][:, top - py : bottom - py, left - px : right - px]
        assert a.numel() > 0 and torch.equal(a, b)


def test_small_images_are_upscaled_like_pillow(tmp_path: Path) -> None:
    arr = np.random.default_rng(0).integers(0, 256, (30, 20, 3), dtype=np.uint8)
    image = torch.from_numpy(arr).permute(2, 0, 1).float() / 255
    (up,) = upscale_to_cover([image], 32)
    # the authors' rule: scale = crop / short side, size (max(crop, round(w·s)), max(crop, round(h·s)))
    ref = np.asarray(Image.fromarray(arr).resize((32, 48), Image.Resampling.BICUBIC))
    assert up.shape == (3, 48, 32)
    assert torch.equal((up * 255).round().to(torch.uint8), torch.from_numpy(ref.copy()).permute(2, 0, 1))
    assert upscale_to_cover([image], 16)[0] is image  # large enough: untouched
    with pytest.raises(ValueError, match="sizes must match"):
        upscale_to_cover([image, image[:, :10]], 32)
    # the datasets crop from the upscaled pair
    _folder(tmp_path, ["s"], h=30, w=20)
    s = PairedFolderDataset(tmp_path / "lq", tmp_path / "gt", task="derain", crop=32, seed=0)[0]
    assert s["degraded"].shape == s["clean"].shape == (3, 32, 32)
    # synthetic noise is added after the upscale, at full strength (an upscaled noise would be smoothed)
    save_png(torch.full((3, 12, 12), 0.5), tmp_path / "flat.png")
    noisy = PairedImageDataset([PairItem("f", tmp_path / "flat.png", degradation="noise25")], "denoise", crop=32,
                               seed=0, positive=True)[0]
    assert noisy["degraded"].shape == noisy[POSITIVE_KEY].shape == (3, 32, 32)
    assert 22 < float((noisy["degraded"] - noisy["clean"]).std()) * 255 < 28


def test_quota_sampler_fills_every_batch_with_each_task() -> None:
    train = ConcatDataset([torch.utils.data.TensorDataset(torch.zeros(n)) for n in (9, 1, 4)])
    s = TaskQuotaSampler(train, batch_size=8, seed=0)
    idx = list(s)
    assert len(idx) == len(s) == 16  # ceil(14 / 8) global batches
    task_of = [0] * 9 + [1] + [2] * 4
    for b in range(2):
        counts = [sum(task_of[i] == t for i in idx[8 * b : 8 * b + 8]) for t in range(3)]
        assert counts == [2 + int((t - 2 * b) % 3 < 2) for t in range(3)]  # 8 = 3·2 + 2 rotating extras
    assert idx.count(9) >= 4  # the one-scene task, drawn with replacement
    again = TaskQuotaSampler(train, batch_size=8, seed=0)
    assert list(again) == idx
    again.set_epoch(1)
    assert list(again) != idx
    ranks = [TaskQuotaSampler(train, batch_size=8, seed=0, num_replicas=2, rank=r, keys=True) for r in (0, 1)]
    for r, sampler in enumerate(ranks):
        keys = list(sampler)
        assert [k.index for k in keys] == idx[r::2] and [k.position for k in keys] == list(range(r, 16, 2))
    with pytest.raises(ValueError, match="multiple of num_replicas"):
        TaskQuotaSampler(train, batch_size=7, num_replicas=2, rank=0)
    with pytest.raises(ValueError, match="empty"):
        TaskQuotaSampler(ConcatDataset([torch.utils.data.TensorDataset(torch.zeros(0)), train]), batch_size=4)
