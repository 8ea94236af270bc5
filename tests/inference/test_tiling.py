"""tiled_apply: equals the direct call for pointwise/local functions, any size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from perceive_ir.inference.tiling import pad_to_multiple, tiled_apply


@pytest.mark.parametrize("size", [(100, 70), (64, 64), (20, 13), (33, 129)])
def test_pointwise_equals_direct(size: tuple[int, int]) -> None:
    x = torch.rand(2, 3, *size)
    fn = lambda t: torch.sigmoid(t * 3 - 1)  # noqa: E731
    out = tiled_apply(fn, x, tile=32, overlap=8)
    assert out.shape == x.shape
    assert torch.allclose(out, fn(x), atol=1e-5)


def test_output_stays_on_the_input_device_and_dtype(device, float_dtype) -> None:
    x = torch.rand(1, 3, 45, 70, device=device, dtype=float_dtype)
    conv = nn.Conv2d(3, 2, 1).to(device, float_dtype)  # pointwise: tiles blend back to the direct result
    with torch.no_grad():
        out = tiled_apply(conv, x, tile=32, overlap=8, multiple=4)
        direct = conv(x)
    assert out.dtype == float_dtype and out.device == x.device and out.shape == (1, 2, 45, 70)
    torch.testing.assert_close(out, direct, rtol=1e-5, atol=1e-5)


def test_local_conv_matches_within_tolerance() -> None:
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, padding_mode="replicate"), nn.ReLU(),
                         nn.Conv2d(8, 4, 3, padding=1, padding_mode="replicate"))
    x = torch.rand(1, 3, 90, 75)
    with torch.no_grad():
        direct = conv(x)
        tiled = tiled_apply(conv, x, tile=32, overlap=12)
        no_overlap = tiled_apply(conv, x, tile=32, overlap=0)
    assert tiled.shape == direct.shape == (1, 4, 90, 75)  # channel count may change
    err = (tiled - direct).abs().max()
    assert err < 1e-3
    # the overlap blending is what removes the seams
    assert (no_overlap - direct).abs().max() > 10 * err


def test_smaller_than_tile_and_multiple_padding() -> None:
    seen: list[tuple[int, int]] = []

    def fn(t: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(t.shape[-2:]))
        return t * 2

    x = torch.rand(1, 3, 13, 21)
    out = tiled_apply(fn, x, tile=64, overlap=8, multiple=8)
    assert out.shape == x.shape and torch.allclose(out, x * 2)
    assert seen == [(16, 24)]
    seen.clear()
    big = torch.rand(1, 3, 70, 45)
    out = tiled_apply(fn, big, tile=32, overlap=8, multiple=8)
    assert torch.allclose(out, big * 2, atol=1e-6)
    assert len(seen) > 1 and all(h % 8 == 0 and w % 8 == 0 and h <= 32 and w <= 32 for h, w in seen)


def test_pad_to_multiple_crops_back() -> None:
    x = torch.rand(1, 3, 5, 9)
    padded, (h, w) = pad_to_multiple(x, 8)
    assert padded.shape[-2:] == (8, 16) and torch.equal(padded[..., :h, :w], x)


def test_errors_name_the_argument() -> None:
    x = torch.rand(1, 3, 40, 40)
    with pytest.raises(ValueError, match="overlap"):
        tiled_apply(lambda t: t, x, tile=16, overlap=16)
    with pytest.raises(ValueError, match="tile"):
        tiled_apply(lambda t: t, x, tile=20, multiple=8)
    with pytest.raises(ValueError, match="spatial"):
        tiled_apply(lambda t: t[..., ::2, ::2], x, tile=16, overlap=4)
    with pytest.raises(TypeError, match="image"):
        tiled_apply(lambda t: t, torch.rand(3, 8, 8))
    with pytest.raises(TypeError, match="fn"):
        tiled_apply(None, x)  # type: ignore[arg-type]


# -- super-resolution: tiles blended and stitched at output resolution ------------------------------


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upsampling_pointwise_function_equals_direct(scale: int) -> None:
    x = torch.rand(2, 3, 70, 45)
    fn = lambda t: torch.sigmoid(F.interpolate(t, scale_factor=scale, mode="nearest") * 2)  # noqa: E731
    out = tiled_apply(fn, x, tile=32, overlap=8, multiple=4)
    assert out.shape == (2, 3, 70 * scale, 45 * scale)
    torch.testing.assert_close(out, fn(x), rtol=1e-5, atol=1e-5)
    # given the right scale: the same; a wrong one is refused
    torch.testing.assert_close(tiled_apply(fn, x, tile=32, overlap=8, scale=scale), fn(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=f"scaled a tile by {scale}, expected `scale`=1"):
        tiled_apply(fn, x, tile=32, overlap=8, scale=1)


def test_local_super_resolution_network_matches_within_tolerance(device) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, padding_mode="replicate"), nn.ReLU(),
                        nn.Conv2d(8, 12, 3, padding=1, padding_mode="replicate"), nn.PixelShuffle(2)).to(device)
    x = torch.rand(1, 3, 90, 75, device=device)
    with torch.no_grad():
        direct = net(x)
        tiled = tiled_apply(net, x, tile=32, overlap=12)
        no_overlap = tiled_apply(net, x, tile=32, overlap=0)
    assert tiled.shape == direct.shape == (1, 3, 180, 150) and tiled.device == x.device
    err = (tiled - direct).abs().max()
    assert err < 1e-3
    assert (no_overlap - direct).abs().max() > 10 * err  # the blending, at output resolution, removes seams


def test_non_integer_or_shrinking_outputs_are_refused() -> None:
    x = torch.rand(1, 3, 40, 40)
    with pytest.raises(ValueError, match="one integer factor"):
        tiled_apply(lambda t: F.interpolate(t, scale_factor=1.5), x, tile=16, overlap=4)
    with pytest.raises(ValueError, match="one integer factor"):
        tiled_apply(lambda t: F.interpolate(t, size=(2 * t.shape[-2], 3 * t.shape[-1])), x, tile=16, overlap=4)
    with pytest.raises(ValueError, match="batch"):
        tiled_apply(lambda t: t[:0], x, tile=64)
    with pytest.raises(ValueError, match="scale"):
        tiled_apply(lambda t: t, x, scale=0)
