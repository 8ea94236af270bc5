"""Reference presets: hooked layers, architecture, registry, spandrel loading, whole-model folders."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from perceive_ir import WrappedBackbone
from perceive_ir.hub import PretrainedNotFoundError
from perceive_ir.inference.tiling import pad_to_multiple
from perceive_ir.models import create_model, list_models, register_model
from perceive_ir.models.checkpoint import load_restoration_model, save_restoration_model
from perceive_ir.models.presets import NAFNET_LAYERS, RESTORMER_LAYERS, perceive_ir_nafnet, perceive_ir_restormer
from perceive_ir.models.user_network import load_user_network
from perceive_ir.retrofit.layer_probe import probe_backbone, select_guidance_layers

# the deprecated loaders (load_restoration_model, load_user_network, ...) keep their behaviour for one release;
# tests/models/test_deprecations.py checks that they warn
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated and will be removed:DeprecationWarning")


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_restormer_paper_preset_is_the_papers_configuration():
    model = perceive_ir_restormer("paper", semantic_encoder=None, probe_size=16)
    net = model.backbone
    assert type(net).__name__ == "Restormer"
    assert model.hooked_layers == RESTORMER_LAYERS == ("latent", "decoder_level3", "decoder_level2", "decoder_level1")
    assert model.level_channels == (384, 192, 96, 96)
    levels = ("encoder_level1", "encoder_level2", "encoder_level3", "latent")
    assert [len(getattr(net, n)) for n in levels] == [4, 6, 6, 8]
    assert len(net.refinement) == 4
    assert [getattr(net, n)[0].attn.num_heads for n in levels] == [1, 2, 4, 8]
    assert net.patch_embed.proj.out_channels == 48
    assert model.multiple == 8
    assert model.semantic.cross_attention_levels == (True, True, True, True)
    assert 26.0e6 < n_params(net) < 26.3e6  # Restormer's published size: 26.1 M


def test_small_presets_run_and_hook_the_documented_layers(tiny_dinov2):
    rest = perceive_ir_restormer("small", semantic_encoder=tiny_dinov2, image_size=28, probe_size=16)
    assert rest.hooked_layers == RESTORMER_LAYERS and rest.level_channels == (128, 64, 32, 32)
    naf = perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32)
    assert naf.hooked_layers == NAFNET_LAYERS == ("middle_blks", "decoders.0", "decoders.1", "decoders.2")
    assert naf.multiple == 16 and naf.level_channels == (256, 128, 64, 32)
    # the automatic rule agrees for NAFNet; for Restormer it would pick `refinement`, hence explicit names
    assert select_guidance_layers(probe_backbone(naf.backbone, 32)) == NAFNET_LAYERS
    x = torch.rand(1, 3, 20, 27)
    with torch.no_grad():
        for model in (rest, naf):
            out = model(x)  # identity at initialisation: the bare network on the padded input, cropped
            padded, _ = pad_to_multiple(x, model.multiple)
            assert out.shape == x.shape
            assert torch.allclose(out, model.backbone(padded)[..., :20, :27], atol=1e-5)


def test_nafnet_paper_preset():
    model = perceive_ir_nafnet("paper", semantic_encoder=None, probe_size=32)
    assert model.hooked_layers == NAFNET_LAYERS
    assert [len(e) for e in model.backbone.encoders] == [2, 2, 4, 8]
    assert len(model.backbone.middle_blks) == 12
    assert model.backbone.intro.out_channels == 32


def test_registry_and_errors():
    assert {"restormer", "restormer-small", "nafnet", "nafnet-small"} <= set(list_models())
    model = create_model("restormer-small", semantic_encoder=None, cond_dim=16, probe_size=16)
    assert isinstance(model, WrappedBackbone) and model.cond_dim == 16
    with pytest.raises(ValueError, match="Unknown model 'nope'"):
        create_model("nope")
    with pytest.raises(ValueError, match="preset"):
        perceive_ir_restormer("large", semantic_encoder=None)
    with pytest.raises(ValueError, match="already registered"):
        register_model("restormer", lambda **kw: None)
    with pytest.raises(TypeError, match="build"):
        register_model("x-demo", 3)  # type: ignore[arg-type]


def test_load_user_network_and_errors(tmp_path):
    naf = perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32).backbone
    path = tmp_path / "nafnet.pth"
    torch.save(naf.state_dict(), path)
    loaded = load_user_network(path)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), naf.eval()(x))
    with pytest.raises(FileNotFoundError):
        load_user_network(tmp_path / "missing.pth")
    save_file({"foo.weight": torch.zeros(2)}, str(tmp_path / "odd.safetensors"))
    with pytest.raises(ValueError, match="spandrel cannot load"):
        load_user_network(tmp_path / "odd.safetensors")


def test_whole_model_folder_round_trip(tmp_path):
    model = perceive_ir_restormer("small", semantic_encoder=None, probe_size=16)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)  # adapter and backbone both "trained"
    model.eval()
    folder = save_restoration_model(model, tmp_path / "m")
    loaded = load_restoration_model(folder)
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-6)
    # adapter-only folders need the backbone
    model.save_pretrained(tmp_path / "adapter")
    with pytest.raises(PretrainedNotFoundError, match="backbone"):
        load_restoration_model(tmp_path / "adapter")
    torch.save(model.backbone.state_dict(), tmp_path / "backbone.pth")
    again = load_restoration_model(tmp_path / "adapter", backbone=tmp_path / "backbone.pth")
    with torch.no_grad():
        assert torch.allclose(again(x), model(x), atol=1e-6)
    with pytest.raises(TypeError, match="WrappedBackbone"):
        save_restoration_model(model.backbone, tmp_path / "bare")  # type: ignore[arg-type]
