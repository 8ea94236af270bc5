"""The perception modules and the loss terms on every available device and float dtype.

Outputs stay on the input's device, in its dtype, finite and of the documented shape. The frozen
encoders (DINOv2, CLIP) move with their module: moved to float64 they compute in float64.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from perceive_ir import CompactFeatureExtractor, QualityPerceiver, SemanticGuidance
from perceive_ir.perceive.losses import ClipFeatureSpace, FixedDifficulty, QualityAwareLoss, functional
from perceive_ir.testing import tiny_clip_config, tiny_dinov2_config

from .._gradcheck import module_gradcheck
from .._module_checks import assert_keeps_device_and_dtype, randomise_, tolerance


@pytest.fixture(scope="module")
def cpu_perceiver() -> QualityPerceiver:
    torch.manual_seed(0)
    return QualityPerceiver(tiny_clip_config(), None, n_ctx=4).eval()


@pytest.fixture
def perceiver(cpu_perceiver, device, float_dtype) -> QualityPerceiver:
    # `.to` moves the module in place: restore the shared one afterwards
    yield cpu_perceiver.to(device, float_dtype)
    cpu_perceiver.to("cpu", torch.float32)


def test_cfe_blockwise_path_keeps_device_and_dtype(device, float_dtype):
    cfe = CompactFeatureExtractor(dim=8).to(device, float_dtype)
    images = torch.rand(2, 3, 40, 36, device=device, dtype=float_dtype)
    direct = assert_keeps_device_and_dtype(cfe, images, shape=(2, 8))
    cfe.inference_block_size = 16  # the path taken without gradients on large images
    with torch.no_grad():
        blockwise = assert_keeps_device_and_dtype(cfe, images, shape=(2, 8))
    torch.testing.assert_close(blockwise, direct.detach(), **tolerance(device, float_dtype))


def test_cfe_gradcheck():
    cfe = CompactFeatureExtractor(dim=4)
    parameters = {name: p for name, p in cfe.named_parameters() if name in ("encoder.0.bias", "proj.bias")}
    module_gradcheck(cfe, [torch.rand(1, 3, 6, 6)], parameters=parameters)


@pytest.mark.parametrize("semantic", [True, False], ids=["dinov2", "condition-only"])
def test_semantic_guidance(device, float_dtype, semantic):
    sg = SemanticGuidance(semantic_encoder=tiny_dinov2_config(num_hidden_layers=2) if semantic else None,
                          layers=(1, 2), cond_dim=8, channels=(4, 6), cross_attention=(False, True), hidden_dim=8,
                          image_size=28)
    randomise_(sg.heads)  # the last layers start at zero: γ = β = 0
    randomise_(sg.cross_attn)
    sg = sg.to(device, float_dtype)
    images = torch.rand(2, 3, 20, 24, device=device, dtype=float_dtype)
    z = torch.rand(2, 8, device=device, dtype=float_dtype)
    params = assert_keeps_device_and_dtype(sg, images, z)
    assert [tuple(p.shape) for pair in params for p in pair] == [(2, 4), (2, 4), (2, 6), (2, 6)]
    if semantic:
        assert all(f.dtype == float_dtype and f.device == images.device for f in sg.encode(images))
    for level, (gamma, beta) in enumerate(params):
        x = torch.randn(2, sg.channels[level], 5, 7, device=device, dtype=float_dtype)
        out = assert_keeps_device_and_dtype(sg.apply_level, level, x, gamma, beta, shape=x.shape)
        assert not torch.allclose(out, x)


def test_quality_perceiver(perceiver, device, float_dtype):
    images = torch.rand(2, 3, 40, 36, device=device, dtype=float_dtype)
    assert perceiver.text_features().dtype == float_dtype
    assert_keeps_device_and_dtype(perceiver, images, shape=(2, 3))
    probs = assert_keeps_device_and_dtype(perceiver.probabilities, images, shape=(2, 3))
    torch.testing.assert_close(probs.sum(1), torch.ones(2, device=device, dtype=float_dtype))
    score = assert_keeps_device_and_dtype(perceiver.score, images, shape=(2,))
    assert ((score >= 0) & (score <= 1)).all()
    loss = assert_keeps_device_and_dtype(perceiver.triplet_loss, images, images.flip(0), images.roll(1, dims=-1),
                                         shape=())
    assert loss >= 0


def test_functional_loss_terms(perceiver, device, float_dtype):
    g = torch.Generator().manual_seed(3)
    target, degraded, restored, medium = (
        torch.rand(2, 3, 32, 32, generator=g).to(device, float_dtype) for _ in range(4))
    restored.requires_grad_(True)
    space = ClipFeatureSpace(perceiver)
    keeps = assert_keeps_device_and_dtype

    rec = keeps(functional.restoration_term, restored, target, shape=())
    embedding, features = keeps(lambda r: functional.encode_restored(r, space, perceiver, need_features=True,
                                                                     need_embedding=True), restored)
    assert embedding.shape[0] == 2 and len(features) == len(space.blocks)
    references = keeps(lambda t: functional.encode_references(space, t, degraded, [medium], perceiver,
                                                              need_medium_embedding=True), target)
    assert len(references.medium) == 1 and references.medium_embedding.shape == embedding.shape
    keeps(functional.quality_score, perceiver, embedding, shape=(2,))
    clip = keeps(functional.clip_quality_term, perceiver, embedding, shape=())
    weights = keeps(lambda t: functional.medium_negative_weights(FixedDifficulty(1.25), [medium], t), target,
                    shape=(2, 1))
    dpl = keeps(functional.perceptual_term, features, references, weights, space.layer_weights, shape=(),
                device=target.device, dtype=float_dtype)
    z, z_positive = (F.normalize(torch.randn(4, 16, generator=g), dim=1).to(device, float_dtype) for _ in range(2))
    cl = keeps(functional.contrastive_term, z, z_positive, torch.tensor([0, 0, 1, 1], device=device), shape=())
    (rec + clip + dpl + cl).backward()
    assert restored.grad is not None and restored.grad.dtype == float_dtype and torch.isfinite(restored.grad).all()


def test_medium_psnr_is_float32_on_the_inputs_device(device, float_dtype):
    # documented as dB values for the difficulty rules, computed in float32 whatever the images' dtype
    target = torch.full((2, 3, 8, 8), 0.5, device=device, dtype=float_dtype)
    psnr = functional.medium_psnr([target + 0.1], target)
    assert psnr.shape == (2, 1) and psnr.device == target.device and psnr.dtype == torch.float32
    torch.testing.assert_close(psnr, torch.full((2, 1), 20.0, device=device), rtol=0, atol=1e-3)


def test_quality_aware_loss_moved_with_its_perceiver(perceiver, device, float_dtype):
    loss_fn = QualityAwareLoss(perceiver, feature_space="clip", difficulty=1.0).to(device, float_dtype)
    g = torch.Generator().manual_seed(4)
    target, degraded, restored = (torch.rand(2, 3, 32, 32, generator=g).to(device, float_dtype) for _ in range(3))
    restored.requires_grad_(True)
    out = assert_keeps_device_and_dtype(lambda r: loss_fn(r, target, degraded), restored)  # the loss and its terms
    assert out.loss.shape == () and set(out.terms) >= {"rec", "clip", "dpl"}
    out.loss.backward()
    assert restored.grad.dtype == float_dtype and torch.isfinite(restored.grad).all()
