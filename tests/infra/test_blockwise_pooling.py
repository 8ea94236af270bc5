"""Block-wise pooled features: exact against the whole-image pass, and bounded in memory."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from perceive_ir import CompactFeatureExtractor, _blockwise_pooling
from perceive_ir._blockwise_pooling import pooled_moments
from perceive_ir.amirnet.encoder import DegradationEncoder


@pytest.mark.parametrize("size", [(67, 37), (130, 201), (48, 48)])
def test_cfe_without_gradients_matches_the_whole_image_pass(size):
    torch.manual_seed(0)
    cfe = CompactFeatureExtractor(dim=32)
    x = torch.rand(2, 3, *size)
    whole = cfe(x)  # gradients enabled: the plain path
    cfe.inference_block_size = 16
    with torch.no_grad():
        blocked = cfe(x)
    torch.testing.assert_close(blocked, whole.detach(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("size", [(67, 37), (130, 201)])
def test_tree_encoder_without_gradients_matches_the_whole_image_pass(size):
    torch.manual_seed(0)
    encoder = DegradationEncoder(widths=(8, 16, 16))
    x = torch.rand(2, 3, *size)
    whole = encoder(x)
    encoder.inference_block_size = 24
    with torch.inference_mode():
        blocked = encoder(x)
    torch.testing.assert_close(blocked, whole.detach(), atol=1e-6, rtol=1e-5)


def test_moments_match_for_mixed_kernels_strides_and_groups():
    torch.manual_seed(0)
    stack = nn.Sequential(
        nn.Conv2d(3, 8, 5, stride=1, padding=2), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=4), nn.GELU(),
        nn.Conv2d(8, 6, 4, stride=3, padding=0), nn.Tanh(),
    )
    x = torch.rand(1, 3, 61, 50)
    features = stack(x).flatten(2)
    stages = list(zip(stack[0::2], stack[1::2], strict=True))
    with torch.no_grad():
        mean, var = pooled_moments(stages, x, block=13)
    torch.testing.assert_close(mean.float(), features.mean(2), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(var.float(), features.var(2, unbiased=False), atol=1e-6, rtol=1e-5)


def test_working_memory_depends_on_the_block_not_the_image(monkeypatch):
    largest = []
    conv2d = F.conv2d

    def recording_conv2d(*args, **kwargs):
        out = conv2d(*args, **kwargs)
        largest.append(out.shape[-2] * out.shape[-1])
        return out

    monkeypatch.setattr(_blockwise_pooling.F, "conv2d", recording_conv2d)
    cfe = CompactFeatureExtractor(dim=8)
    cfe.inference_block_size = 32
    peaks = []
    for side in (128, 512):
        largest.clear()
        with torch.no_grad():
            cfe(torch.rand(1, 3, side, side))
        peaks.append(max(largest))
    # a 32-pixel block is 2×2 cells of the last (stride-16) map; with halos the first
    # convolution writes 2·(2·(2·2+1)+1)+1 = 23 rows and columns, whatever the image size
    assert peaks[0] == peaks[1] == 23 * 23


def test_bad_block_and_unsupported_convolutions():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    with pytest.raises(ValueError, match="`block`"):
        pooled_moments([(conv, nn.Identity())], torch.rand(1, 3, 8, 8), block=0)
    for bad in (nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), nn.Conv2d(3, 4, 3, padding=2, dilation=2)):
        with pytest.raises(ValueError, match="zero-padded, undilated"):
            pooled_moments([(bad, nn.Identity())], torch.rand(1, 3, 8, 8), block=4)
