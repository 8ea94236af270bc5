"""A Restormer is guided at the same modules from the preset and from a spandrel file (issue 24 §2)."""

from __future__ import annotations

import torch
from torch import nn

from perceive_ir import wrap_backbone
from perceive_ir.models import create_model, load_model
from perceive_ir.models.presets import NAFNET_LAYERS, RESTORMER_LAYERS, restormer_backbone
from perceive_ir.retrofit.guided_layers import GUIDED_LAYERS, guided_layers_for, register_guided_layers
from perceive_ir.retrofit.layer_probe import probe_backbone, select_guidance_layers

TINY = {"semantic_encoder": None, "probe_size": 32}


def test_the_table_and_the_presets_agree():
    assert GUIDED_LAYERS["Restormer"]() == RESTORMER_LAYERS and GUIDED_LAYERS["NAFNet"]() == NAFNET_LAYERS


def test_a_restormer_gets_the_same_guided_layers_from_the_preset_and_from_a_spandrel_file(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "restormer.pth"
    torch.save(restormer_backbone("small").state_dict(), path)
    from_file = load_model(path).module
    assert type(from_file).__name__ == "Restormer"
    automatic = select_guidance_layers(probe_backbone(from_file, 32))
    assert automatic != RESTORMER_LAYERS  # without the table the automatic rule picks `refinement`, not level 1
    wrapped_file = wrap_backbone(from_file, **TINY)
    wrapped_preset = create_model("restormer-small", **TINY)
    assert wrapped_file.hooked_layers == wrapped_preset.hooked_layers == RESTORMER_LAYERS
    assert wrap_backbone(from_file, layers=["latent"], **TINY).hooked_layers == ("latent",)  # `layers=` still wins


def test_an_unknown_or_mismatched_class_keeps_the_automatic_rule():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
    assert guided_layers_for(net) is None

    class Restormer(nn.Module):  # the name of a known architecture, other modules
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Conv2d(3, 3, 3, padding=1)

    assert guided_layers_for(Restormer()) is None


def test_user_code_registers_its_architecture():
    class TwoStage(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = nn.Conv2d(3, 8, 3, padding=1)
            self.second = nn.Conv2d(8, 8, 3, padding=1)
            self.out = nn.Conv2d(8, 3, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(self.second(self.first(x)))

    register_guided_layers("TwoStage", ["first"], overwrite=True)
    assert wrap_backbone(TwoStage(), **TINY).hooked_layers == ("first",)
