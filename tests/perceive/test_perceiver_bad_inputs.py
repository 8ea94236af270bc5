"""``QualityPerceiver``: other float dtypes scored in CLIP's dtype and returned in theirs; bad inputs named."""

from __future__ import annotations

import pytest
import torch

from perceive_ir import QualityPerceiver


@pytest.fixture(scope="module")
def perceiver():
    from perceive_ir.testing import tiny_clip_config

    torch.manual_seed(0)
    return QualityPerceiver(tiny_clip_config(), None, n_ctx=4).eval()


@pytest.mark.parametrize("dtype", (torch.float64, torch.float16, torch.bfloat16), ids=str)
def test_other_float_dtypes_are_scored(perceiver, dtype):
    images = torch.rand(2, 3, 32, 32).to(dtype)
    with torch.no_grad():
        logits = perceiver(images)
        expected = perceiver(images.float())
        score = perceiver.score(images)
    assert logits.dtype == score.dtype == dtype
    torch.testing.assert_close(logits, expected.to(dtype))
    loss = perceiver.triplet_loss(images, images, images)
    assert torch.isfinite(loss)


def test_integer_images_are_refused_naming_the_argument(perceiver):
    with pytest.raises(TypeError, match="`images` must be a floating-point"):
        perceiver(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(TypeError, match="`medium` must be a floating-point"):
        x = torch.rand(1, 3, 32, 32)
        perceiver.triplet_loss(x, (x * 255).to(torch.uint8), x)
