"""The authors' network compiles whole: no graph break (value checks step aside inside torch.compile)."""

from __future__ import annotations

import torch

from perceive_ir import set_checks
from perceive_ir._validation import check_image, value_checks_enabled
from perceive_ir.errors import InvalidValueError
from perceive_ir.models.official import PerceiveIRNet
from perceive_ir.testing import tiny_dinov2_config


def test_perceiveirnet_compiles_with_zero_graph_breaks():
    torch.manual_seed(0)
    net = PerceiveIRNet(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1,
                        semantic_encoder=tiny_dinov2_config()).eval()
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        explained = torch._dynamo.explain(net)(image)
        eager = net(image)
        compiled = torch.compile(net, backend="eager")(image)  # the graph Dynamo captured, run as is
    assert explained.graph_break_count == 0, [str(b.reason) for b in explained.break_reasons]
    assert explained.graph_count == 1
    for a, b in zip(eager, compiled, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_value_checks_can_be_switched_off_and_back():
    bad = torch.full((1, 3, 4, 4), 9.0)
    try:
        set_checks(False)
        assert not value_checks_enabled()
        check_image(bad, "x")  # shape and type only
    finally:
        set_checks(True)
    assert value_checks_enabled()
    try:
        check_image(bad, "x")
    except InvalidValueError as err:
        assert "`x` must hold values in [0, 1]" in str(err)
    else:
        raise AssertionError("the range check did not run")
