"""CFE and its contrastive loss: other float dtypes, bad inputs named, degenerate batches not silent."""

from __future__ import annotations

import warnings

import pytest
import torch

from perceive_ir import CompactFeatureExtractor, degradation_contrastive_loss
from perceive_ir.perceive import contrastive as contrastive_module
from perceive_ir.perceive.cfe import DegenerateLossWarning  # still importable from its earlier home


@pytest.mark.parametrize("dtype", (torch.float64, torch.float16, torch.bfloat16), ids=str)
def test_other_float_dtypes_compute_in_float32_and_come_back_in_their_own(dtype):
    cfe = CompactFeatureExtractor(dim=16)
    x = torch.rand(2, 3, 32, 32).to(dtype)
    z = cfe(x)
    assert z.dtype == dtype
    torch.testing.assert_close(z, cfe(x.float()).to(dtype))


def test_integer_images_are_refused_naming_the_argument():
    with pytest.raises(TypeError, match="`degraded` must be a floating-point"):
        CompactFeatureExtractor(dim=16)(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))


@pytest.fixture
def fresh_warning(monkeypatch):
    monkeypatch.setattr(contrastive_module, "_warned_degenerate", False)


@pytest.mark.parametrize(
    "anchor, labels",
    [(torch.randn(1, 8), None), (torch.randn(4, 8), torch.zeros(4, dtype=torch.long))],
    ids=["batch-of-one", "one-label"],
)
def test_no_negatives_warns_once(fresh_warning, anchor, labels):
    anchor.requires_grad_(True)
    with pytest.warns(DegenerateLossWarning, match="no negative"):
        loss = degradation_contrastive_loss(anchor, torch.randn_like(anchor), labels)
    assert loss.item() == 0.0  # the silent zero the warning is about
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second degenerate batch: no second warning
        degradation_contrastive_loss(anchor, torch.randn_like(anchor), labels)


def test_no_negatives_raises_on_request(fresh_warning):
    with pytest.raises(ValueError, match="1 of 1 sample"):
        degradation_contrastive_loss(torch.randn(1, 8), torch.randn(1, 8), degenerate="raise")
    with pytest.raises(ValueError, match="`degenerate` must be 'warn' or 'raise'"):
        degradation_contrastive_loss(torch.randn(2, 8), torch.randn(2, 8), degenerate="ignore")


def test_a_batch_with_negatives_does_not_warn(fresh_warning):
    labels = torch.tensor([0, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = degradation_contrastive_loss(torch.randn(4, 8), torch.randn(4, 8), labels, degenerate="raise")
    assert loss.item() > 0


def test_the_quality_aware_loss_passes_the_choice_on(fresh_warning):
    from perceive_ir import QualityAwareLoss

    loss_fn = QualityAwareLoss(None, weights={"clip": 0, "dpl": 0}, feature_space=lambda t: [t], degenerate="raise")
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="no negative"):
        loss_fn(x, x, x, z=torch.randn(1, 8), z_positive=torch.randn(1, 8))
    with pytest.raises(ValueError, match="`degenerate` must be 'warn' or 'raise'"):
        QualityAwareLoss(None, weights={"clip": 0, "dpl": 0}, feature_space=lambda t: [t], degenerate="no")
