"""Tiny data, models and losses for the training tests (no network, seconds on a CPU)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from perceive_ir import QualityAwareLoss, QualityPerceiver, wrap_backbone
from perceive_ir.data import PairedFolderDataset
from perceive_ir.data.io import save_png
from perceive_ir.testing import tiny_clip_config, tiny_dinov2_config

SIZE = 36
CROP = 32


def write_pairs(root: Path, n: int = 4) -> list[PairedFolderDataset]:
    """Two tasks: noise (id 0) and darkening (id 4), ``n`` smooth scenes each, as PNG folders."""
    g = torch.Generator().manual_seed(123)
    datasets = []
    for task in ("denoise", "lowlight"):
        for i in range(n):
            base = torch.rand(3, 6, 6, generator=g)
            clean = torch.nn.functional.interpolate(base[None], size=(SIZE, SIZE), mode="bilinear")[0]
            if task == "denoise":
                degraded = (clean + 0.15 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
            else:
                degraded = clean * 0.4
            save_png(clean, root / task / "gt" / f"{i}.png")
            save_png(degraded, root / task / "lq" / f"{i}.png")
        datasets.append(PairedFolderDataset(root / task / "lq", root / task / "gt", task=task, crop=CROP,
                                            hflip=True, seed=7))
    return datasets


class TinyNet(nn.Module):
    """A residual conv net with a downsampled middle (so guidance has a latent to hook)."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.down = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.mid = nn.Conv2d(width, width, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2.0)
        self.tail = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = torch.relu(self.head(x))
        f = self.up(torch.relu(self.mid(torch.relu(self.down(f))))) + f
        return x + self.tail(f)


def wrapped_factory(semantic: bool = False):
    """A zero-argument factory (the trainers seed before calling it)."""

    def build() -> nn.Module:
        encoder = tiny_dinov2_config(num_hidden_layers=4) if semantic else None
        kwargs = {"semantic_layers": (1, 2, 3, 4)[: 2], "image_size": 28} if semantic else {}
        return wrap_backbone(TinyNet(), semantic_encoder=encoder, cond_dim=16, probe_size=16, multiple=2,
                             layers=("mid", "tail") if semantic else None, **kwargs)

    return build


def quality_loss(seed: int = 0, **kwargs) -> QualityAwareLoss:
    """The quality-aware loss on a tiny random perceiver; its CLIP tower is the feature space unless given."""
    torch.manual_seed(seed)
    perceiver = QualityPerceiver(tiny_clip_config(), None, n_ctx=4)
    return QualityAwareLoss(perceiver, **{"feature_space": "clip", **kwargs})


def box_blur() -> nn.Module:
    """A fixed 3×3 box blur: a weak 'proxy restorer' whose outputs are medium negatives."""
    conv = nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False, padding_mode="replicate")
    with torch.no_grad():
        conv.weight.fill_(1 / 9)
    return conv
