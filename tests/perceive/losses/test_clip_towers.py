"""Every open_clip vision tower in the loss path: ViT, ResNet (RN50 family) and timm towers (ConvNeXt)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from perceive_ir import QualityAwareLoss, QualityPerceiver
from perceive_ir.perceive.losses.feature_spaces import ClipFeatureSpace

TEXT = {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 1, "layers": 1}
TOWERS = {
    "vit": ({"image_size": 32, "layers": 4, "width": 32, "patch_size": 16, "head_width": 16}, 4),
    "resnet": ({"image_size": 32, "layers": [1, 1, 1, 1], "width": 8, "head_width": 8}, 5),
    "convnext": ({"image_size": 32, "timm_model_name": "convnext_atto", "timm_model_pretrained": False,
                  "timm_pool": "", "timm_proj": "linear"}, 4),
}


@pytest.mark.parametrize("tower", sorted(TOWERS))
def test_the_loss_path_works_on_every_tower(tower: str) -> None:
    vision, depth = TOWERS[tower]
    torch.manual_seed(0)
    perceiver = QualityPerceiver({"embed_dim": 16, "vision_cfg": vision, "text_cfg": TEXT}, None, n_ctx=4)
    assert perceiver.vision_depth == depth
    loss_fn = QualityAwareLoss(perceiver, feature_space="clip")  # the tower's own intermediates
    assert isinstance(loss_fn.feature_space, ClipFeatureSpace) and loss_fn.feature_space.blocks[-1] == depth - 1
    images = torch.rand(2, 3, 40, 40)
    embedding, features = perceiver.encode_images_with_intermediates(images, loss_fn.feature_space.blocks)
    torch.testing.assert_close(embedding, perceiver.encode_images(images))  # one pass, the same embedding
    assert len(features) == len(loss_fn.feature_space.blocks) and all(f.ndim >= 3 for f in features)
    restored = torch.rand(2, 3, 40, 40, requires_grad=True)
    out = loss_fn(restored, torch.rand(2, 3, 40, 40), torch.rand(2, 3, 40, 40))
    out.loss.backward()
    assert torch.isfinite(out.loss) and restored.grad is not None and restored.grad.abs().sum() > 0
    assert {"clip", "dpl"} <= set(out.terms)


def test_a_tower_without_intermediates_is_refused_at_construction() -> None:
    vision, _ = TOWERS["vit"]
    perceiver = QualityPerceiver({"embed_dim": 16, "vision_cfg": vision, "text_cfg": TEXT}, None, n_ctx=4)

    class Opaque(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(-2, -1)).repeat(1, 6)[:, :16]

    perceiver.clip.visual = Opaque()
    with pytest.raises(ValueError, match=r"Opaque cannot return intermediate features.*feature_space='vgg16'"):
        QualityAwareLoss(perceiver, feature_space="clip")
    assert QualityAwareLoss(perceiver, feature_space=lambda x: [x]).feature_space is not None  # other spaces work
