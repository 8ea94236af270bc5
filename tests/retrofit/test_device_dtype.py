"""A wrapped backbone on every available device and float dtype.

A wrapper moved with ``.to(device, dtype)`` (its frozen DINOv2 and condition sources with it) restores,
computes guidance and restores tiles on that device in that dtype; outputs are finite, cropped back to
the input's size.
"""

from __future__ import annotations

import torch
from torch import nn

from perceive_ir import wrap_backbone
from perceive_ir.retrofit.wrap import Guidance
from perceive_ir.testing import tiny_dinov2_config

from .._module_checks import assert_keeps_device_and_dtype, randomise_, tolerance


def _wrapped(device: torch.device, dtype: torch.dtype):
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.GELU(), nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.GELU(),
                        nn.Upsample(scale_factor=2), nn.Conv2d(8, 3, 3, padding=1))
    model = wrap_backbone(net, semantic_encoder=tiny_dinov2_config(num_hidden_layers=4), cond_dim=8, hidden_dim=8,
                          image_size=28, multiple=2, probe_size=16)
    randomise_(model.adapter.semantic.heads)  # FiLM heads start at zero: the wrapper is the identity at first
    return model.to(device, dtype).eval()


def test_wrapped_backbone(device, float_dtype):
    model = _wrapped(device, float_dtype)
    x = torch.rand(1, 3, 25, 23, device=device, dtype=float_dtype)
    with torch.no_grad():
        out = assert_keeps_device_and_dtype(model, x, shape=(1, 3, 25, 23))
        plain = model.backbone(nn.functional.pad(x, (0, 1, 0, 1), mode="reflect"))[..., :25, :23]
    assert not torch.allclose(out, plain)  # the guidance changed what the backbone computes


def test_guidance_and_tiles(device, float_dtype):
    model = _wrapped(device, float_dtype)
    image = torch.rand(2, 3, 32, 32, device=device, dtype=float_dtype)
    with torch.no_grad():
        guidance = assert_keeps_device_and_dtype(model.compute_guidance, image)
        assert isinstance(guidance, Guidance) and guidance.z.shape == (2, model.total_cond_dim)
        assert len(guidance.features) == len(model.hooked_layers)
        tiles = assert_keeps_device_and_dtype(model.forward_with_guidance, image[..., :16, 8:], guidance,
                                              shape=(2, 3, 16, 24))
        whole = model(image)
    # a tile (on the stride-2 grid) restored with its image's guidance is that part of the whole
    # restoration, away from its borders
    torch.testing.assert_close(tiles[..., 6:-6, 6:-6], whole[..., 6:10, 14:26], **tolerance(device, float_dtype))
