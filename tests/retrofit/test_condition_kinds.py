"""Condition kinds are a registry: a user's kind rebuilds its sources on load; an unknown kind is named."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from perceive_ir.perceive.cfe import CompactFeatureExtractor
from perceive_ir.retrofit import CONDITION_KINDS, ConditionKind, WrappedBackbone, wrap_backbone
from perceive_ir.retrofit.condition_spec import build_condition, describe_condition


class MeanColour(nn.Module):
    """A user's condition source, not a HubMixin: mean colour → ``cond_dim`` features."""

    def __init__(self, cond_dim: int = 5) -> None:
        super().__init__()
        self.cond_dim = cond_dim
        self.proj = nn.Linear(3, cond_dim)

    def forward(self, degraded: torch.Tensor) -> torch.Tensor:
        return self.proj(degraded.mean(dim=(-2, -1)))


def _describe(source: nn.Module) -> dict | None:
    return {"options": {"cond_dim": source.cond_dim}} if isinstance(source, MeanColour) else None


@pytest.fixture
def kinds(monkeypatch):
    monkeypatch.setattr(CONDITION_KINDS, "_entries", dict(CONDITION_KINDS._entries))
    CONDITION_KINDS.register("mean_colour", ConditionKind(describe=_describe,
                                                          build=lambda spec: MeanColour(**spec["options"])))


@pytest.fixture(scope="module")
def nafnet() -> nn.Module:
    from spandrel.architectures.NAFNet import NAFNet

    torch.manual_seed(0)
    return NAFNet(width=8, enc_blk_nums=[1, 1], middle_blk_num=1, dec_blk_nums=[1, 1]).eval()


def test_the_built_in_kinds_describe_as_before():
    assert describe_condition(CompactFeatureExtractor(dim=8))["type"] == "hub"
    assert describe_condition(MeanColour(3)) == {
        "type": "user", "class": "MeanColour", "module": __name__, "cond_dim": 3}
    assert list(CONDITION_KINDS)[:2] == ["user", "hub"]


def test_a_user_kind_is_rebuilt_on_load_without_passing_it_again(kinds, nafnet, tmp_path):
    source = MeanColour(5)
    model = wrap_backbone(nafnet, semantic_encoder=None, cond_dim=8, condition=["cfe", source], probe_size=16)
    with torch.no_grad():
        source.proj.weight.add_(0.5)
        for head in model.adapter.modules():
            if isinstance(head, nn.Linear) and head is not source.proj:
                head.weight.add_(0.01)  # FiLM heads start at zero: make the condition matter
    model.save_pretrained(tmp_path)
    specs = json.loads((tmp_path / "config.json").read_text())["condition"]
    assert [s["type"] for s in specs] == ["hub", "mean_colour"] and specs[1]["options"] == {"cond_dim": 5}
    loaded = WrappedBackbone.from_pretrained(tmp_path, backbone=nafnet)
    assert isinstance(loaded.adapter.condition[1], MeanColour)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_an_unknown_kind_in_a_file_is_a_type_error_listing_the_kinds():
    spec = {"type": "timm", "class": "Net", "module": "somewhere", "cond_dim": 4}
    with pytest.raises(TypeError, match=r"Unknown condition kind 'timm'; known: (.*, )?hub, (.*, )?user.*condition="):
        build_condition([spec], None)
    with pytest.raises(TypeError, match="cannot be rebuilt from the file"):
        build_condition([{**spec, "type": "user"}], None)
