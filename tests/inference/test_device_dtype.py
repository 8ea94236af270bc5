"""``restore`` on every available device and float dtype.

The restored image comes back on the image's device, in its dtype, for a network moved to that device
and dtype and for a float32 one.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from perceive_ir import wrap_backbone
from perceive_ir.inference import restore

from .._module_checks import assert_keeps_device_and_dtype, randomise_


def _wrapped() -> nn.Module:
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.GELU(), nn.Conv2d(8, 3, 3, padding=1))
    model = wrap_backbone(net, semantic_encoder=None, cond_dim=8, hidden_dim=8, probe_size=16)
    randomise_(model.adapter.semantic.heads)  # guidance that changes the output
    return model


@pytest.mark.parametrize("mode, tile", [("whole", None), ("whole", 24), ("authors-tiled", 24)])
@pytest.mark.parametrize("model_dtype", ["input's", "float32"])
def test_restore(device, float_dtype, mode, tile, model_dtype):
    model = _wrapped().to(device, float_dtype if model_dtype == "input's" else torch.float32)
    image = torch.rand(3, 30, 37, device=device, dtype=float_dtype)
    with torch.no_grad():
        out = assert_keeps_device_and_dtype(
            lambda x: restore(model, x, tile=tile, overlap=8, mode=mode), image, shape=(3, 30, 37))
        assert not torch.allclose(out, model.backbone(image[None].to(model.backbone[0].weight))[0].to(out))
