"""restore(mode="authors-direct" | "authors-tiled") runs the authors' two evaluators on their tiny network.

No reference output of the authors' tiled evaluator exists (shared/official_ref holds their direct
protocol only, tested in tests/apps/test_protocol_evaluation.py), so the tiled mode is compared
with a step-by-step re-implementation of ``evaluate_stage2.restore_tiled`` as the authors describe
it, on the authors' tiny network whose forward pass is itself checked against their outputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from perceive_ir.inference import restore
from perceive_ir.inference.authors_paths import tile_starts
from perceive_ir.models.official import PerceiveIRNet, load_official


@pytest.fixture
def net(official_ref: Path) -> PerceiveIRNet:
    restorer = official_ref / "restorer"
    return load_official(restorer / "perceiveIR_500000.pth", semantic_encoder=str(restorer / "dinov2_tiny"))


def _image() -> torch.Tensor:
    return torch.rand(1, 3, 37, 58, generator=torch.Generator().manual_seed(3))


def _their_tiled(net: PerceiveIRNet, low: torch.Tensor, tile: int, overlap: int) -> torch.Tensor:
    """evaluate_stage2.restore_tiled, written out: per-tile reflect pad to 8 and guidance, clamp, uniform mean."""
    _, _, height, width = low.shape
    total, count = torch.zeros_like(low), torch.zeros_like(low[:, :1])
    stride = tile - overlap

    def positions(length: int) -> list[int]:
        if length <= tile:
            return [0]
        starts = list(range(0, length - tile + 1, stride))
        return starts if starts[-1] == length - tile else [*starts, length - tile]

    with torch.no_grad():
        for top in positions(height):
            for left in positions(width):
                part = low[..., top : top + tile, left : left + tile]
                h, w = part.shape[-2:]
                padded = F.pad(part, (0, -w % 8, 0, -h % 8), mode="reflect")
                out = net.forward_with_guidance(padded, net.compute_guidance(padded))
                total[..., top : top + h, left : left + w] += out[..., :h, :w].clamp(0, 1)
                count[..., top : top + h, left : left + w] += 1
    return total / count.clamp_min(1)


def _their_direct(net: PerceiveIRNet, low: torch.Tensor) -> torch.Tensor:
    """evaluate_stage2_adair.restore_direct: replicate pad to 8, guidance on the padded image, crop."""
    h, w = low.shape[-2:]
    padded = F.pad(low, (0, -w % 8, 0, -h % 8), mode="replicate")
    with torch.no_grad():
        return net.forward_with_guidance(padded, net.compute_guidance(padded))[..., :h, :w]


def test_tiled_mode_is_the_authors_tiled_evaluator(net: PerceiveIRNet):
    low = _image()
    ours = restore(net, low, tile=28, overlap=6, mode="authors-tiled")
    theirs = _their_tiled(net, low, 28, 6)
    assert (ours - theirs).abs().max().item() < 1e-5
    # guidance per tile is not our default's whole-image guidance: the modes differ measurably
    assert (restore(net, low, tile=32, overlap=8) - ours).abs().max().item() > 1e-3


def test_direct_mode_is_the_authors_direct_path(net: PerceiveIRNet):
    low = _image()
    ours = restore(net, low, mode="authors-direct")
    assert (ours - _their_direct(net, low)).abs().max().item() < 1e-5
    assert (restore(net, low) - ours).abs().max().item() > 1e-4  # ours: guidance on the unpadded image


def test_tiled_mode_without_tile_is_one_reflect_padded_tile(net: PerceiveIRNet):
    low = _image()
    assert torch.allclose(restore(net, low, mode="authors-tiled"), _their_tiled(net, low, 58, 0), atol=1e-5)


def test_tile_starts_are_the_authors():
    assert tile_starts(600, 256, 32) == [0, 224, 344]
    assert tile_starts(480, 256, 32) == [0, 224]  # the last start is flush with the end: not repeated
    assert tile_starts(200, 256, 32) == [0]


def test_bad_modes_are_refused():
    image = torch.rand(3, 16, 16)
    with pytest.raises(ValueError, match="`mode` must be one of"):
        restore(torch.nn.Identity(), image, mode="authors")
    with pytest.raises(ValueError, match="`tile` must be None with mode='authors-direct'"):
        restore(torch.nn.Identity(), image, tile=8, mode="authors-direct")
    sr = torch.nn.Upsample(scale_factor=2)
    with pytest.raises(ValueError, match="input's size"):
        restore(sr, image, mode="authors-direct")


def test_restore_command_runs_the_authors_tiled_evaluator(official_ref: Path, net: PerceiveIRNet, tmp_path: Path):
    from perceive_ir.cli.main import main
    from perceive_ir.data import read_image, save_png

    save_png(_image()[0], tmp_path / "in.png")
    image = read_image(tmp_path / "in.png")
    restorer = official_ref / "restorer"
    assert main(["restore", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--device", "cpu", "--quiet",
                 "--model", str(restorer / "perceiveIR_500000.pth"), "--semantic-encoder",
                 str(restorer / "dinov2_tiny"), "--mode", "authors-tiled", "--tile", "28", "--overlap", "6"]) == 0
    expected = restore(net, image, tile=28, overlap=6, mode="authors-tiled")
    assert (read_image(tmp_path / "out.png") - expected).abs().max().item() <= 0.5 / 255 + 1e-6
