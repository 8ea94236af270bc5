"""AMIRNet's modules on every available device and float dtype.

Outputs stay on the input's device, in its dtype, finite and of the documented shape; a float64
gradient check of the feature transform block.
"""

from __future__ import annotations

import torch

from perceive_ir import DegradationTree, FeatureTransformBlock
from perceive_ir.amirnet import AMIRNet
from perceive_ir.amirnet.encoder import DegradationEncoder

from .._gradcheck import module_gradcheck
from .._module_checks import assert_keeps_device_and_dtype, randomise_, tolerance

WIDTHS = (4, 8, 8)


def test_feature_transform_block(device, float_dtype):
    ftb = randomise_(FeatureTransformBlock(4, cond_dim=5)).to(device, float_dtype)
    x = torch.randn(2, 4, 6, 7, device=device, dtype=float_dtype)
    cond = torch.rand(2, 5, device=device, dtype=float_dtype)
    out = assert_keeps_device_and_dtype(ftb, x, cond, shape=(2, 4, 6, 7))
    assert not torch.allclose(out, x)  # the randomised branches count


def test_feature_transform_block_gradcheck():
    # every predictor starts at zero weight (the block is a plain NAFNet block for any condition):
    # redrawn, the condition gets a gradient too
    ftb = randomise_(FeatureTransformBlock(2, cond_dim=3))
    module_gradcheck(ftb, [torch.randn(1, 2, 3, 3), torch.rand(1, 3)])


def test_degradation_encoder(device, float_dtype):
    encoder = DegradationEncoder(widths=WIDTHS).to(device, float_dtype)
    images = torch.rand(2, 3, 20, 17, device=device, dtype=float_dtype)
    direct = assert_keeps_device_and_dtype(encoder, images, shape=(2, encoder.dim))
    encoder.inference_block_size = 8  # the blockwise path taken without gradients on large images
    with torch.no_grad():
        blockwise = assert_keeps_device_and_dtype(encoder, images, shape=(2, encoder.dim))
    torch.testing.assert_close(blockwise, direct.detach(), **tolerance(device, float_dtype))


def test_degradation_tree_before_and_after_growing(device, float_dtype):
    tree = DegradationTree(depth=2, encoder_widths=WIDTHS, crop_size=8).to(device, float_dtype)
    degraded = torch.rand(6, 3, 12, 12, device=device, dtype=float_dtype)
    clean = torch.rand(6, 3, 12, 12, device=device, dtype=float_dtype)
    cond = assert_keeps_device_and_dtype(tree, degraded, shape=(6, tree.cond_dim))
    torch.testing.assert_close(cond[:, tree.level_slice(2)].sum(1), torch.ones(6, device=device, dtype=float_dtype))
    tree.grow(tree.representation(degraded, clean))
    cond = assert_keeps_device_and_dtype(tree, degraded, shape=(6, tree.cond_dim))
    for level in (1, 2):
        sums = cond[:, tree.level_slice(level)].sum(1)
        torch.testing.assert_close(sums, torch.ones(6, device=device, dtype=float_dtype))
    labels = tree.targets(torch.arange(6))
    assert labels.device == degraded.device and labels.dtype == torch.long
    loss = assert_keeps_device_and_dtype(tree.pseudo_label_loss, degraded, labels.to(device), shape=())
    loss.backward()
    assert all(p.grad is None or p.grad.dtype == float_dtype for p in tree.parameters())


def test_degradation_tree_representation_keeps_float64():
    tree = DegradationTree(depth=1, encoder_widths=WIDTHS, crop_size=8).double()
    images = torch.rand(2, 3, 12, 12, dtype=torch.float64)
    assert_keeps_device_and_dtype(tree.representation, images, images.flip(0), shape=(2, tree.encoder.dim))


def test_degradation_encoder_computes_other_dtypes_in_its_own():
    encoder = DegradationEncoder(widths=WIDTHS)
    images = torch.rand(1, 3, 12, 12, dtype=torch.float64)
    out = assert_keeps_device_and_dtype(encoder, images, shape=(1, encoder.dim))
    torch.testing.assert_close(out, encoder(images.float()).double())


def test_amirnet(device, float_dtype):
    net = AMIRNet(width=4, enc_blocks=(1, 1), dec_blocks=(1, 1), tree={"encoder_widths": WIDTHS})
    net = randomise_(net, std=0.05).to(device, float_dtype).eval()
    degraded = torch.rand(1, 3, 13, 18, device=device, dtype=float_dtype)
    with torch.no_grad():
        out = assert_keeps_device_and_dtype(net, degraded, shape=(1, 3, 13, 18))
        cond = torch.rand(1, net.tree.cond_dim, device=device, dtype=float_dtype)
        steered = assert_keeps_device_and_dtype(net, degraded, cond, shape=(1, 3, 13, 18))
    assert not torch.allclose(out, steered)  # the condition reaches the blocks
