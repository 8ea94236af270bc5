"""The model factory: create_model (bare, wrapped, backbone weights) and load_model's resolution order."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from spandrel import ModelLoader
from spandrel.architectures.DRUNet import DRUNet
from spandrel.architectures.NAFNet import NAFNet

from perceive_ir import WrappedBackbone
from perceive_ir.hub import PretrainedNotFoundError
from perceive_ir.inference import restore
from perceive_ir.models import create_model, list_models, load_model, model_multiple, save_restoration_model
from perceive_ir.models.presets import NAFNET_LAYERS
from perceive_ir.retrofit import AdaptedInput, NoiseLevelMap

#: A width-8 NAFNet-small: tiny, and still the preset's block layout.
TINY = {"semantic_encoder": None, "probe_size": 32, "backbone_kwargs": {"width": 8}}


def _tiny_nafnet(seed: int = 1, **overrides) -> NAFNet:
    torch.manual_seed(seed)
    net = NAFNet(**{"width": 8, "enc_blk_nums": [1, 1, 1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1, 1, 1],
                    **overrides})
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))  # "trained": distinguishable from a fresh random init
    return net


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def nafnet_file(tmp_path):
    net = _tiny_nafnet()
    path = tmp_path / "nafnet.pth"
    torch.save(net.state_dict(), path)
    return path, net


# -- create_model ---------------------------------------------------------------------------------


def test_wrapped_by_default_bare_on_request():
    wrapped = create_model("nafnet-small", **TINY)
    assert isinstance(wrapped, WrappedBackbone) and wrapped.training
    assert wrapped.hooked_layers == NAFNET_LAYERS and wrapped.multiple == 16 and model_multiple(wrapped) == 16
    assert isinstance(wrapped.backbone, NAFNet) and wrapped.backbone.intro.out_channels == 8
    bare = create_model("nafnet-small", wrap=False, backbone_kwargs={"width": 8})
    assert type(bare) is NAFNet and bare.intro.out_channels == 8 and model_multiple(bare) == 1
    assert all(p.device.type == "cpu" for p in wrapped.parameters())


def test_wrap_options_override_the_presets():
    model = create_model("nafnet-small", cond_dim=16, multiple=32, **TINY)
    assert model.cond_dim == 16 and model.multiple == 32


def test_backbone_weights_are_loaded_into_the_bare_and_the_wrapped_backbone(nafnet_file):
    path, net = nafnet_file
    bare = create_model("nafnet-small", wrap=False, backbone_weights=path, backbone_kwargs={"width": 8})
    assert _same_state(bare, net)
    wrapped = create_model("nafnet-small", backbone_weights=str(path), **TINY)
    assert _same_state(wrapped.backbone, net)
    assert not _same_state(create_model("nafnet-small", wrap=False, backbone_kwargs={"width": 8}), net)


def test_backbone_weights_that_do_not_fit_are_refused(tmp_path, nafnet_file):
    path, _ = nafnet_file
    with pytest.raises(ValueError, match=r"do not fit the backbone of preset 'nafnet-small'"):
        create_model("nafnet-small", wrap=False, backbone_weights=path)  # width 8 into the preset's width 16
    # same widths, one more middle block: every shared tensor fits, the strict load still refuses
    deeper = tmp_path / "deeper.pth"
    torch.save(_tiny_nafnet(middle_blk_num=2).state_dict(), deeper)
    with pytest.raises(ValueError, match="do not fit"):
        create_model("nafnet-small", backbone_weights=deeper, **TINY)


def test_wrap_false_with_wrap_options_is_refused():
    with pytest.raises(ValueError, match=r"Wrap options \['cond_dim', 'semantic_encoder'\] given with wrap=False"):
        create_model("nafnet-small", wrap=False, semantic_encoder=None, cond_dim=8)


def test_unknown_name_and_a_preset_without_a_backbone(nafnet_file):
    with pytest.raises(ValueError, match=r"Unknown model 'nafnet-tiny'; known: .*nafnet-small.*register_model"):
        create_model("nafnet-tiny")
    assert "amirnet" in list_models()
    with pytest.raises(ValueError, match="'amirnet' has no separate backbone"):
        create_model("amirnet", backbone_weights=nafnet_file[0])
    with pytest.raises(ValueError, match="no separate backbone"):
        create_model("amirnet", backbone_kwargs={"width": 8})


# -- load_model -----------------------------------------------------------------------------------


def test_a_checkpoint_file_is_a_plain_network(nafnet_file):
    path, net = nafnet_file
    loaded = load_model(path)
    assert type(loaded.module) is NAFNet and not loaded.module.training and _same_state(loaded.module, net)
    assert loaded.trained and loaded.description == f"NAFNet from {path}"
    assert loaded.multiple == ModelLoader().load_from_file(path).size_requirements.multiple_of
    alone = load_model(None, backbone=path)  # a backbone alone is a plain network too
    assert _same_state(alone.module, net) and alone.description == f"NAFNet from {path}"


def test_a_checkpoint_file_gets_spandrels_size_multiple(tmp_path):
    path = tmp_path / "drunet.pth"
    torch.save(DRUNet(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=3).state_dict(), path)
    loaded = load_model(path)
    assert loaded.multiple == ModelLoader().load_from_file(path).size_requirements.multiple_of == 8


def test_a_checkpoint_file_network_takes_rgb_images_like_spandrels_descriptor(tmp_path):
    path = tmp_path / "drunet.pth"
    torch.save(DRUNet(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=3).state_dict(), path)
    x = torch.rand(1, 3, 16, 16)
    loaded = load_model(path).module
    assert isinstance(loaded, AdaptedInput) and isinstance(loaded.adapter, NoiseLevelMap)
    with torch.no_grad():  # spandrel clamps its output to [0, 1]
        torch.testing.assert_close(loaded(x).clamp(0, 1), ModelLoader().load_from_file(path)(x))


def test_a_super_resolution_checkpoint_restores_at_its_scale(tmp_path):
    from spandrel.architectures.ESRGAN import ESRGAN

    path = tmp_path / "sr.pth"
    net = ESRGAN(num_filters=8, num_blocks=1, scale=2)
    torch.save(net.state_dict(), path)
    loaded = load_model(path)
    assert loaded.description == f"ESRGAN ×2 from {path}" and _same_state(loaded.module, net)
    image = torch.rand(3, 20, 30)
    tiled = restore(loaded.module, image, tile=16, overlap=4)
    assert tiled.shape == (3, 40, 60)
    with torch.no_grad():
        torch.testing.assert_close(restore(loaded.module, image), net(image[None])[0])


def test_a_saved_folder(tmp_path):
    model = create_model("nafnet-small", **TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    folder = save_restoration_model(model, tmp_path / "model")
    loaded = load_model(folder)
    assert isinstance(loaded.module, WrappedBackbone) and not loaded.module.training
    assert loaded.trained and loaded.multiple == 16 and loaded.description == str(folder)
    assert _same_state(loaded.module, model)


def test_a_folder_with_other_backbone_weights(tmp_path, nafnet_file):
    path, net = nafnet_file
    folder = save_restoration_model(create_model("nafnet-small", **TINY), tmp_path / "model")
    loaded = load_model(folder, backbone=path)
    assert _same_state(loaded.module.backbone, net) and loaded.description == f"{folder} with backbone {path}"


def test_a_preset_name_is_untrained_unless_given_backbone_weights(nafnet_file):
    loaded = load_model("nafnet-small", **TINY)
    assert not loaded.trained and loaded.description == "preset nafnet-small (untrained)"
    assert isinstance(loaded.module, WrappedBackbone) and not loaded.module.training and loaded.multiple == 16
    path, net = nafnet_file
    weighted = load_model("nafnet-small", backbone=path, **TINY)
    assert weighted.trained and weighted.description == f"preset nafnet-small with backbone weights from {path}"
    assert _same_state(weighted.module.backbone, net)


def test_a_name_that_is_both_a_local_folder_and_a_preset_is_an_error_that_says_how_to_pick(tmp_path, monkeypatch):
    # issue 24: no more "a local folder wins over a preset name": the source says which it means
    model = create_model("nafnet-small", **TINY)
    with torch.no_grad():
        for p in model.adapter.parameters():
            p.add_(0.01)
    monkeypatch.chdir(tmp_path)
    save_restoration_model(model, "nafnet-small")
    with pytest.raises(ValueError, match=r"both a local folder and a preset name: write ./nafnet-small .*"
                                         r"preset:nafnet-small for the preset"):
        load_model("nafnet-small")
    for spelling in ("./nafnet-small", "local-dir:nafnet-small", Path("nafnet-small")):
        loaded = load_model(spelling)
        assert loaded.trained and loaded.source_kind == "folder" and _same_state(loaded.module, model)
    preset = load_model("preset:nafnet-small", **TINY)
    assert not preset.trained and preset.source_kind == "preset" and not _same_state(preset.module, model)


def test_what_cannot_be_resolved(tmp_path, nafnet_file):
    path, _ = nafnet_file
    with pytest.raises(ValueError, match="Give `source`"):
        load_model(None)
    with pytest.raises(ValueError, match="is a checkpoint file; `backbone` is only for presets and folders"):
        load_model(path, backbone=path)
    with pytest.raises(PretrainedNotFoundError, match="not a local folder"):  # neither preset nor folder: Hub, offline
        load_model(str(tmp_path / "nowhere"))
