"""The functional API of the quality-aware loss: each term on its own equals what the module reports."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from perceive_ir import QualityPerceiver
from perceive_ir.perceive.losses import Proxy, ProxyPSNRDifficulty, QualityAwareLoss, VGG16FeatureSpace, functional
from perceive_ir.perceive.losses.proxies import task_ids
from perceive_ir.testing import tiny_clip_config

TASKS = ["denoise", "dehaze", "denoise", "derain"]


@pytest.fixture(scope="module")
def perceiver() -> QualityPerceiver:
    torch.manual_seed(0)
    return QualityPerceiver(tiny_clip_config(), None, n_ctx=4)


def _batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    clean = torch.rand(4, 3, 32, 32, generator=g)
    return {
        "target": clean,
        "degraded": (clean + 0.2 * torch.rand(clean.shape, generator=g)).clamp(0, 1),
        "restored": (clean + 0.05 * torch.rand(clean.shape, generator=g)).clamp(0, 1),
        "z": F.normalize(torch.randn(4, 16, generator=g), dim=1),
        "z_positive": F.normalize(torch.randn(4, 16, generator=g), dim=1),
        "labels": torch.tensor([0, 0, 1, 2]),
    }


def _blur(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, 1, 1)


@pytest.mark.parametrize("space", ["clip", "vgg16"])
def test_each_term_computed_on_its_own_equals_the_modules_term(perceiver, space):
    feature_space = "clip" if space == "clip" else VGG16FeatureSpace(weights=None)
    proxy = Proxy(_blur, tasks=["denoise", "derain"], name="blur")
    loss_fn = QualityAwareLoss(perceiver, feature_space=feature_space, difficulty="perceiver", proxies=[proxy])
    b = _batch()
    out = loss_fn(b["restored"], b["target"], b["degraded"], z=b["z"], z_positive=b["z_positive"],
                  labels=b["labels"], tasks=TASKS)
    assert list(out.terms) == ["rec", "clip", "dpl", "cl"]

    space_module = loss_fn.feature_space
    embedding, features = functional.encode_restored(
        b["restored"], space_module, perceiver, need_features=True, need_embedding=True)
    tasks = task_ids(TASKS, 4)
    mask = proxy.valid_mask(tasks)
    mediums = [proxy.render(b["degraded"], tasks, mask=mask)]
    references = functional.encode_references(space_module, b["target"], b["degraded"], mediums, perceiver,
                                              need_medium_embedding=True)
    weights = functional.medium_negative_weights(
        loss_fn.difficulty, mediums, b["target"], perceiver=perceiver, restored_embedding=embedding,
        medium_embedding=references.medium_embedding, tasks=tasks, masks=mask[:, None])
    terms = {
        "rec": functional.restoration_term(b["restored"], b["target"]),
        "clip": functional.clip_quality_term(perceiver, embedding),
        "dpl": functional.perceptual_term(features, references, weights, space_module.layer_weights),
        "cl": functional.contrastive_term(b["z"], b["z_positive"], b["labels"]),
    }
    for name, term in terms.items():
        assert torch.equal(term, out.terms[name]), name
    assert torch.equal(weights, out.medium_weights)
    assert weights[1].tolist() == [0.0] and set(weights[[0, 2, 3], 0].tolist()) <= {0.75, 1.25}  # m_k masks dehaze
    w = loss_fn.weights
    total = w.rec * terms["rec"] + w.clip * terms["clip"] + w.dpl * terms["dpl"] + w.cl * terms["cl"]
    assert torch.equal(total, out.loss)


def test_a_term_is_differentiable_on_its_own(perceiver):
    b = _batch()
    restored = b["restored"].clone().requires_grad_()
    embedding, _ = functional.encode_restored(restored, VGG16FeatureSpace(weights=None), perceiver,
                                              need_embedding=True)
    assert embedding is not None
    functional.clip_quality_term(perceiver, embedding, logit_scale=False).backward()
    assert restored.grad is not None and restored.grad.abs().sum() > 0


def test_medium_psnr_is_the_per_sample_psnr_the_authors_rule_compares():
    b = _batch()
    psnr = functional.medium_psnr([b["degraded"], b["target"]], b["target"])
    assert psnr.shape == (4, 2)
    expected = -10 * torch.log10((b["degraded"] - b["target"]).square().flatten(1).mean(1))
    torch.testing.assert_close(psnr[:, 0], expected)
    assert torch.all(psnr[:, 1] == 80.0)  # identical images: the MSE floor 1e-8
    rule = ProxyPSNRDifficulty(per="sample")
    rule.reference = float(psnr[:, 0].median())
    weights = functional.medium_negative_weights(rule, [b["degraded"]], b["target"])
    assert weights[:, 0].tolist() == [1.25 if p <= rule.reference else 0.75 for p in psnr[:, 0].tolist()]


def test_the_functions_name_what_they_miss(perceiver):
    b = _batch()
    with pytest.raises(ValueError, match="needs a QualityPerceiver"):
        functional.encode_restored(b["restored"], VGG16FeatureSpace(weights=None), None, need_embedding=True)
    with pytest.raises(ValueError, match="CLIP embeddings"):
        functional.medium_negative_weights(
            QualityAwareLoss(perceiver, feature_space="clip", difficulty="perceiver").difficulty,
            [b["degraded"]], b["target"], perceiver=perceiver)
