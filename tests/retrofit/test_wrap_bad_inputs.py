"""``WrappedBackbone``: any float dtype computed in the model's dtype and returned in the input's; bad inputs named."""

from __future__ import annotations

import pytest
import torch

from perceive_ir import wrap_backbone
from perceive_ir.models.presets import perceive_ir_nafnet

OTHER_DTYPES = (torch.float64, torch.float16, torch.bfloat16)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32, backbone_kwargs={"width": 8},
                              hidden_dim=16, cond_dim=16).eval()


@pytest.mark.parametrize("dtype", OTHER_DTYPES, ids=str)
def test_other_float_dtypes_compute_in_the_models_dtype_and_come_back_in_their_own(model, dtype):
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        expected = model(x.to(dtype).float())  # what the float32 model computes on the rounded input
        out = model(x.to(dtype))
    assert out.dtype == dtype
    torch.testing.assert_close(out, expected.to(dtype))


def test_guidance_and_tiles_take_other_dtypes_too(model):
    x = torch.rand(1, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        guidance = model.compute_guidance(x)
        out = model.forward_with_guidance(x[..., :16, :16], guidance)
    assert guidance.z.dtype == torch.float32 and out.dtype == torch.float64


def test_a_float64_model_keeps_float64():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Conv2d(8, 3, 3, padding=1))
    model = wrap_backbone(net, semantic_encoder=None, cond_dim=8, probe_size=16).double().eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 16, 16, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.parametrize(
    "value, error, fragment",
    [
        (torch.zeros(1, 3, 16, 16, dtype=torch.uint8), TypeError, "`degraded` must be a floating-point"),
        (torch.rand(3, 16, 16), ValueError, "`degraded` must have shape (B, C, H, W)"),
        (torch.rand(1, 3, 1, 1), ValueError, "`degraded` must be at least 2×2"),
        ("image.png", TypeError, "`degraded` must be a torch.Tensor"),
    ],
)
def test_bad_inputs_name_the_argument(model, value, error, fragment):
    with pytest.raises(error) as info:
        model(value)
    assert fragment in str(info.value)
