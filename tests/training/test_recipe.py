"""The shipped recipes are valid, and recipes build their models from the presets."""

from __future__ import annotations

import pytest

from perceive_ir.training import TrainConfig
from perceive_ir.training.config_files import list_builtin_configs, load_config


@pytest.mark.parametrize("name", ["3task", "5task", "small", "perceiver"])
def test_shipped_recipes_are_valid(name):
    assert name in list_builtin_configs()
    cfg = load_config(name)
    train = TrainConfig.from_mapping(dict(cfg.train))
    if name in ("3task", "5task"):
        assert cfg.model.name == "restormer" and cfg.data.crop == 128
        assert dict(cfg.loss.weights) == {"rec": 1.0, "cl": 0.1, "clip": 0.05, "dpl": 0.1}
        repeats = {t.filelist.split("/")[-1].split("_train")[0]: t.repeat for t in cfg.data.tasks}
        expected = {"bsd400_wed": 4 if name == "3task" else 12, "rain100l": 360, "reside_ots": 1}
        if name == "5task":
            expected |= {"gopro": 30, "lol": 140}
        assert repeats == expected
    if name == "perceiver":
        assert train.lr == 4e-5 and train.max_steps == 100_000 and cfg.data.crop == 224


def test_recipe_models_from_presets():
    from perceive_ir.training.recipe import build_backbone, build_restoration_model

    wrapped = build_restoration_model({"name": "nafnet-small", "semantic_encoder": None, "cond_dim": 16,
                                       "probe_size": 32})
    assert type(wrapped).__name__ == "WrappedBackbone" and wrapped.cond_dim == 16 and wrapped.pad_to == 16
    bare = build_restoration_model({"name": "nafnet-small", "wrap": False})
    assert type(bare).__name__ == "NAFNet" and type(build_backbone({"name": "nafnet-small"})) is type(bare)
    with pytest.raises(ValueError, match="model.name"):
        build_restoration_model({"wrap": True})
