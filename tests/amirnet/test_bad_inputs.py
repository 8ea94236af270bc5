"""AMIRNet and its degradation tree: other float dtypes computed in the module's dtype, bad inputs named."""

from __future__ import annotations

import pytest
import torch

from perceive_ir import DegradationTree
from perceive_ir.amirnet import amirnet

OTHER_DTYPES = (torch.float64, torch.float16, torch.bfloat16)


@pytest.mark.parametrize("dtype", OTHER_DTYPES, ids=str)
def test_tree_takes_other_float_dtypes(dtype):
    tree = DegradationTree()
    x = torch.rand(2, 3, 16, 16).to(dtype)
    out = tree(x)
    assert out.dtype == dtype
    torch.testing.assert_close(out, tree(x.float()).to(dtype))
    assert [t.dtype for t in tree.logits(x)] == [dtype] * tree.depth


@pytest.mark.parametrize("dtype", OTHER_DTYPES, ids=str)
def test_amirnet_takes_other_float_dtypes_and_conditions(dtype):
    net = amirnet(width=8).eval()
    x = torch.rand(1, 3, 16, 16).to(dtype)
    cond = torch.rand(1, net.tree.cond_dim, dtype=torch.float64)
    with torch.no_grad():
        out = net(x)
        steered = net(x, cond=cond)
        expected = net(x.float())
    assert out.dtype == steered.dtype == dtype
    torch.testing.assert_close(out, expected.to(dtype))


@pytest.mark.parametrize(
    "value, error, fragment",
    [
        (torch.zeros(1, 3, 16, 16, dtype=torch.uint8), TypeError, "`degraded` must be a floating-point"),
        (torch.rand(1, 3, 2, 2), ValueError, "`degraded` must be at least 4×4"),
        (torch.rand(1, 1, 16, 16), ValueError, "`degraded` must have 3 channels"),
    ],
)
def test_bad_inputs_name_the_argument(value, error, fragment):
    for module in (DegradationTree(), amirnet(width=8)):
        with pytest.raises(error) as info:
            module(value)
        assert fragment in str(info.value)


@pytest.mark.parametrize("dtype", OTHER_DTYPES, ids=str)
def test_building_blocks_take_other_float_dtypes(dtype):
    from perceive_ir import FeatureTransformBlock, NAFBlock

    x, cond = torch.rand(1, 4, 8, 8), torch.rand(1, 8)
    ftb, naf = FeatureTransformBlock(4, 8), NAFBlock(4)
    with torch.no_grad():
        torch.nn.init.normal_(naf.gamma)  # the residual branches start at zero: make them count
        torch.nn.init.normal_(naf.beta)
        out_ftb, out_naf = ftb(x.to(dtype), cond.to(dtype)), naf(x.to(dtype))
        assert out_ftb.dtype == out_naf.dtype == dtype
        torch.testing.assert_close(out_ftb, ftb(x.to(dtype).float(), cond.to(dtype).float()).to(dtype))
        torch.testing.assert_close(out_naf, naf(x.to(dtype).float()).to(dtype))
