"""Through the training loop: each repeat of a sample in an epoch gets its own crop; runs repeat; resume continues."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import torch
from torch import nn

from perceive_ir import QualityPerceiver
from perceive_ir.data import POSITIVE_KEY, PairedFolderDataset
from perceive_ir.data.io import save_png
from perceive_ir.testing import tiny_clip_config
from perceive_ir.training import Callback, PerceiverTrainer, RestorationTrainer, TrainConfig, build_triplets


class _Record(Callback):
    """Keeps every micro-batch the step module sees (its images and keys), in order."""

    def __init__(self, *keys: str, kill_at: int | None = None) -> None:
        self.keys, self.kill_at, self.batches = keys, kill_at, []

    def loss_terms(self, model, batch):  # noqa: ANN001
        self.batches.append({k: batch[k].detach().clone() for k in (*self.keys, "index", "position")})
        return {}

    def on_step_end(self, trainer, step, logs):  # noqa: ANN001
        if step == self.kill_at:
            raise KeyboardInterrupt


def _datasets(root: Path) -> list[PairedFolderDataset]:
    g = torch.Generator().manual_seed(5)
    out = []
    for task, n in (("derain", 2), ("lowlight", 1)):
        for i in range(n):
            clean = torch.rand(3, 40, 40, generator=g)
            save_png(clean, root / task / "gt" / f"{i}.png")
            save_png(clean * 0.5, root / task / "lq" / f"{i}.png")
        out.append(PairedFolderDataset(root / task / "lq", root / task / "gt", task=task, crop=16, hflip=True,
                                       vflip=True, seed=7, positive=True))
    return out


def _stage2(tmp_path: Path, name: str, record: _Record) -> RestorationTrainer:
    cfg = TrainConfig(output_dir=str(tmp_path / name), batch_size=4, max_steps=6, lr=1e-3, progress=False,
                      checkpoint_every=3, seed=2)
    return RestorationTrainer(lambda: nn.Conv2d(3, 3, 3, padding=1), _datasets(tmp_path / "data"), cfg,
                              repeats=[4, 4], callbacks=[record])


def _distinct_per_sample(batches: list[dict], key: str) -> int:
    """Checks that no two reads of one index hold the same crop; returns the largest repeat count."""
    reads: dict[int, list[torch.Tensor]] = defaultdict(list)
    for b in batches:
        for i, crop in zip(b["index"].tolist(), b[key], strict=True):
            reads[i].append(crop)
    for i, crops in reads.items():
        for a in range(len(crops)):
            for c in range(a):
                assert not torch.equal(crops[a], crops[c]), (key, i, a, c)
    return max(len(c) for c in reads.values())


def test_stage2_repeats_get_fresh_crops_and_runs_repeat_exactly(tmp_path: Path) -> None:
    straight = _Record("degraded", "clean", POSITIVE_KEY)
    _stage2(tmp_path, "straight", straight).train()
    # an epoch is (2·4 + 1·4) = 12 reads = 3 steps of 4: every sample is read 4 times in it
    first_epoch = straight.batches[:3]
    assert _distinct_per_sample(first_epoch, "degraded") == 4
    _distinct_per_sample(first_epoch, POSITIVE_KEY)
    for b in straight.batches:  # the positive is another crop than the anchor, the clean crop is aligned
        assert not any(torch.equal(x, y) for x, y in zip(b["degraded"], b[POSITIVE_KEY], strict=True))
        assert torch.allclose(b["degraded"], b["clean"] * 0.5, atol=1 / 255 + 1e-6)
    positions = torch.cat([b["position"] for b in straight.batches]).tolist()
    assert positions == list(range(12)) * 2

    # the same seed gives the same batches
    again = _Record("degraded", "clean", POSITIVE_KEY)
    _stage2(tmp_path, "again", again).train()
    for a, b in zip(straight.batches, again.batches, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)

    # killed after step 4 (checkpoint at 3) and resumed: the same batches from step 4 on
    with pytest.raises(KeyboardInterrupt):
        _stage2(tmp_path, "killed", _Record("degraded", kill_at=4)).train()
    torch.manual_seed(99)
    resumed = _Record("degraded", POSITIVE_KEY)
    _stage2(tmp_path, "killed", resumed).train(resume="latest")
    assert len(resumed.batches) == 3
    for a, b in zip(straight.batches[3:], resumed.batches, strict=True):
        assert torch.equal(a["position"], b["position"]) and torch.equal(a["degraded"], b["degraded"])
        assert torch.equal(a[POSITIVE_KEY], b[POSITIVE_KEY])


def test_stage1_draws_with_replacement_and_fresh_crops(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(8)
    for i in range(3):
        clean = torch.rand(3, 40, 40, generator=g)
        save_png(clean, tmp_path / "gt" / f"{i}.png")
        save_png(clean * 0.5, tmp_path / "lq" / f"{i}.png")
    scenes = PairedFolderDataset(tmp_path / "lq", tmp_path / "gt", task="derain")
    manifest = build_triplets(scenes, tmp_path / "triplets", strategy="mild", progress=False)

    def run(name: str, **kw) -> _Record:
        record = _Record("low", "high")
        cfg = TrainConfig(output_dir=str(tmp_path / name), batch_size=6, max_steps=2, lr=1e-3, progress=False,
                          seed=1)
        PerceiverTrainer(lambda: QualityPerceiver(tiny_clip_config(), None, n_ctx=4), manifest, cfg, crop=24,
                         callbacks=[record], **kw).train()
        return record

    record = run("a")
    for b in record.batches:  # one global batch of 6 per epoch from 3 scenes: scenes come back, each re-cropped
        assert b["index"].unique().numel() < 6
        assert _distinct_per_sample([b], "low") >= 2
    for a, b in zip(record.batches, run("b").batches, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)
    # [ours] sampling="repeat": every scene `repeats` times per epoch, without replacement, each read re-cropped
    repeat = run("repeat", sampling="repeat", repeats=[4])
    assert sorted(torch.cat([b["index"] for b in repeat.batches]).tolist()) == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert _distinct_per_sample(repeat.batches, "low") == 4
    with pytest.raises(ValueError, match="sampling='repeat'"):
        run("bad", repeats=[4])
