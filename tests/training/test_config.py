"""Typed, strict recipe sections: unknown keys refused, left-out keys not passed on."""

from __future__ import annotations

import warnings

import pytest
from omegaconf import OmegaConf

from perceive_ir.training.config import (
    UNSET,
    DataSection,
    LossSection,
    ModelSection,
    PerceiverRecipe,
    RestorationRecipe,
    TreeSection,
)
from perceive_ir.training.config_files import list_builtin_configs, load_config

TASKS = [{"degraded_dir": "lq", "clean_dir": "gt", "task": "denoise"}]


def recipe(**sections):
    base = {"model": {"name": "nafnet-small"}, "loss": {"kind": "l1"}, "data": {"tasks": TASKS},
            "train": {"max_steps": 1}}
    return {**base, **sections}


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        (recipe(bogus={"a": 1}), "`bogus`"),
        (recipe(model={"name": "nafnet-small", "bogus": 1}), "`model.bogus`"),
        (recipe(loss={"kind": "l1", "feature_spcae": "vgg16"}), "`loss.feature_spcae`"),
        (recipe(data={"tasks": TASKS, "crops": 64}), "`data.crops`"),
        (recipe(data={"tasks": [{**TASKS[0], "repeats": 2}]}), "`data.tasks[0].repeats`"),
        (recipe(train={"max_steps": 1, "learning_rate": 1.0}), "`train.learning_rate`"),
        (recipe(model={"name": "nafnet-small", "condition": "tree"}, tree={"depht": 2}), "`tree.depht`"),
    ],
)
def test_unknown_keys_are_refused_by_name(cfg, key):
    with pytest.raises(ValueError, match="Unknown setting") as info:
        RestorationRecipe.from_config(cfg)
    assert key in str(info.value) and "takes:" in str(info.value)


def test_left_out_keys_are_not_passed_on():
    model = ModelSection.from_mapping({"name": "restormer"}, "model")
    assert model.semantic_encoder is UNSET and model.wrap_options() == {}
    assert ModelSection(name="x", semantic_encoder=None, multiple=None).wrap_options() == {"semantic_encoder": None}
    loss = LossSection(kind="l1")
    assert loss.given("feature_space", "difficulty", "probe_samples") == {}
    data = DataSection.from_mapping({"tasks": TASKS, "crop": 32})
    assert data.given("crop", "hflip", "vflip", "seed") == {"crop": 32}


def test_old_model_keys_warn_and_move_to_the_new_ones():
    old = {"name": "nafnet-small", "pad_to": 32, "encoder_revision": "v1"}
    with pytest.warns(DeprecationWarning) as caught:
        model = ModelSection.from_mapping(old, "model")
    assert sorted(str(w.message) for w in caught) == [
        "`model.encoder_revision` is deprecated; use `model.semantic_encoder_revision`.",
        "`model.pad_to` is deprecated; use `model.multiple`.",
    ]
    assert (model.multiple, model.semantic_encoder_revision, model.pad_to, model.encoder_revision) == (
        32, "v1", None, None)
    assert model.wrap_options() == {"multiple": 32, "semantic_encoder_revision": "v1"}
    with pytest.warns(DeprecationWarning, match="`model.pad_to` is deprecated"):
        assert ModelSection(name="x", pad_to=8).multiple == 8
    with pytest.raises(ValueError, match="Give `model.multiple` only"):
        ModelSection(name="x", multiple=8, pad_to=8)


def test_required_and_invalid_values():
    with pytest.raises(ValueError, match="model.name"):
        ModelSection()
    with pytest.raises(ValueError, match="not both"):
        ModelSection(name="a", backbone_checkpoint="b.pth")
    with pytest.raises(ValueError, match="model.condition"):
        ModelSection(name="a", condition="trees")
    with pytest.raises(ValueError, match="loss.perceiver"):
        LossSection(kind="quality")
    with pytest.raises(ValueError, match="loss.kind"):
        LossSection(kind="l2")
    with pytest.raises(ValueError, match=r"data.tasks\[0\]"):
        DataSection.from_mapping({"tasks": [{"degraded_dir": "lq", "task": "denoise"}]})
    with pytest.raises(ValueError, match="empty"):
        DataSection.from_mapping({"tasks": []})
    with pytest.raises(ValueError, match="tree"):
        RestorationRecipe.from_config(recipe(tree={"depth": 2}))  # a tree section the model does not use


def test_proxy_entries_are_checked():
    loss = LossSection(kind="quality", perceiver="p", proxies=["a.pth", {"checkpoint": "b.pth", "tasks": ["dehaze"]}])
    assert loss.proxies == ("a.pth", {"checkpoint": "b.pth", "tasks": ["dehaze"]})
    with pytest.raises(ValueError, match=r"`loss.proxies\[0\].task`"):
        LossSection(kind="quality", perceiver="p", proxies=[{"checkpoint": "b.pth", "task": "dehaze"}])
    with pytest.raises(ValueError, match="checkpoint"):
        LossSection(kind="quality", perceiver="p", proxies=[{"tasks": ["dehaze"]}])


def test_mandatory_value_names_its_key():
    cfg = OmegaConf.create(recipe(loss={"kind": "quality", "perceiver": "???"}))
    with pytest.raises(ValueError, match=r"`loss.perceiver` is required"):
        RestorationRecipe.from_config(cfg)


def test_tree_section_splits_schedule_from_tree_arguments():
    tree = TreeSection.from_mapping({"grow_every": 2, "depth": 2, "branching": 3})
    assert tree.callback_options() == {"every": 2}
    assert dict(tree.options) == {"depth": 2, "branching": 3}


@pytest.mark.parametrize("name", sorted(set(list_builtin_configs()) - {"perceiver"}))
def test_shipped_stage2_recipes_are_valid(name):
    cfg = load_config(name, ["loss.perceiver=some/folder", "loss.medium_restorers=triplets"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the shipped recipes use the current keys
        parsed = RestorationRecipe.from_config(cfg)
    assert parsed.data.tasks and parsed.train.max_steps or parsed.train.epochs
    if name in ("3task", "5task"):
        with pytest.raises(ValueError, match="loss.medium_restorers"):  # the cross-fit proxies are asked for
            RestorationRecipe.from_config(load_config(name, ["loss.perceiver=some/folder"]))


def test_shipped_perceiver_recipe_is_valid():
    parsed = PerceiverRecipe.from_config(load_config("perceiver", ["data.manifest=m.json"]))
    assert parsed.perceiver.given() == {"clip_model": "ViT-B-32", "clip_pretrained": "openai", "n_ctx": 16,
                                        "tier_words": ["terrible", "mediocre", "excellent"], "style": "official"}
    with pytest.raises(ValueError, match="data.manifest"):
        PerceiverRecipe.from_config(load_config("perceiver"))
