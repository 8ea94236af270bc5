"""restore(): tiled vs whole equivalence, odd sizes, batches, guidance computed once per image."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchmetrics.functional import peak_signal_noise_ratio

from perceive_ir import tiled_apply, wrap_backbone
from perceive_ir.inference.restore import model_multiple, restore


def local_net() -> nn.Module:
    """Purely local: three 3×3 convs, receptive field 7 px (far below the overlap)."""
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.GELU(), nn.Conv2d(8, 8, 3, padding=1), nn.GELU(),
        nn.Conv2d(8, 3, 3, padding=1),
    ).eval()


def activate(model: nn.Module) -> None:
    """Give the zero-initialised FiLM / cross-attention outputs random weights, so guidance matters."""
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.adapter.semantic.parameters():
            if p.requires_grad and not p.any():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)


def guided(tiny_dinov2=None, multiple: int | None = None) -> nn.Module:
    model = wrap_backbone(local_net(), layers=["0", "2"], semantic_encoder=tiny_dinov2, cond_dim=8,
                          hidden_dim=16, image_size=28, multiple=multiple, probe_size=16)
    activate(model)
    return model.eval()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(peak_signal_noise_ratio(a, b, data_range=1.0))


def count_calls(module: nn.Module) -> list[int]:
    calls = [0]
    module.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


@pytest.mark.parametrize("size", [(77, 103), (64, 64), (33, 130)])
def test_tiled_equals_whole_for_a_local_network(size):
    net = local_net()
    image = torch.rand(1, 3, *size)
    whole = restore(net, image)
    tiled = restore(net, image, tile=32, overlap=16)
    with torch.no_grad():
        assert torch.allclose(whole, net(image), atol=1e-6)
    assert tiled.shape == image.shape
    assert psnr(tiled, whole) >= 45.0


def test_guidance_is_computed_once_per_image_and_shared_by_tiles(tiny_dinov2):
    model = guided(tiny_dinov2)
    encoder_calls = count_calls(model.adapter.semantic.encoder.embeddings)  # its layers run one by one
    condition_calls = count_calls(model.adapter.condition[0])
    backbone_calls = count_calls(model.backbone)
    image = torch.rand(2, 3, 70, 90)
    tiled = restore(model, image, tile=32, overlap=16)
    assert encoder_calls[0] == 1 and condition_calls[0] == 1  # one whole-image pass for the batch
    assert backbone_calls[0] == 4 * 5  # tile starts 0,16,32,38 × 0,16,32,48,58; both images per call
    with torch.no_grad():
        whole = model(image)
    assert psnr(tiled, whole) >= 45.0
    # per-tile guidance (the naive way) changes the conditioning: the shared one is what matches
    with torch.no_grad():
        naive = tiled_apply(model, image, tile=32, overlap=16)
    assert psnr(naive, whole) < psnr(tiled, whole) - 5


def test_whole_image_restore_equals_forward_with_padding():
    model = guided(None, multiple=8)
    assert model_multiple(model) == 8
    image = torch.rand(3, 37, 50)
    out = restore(model, image)
    with torch.no_grad():
        expected = model(image[None])[0]
    assert out.shape == image.shape
    assert torch.equal(out, expected)
    tiled = restore(model, image, tile=24, overlap=8)
    assert psnr(tiled, expected) >= 45.0


def test_batch_matches_single_images():
    model = guided(None)
    images = torch.rand(3, 3, 41, 59)
    batch = restore(model, images, tile=32, overlap=8)
    for i in range(3):
        assert torch.allclose(batch[i], restore(model, images[i], tile=32, overlap=8), atol=1e-5)


def test_plain_module_with_a_multiple_and_mode_restored():
    net = nn.Sequential(nn.Conv2d(3, 3, 3, stride=2, padding=1), nn.Upsample(scale_factor=2.0))
    net.train()
    out = restore(net, torch.rand(3, 21, 30), multiple=2)
    assert out.shape == (3, 21, 30)
    assert net.training  # the caller's mode is back


def test_errors_name_the_argument():
    net = local_net()
    with pytest.raises(ValueError, match="half"):
        restore(net, torch.rand(3, 16, 16), half=True, device="cpu")
    with pytest.raises(ValueError, match="tile"):
        restore(guided(None, multiple=8), torch.rand(3, 16, 16), tile=30)
    with pytest.raises(ValueError, match="overlap"):
        restore(net, torch.rand(3, 16, 16), tile=16, overlap=16)
    with pytest.raises(TypeError, match="model"):
        restore(lambda x: x, torch.rand(3, 16, 16))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="image"):
        restore(net, torch.rand(3, 16, 16) * 255)
    with pytest.raises(ValueError, match="image"):
        restore(net, torch.rand(16, 16))
    with pytest.raises(ValueError, match="device"):
        restore(net, torch.rand(3, 16, 16), device="nonsense")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="float16 autocast is CUDA-only; needs a GPU")
def test_half_on_cuda_matches_float32():
    model = guided(None, multiple=8)
    image = torch.rand(1, 3, 70, 90)
    full = restore(model, image, tile=32, overlap=8, device="cuda")
    half = restore(model, image, tile=32, overlap=8, device="cuda", half=True)
    assert half.dtype == torch.float32 and half.device == image.device
    assert psnr(half.clamp(0, 1), full.clamp(0, 1)) > 35.0


class TupleSR(nn.Module):
    """A local x2 network returning (auxiliary vector, image, features), like FBCNN or MMRealSR."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.GELU(), nn.Conv2d(8, 8, 3, padding=1))
        self.up = nn.Sequential(nn.Conv2d(8, 12, 3, padding=1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.body(x)
        return feats.mean(dim=(-2, -1)), self.up(feats), feats


def test_a_wrapped_super_resolution_network_with_a_tuple_output(tiny_dinov2):
    model = wrap_backbone(TupleSR(), semantic_encoder=tiny_dinov2, cond_dim=8, hidden_dim=16, image_size=28,
                          probe_size=16)
    activate(model)
    model.eval()
    assert model.hooked_layers == ("body.0", "body")  # the body, not the upsampler
    encoder_calls = count_calls(model.adapter.semantic.encoder.embeddings)  # its layers run one by one
    image = torch.rand(3, 61, 75)
    tiled = restore(model, image, tile=32, overlap=12)
    assert encoder_calls == [1]  # the guidance: once per image, at input resolution
    whole = restore(model, image)
    assert tiled.shape == whole.shape == (3, 122, 150)
    assert psnr(tiled, whole) > 50  # a local network: tiles blend back to the whole image
    with torch.no_grad():
        direct = model(image[None])
    torch.testing.assert_close(whole, direct[1][0])
    torch.testing.assert_close(restore(model, image, output=1), whole)
    with pytest.raises(TypeError, match="not a \\(B, C, H, W\\) image"):
        restore(model, image, output=0)  # the vector
    with pytest.raises(ValueError, match="expected `scale`=1"):
        restore(model, image, scale=1)
