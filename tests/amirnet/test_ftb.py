"""FeatureTransformBlock: exactly a NAFNet block at init and under a constant condition."""

from __future__ import annotations

import pytest
import torch

from perceive_ir.amirnet.ftb import FeatureTransformBlock
from perceive_ir.amirnet.nafnet import NAFBlock

C, COND = 16, 15
CONVS = ("conv1", "conv2", "conv3", "conv4", "conv5")


def _copy_convs(ftb: FeatureTransformBlock, block: NAFBlock) -> None:
    for name in CONVS:
        getattr(block, name).load_state_dict(getattr(ftb, name).state_dict())
    block.sca.load_state_dict(ftb.sca.state_dict())


def test_fresh_ftb_is_a_fresh_nafblock_for_any_condition():
    torch.manual_seed(1)
    ftb = FeatureTransformBlock(C, COND)
    torch.manual_seed(1)
    plain = NAFBlock(C)  # NAFNet's default init, drawn from the same random stream
    cond = torch.randn(4, COND) * 5  # wildly different conditions per sample
    m = ftb.modulation(cond)
    ones, zeros = torch.ones(4, C), torch.zeros(4, C)
    for key, value in (("norm1_weight", ones), ("norm1_bias", zeros), ("norm2_weight", ones),
                       ("norm2_bias", zeros), ("beta", zeros), ("gamma", zeros)):
        torch.testing.assert_close(m[key], value, rtol=0, atol=0, msg=key)
    torch.testing.assert_close(m["gate1_scale"], torch.ones(4, C), rtol=0, atol=0)
    torch.testing.assert_close(m["gate2_scale"], torch.ones(4, C), rtol=0, atol=0)
    for name in CONVS:  # identical convolutions, not copied
        torch.testing.assert_close(getattr(ftb, name).weight, getattr(plain, name).weight, rtol=0, atol=0)
    torch.testing.assert_close(ftb.sca[1].weight, plain.sca[1].weight, rtol=0, atol=0)
    # open the residual paths identically in both (zero β, γ would make both the identity)
    with torch.no_grad():
        ftb.beta.bias.normal_()
        ftb.gamma.bias.normal_()
        plain.beta.copy_(ftb.beta.bias.view(1, C, 1, 1))
        plain.gamma.copy_(ftb.gamma.bias.view(1, C, 1, 1))
    x = torch.randn(4, C, 12, 12)
    torch.testing.assert_close(ftb(x, cond), plain(x))
    assert not torch.allclose(plain(x), x)


def test_constant_condition_reduces_ftb_to_a_plain_nafblock():
    ftb = FeatureTransformBlock(C, COND)
    with torch.no_grad():  # a "trained" block: every parameter, predictors included, random
        for p in ftb.parameters():
            p.normal_(0.0, 0.3)
    c = torch.rand(1, COND)
    cond = c.expand(3, COND)

    # the reference: a plain NAFNet block with the predicted values as its parameters
    plain = NAFBlock(C)
    _copy_convs(ftb, plain)
    with torch.no_grad():
        w1, b1 = ftb.norm1_affine(c)[0].chunk(2)
        w2, b2 = ftb.norm2_affine(c)[0].chunk(2)
        s1, s2 = ftb.gate1_scale(c)[0], ftb.gate2_scale(c)[0]
        plain.norm1.weight.copy_(w1)
        plain.norm1.bias.copy_(b1)
        plain.norm2.weight.copy_(w2)
        plain.norm2.bias.copy_(b2)
        plain.beta.copy_(ftb.beta(c).view(1, C, 1, 1))
        plain.gamma.copy_(ftb.gamma(c).view(1, C, 1, 1))
        # a per-channel scale s of a SimpleGate output is a scale of the next layers' inputs
        plain.sca[1].weight.mul_(s1.view(1, -1, 1, 1))
        plain.conv3.weight.mul_(s1.view(1, -1, 1, 1))
        plain.conv5.weight.mul_(s2.view(1, -1, 1, 1))

    x = torch.randn(3, C, 10, 14)
    expected = plain(x)
    torch.testing.assert_close(ftb(x, cond), expected)
    torch.testing.assert_close(ftb.to_nafblock(c)(x), expected)
    torch.testing.assert_close(ftb.to_nafblock(c[0])(x), expected)
    # ... and the condition really steers the block
    other = ftb(x, torch.rand(1, COND).expand(3, COND))
    assert (other - expected).abs().max() > 1e-3


def test_per_sample_conditions_act_per_sample():
    ftb = FeatureTransformBlock(C, COND)
    with torch.no_grad():
        for p in ftb.parameters():
            p.normal_(0.0, 0.3)
    x = torch.randn(1, C, 8, 8).expand(2, C, 8, 8)
    cond = torch.rand(2, COND)
    out = ftb(x, cond)
    torch.testing.assert_close(out[1:], ftb(x[1:], cond[1:]))
    assert (out[0] - out[1]).abs().max() > 1e-3


def test_predictors_learn_from_the_start():
    ftb = FeatureTransformBlock(C, COND)
    ftb(torch.randn(2, C, 8, 8), torch.rand(2, COND)).square().mean().backward()
    assert ftb.beta.weight.grad.abs().sum() > 0 and ftb.gamma.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "x, cond, err, msg",
    [
        (torch.randn(2, 8, 4, 4), torch.rand(2, COND), ValueError, r"`x` must have shape \(B, 16"),
        (torch.randn(2, C, 4), torch.rand(2, COND), ValueError, "`x` must have shape"),
        (torch.randint(0, 3, (2, C, 4, 4)), torch.rand(2, COND), TypeError, "`x`"),
        (torch.randn(2, C, 4, 4), torch.rand(2, 7), ValueError, "`cond` must have 15"),
        (torch.randn(2, C, 4, 4), torch.rand(3, COND), ValueError, "`cond` must hold 2"),
        (torch.randn(2, C, 4, 4), torch.ones(2, COND, dtype=torch.long), TypeError, "`cond`"),
    ],
)
def test_bad_inputs(x, cond, err, msg):
    with pytest.raises(err, match=msg):
        FeatureTransformBlock(C, COND)(x, cond)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="cond_dim"):
        FeatureTransformBlock(C, 0)
    with pytest.raises(ValueError, match="channels"):
        FeatureTransformBlock(0, COND)
