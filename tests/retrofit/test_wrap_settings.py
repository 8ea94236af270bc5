"""``GuidanceSettings``: the grouped guidance settings, the keywords that still work, the renamed spellings."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn

from perceive_ir import SemanticGuidance, wrap_backbone
from perceive_ir.models.official.semantic import DinoClsFeatures
from perceive_ir.retrofit.settings import GuidanceSettings
from perceive_ir.retrofit.wrap import WrappedBackbone
from perceive_ir.testing import tiny_dinov2_config


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.GELU(), nn.Conv2d(8, 8, 3, padding=1),
                         nn.Conv2d(8, 3, 3, padding=1))


def test_settings_object_and_keywords_build_the_same_model():
    settings = GuidanceSettings(semantic_encoder=None, cond_dim=12, hidden_dim=16, cross_attention=[True, False])
    assert settings.cross_attention == (True, False)  # lists from configs become tuples
    by_object = wrap_backbone(_net(), settings=settings, probe_size=16)
    by_keywords = wrap_backbone(_net(), semantic_encoder=None, cond_dim=12, hidden_dim=16,
                                cross_attention=(True, False), probe_size=16)
    assert by_object.settings == by_keywords.settings == settings
    assert by_object.get_config() == by_keywords.get_config()
    assert by_object.cond_dim == 12 and by_object.semantic.hidden_dim == 16


def test_keywords_override_the_settings_object():
    model = wrap_backbone(_net(), settings=GuidanceSettings(semantic_encoder=None, cond_dim=12), cond_dim=20,
                          probe_size=16)
    assert model.settings.cond_dim == 20 and model.cond_dim == 20


def test_settings_are_frozen_and_validated():
    settings = GuidanceSettings(semantic_encoder=None)
    with pytest.raises(AttributeError):
        settings.cond_dim = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="`cond_dim` must be a positive int"):
        GuidanceSettings(cond_dim=0)
    with pytest.raises(ValueError, match="`semantic_layers` needs a `semantic_encoder`"):
        GuidanceSettings(semantic_encoder=None, semantic_layers=(1,))
    with pytest.raises(TypeError, match=r"Unknown guidance setting\(s\) \['cond_dims'\]"):
        wrap_backbone(_net(), semantic_encoder=None, cond_dims=8, probe_size=16)
    with pytest.raises(TypeError, match="`settings` must be a GuidanceSettings"):
        wrap_backbone(_net(), settings={"cond_dim": 8}, probe_size=16)


def test_old_spelling_of_the_revision_warns_and_still_works(monkeypatch, tmp_path):
    from transformers import AutoModel

    monkeypatch.setattr("perceive_ir.perceive.semantic._load_hub_encoder",
                        lambda name, revision: AutoModel.from_config(tiny_dinov2_config(num_hidden_layers=2)))
    with pytest.warns(DeprecationWarning, match="`encoder_revision` is deprecated; use `semantic_encoder_revision`"):
        model = wrap_backbone(_net(), semantic_encoder="someone/dinov2", encoder_revision="v1", cond_dim=8,
                              image_size=28, probe_size=16)
    assert model.settings.semantic_encoder_revision == "v1"
    # the file keeps its key (files of every version load), and loading it does not warn
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["encoder_revision"] == "v1"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        loaded = WrappedBackbone.from_pretrained(tmp_path, backbone=_net())
    assert loaded.settings.semantic_encoder_revision == "v1"


def test_semantic_guidance_old_spellings_warn():
    with pytest.warns(DeprecationWarning, match="`encoder` is deprecated; use `semantic_encoder`"):
        sgm = SemanticGuidance(encoder=None, cond_dim=8, channels=(4,))
    assert sgm.encoder is None
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="not both"):
        SemanticGuidance(None, encoder=None, cond_dim=8, channels=(4,))
    with pytest.raises(TypeError, match="unexpected keyword"):
        SemanticGuidance(None, cond_dim=8, channels=(4,), encoders=None)


def test_dino_features_old_spelling_warns():
    with pytest.warns(DeprecationWarning, match="`encoder` is deprecated; use `semantic_encoder`"):
        features = DinoClsFeatures(encoder=tiny_dinov2_config())
    assert features.dim == 32


def test_old_spelling_of_the_multiple_warns_at_the_callers_line_and_still_works():
    with pytest.warns(DeprecationWarning, match="wrap_backbone: `pad_to` is deprecated; use `multiple`") as caught:
        model = wrap_backbone(_net(), semantic_encoder=None, cond_dim=8, pad_to=8)
    assert caught[0].filename == __file__  # the user's line, not the package's
    with pytest.warns(DeprecationWarning, match="WrappedBackbone: `pad_to` is deprecated; use `multiple`") as caught:
        same = WrappedBackbone(_net(), semantic_encoder=None, cond_dim=8, pad_to=8)
    assert caught[0].filename == __file__
    assert model.multiple == same.multiple == 8 and model.probe_size == 64
    x = torch.rand(1, 3, 13, 21)
    assert model(x).shape == x.shape  # padded to 16 x 24 and cropped back
    with pytest.warns(DeprecationWarning, match=r"WrappedBackbone.pad_to is deprecated; use WrappedBackbone.multiple"):
        assert model.pad_to == 8
    for build in (wrap_backbone, WrappedBackbone):
        with pytest.raises(ValueError, match=r"give `multiple` only \(`pad_to` is its deprecated spelling\), not both"):
            build(_net(), semantic_encoder=None, multiple=8, pad_to=8)


def test_files_keep_the_pad_to_key_and_load_without_warning(tmp_path):
    model = wrap_backbone(_net(), semantic_encoder=None, cond_dim=8, multiple=4, probe_size=16)
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    # the key files of earlier versions hold: files of every version load, in both directions
    assert config["pad_to"] == 4 and "multiple" not in config
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        loaded = WrappedBackbone.from_pretrained(tmp_path, backbone=_net())
        assert loaded.multiple == 4
        assert WrappedBackbone.from_pretrained(tmp_path, backbone=_net(), multiple=8).multiple == 8  # an override
    with pytest.warns(DeprecationWarning, match="from_pretrained: `pad_to` is deprecated; use `multiple`") as caught:
        assert WrappedBackbone.from_pretrained(tmp_path, backbone=_net(), pad_to=16).multiple == 16
    assert caught[0].filename == __file__
    # a file without the key (edited) is refused by name, as before
    (tmp_path / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "pad_to"}))
    with pytest.raises(ValueError, match="lacks the setting"):
        WrappedBackbone.from_pretrained(tmp_path, backbone=_net())
