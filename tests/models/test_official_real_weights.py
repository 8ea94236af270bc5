"""The authors' real released weights, where a user has them (never in CI: no weights can be downloaded there).

Run with ``PERCEIVE_IR_REAL_WEIGHTS=1 PERCEIVE_IR_OFFICIAL_WEIGHTS=<the authors' weight/ folder>`` and
DINOv2-base / OpenAI ViT-B/32 in the Hugging Face cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torchmetrics.functional import peak_signal_noise_ratio

from perceive_ir import QualityPerceiver
from perceive_ir.inference.restore import restore
from perceive_ir.models.official import PerceiveIRNet, load_official

pytestmark = pytest.mark.real_weights
WEIGHTS = Path(os.environ.get("PERCEIVE_IR_OFFICIAL_WEIGHTS", "/nonexistent"))
if os.environ.get("PERCEIVE_IR_REAL_WEIGHTS") != "1" or not WEIGHTS.is_dir():
    pytest.skip("needs PERCEIVE_IR_REAL_WEIGHTS=1 and PERCEIVE_IR_OFFICIAL_WEIGHTS=<the authors' weight/ folder>",
                allow_module_level=True)


def _noisy_astronaut(sigma: float = 25 / 255) -> tuple[torch.Tensor, torch.Tensor]:
    from skimage import data

    clean = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float()[None, :, :256, :256] / 255
    noisy = (clean + sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    return clean, noisy


def test_the_3task_restorer_denoises():
    net = load_official(WEIGHTS / "perceiveIR_3task.pth", semantic_encoder="facebook/dinov2-base")
    assert isinstance(net, PerceiveIRNet)
    clean, noisy = _noisy_astronaut()
    restored = restore(net, noisy).clamp(0, 1)
    assert peak_signal_noise_ratio(restored, clean, data_range=1.0) > peak_signal_noise_ratio(noisy, clean) + 5


def test_the_prompts_rate_a_clean_image_above_its_noisy_copy():
    perceiver = QualityPerceiver.from_official(WEIGHTS / "stage1" / "quality_prompts_100000.pth")
    clean, noisy = _noisy_astronaut(50 / 255)
    with torch.no_grad():
        assert perceiver.score(clean) > perceiver.score(noisy)
