"""The stage-1 recipe builds the authors' prompt learner: their template (no trailing period), words and sizes."""

from __future__ import annotations

import pytest

from perceive_ir import QualityPerceiver
from perceive_ir.testing import tiny_clip_config
from perceive_ir.training.config import PerceiverRecipe
from perceive_ir.training.config_files import load_config


def _recipe_perceiver(**override: object) -> QualityPerceiver:
    recipe = PerceiverRecipe.from_config(load_config("perceiver", ["data.manifest=m.json"]))
    options = {**recipe.perceiver.given(), "clip_model": tiny_clip_config(), "clip_pretrained": None, **override}
    return QualityPerceiver(**options)


def test_recipe_selects_the_authors_prompt_template() -> None:
    perceiver = _recipe_perceiver(n_ctx=4)
    assert perceiver.style == "official"
    assert perceiver.prompts.tier_words == ("terrible", "mediocre", "excellent")
    tokens = perceiver.prompts.tokens
    eot = int(tokens[0].argmax())
    # [SOT] X X X X [EOT]: the context is followed directly by the end of text (the authors' "X X X X")
    assert eot == 1 + 4
    # the library's own style ends the template with a period: one more token before [EOT]
    assert int(_recipe_perceiver(n_ctx=4, style="perceive-ir").prompts.tokens[0].argmax()) == 1 + 4 + 1
    # the authors keep the embeddings around the context as buffers, saved with the prompts
    assert {"prompts.token_prefix", "prompts.token_suffix", "prompts.tokens"} <= set(perceiver.state_dict())


def test_recipe_sizes_are_the_authors() -> None:
    recipe = PerceiverRecipe.from_config(load_config("perceiver", ["data.manifest=m.json"]))
    assert recipe.perceiver.n_ctx == 16 and recipe.data.crop == 224
    train = recipe.train
    assert (train.batch_size, train.max_steps, train.lr, train.weight_decay, train.warmup_steps) == (
        32, 100_000, 4e-5, 0.01, 0)
    assert tuple(train.betas) == (0.9, 0.999) and train.mixed_precision == "no" and train.seed == 0
    assert train.lr * train.min_lr_ratio == pytest.approx(1e-6)
