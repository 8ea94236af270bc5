"""The perceptual loss against the authors' own code: VGG-16 feature maps and L_dpl's value and gradient.

``losses/vgg16_features16_random.safetensors`` holds random VGG-16 weights; ``losses/dpl.safetensors`` the
authors' ``VGGFeatures`` maps and ``DifficultyAdaptivePerceptualLoss`` value and gradient with them (see the
reference set's MANIFEST.md).
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from perceive_ir import Proxy, QualityAwareLoss
from perceive_ir.perceive.losses import VGG16FeatureSpace


@pytest.fixture
def reference(official_ref):
    return load_file(official_ref / "losses" / "dpl.safetensors")


@pytest.fixture
def space(official_ref):
    return VGG16FeatureSpace(weights=official_ref / "losses" / "vgg16_features16_random.safetensors")


def test_the_four_feature_maps_are_the_authors(reference, space):
    with torch.no_grad():
        features = space(reference["restored"])
    assert len(features) == 4
    for level, feature in enumerate(features):
        torch.testing.assert_close(feature, reference[f"features_restored_{level}"], rtol=0, atol=1e-4)


def _lookup(degraded: torch.Tensor, outputs: torch.Tensor):
    """A stand-in proxy restorer: each input row of ``degraded`` gives the authors' proxy output for it."""

    def restorer(images: torch.Tensor) -> torch.Tensor:
        rows = [int((degraded - image).abs().flatten(1).amax(1).argmin()) for image in images]
        return outputs[rows]

    return restorer


def test_the_difficulty_adaptive_perceptual_loss_is_the_authors(reference, space):
    lq = reference["lq"]
    masks = reference["proxy_mask0"], reference["proxy_mask1"]
    assert masks[1].tolist() == [1.0, 1.0]  # proxy 1 counts on every sample, proxy 0 on the "denoise" ones
    tasks = ["denoise" if m else "derain" for m in masks[0].tolist()]
    proxies = [
        Proxy(_lookup(lq, reference["proxy0"]), tasks=["denoise"], name="proxy0"),
        Proxy(_lookup(lq, reference["proxy1"]), name="proxy1"),
    ]
    loss_fn = QualityAwareLoss(
        None, weights={"rec": 0, "cl": 0, "clip": 0, "dpl": 1}, feature_space=space,
        difficulty=reference["proxy_weights"].tolist(), proxies=proxies,
    )
    restored = reference["restored"].clone().requires_grad_()
    out = loss_fn(restored, reference["gt"], lq, tasks=tasks)
    out.loss.backward()
    torch.testing.assert_close(out.medium_weights, reference["proxy_weights"] * torch.stack(masks, dim=1))
    torch.testing.assert_close(out.loss.reshape(1), reference["dpl_loss"], rtol=0, atol=1e-5)
    # The gradient matches within 1e-5 except where a max-pool window's largest value is another
    # element in the authors' maps than in ours: its two largest values are closer than the float
    # difference between their machine and this one, so each routes the pooled gradient elsewhere
    # (a discontinuity of max-pooling, not a difference of formula).
    switched = _switched_pool_inputs(space, reference)
    assert switched.float().mean() < 0.05  # one window here: the receptive field of two relu2_2 elements
    apart = (restored.grad - reference["dpl_grad_restored"]).abs() > 1e-5
    assert not (apart & ~switched).any(), f"{int((apart & ~switched).sum())} gradient elements differ elsewhere"
    torch.testing.assert_close(restored.grad, reference["dpl_grad_restored"], rtol=0, atol=1e-4)


def _switched_pool_inputs(space: VGG16FeatureSpace, reference: dict[str, torch.Tensor]) -> torch.Tensor:
    """Input pixels that reach a max-pool window whose maximum sits elsewhere in the authors' maps.

    The two pools of the four layers read relu1_2 and relu2_2, which the reference holds.
    """
    x = ((reference["restored"].clamp(0, 1) - space.mean) / space.std).requires_grad_()
    theirs = iter([reference["features_restored_0"], reference["features_restored_1"]])
    reach = torch.zeros_like(x, dtype=torch.bool)
    y = x
    for layer in space.features:
        if isinstance(layer, torch.nn.MaxPool2d):
            ours_max, their_max = (_window_argmax(t) for t in (y.detach(), next(theirs)))
            for b, c, i, j in (ours_max != their_max).nonzero().tolist():
                for k in (int(ours_max[b, c, i, j]), int(their_max[b, c, i, j])):
                    (grad,) = torch.autograd.grad(y[b, c, 2 * i + k // 2, 2 * j + k % 2], x, retain_graph=True)
                    reach |= grad != 0
        y = layer(y)
    return reach


def _window_argmax(maps: torch.Tensor) -> torch.Tensor:
    """Position (0..3, row-major) of the largest value in each 2×2 window."""
    batch, channels, height, width = maps.shape
    return maps.unfold(2, 2, 2).unfold(3, 2, 2).reshape(batch, channels, height // 2, width // 2, 4).argmax(-1)
