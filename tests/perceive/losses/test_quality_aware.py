import pytest
import torch
import torch.nn.functional as F

from perceive_ir import LossWeights, QualityAwareLoss, QualityPerceiver
from perceive_ir.perceive.losses import (
    FixedDifficulty,
    PerceiverDifficulty,
    ProxyPSNRDifficulty,
    VGG16FeatureSpace,
    difficulty_adaptive_perceptual_loss,
)

from ..._gradcheck import as_inputs, assert_gradcheck

#: The paper's feature space with random weights: the tests never download ImageNet weights.
VGG = VGG16FeatureSpace(weights=None)


@pytest.fixture
def perceiver(tiny_clip_config):
    return QualityPerceiver(clip_model=tiny_clip_config, clip_pretrained=None, n_ctx=4)


def _batch(b=2, size=32):
    clean = torch.rand(b, 3, size, size)
    degraded = (clean + 0.2 * torch.randn_like(clean)).clamp(0, 1)
    restored = (0.5 * clean + 0.5 * degraded).requires_grad_()
    return restored, clean, degraded


def test_total_is_the_weighted_sum_of_the_terms(perceiver):
    restored, clean, degraded = _batch()
    z, z_pos = torch.randn(2, 16), torch.randn(2, 16)
    loss_fn = QualityAwareLoss(perceiver, feature_space=VGG)
    out = loss_fn(restored, clean, degraded, medium=degraded * 0.9 + 0.05, z=z, z_positive=z_pos)
    assert set(out.terms) == {"rec", "clip", "dpl", "cl"}
    w = LossWeights()
    expected = out.terms["rec"] + w.cl * out.terms["cl"] + w.clip * out.terms["clip"] + w.dpl * out.terms["dpl"]
    torch.testing.assert_close(out.loss.detach(), expected)
    assert (w.cl, w.clip, w.dpl) == (0.1, 0.05, 0.1)  # the paper's best
    assert all(not t.requires_grad for t in out.terms.values())


def test_quality_term_is_one_minus_p_high_with_logit_scale(perceiver):
    restored, clean, degraded = _batch()
    out = QualityAwareLoss(perceiver, weights={"dpl": 0}, feature_space=VGG)(restored, clean, degraded)
    with torch.no_grad():
        expected = (1 - perceiver.probabilities(restored)[:, 2]).mean()
    torch.testing.assert_close(out.terms["clip"], expected)
    assert "dpl" not in out.terms


def test_gradients_reach_restored_but_never_the_frozen_encoders(perceiver):
    restored, clean, degraded = _batch()
    loss_fn = QualityAwareLoss(perceiver, feature_space=VGG)
    loss_fn(restored, clean, degraded, medium=[clean * 0.8]).loss.backward()
    assert restored.grad is not None and restored.grad.abs().sum() > 0
    assert all(p.grad is None for p in perceiver.parameters())
    assert not any(p.requires_grad for p in perceiver.parameters())  # the loss froze the prompts too


def test_clip_space_runs_the_vision_tower_once_with_grad_and_once_without(perceiver, monkeypatch):
    calls = []
    original = perceiver.clip.visual.forward_intermediates

    def spy(x, *args, **kwargs):
        calls.append((x.shape[0], torch.is_grad_enabled()))
        return original(x, *args, **kwargs)

    monkeypatch.setattr(perceiver.clip.visual, "forward_intermediates", spy)
    monkeypatch.setattr(perceiver.clip, "encode_image", lambda *a, **k: pytest.fail("extra CLIP pass"))
    restored, clean, degraded = _batch(b=3)
    loss_fn = QualityAwareLoss(perceiver, difficulty="perceiver", feature_space="clip")
    _ = loss_fn(restored, clean, degraded, medium=[clean, degraded]).loss
    # restored with grad; target + degraded + two mediums in one no-grad batch
    assert calls == [(3, True), (3 * 4, False)]


def test_quality_term_gradcheck_in_float64(tiny_clip_config):
    """``L_clip`` alone, through a float64 copy of the tiny CLIP (8×8 inputs, upsampled to its 32×32)."""
    perceiver = QualityPerceiver(clip_model=tiny_clip_config, clip_pretrained=None, n_ctx=4).double()
    loss_fn = QualityAwareLoss(perceiver, weights={"rec": 0, "cl": 0, "clip": 1, "dpl": 0}, feature_space="clip")
    target = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    (restored,) = as_inputs(0.2 + 0.6 * torch.rand(2, 3, 8, 8))

    def quality(r):
        out = loss_fn(r, target, target)
        assert set(out.terms) == {"clip"}
        return out.loss

    assert_gradcheck(quality, (restored,))


def test_whole_loss_gradcheck_without_clip():
    """``L_rec + L_dpl + L_cl`` with a callable feature space: the terms combine with exact gradients."""

    def features(x):
        return [x, F.avg_pool2d(x, 4)]

    loss_fn = QualityAwareLoss(None, weights={"clip": 0}, feature_space=features, difficulty=[1.5, 0.5],
                               layer_weights=[0.5, 1.0])
    # every image differs from the restored one by a constant offset, in every pixel and so in
    # every pooled feature too: |·| is smooth at these points
    clean = 0.2 + 0.4 * torch.rand(2, 3, 8, 8, dtype=torch.float64)
    degraded = clean + 0.35
    medium = [clean - 0.1, clean + 0.3]
    restored, z, z_positive = as_inputs(clean + 0.1, torch.randn(2, 6), torch.randn(2, 6))

    def total(r, z, zp):
        out = loss_fn(r, clean, degraded, medium=medium, z=z, z_positive=zp)
        assert set(out.terms) == {"rec", "dpl", "cl"}
        return out.loss

    assert_gradcheck(total, (restored, z, z_positive))


def test_perceptual_term_matches_the_formula():
    restored, clean, degraded = _batch()
    medium = [clean * 0.9, degraded * 0.95]

    def features(x):
        return [x, F.avg_pool2d(x, 4)]

    loss_fn = QualityAwareLoss(
        None, weights={"clip": 0}, feature_space=features, difficulty=[1.25, 0.75], layer_weights=[0.5, 1.0]
    )
    out = loss_fn(restored, clean, degraded, medium=medium)

    def d(a, b):
        return (a - b).abs().flatten(1).mean(1)

    total = 0
    with torch.no_grad():
        layers = (features(t) for t in [restored, clean, degraded, *medium])
        for w, fr, fg, fl, f1, f2 in zip([0.5, 1.0], *layers, strict=True):
            total = total + w * d(fr, fg) / (2 * d(fr, fl) + 1.25 * d(fr, f1) + 0.75 * d(fr, f2)).clamp_min(1e-6)
    torch.testing.assert_close(out.terms["dpl"], total.mean())
    torch.testing.assert_close(out.medium_weights, torch.tensor([[1.25, 0.75]] * 2))


def test_vgg16_space_takes_the_papers_layers():
    space = VGG16FeatureSpace(weights=None)
    feats = space(torch.rand(1, 3, 32, 32))
    assert [f.shape[1:] for f in feats] == [(64, 32, 32), (128, 16, 16), (256, 8, 8), (256, 8, 8)]
    assert all((f >= 0).all() for f in feats)  # every map is a ReLU output, relu2_2 included
    assert space.layer_weights == (1 / 12, 1 / 6, 1 / 3, 1.0)
    assert not any(p.requires_grad for p in space.parameters())
    restored, clean, degraded = _batch()
    out = QualityAwareLoss(None, weights={"clip": 0}, feature_space=space)(restored, clean, degraded)
    out.loss.backward()
    assert restored.grad is not None and all(p.grad is None for p in space.parameters())


def test_proxy_modules_are_applied_to_the_degraded_input(perceiver):
    restored, clean, degraded = _batch()
    seen = []

    class Proxy(torch.nn.Module):
        def forward(self, x):
            seen.append((x, torch.is_grad_enabled()))
            return x.clamp(0.1, 0.9)

    out = QualityAwareLoss(perceiver, difficulty=1.0, feature_space=VGG)(restored, clean, degraded, medium=Proxy())
    assert len(seen) == 1 and seen[0][0] is degraded and seen[0][1] is False
    assert out.medium_weights.shape == (2, 1)


def test_proxy_psnr_rule_remeasures_against_the_model():
    torch.manual_seed(0)
    clean = F.interpolate(torch.rand(4, 3, 8, 8), size=32, mode="bilinear", align_corners=False)
    noisy = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
    probe = [(noisy[:2], clean[:2]), (noisy[2:], clean[2:])]
    identity = torch.nn.Identity()

    def smoother(x):
        return F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)

    def darkener(x):
        return x * 0.5

    rule = ProxyPSNRDifficulty()
    assert rule.weights(2, 2, torch.device("cpu")).eq(1.0).all()  # neutral before measuring
    assert rule.measure(identity, [smoother, darkener], probe) == {"all": [0.75, 1.25]}
    assert rule.last_psnr["proxy0/all"] > rule.last_psnr["model/all"] > rule.last_psnr["proxy1/all"]
    with pytest.raises(ValueError, match=r"measured for \[2\] proxies but 1"):
        rule.weights(2, 1, torch.device("cpu"))


def test_perceiver_rule_gives_per_sample_weights(perceiver):
    restored, clean, degraded = _batch(b=4)
    loss_fn = QualityAwareLoss(perceiver, difficulty="perceiver", feature_space=VGG)
    out = loss_fn(restored, clean, degraded, medium=[clean, degraded])
    assert out.medium_weights.shape == (4, 2)
    assert set(out.medium_weights.unique().tolist()) <= {0.75, 1.25}
    with torch.no_grad():
        s_r = perceiver.score(restored)
        s_m = perceiver.score(clean)
    expected = torch.where(s_r >= s_m, 1.25, 0.75)
    torch.testing.assert_close(out.medium_weights[:, 0], expected)
    assert isinstance(loss_fn.difficulty, PerceiverDifficulty)


def test_zero_weights_skip_their_terms(perceiver):
    restored, clean, degraded = _batch()
    only_rec = QualityAwareLoss(None, weights={"clip": 0, "dpl": 0, "cl": 0}, feature_space=lambda x: [x])
    out = only_rec(restored, clean, degraded, z=torch.randn(2, 8), z_positive=torch.randn(2, 8))
    assert set(out.terms) == {"rec"}
    torch.testing.assert_close(out.loss, F.l1_loss(restored, clean))


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"restored": torch.rand(2, 3, 32, 32) * 255}, ValueError, "`restored`"),
        ({"target": torch.zeros(2, 3, 32, 32, dtype=torch.uint8)}, TypeError, "`target`"),
        ({"degraded": torch.full((2, 3, 32, 32), float("nan"))}, ValueError, "`degraded`"),
        ({"target": torch.rand(2, 3, 32, 30)}, ValueError, "`restored` and `target`"),
        ({"medium": torch.rand(2, 3, 16, 16)}, ValueError, "`medium[0]`"),
        ({"medium": "clean"}, TypeError, "`medium[0]`"),
        ({"z": torch.randn(2, 8)}, ValueError, "`z` and `z_positive`"),
        ({"z": torch.randn(2, 8), "z_positive": torch.randn(2, 9)}, ValueError, "`positive`"),
        ({"restored": torch.rand(2, 3, 4, 4)}, ValueError, "at least 8×8"),
    ],
)
def test_bad_inputs_raise_clear_errors(perceiver, kwargs, error, fragment):
    restored, clean, degraded = _batch()
    args = {"restored": restored, "target": clean, "degraded": degraded, **kwargs}
    with pytest.raises(error) as info:
        QualityAwareLoss(perceiver, feature_space=VGG)(**args)
    assert fragment in str(info.value)


def test_bad_construction(perceiver):
    with pytest.raises(ValueError, match="unknown terms"):
        QualityAwareLoss(perceiver, weights={"l1": 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        LossWeights(clip=-1)
    with pytest.raises(ValueError, match="needs a QualityPerceiver"):
        QualityAwareLoss(None, feature_space="clip")
    with pytest.raises(ValueError, match="feature_space"):
        QualityAwareLoss(perceiver, feature_space="resnet")
    with pytest.raises(ValueError, match="difficulty"):
        QualityAwareLoss(perceiver, difficulty="hardest", feature_space=VGG)
    with pytest.raises(TypeError, match="perceiver"):
        QualityAwareLoss(torch.nn.Identity())
    assert isinstance(QualityAwareLoss(perceiver, difficulty=1.0, feature_space=VGG).difficulty, FixedDifficulty)


def test_functional_checks_layer_counts():
    with pytest.raises(ValueError, match="disagree"):
        difficulty_adaptive_perceptual_loss([torch.rand(1, 4)], [torch.rand(1, 4)], [], layer_weights=[1.0])
