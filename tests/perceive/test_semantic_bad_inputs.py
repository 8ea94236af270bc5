"""``SemanticGuidance.apply_level``: a level outside the guided layers is refused, not applied."""

from __future__ import annotations

import pytest
import torch

from perceive_ir import SemanticGuidance


@pytest.fixture
def guidance():
    return SemanticGuidance(semantic_encoder=None, cond_dim=8, channels=(4, 4), cross_attention=(False, True),
                            hidden_dim=8)


@pytest.mark.parametrize("level", [99, 2, -1, -5, True, 1.0, "0"])
def test_a_level_outside_the_guided_layers_is_refused(guidance, level):
    x, gamma, beta = torch.rand(1, 4, 8, 8), torch.zeros(1, 4), torch.zeros(1, 4)
    with pytest.raises(ValueError, match=r"`level` must be an int in \[0, 2\)"):
        guidance.apply_level(level, x, gamma, beta)


def test_valid_levels_apply(guidance):
    x = torch.rand(1, 4, 8, 8)
    torch.testing.assert_close(guidance.apply_level(0, x, torch.zeros(1, 4), torch.zeros(1, 4)), x)
    assert guidance.apply_level(1, x, torch.zeros(1, 4), torch.zeros(1, 4)).shape == x.shape


@pytest.mark.parametrize("dtype", (torch.float64, torch.float16, torch.bfloat16), ids=str)
def test_guidance_parts_take_other_float_dtypes(dtype):
    from perceive_ir import ChannelCrossAttention, FiLMHead
    from perceive_ir.testing import tiny_dinov2_config

    sg = SemanticGuidance(semantic_encoder=tiny_dinov2_config(), layers=(1, 2), cond_dim=8, channels=(4, 4),
                          hidden_dim=8, image_size=28)
    images = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        features = sg.encode(images.to(dtype))  # in the encoder's dtype (CPU resizing has no float16 kernel)
        torch.testing.assert_close(features, sg.encode(images.to(dtype).float()))
        head, attention = FiLMHead(8, 4, 8), ChannelCrossAttention(4)
        cond, x = torch.rand(1, 8).to(dtype), torch.rand(1, 4, 8, 8).to(dtype)
        gamma, beta = head(cond)
        assert gamma.dtype == beta.dtype == dtype
        out = attention(x, x)
        assert out.dtype == dtype
        torch.testing.assert_close(out, attention(x.float(), x.float()).to(dtype))
