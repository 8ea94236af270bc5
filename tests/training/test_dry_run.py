"""The dry run builds a recipe offline and tells inputs that are missing from what cannot be built."""

from __future__ import annotations

import json

from perceive_ir import QualityPerceiver
from perceive_ir.testing import tiny_clip_config
from perceive_ir.training.config_files import load_config
from perceive_ir.training.dry_run import dry_run

from ._helpers import write_pairs


def _recipe(tmp_path, **loss):
    data = tmp_path / "data" / "denoise"
    return {"model": {"name": "nafnet-small", "semantic_encoder": None, "cond_dim": 16},
            "loss": {"kind": "quality", "feature_space": "clip", **loss},
            "data": {"tasks": [{"degraded_dir": str(data / "lq"), "clean_dir": str(data / "gt"), "task": "denoise"}]},
            "train": {"max_steps": 4, "output_dir": str(tmp_path / "run")}}


def test_a_complete_recipe_builds_with_nothing_missing(tmp_path):
    write_pairs(tmp_path / "data", n=2)
    QualityPerceiver(tiny_clip_config(), None, n_ctx=4).save_pretrained(tmp_path / "perceiver")
    report = dry_run(_recipe(tmp_path, perceiver=str(tmp_path / "perceiver")))
    assert report.ok and report.missing == [] and report.network == "WrappedBackbone"
    assert [name for name, _, _ in report.loss_terms] == ["L_rec", "L_cl", "L_clip", "L_dpl"]
    assert report.data == [{"task": "denoise", "source": f"{tmp_path}/data/denoise/lq + {tmp_path}/data/denoise/gt",
                            "repeat": 1, "items": 2}]


def test_a_perceiver_whose_clip_is_not_here_is_missing_not_an_error(tmp_path):
    """The perceiver names OpenAI's CLIP, which is not on this machine: reported, never downloaded."""
    write_pairs(tmp_path / "data", n=2)
    folder = tmp_path / "perceiver"
    QualityPerceiver(tiny_clip_config(), None, n_ctx=4).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "clip_model": "ViT-B-32", "clip_pretrained": "openai"}))
    report = dry_run(_recipe(tmp_path, perceiver=str(folder)))
    assert report.ok, report.errors
    assert any("CLIP weights" in m for m in report.missing)


def test_required_values_left_unset_are_listed_as_missing():
    report = dry_run(load_config("3task-retrofit", ["model.semantic_encoder=null"]))
    assert report.network == "WrappedBackbone" and report.ok, report.errors
    assert any(m.startswith("loss.perceiver: required") for m in report.missing)
    assert any(m.startswith("loss.medium_restorers: required") for m in report.missing)
