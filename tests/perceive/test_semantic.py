"""SemanticGuidance: shapes, zero init, frozen encoder, gradients, layers, hub I/O."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from perceive_ir.hub import PretrainedNotFoundError
from perceive_ir.perceive.semantic import SemanticGuidance, default_semantic_layers

CHANNELS = (8, 16, 4, 4)


def _sgm(encoder, **kw) -> SemanticGuidance:
    kw.setdefault("channels", CHANNELS)
    kw.setdefault("cond_dim", 6)
    kw.setdefault("image_size", 28)
    return SemanticGuidance(encoder, **kw)


def _perturb_heads(sgm: SemanticGuidance) -> None:
    with torch.no_grad():
        for head in sgm.heads:
            head.mlp[-1].weight.normal_(std=0.1)
            head.mlp[-1].bias.normal_(std=0.1)


def test_shapes_and_zero_init(tiny_dinov2) -> None:
    sgm = _sgm(tiny_dinov2)
    images, z = torch.rand(3, 3, 20, 33), torch.randn(3, 6)
    features = sgm.encode(images)
    assert [f.shape for f in features] == [torch.Size([3, 32])] * 4
    params = sgm.modulation(features, z)
    assert [(g.shape, b.shape) for g, b in params] == [(torch.Size([3, c]),) * 2 for c in CHANNELS]
    assert all(torch.count_nonzero(g) == 0 and torch.count_nonzero(b) == 0 for g, b in params)
    x = torch.randn(3, 8, 5, 5)
    assert torch.equal(sgm.apply_level(0, x, *params[0]), x)
    forward = sgm(images, z)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(forward, params, strict=True))


def test_features_are_cls_tokens_of_chosen_hidden_states(tiny_dinov2) -> None:
    sgm = _sgm(tiny_dinov2, layers=(1, 4, 8, 12))
    images = torch.rand(2, 3, 28, 28)
    pixels = (images - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    hidden = sgm.encoder(pixel_values=pixels, output_hidden_states=True).hidden_states
    for feat, layer in zip(sgm.encode(images), (1, 4, 8, 12), strict=True):
        torch.testing.assert_close(feat, hidden[layer][:, 0])
    # different layers give different features; different images too
    feats = sgm.encode(images)
    assert not torch.allclose(feats[0], feats[3])
    assert not torch.allclose(feats[0][0], feats[0][1])


def test_encoder_frozen_and_stays_in_eval(tiny_dinov2) -> None:
    sgm = _sgm(tiny_dinov2)
    parent = nn.ModuleDict({"sgm": sgm})
    parent.train()
    assert not sgm.encoder.training
    assert all(not m.training for m in sgm.encoder.modules())
    assert sgm.heads.training
    assert not any(p.requires_grad for p in sgm.encoder.parameters())
    assert all(p.requires_grad for p in sgm.heads.parameters())
    parent.eval()
    assert not sgm.heads.training


def test_gradients_reach_heads_never_encoder(tiny_dinov2) -> None:
    sgm = _sgm(tiny_dinov2, cross_attention=True)
    images = torch.rand(2, 3, 28, 28, requires_grad=True)
    z = torch.randn(2, 6, requires_grad=True)
    features = sgm.encode(images)
    assert all(not f.requires_grad for f in features)
    params = sgm.modulation(features, z)
    loss = sum((g * torch.randn_like(g)).sum() + (b * torch.randn_like(b)).sum() for g, b in params)
    loss.backward()
    assert all(head.mlp[-1].weight.grad.abs().sum() > 0 for head in sgm.heads)
    assert all(p.grad is None for p in sgm.encoder.parameters())
    assert images.grad is None


def test_layers_validation(tiny_dinov2) -> None:
    with pytest.raises(ValueError, match=r"1\.\.12"):
        _sgm(tiny_dinov2, layers=(0, 4, 8, 12))
    with pytest.raises(ValueError, match=r"1\.\.12"):
        _sgm(tiny_dinov2, layers=(1, 4, 8, 13))
    with pytest.raises(ValueError, match="one encoder layer per guided level"):
        _sgm(tiny_dinov2, layers=(1, 4, 8))
    with pytest.raises(ValueError, match="channels"):
        _sgm(tiny_dinov2, channels=())
    with pytest.raises(ValueError, match="cross_attention"):
        _sgm(tiny_dinov2, cross_attention=(True, False))
    assert _sgm(tiny_dinov2, layers=None).layers == (12, 8, 4, 1)


def test_default_semantic_layers() -> None:
    assert default_semantic_layers(12, 4) == (12, 8, 4, 1)
    assert default_semantic_layers(24, 4) == (24, 16, 8, 2)
    assert default_semantic_layers(12, 2) == (12, 8)


def test_condition_only_mode() -> None:
    sgm = SemanticGuidance(None, cond_dim=6, channels=(4, 8))
    assert sgm.encode(torch.rand(2, 3, 8, 8)) == []
    assert sgm.heads[0].mlp[0].in_features == 6
    params = sgm.modulation([], torch.randn(2, 6))
    assert [g.shape for g, _ in params] == [torch.Size([2, 4]), torch.Size([2, 8])]
    with pytest.raises(ValueError, match="cond_dim"):
        SemanticGuidance(None, cond_dim=0, channels=(4,))


def test_per_level_cross_attention(tiny_dinov2) -> None:
    sgm = _sgm(tiny_dinov2, cross_attention=(True, False, False, True))
    assert sorted(sgm.cross_attn) == ["0", "3"]
    assert sgm.cross_attn["0"].channels == 8


def test_bad_inputs(tiny_dinov2) -> None:
    sgm = _sgm(tiny_dinov2)
    with pytest.raises(TypeError, match="images"):
        sgm.encode(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    # a module forward checks shapes and dtypes only; values are checked at the edges (restore(), the CLI)
    assert len(sgm.encode(torch.rand(1, 3, 8, 8) * 255)) == sgm.num_levels
    with pytest.raises(ValueError, match="images"):
        sgm.encode(torch.rand(1, 1, 8, 8))
    features = sgm.encode(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="`z`"):
        sgm.modulation(features, torch.randn(2, 5))
    with pytest.raises(ValueError, match="features"):
        sgm.modulation(features[:2], torch.randn(2, 6))
    with pytest.raises(TypeError, match="encoder"):
        SemanticGuidance(42, channels=(4,))
    with pytest.raises(ValueError, match="encoder_revision"):
        SemanticGuidance(tiny_dinov2, channels=(4,), layers=(1,), semantic_encoder_revision="main")


def test_hub_id_offline_gives_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PretrainedNotFoundError, match=r"HF_HUB_OFFLINE=1 is set: pass a local DINOv2 folder"):
        SemanticGuidance("facebook/dinov2-base", channels=(4, 4, 4, 4))


def test_inline_config_saves_encoder_and_reloads_identically(tiny_dinov2, tmp_path) -> None:
    sgm = _sgm(tiny_dinov2, cross_attention=True)
    _perturb_heads(sgm)
    sgm.save_pretrained(tmp_path)
    keys = load_file(tmp_path / "model.safetensors").keys()
    assert any(k.startswith("encoder.") for k in keys)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["encoder"]["model_type"] == "dinov2" and config["layers"] == [1, 4, 8, 12]
    assert not any(k in ("mean", "std") for k in keys)
    torch.manual_seed(123)  # a different random init must not matter
    loaded = SemanticGuidance.from_pretrained(tmp_path)
    images, z = torch.rand(2, 3, 30, 30), torch.randn(2, 6)
    for (g1, b1), (g2, b2) in zip(sgm(images, z), loaded(images, z), strict=True):
        assert torch.equal(g1, g2) and torch.equal(b1, b2)
        assert g1.abs().sum() > 0


def test_in_memory_model_and_config_dict(tiny_dinov2, tmp_path) -> None:
    from transformers import AutoModel

    model = AutoModel.from_config(tiny_dinov2)
    sgm = _sgm(model)
    assert sgm.encoder is model
    sgm.save_pretrained(tmp_path)
    loaded = SemanticGuidance.from_pretrained(tmp_path)
    images = torch.rand(1, 3, 28, 28)
    assert all(torch.equal(a, b) for a, b in zip(sgm.encode(images), loaded.encode(images), strict=True))
    from_dict = _sgm(tiny_dinov2.to_dict())
    assert from_dict.encoder.config.num_hidden_layers == 12


def test_hub_id_is_referenced_not_saved(tiny_dinov2, tmp_path, monkeypatch) -> None:
    from transformers import AutoModel

    calls = []

    def fake_load(name, revision):
        calls.append((name, revision))
        torch.manual_seed(7)  # the "published" weights: the same every time they are loaded
        return AutoModel.from_config(tiny_dinov2)

    monkeypatch.setattr("perceive_ir.perceive.semantic._load_hub_encoder", fake_load)
    sgm = SemanticGuidance("someone/dinov2-tiny", channels=CHANNELS, cond_dim=6, image_size=28,
                           semantic_encoder_revision="abc")
    _perturb_heads(sgm)
    sgm.save_pretrained(tmp_path)
    keys = load_file(tmp_path / "model.safetensors").keys()
    assert keys and not any(k.startswith("encoder.") for k in keys)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["encoder"] == "someone/dinov2-tiny" and config["encoder_revision"] == "abc"  # the file's keys
    loaded = SemanticGuidance.from_pretrained(tmp_path)
    assert calls == [("someone/dinov2-tiny", "abc")] * 2
    images, z = torch.rand(2, 3, 28, 28), torch.randn(2, 6)
    for (g1, b1), (g2, b2) in zip(sgm(images, z), loaded(images, z), strict=True):
        assert torch.equal(g1, g2) and torch.equal(b1, b2)
