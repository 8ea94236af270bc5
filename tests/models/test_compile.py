"""Compile and export: whole graphs for the authors' network and a wrapped NAFNet, torch.export of the restorer.

Value checks step aside inside both (they sit at the API edges), so nothing breaks the graph.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from perceive_ir import set_checks
from perceive_ir._validation import check_image, value_checks_enabled
from perceive_ir.errors import InvalidValueError
from perceive_ir.models.official import PerceiveIRNet, load_official
from perceive_ir.models.presets import perceive_ir_nafnet
from perceive_ir.testing import tiny_dinov2_config


@pytest.mark.slow  # Dynamo traces the whole network: 39 s measured on the shared 2-core box
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


@pytest.mark.slow  # Dynamo traces the wrapped preset: 16 s measured on the shared 2-core box
def test_wrapped_nafnet_compiles_with_zero_graph_breaks():
    torch.manual_seed(0)
    model = perceive_ir_nafnet("small", semantic_encoder=tiny_dinov2_config(num_hidden_layers=2), probe_size=32,
                               backbone_kwargs={"width": 8}, hidden_dim=16, cond_dim=16, image_size=28).eval()
    with torch.no_grad():
        for p in model.adapter.parameters():
            if p.requires_grad:  # FiLM heads and cross-attention start at zero: make the guidance count
                p.normal_(std=0.1)
    image = torch.rand(1, 3, 20, 36)  # not a multiple of 16: the padding and the crop are traced too
    with torch.no_grad():
        explained = torch._dynamo.explain(model)(image)
        eager = model(image)
        compiled = torch.compile(model, backend="eager")(image)
        bare = model.backbone(torch.nn.functional.pad(image, (0, 12, 0, 12), mode="reflect"))[..., :20, :36]
    assert explained.graph_break_count == 0, [str(b.reason) for b in explained.break_reasons]
    assert explained.graph_count == 1
    torch.testing.assert_close(compiled, eager, rtol=0, atol=1e-6)
    assert not torch.allclose(eager, bare, atol=1e-3)  # the captured graph holds the FiLM hooks' work
    guided = [model.backbone.get_submodule(name) for name in model.hooked_layers]
    assert all(not m._forward_hooks for m in guided)  # the hooks placed for the trace are gone again


def test_the_authors_restorer_exports_with_torch_export(official_ref: Path):
    restorer = official_ref / "restorer"
    net = load_official(restorer / "perceiveIR_500000.pth", semantic_encoder=str(restorer / "dinov2_tiny")).eval()
    image = torch.rand(1, 3, 37, 45, generator=torch.Generator().manual_seed(0))  # padded to 40×48 inside
    with torch.no_grad():
        program = torch.export.export(net, (image,))
        exported, eager = program.module()(image), net(image)
    assert exported.shape == eager.shape == image.shape
    assert (exported - eager).abs().max().item() <= 1e-5


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
