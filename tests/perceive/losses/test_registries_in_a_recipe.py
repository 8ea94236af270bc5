"""A recipe selects a user-registered loss kind, feature space and difficulty rule by name, end to end."""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn.functional as F

from perceive_ir import QualityPerceiver
from perceive_ir.perceive.losses import (
    DIFFICULTY_RULES,
    FEATURE_SPACES,
    LOSS_KINDS,
    CallableFeatureSpace,
    DifficultyRule,
    LossSettings,
    Proxy,
    QualityAwareLoss,
)
from perceive_ir.testing import tiny_clip_config
from perceive_ir.training.recipe import restoration_trainer

from ...training._helpers import write_pairs


class HalfRule(DifficultyRule):
    """A user's difficulty rule: 0.5 for every medium negative; it remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def weights(self, batch, num_medium, device, restored_score=None, medium_scores=None, tasks=None,
                medium_psnr=None):
        self.calls.append((batch, num_medium))
        return torch.full((batch, num_medium), 0.5, device=device)


@pytest.fixture
def registries(monkeypatch):
    for registry in (FEATURE_SPACES, DIFFICULTY_RULES, LOSS_KINDS):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))


def test_a_recipe_trains_with_a_user_loss_kind_feature_space_and_difficulty_rule(tmp_path, registries):
    rules: list[HalfRule] = []
    settings_seen: list[LossSettings] = []

    def with_blur_proxy(settings: LossSettings) -> QualityAwareLoss:
        settings_seen.append(settings)
        perceiver = QualityPerceiver.from_pretrained(str(settings.perceiver))
        blur = Proxy(lambda x: F.avg_pool2d(x, 3, 1, 1), name="blur")
        return QualityAwareLoss(perceiver, weights=settings.weights, proxies=[blur], **settings.options)

    def half() -> HalfRule:
        rules.append(HalfRule())
        return rules[-1]

    DIFFICULTY_RULES.register("half", half)
    FEATURE_SPACES.register("pixels", lambda perceiver, weights: CallableFeatureSpace(lambda x: [x], weights))
    LOSS_KINDS.register("quality_blur", with_blur_proxy)

    write_pairs(tmp_path / "data", n=2)
    torch.manual_seed(0)
    QualityPerceiver(tiny_clip_config(), None, n_ctx=4).save_pretrained(tmp_path / "perceiver")
    cfg = {
        "model": {"name": "nafnet-small", "semantic_encoder": None, "cond_dim": 16},
        "loss": {"kind": "quality_blur", "perceiver": str(tmp_path / "perceiver"), "feature_space": "pixels",
                 "difficulty": "half", "weights": {"cl": 0.0}},
        "data": {"crop": 32, "seed": 0, "tasks": [
            {"degraded_dir": str(tmp_path / "data" / t / "lq"), "clean_dir": str(tmp_path / "data" / t / "gt"),
             "task": t} for t in ("denoise", "lowlight")]},
        "train": {"output_dir": str(tmp_path / "run"), "batch_size": 2, "max_steps": 2, "progress": False,
                  "log_every": 1, "checkpoint_every": 1000, "cpu": True},
    }
    trainer = restoration_trainer(cfg)
    assert len(settings_seen) == 1 and settings_seen[0].options == {"feature_space": "pixels", "difficulty": "half"}
    assert trainer.loss_fn.difficulty is rules[0] and len(rules) == 1
    assert isinstance(trainer.loss_fn.feature_space, CallableFeatureSpace)
    trainer.train()
    assert rules[0].calls == [(2, 1), (2, 1)]  # the named rule weighed the blur proxy at every step
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    assert len(rows) == 2 and all(float(row["dpl"]) > 0 for row in rows)
