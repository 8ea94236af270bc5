import pytest
import torch

from perceive_ir import CompactFeatureExtractor, ConditionSource


def test_embeddings_are_unit_norm_and_follow_the_released_layout():
    cfe = CompactFeatureExtractor(dim=64)
    z = cfe(torch.rand(3, 3, 50, 37))
    assert z.shape == (3, 64)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(3))
    convs = [m for m in cfe.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride) for c in convs] == [
        (3, 32, (2, 2)), (32, 64, (2, 2)), (64, 96, (2, 2)), (96, 128, (2, 2))
    ]
    assert isinstance(cfe, ConditionSource) and cfe.cond_dim == 64


def test_any_device_and_dtype(device, float_dtype):
    cfe = CompactFeatureExtractor(dim=16).to(device, float_dtype)
    z = cfe(torch.rand(2, 3, 33, 20, device=device, dtype=float_dtype))
    assert z.shape == (2, 16) and z.dtype == float_dtype and z.device.type == device.type
    torch.testing.assert_close(z.norm(dim=1), torch.ones(2, device=device, dtype=float_dtype))


def test_round_trip(tmp_path):
    cfe = CompactFeatureExtractor(in_channels=3, dim=32)
    cfe.save_pretrained(tmp_path)
    loaded = CompactFeatureExtractor.from_pretrained(tmp_path)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), cfe(x), rtol=0, atol=0)


def test_bad_inputs():
    cfe = CompactFeatureExtractor()
    with pytest.raises(ValueError, match="`degraded` must have 3 channels"):
        cfe(torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError, match="`dim`"):
        CompactFeatureExtractor(dim=0)
