"""The authors' restorer (a tiny ``PerceiveIRNet``) on every available device and float dtype."""

from __future__ import annotations

import torch

from perceive_ir.models.official.network import PerceiveIRNet
from perceive_ir.testing import tiny_dinov2_config

from .._module_checks import assert_keeps_device_and_dtype


def test_perceive_ir_net(device, float_dtype):
    net = PerceiveIRNet(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1,
                        semantic_encoder=tiny_dinov2_config()).to(device, float_dtype).eval()
    image = torch.rand(1, 3, 30, 44, device=device, dtype=float_dtype)
    with torch.no_grad():
        out = assert_keeps_device_and_dtype(net, image, shape=(1, 3, 30, 44))
        guidance = assert_keeps_device_and_dtype(net.compute_guidance, image)
        tile = assert_keeps_device_and_dtype(net.forward_with_guidance, image[..., :16, 20:], guidance,
                                             shape=(1, 3, 16, 24))
    assert not torch.allclose(out, image)
    assert tile.shape[-2:] == (16, 24)
