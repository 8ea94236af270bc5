"""Feature spaces, difficulty rules and loss kinds are registries: unknown names are listed, user entries are used."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from perceive_ir import QualityPerceiver
from perceive_ir.perceive.losses import (
    DIFFICULTY_RULES,
    FEATURE_SPACES,
    LOSS_KINDS,
    CallableFeatureSpace,
    ClipFeatureSpace,
    DifficultyRule,
    LossSettings,
    Proxy,
    QualityAwareLoss,
    VGG16FeatureSpace,
)
from perceive_ir.testing import tiny_clip_config


@pytest.fixture
def registries(monkeypatch):
    """Each test registers into copies of the registries, so nothing it adds outlives it."""
    for registry in (FEATURE_SPACES, DIFFICULTY_RULES, LOSS_KINDS):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))


class CountingRule(DifficultyRule):
    """A user's rule: the same weight for every negative, counting its calls."""

    def __init__(self, value: float = 0.5) -> None:
        self.value, self.calls = value, []

    def weights(self, batch, num_medium, device, restored_score=None, medium_scores=None, tasks=None,
                medium_psnr=None):
        self.calls.append((batch, num_medium))
        return torch.full((batch, num_medium), self.value, device=device)


def _images():
    g = torch.Generator().manual_seed(2)
    clean = torch.rand(2, 3, 32, 32, generator=g)
    return (clean + 0.05).clamp(0, 1), clean, (clean + 0.2 * torch.rand(clean.shape, generator=g)).clamp(0, 1)


def test_unknown_names_list_the_registered_ones_and_how_to_add_one():
    # (examples elsewhere may have registered more names: the built-in ones are listed, in order)
    with pytest.raises(ValueError, match=r"Unknown difficulty rule .*'hardest'; known: (.*, )?perceiver, proxy_psnr, "
                                         r"proxy_psnr_sample.*DIFFICULTY_RULES.register"):
        QualityAwareLoss(None, weights={"clip": 0}, difficulty="hardest", feature_space=lambda x: [x])
    with pytest.raises(ValueError, match=r"Unknown feature space .*'vgg19'; known: (.*, )?clip, (.*, )?vgg16.*"
                                         r"FEATURE_SPACES"):
        QualityAwareLoss(None, weights={"clip": 0}, difficulty=1.0, feature_space="vgg19")
    with pytest.raises(ValueError, match=r"feature_space='clip' needs a QualityPerceiver"):
        QualityAwareLoss(None, weights={"clip": 0}, difficulty=1.0, feature_space="clip")
    with pytest.raises(ValueError, match=r"Unknown loss kind \(`loss.kind`\) 'l2'; known: (.*, )?l1, (.*, )?quality"):
        LOSS_KINDS["l2"]


def test_the_built_in_names_build_what_they_did():
    perceiver = QualityPerceiver(tiny_clip_config(), None, n_ctx=4)
    loss_fn = QualityAwareLoss(perceiver, feature_space="clip", difficulty="proxy_psnr_sample")
    assert isinstance(loss_fn.feature_space, ClipFeatureSpace) and loss_fn.difficulty.per == "sample"
    assert LOSS_KINDS["l1"](LossSettings()) == "l1"


def test_user_registered_feature_space_and_rule_are_used_by_name(registries):
    rule = CountingRule(0.5)
    seen = []

    def pixels(perceiver, layer_weights):
        seen.append(layer_weights)
        return CallableFeatureSpace(lambda x: [x, x.mean(1, keepdim=True)], layer_weights)

    FEATURE_SPACES.register("pixels", pixels)
    DIFFICULTY_RULES.register("counting", lambda: rule)
    loss_fn = QualityAwareLoss(None, weights={"clip": 0}, feature_space="pixels", difficulty="counting",
                               layer_weights=[0.25, 0.75], proxies=[Proxy(lambda x: F.avg_pool2d(x, 3, 1, 1))])
    assert loss_fn.difficulty is rule and seen == [[0.25, 0.75]]
    out = loss_fn(*_images())
    assert rule.calls == [(2, 1)] and out.medium_weights.tolist() == [[0.5], [0.5]]
    assert loss_fn.feature_space.layer_weights == (0.25, 0.75) and "dpl" in out.terms


def test_a_factory_that_returns_the_wrong_thing_is_named(registries):
    FEATURE_SPACES.register("broken", lambda perceiver, layer_weights: (lambda x: [x]))
    DIFFICULTY_RULES.register("broken", lambda: 1.25)
    with pytest.raises(TypeError, match="feature space factory 'broken' returned function"):
        QualityAwareLoss(None, weights={"clip": 0}, difficulty=1.0, feature_space="broken")
    with pytest.raises(TypeError, match="difficulty rule factory 'broken' returned float"):
        QualityAwareLoss(None, weights={"clip": 0}, difficulty="broken", feature_space=VGG16FeatureSpace(None))


def test_registering_a_taken_name_needs_overwrite(registries):
    with pytest.raises(ValueError, match="already registered"):
        DIFFICULTY_RULES.register("proxy_psnr", CountingRule)
    DIFFICULTY_RULES.register("proxy_psnr", CountingRule, overwrite=True)
    assert isinstance(QualityAwareLoss(None, weights={"clip": 0}, feature_space=lambda x: [x]).difficulty,
                      CountingRule)
