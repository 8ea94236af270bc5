"""``QualityAwareLoss``: other float dtypes computed in the loss's dtype, the loss returned in theirs."""

from __future__ import annotations

import pytest
import torch

from perceive_ir import QualityAwareLoss, QualityPerceiver


@pytest.fixture(scope="module")
def loss_fn():
    from perceive_ir.testing import tiny_clip_config

    torch.manual_seed(0)
    return QualityAwareLoss(QualityPerceiver(tiny_clip_config(), None, n_ctx=4), feature_space="clip", difficulty=1.0)


def _batch(dtype):
    g = torch.Generator().manual_seed(1)
    clean = torch.rand(2, 3, 32, 32, generator=g)
    degraded = (clean + 0.2 * torch.rand(clean.shape, generator=g)).clamp(0, 1)
    restored = (clean + 0.05 * torch.rand(clean.shape, generator=g)).clamp(0, 1)
    medium = (clean + 0.1 * torch.rand(clean.shape, generator=g)).clamp(0, 1)
    return [t.to(dtype) for t in (restored, clean, degraded, medium)]


@pytest.mark.parametrize("dtype", (torch.float64, torch.float16, torch.bfloat16), ids=str)
def test_other_float_dtypes_give_the_float32_loss_in_their_dtype(loss_fn, dtype):
    restored, clean, degraded, medium = _batch(dtype)
    restored.requires_grad_(True)
    out = loss_fn(restored, clean, degraded, medium=medium)
    expected = loss_fn(*(t.float() for t in (restored.detach(), clean, degraded)), medium=medium.float())
    assert out.loss.dtype == dtype
    torch.testing.assert_close(out.loss, expected.loss.to(dtype))
    out.loss.backward()
    assert restored.grad is not None and restored.grad.dtype == dtype and torch.isfinite(restored.grad).all()


def test_integer_images_are_refused_naming_the_argument(loss_fn):
    restored, clean, degraded, _ = _batch(torch.float32)
    with pytest.raises(TypeError, match="`target` must be a floating-point"):
        loss_fn(restored, (clean * 255).to(torch.uint8), degraded)
