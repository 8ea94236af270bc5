import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from perceive_ir import CompactFeatureExtractor, QualityPerceiver
from perceive_ir.perceive.clip_loading import ClipLoadError
from perceive_ir.perceive.prompts import DEFAULT_TIER_WORDS


@pytest.fixture
def perceiver(tiny_clip_config):
    return QualityPerceiver(clip_model=tiny_clip_config, clip_pretrained=None, n_ctx=8)


def _triplets(n=8, size=32):
    g = torch.Generator().manual_seed(1)
    base = torch.rand(n, 3, size // 4, size // 4, generator=g)
    high = F.interpolate(base, size=size, mode="bilinear", align_corners=False)
    medium = (high + 0.08 * torch.randn(high.shape, generator=g)).clamp(0, 1)
    low = (high + 0.35 * torch.randn(high.shape, generator=g)).clamp(0, 1)
    return low, medium, high


def test_outputs_have_the_documented_shapes_and_ranges(perceiver):
    images = torch.rand(3, 3, 40, 56)
    logits = perceiver(images)
    probs = perceiver.probabilities(images)
    score = perceiver.score(images)
    assert logits.shape == (3, 3) and probs.shape == (3, 3) and score.shape == (3,)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3))
    assert bool(((score >= 0) & (score <= 1)).all())
    torch.testing.assert_close(score, probs @ torch.tensor([0.0, 0.5, 1.0]))
    assert perceiver.tiers == ("low", "medium", "high")


def test_logits_use_clip_logit_scale_and_cosine(perceiver):
    images = torch.rand(2, 3, 32, 32)
    clip = perceiver.clip
    x = (images - perceiver.pixel_mean) / perceiver.pixel_std
    image_features = F.normalize(clip.encode_image(x), dim=-1)
    expected = clip.logit_scale.exp() * image_features @ perceiver.prompts(clip).T
    torch.testing.assert_close(perceiver(images), expected)
    assert clip.logit_scale.exp() > 10  # the scale is there, not a flat cosine


def test_only_prompt_context_trains_and_clip_stays_in_eval(perceiver):
    trainable = [name for name, p in perceiver.named_parameters() if p.requires_grad]
    assert trainable == ["prompts.ctx"]
    assert perceiver.prompts.ctx.shape == (3, 8, perceiver.clip.token_embedding.weight.shape[1])
    perceiver.train()
    assert perceiver.training and not perceiver.clip.training
    assert not any(m.training for m in perceiver.clip.modules())


def test_context_init_follows_coop_with_tier_words(tiny_clip_config):
    perceiver = QualityPerceiver(clip_model=tiny_clip_config, clip_pretrained=None, n_ctx=16)
    ctx = perceiver.prompts.ctx.detach()
    import open_clip

    tok = open_clip.tokenizer.SimpleTokenizer()
    for tier, word in enumerate(DEFAULT_TIER_WORDS):
        ids = tok([word])[0]
        end = int(ids.argmax())
        expected = perceiver.clip.token_embedding.weight[ids[1:end]].mean(0)
        torch.testing.assert_close(ctx[tier, -1], expected)
    assert abs(float(ctx[:, :-1].std()) - 0.02) < 0.004


def test_gradient_reaches_the_image_but_not_clip(perceiver):
    images = torch.rand(2, 3, 64, 64, requires_grad=True)
    perceiver.score(images).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    assert all(p.grad is None for p in perceiver.clip.parameters())


def test_prompt_training_lowers_cross_entropy(perceiver):
    low, medium, high = _triplets()
    optimizer = torch.optim.AdamW([perceiver.prompts.ctx], lr=2e-2)
    with torch.no_grad():
        before = perceiver.triplet_loss(low, medium, high).item()
    for _ in range(60):
        loss = perceiver.triplet_loss(low, medium, high)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = perceiver.triplet_loss(low, medium, high).item()
    # random tiny CLIP features are nearly collinear, so progress is slow but steady
    assert after < before - 0.1, (before, after)
    assert after < math.log(3), (before, after)  # better than chance over three tiers
    assert all(p.grad is None for p in perceiver.clip.parameters())


def test_text_features_are_cached_until_the_prompts_change(perceiver):
    calls = []
    perceiver.prompts.register_forward_hook(lambda *_: calls.append(1))
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        first = perceiver(images)
        perceiver(images)
    assert len(calls) == 1
    # a training step changes the prompts: the cache must not serve stale features
    perceiver.triplet_loss(*_triplets(2)).backward()
    torch.optim.SGD([perceiver.prompts.ctx], lr=1.0).step()
    with torch.no_grad():
        second = perceiver(images)
    assert not torch.allclose(first, second)
    perceiver.freeze()
    n = len(calls)
    perceiver(images)
    perceiver(images)
    assert len(calls) == n  # frozen, unchanged prompts: the cache from the last no-grad call serves, grad on or off


def test_round_trip_with_random_clip_saves_clip_weights(perceiver, tmp_path):
    with torch.no_grad():
        perceiver.prompts.ctx.add_(0.1)
    perceiver.save_pretrained(tmp_path / "p")
    keys = set(load_file(tmp_path / "p" / "model.safetensors"))
    assert "prompts.ctx" in keys and any(k.startswith("clip.") for k in keys)
    loaded = QualityPerceiver.from_pretrained(tmp_path / "p")
    images = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(loaded(images), perceiver(images), rtol=0, atol=0)


def test_clip_with_a_source_is_referenced_not_saved(tiny_clip_config, tmp_path):
    import json

    import open_clip
    from safetensors.torch import save_file

    clip_dir = tmp_path / "clip"
    clip_dir.mkdir()
    source = open_clip.CLIP(**tiny_clip_config)
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, clip_dir / "open_clip_model.safetensors")
    (clip_dir / "open_clip_config.json").write_text(json.dumps({"model_cfg": tiny_clip_config}))
    perceiver = QualityPerceiver(clip_model=f"local-dir:{clip_dir}", clip_pretrained=None, n_ctx=4)
    torch.testing.assert_close(perceiver.clip.visual.proj, source.visual.proj)
    perceiver.save_pretrained(tmp_path / "p")
    assert set(load_file(tmp_path / "p" / "model.safetensors")) == {"prompts.ctx"}
    loaded = QualityPerceiver.from_pretrained(tmp_path / "p")
    images = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(loaded(images), perceiver(images))


def test_strict_loading_rejects_foreign_or_tampered_files(perceiver, tmp_path):
    CompactFeatureExtractor().save_pretrained(tmp_path / "cfe")
    with pytest.raises(ValueError, match="holds a CompactFeatureExtractor"):
        QualityPerceiver.from_pretrained(tmp_path / "cfe")
    perceiver.save_pretrained(tmp_path / "p")
    from safetensors.torch import save_file

    state = load_file(tmp_path / "p" / "model.safetensors")
    state["extra.weight"] = torch.zeros(1)
    save_file(state, tmp_path / "p" / "model.safetensors")
    with pytest.raises(RuntimeError, match="unexpected keys \\['extra.weight'\\]"):
        QualityPerceiver.from_pretrained(tmp_path / "p")


def test_unreachable_clip_weights_fail_fast_with_advice(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ClipLoadError, match=r"HF_HUB_OFFLINE=1 is set: pass a local weights file"):
        QualityPerceiver(clip_model="ViT-B-32", clip_pretrained="openai")


def test_bad_arguments(tiny_clip_config, perceiver):
    with pytest.raises(ValueError, match="n_ctx"):
        QualityPerceiver(tiny_clip_config, None, n_ctx=0)
    with pytest.raises(ValueError, match="tier_words"):
        QualityPerceiver(tiny_clip_config, None, tier_words=("bad", "good"))
    with pytest.raises(ValueError, match="clip_pretrained"):
        QualityPerceiver(tiny_clip_config, "openai")
    with pytest.raises(TypeError, match="clip_model"):
        QualityPerceiver(clip_model=42, clip_pretrained=None)
    with pytest.raises(TypeError, match="`images`"):
        perceiver(torch.randint(0, 255, (1, 3, 32, 32), dtype=torch.uint8))
    # forward checks shapes only; the loss's entry (triplet_loss here) checks values
    assert perceiver(torch.rand(1, 3, 32, 32) * 255).shape == (1, 3)
    with pytest.raises(ValueError, match="`low`.*divide by 255"):
        perceiver.triplet_loss(torch.rand(1, 3, 32, 32) * 255, torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="`low`, `medium` and `high`"):
        perceiver.triplet_loss(torch.rand(1, 3, 32, 32), torch.rand(2, 3, 32, 32), torch.rand(1, 3, 32, 32))


def test_unreadable_clip_weights_name_the_file(tiny_clip_config, tmp_path):
    (tmp_path / "clip.pt").write_bytes(b"")
    with pytest.raises(ClipLoadError, match="clip.pt is not a readable torch file .*truncated"):
        QualityPerceiver(tiny_clip_config, str(tmp_path / "clip.pt"))
    (tmp_path / "clip.safetensors").write_bytes(b"garbage" * 10)
    with pytest.raises(ClipLoadError, match="clip.safetensors is not a readable safetensors file"):
        QualityPerceiver(tiny_clip_config, str(tmp_path / "clip.safetensors"))
