"""Recipe files: ``base:`` merging, a complete file used as it is, and file errors that name the file."""

from __future__ import annotations

import pytest

from perceive_ir.training.config import RestorationRecipe, TrainConfig
from perceive_ir.training.config_files import load_config, names_base


def test_a_file_naming_a_base_is_merged_onto_it(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: small\ntrain:\n  max_steps: 7\n")
    cfg = load_config(path)
    small = load_config("small")
    assert "base" not in cfg
    assert cfg.train.max_steps == 7 and cfg.train.batch_size == small.train.batch_size
    assert cfg.model == small.model
    assert RestorationRecipe.from_config(cfg).train.max_steps == 7  # still strict and complete
    assert names_base(path) and names_base("small")


def test_bases_chain_relative_to_the_file_and_loops_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("base: small\ntrain:\n  max_steps: 3\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\ntrain:\n  lr: 0.01\n")
    cfg = load_config(tmp_path / "b.yaml")
    assert (cfg.train.max_steps, cfg.train.lr, cfg.model.name) == (3, 0.01, "nafnet-small")
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    with pytest.raises(ValueError, match="loop"):
        load_config(tmp_path / "b.yaml")


def test_a_file_without_base_is_used_as_it_is(tmp_path):
    path = tmp_path / "partial.yaml"
    path.write_text("train:\n  max_steps: 3\n")
    assert set(load_config(path)) == {"train"} and not names_base(path)


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("model: [1, 2\n  x: :", "is not valid YAML"),
        ("", "is empty"),
        ("# only a comment\n", "is empty"),
        ("- 1\n- 2\n", "holds a YAML list"),
        ("base: 3\n", "`base` must name a recipe"),
        ("base: nosuch\n", "No built-in config 'nosuch'"),
    ],
)
def test_bad_files_name_the_file(tmp_path, content, fragment):
    path = tmp_path / "r.yaml"
    path.write_text(content)
    with pytest.raises((ValueError, FileNotFoundError)) as info:
        load_config(path)
    assert fragment in str(info.value)
    if "built-in" not in fragment:
        assert str(path) in str(info.value)


def test_a_binary_file_or_folder_as_config(tmp_path):
    (tmp_path / "x.yaml").write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match="x.yaml"):
        load_config(tmp_path / "x.yaml")
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        load_config(tmp_path / "dir.yaml")


def test_overrides_that_omegaconf_cannot_apply_are_value_errors():
    with pytest.raises(ValueError, match="key=value"):
        load_config("small", ["nokeyvalue"])
    with pytest.raises(ValueError, match="Cannot apply the overrides"):
        load_config("small", ["train.max_steps=[1"])


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("lr", "abc", "`train.lr` must be a number > 0, got 'abc'"),
        ("lr", 0, "`train.lr` must be a number > 0"),
        ("weight_decay", -1, "`train.weight_decay` must be a number >= 0"),
        ("grad_clip", "x", "`train.grad_clip` must be None or a number > 0"),
        ("betas", [0.9], "`train.betas` must be two numbers"),
        ("betas", [0.9, 1.5], "`train.betas` must be two numbers in [0, 1)"),
        ("warmup_steps", -1, "`train.warmup_steps` must be a non-negative int"),
        ("seed", 1.5, "`train.seed` must be a non-negative int"),
        ("max_steps", "ten", "`train.max_steps` must be None or a positive int, got 'ten'"),
        ("batch_size", 0, "`train.batch_size` must be a positive int, got 0"),
        ("progress", "yes", "`train.progress` must be true or false"),
    ],
)
def test_train_values_are_typed_and_named_by_their_key(key, value, fragment):
    with pytest.raises(ValueError) as info:
        TrainConfig.from_mapping({"max_steps": 2, key: value})
    assert fragment in str(info.value)
