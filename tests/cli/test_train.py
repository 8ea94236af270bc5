"""``perceive-ir train`` / ``train-perceiver`` end to end on tiny data (recipes alone: training/test_recipe.py)."""

from __future__ import annotations

import csv

import pytest
import torch
import yaml

from perceive_ir.cli.main import main
from perceive_ir.data import PairedFolderDataset
from perceive_ir.testing import tiny_clip_config
from perceive_ir.training import build_triplets
from perceive_ir.training.config_files import load_config

from ..training._helpers import write_pairs


def _nafnet_file(path):
    from spandrel.architectures.NAFNet import NAFNet

    torch.manual_seed(0)
    net = NAFNet(width=8, enc_blk_nums=[1, 1, 1, 1], middle_blk_num=1, dec_blk_nums=[1, 1, 1, 1])
    torch.save(net.state_dict(), path)
    return path


def test_train_command_runs_and_resumes_from_a_spandrel_checkpoint(tmp_path):
    write_pairs(tmp_path / "data", n=2)
    recipe = {
        "model": {"backbone_checkpoint": str(_nafnet_file(tmp_path / "nafnet.pth")), "wrap": True,
                  "semantic_encoder": None, "cond_dim": 16, "multiple": 16},
        "loss": {"kind": "l1"},
        "data": {"crop": 32, "seed": 0, "tasks": [
            {"degraded_dir": str(tmp_path / "data" / t / "lq"), "clean_dir": str(tmp_path / "data" / t / "gt"),
             "task": t, "repeat": r} for t, r in (("denoise", 1), ("lowlight", 2))]},
        "train": {"output_dir": str(tmp_path / "run"), "batch_size": 2, "max_steps": 2, "progress": False,
                  "log_every": 1, "checkpoint_every": 1, "lr": 1e-3},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    assert main(["train", "--config", str(path)]) == 0
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert (tmp_path / "run" / "adapter" / "model.safetensors").is_file()
    assert load_config(tmp_path / "run" / "config.yaml").train.max_steps == 2
    # extending the run by one step changes its schedule: refused, then allowed explicitly and logged
    assert main(["train", "--config", str(path), "train.max_steps=3", "--resume"]) == 2
    assert main(["train", "--config", str(path), "train.max_steps=3", "--allow-changes", "--resume"]) == 0
    assert "train.max_steps: 2 -> 3" in (tmp_path / "run" / "resume-changes.log").read_text()
    steps = [int(r["step"]) for r in csv.DictReader((tmp_path / "run" / "metrics.csv").open())]
    assert steps == [1, 2, 3]


def test_train_perceiver_command(tmp_path):
    write_pairs(tmp_path / "data", n=2)
    scenes = PairedFolderDataset(tmp_path / "data" / "denoise" / "lq", tmp_path / "data" / "denoise" / "gt",
                                 task="denoise")
    manifest = build_triplets(scenes, tmp_path / "triplets", strategy="mild", progress=False)
    recipe = {"perceiver": {"clip_model": tiny_clip_config(), "clip_pretrained": None, "n_ctx": 4},
              "data": {"manifest": str(manifest), "crop": 24},
              "train": {"output_dir": str(tmp_path / "run"), "batch_size": 2, "max_steps": 2, "progress": False}}
    path = tmp_path / "perceiver.yaml"
    path.write_text(yaml.safe_dump(recipe))
    assert main(["train-perceiver", "--config", str(path)]) == 0
    assert (tmp_path / "run" / "perceiver" / "config.json").is_file()


def test_resume_flag_followed_by_an_override_is_read_as_both(tmp_path, capsys):
    # `--resume key=value` would otherwise take the override for a checkpoint folder
    assert main(["train", "--config", "small", "--print-config", "--resume", "train.max_steps=7"]) == 0
    assert "max_steps: 7" in capsys.readouterr().out


def test_train_command_grows_an_amirnet_tree_from_the_recipe(tmp_path):
    from perceive_ir import DegradationTree, WrappedBackbone
    from perceive_ir.training.recipe import restoration_trainer

    write_pairs(tmp_path / "data", n=4)
    recipe = {
        "model": {"name": "nafnet-small", "semantic_encoder": None, "condition": "cfe+tree", "cond_dim": 16},
        "tree": {"grow_every": 1, "weight": 0.5, "batch_size": 4},
        "loss": {"kind": "l1"},
        "data": {"crop": 32, "seed": 0, "tasks": [
            {"degraded_dir": str(tmp_path / "data" / t / "lq"), "clean_dir": str(tmp_path / "data" / t / "gt"),
             "task": t, "repeat": 1} for t in ("denoise", "lowlight")]},
        "train": {"output_dir": str(tmp_path / "run"), "batch_size": 4, "epochs": 2, "progress": False,
                  "log_every": 1, "checkpoint_every": 100, "lr": 1e-3},
    }
    trainer = restoration_trainer(recipe)
    model = trainer.model
    assert isinstance(model, WrappedBackbone)
    tree = model.adapter.condition[1]
    assert isinstance(tree, DegradationTree) and tree.depth_grown == 0
    trainer.train()
    assert tree.depth_grown == 2  # grown at the start of each of the two epochs
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({**recipe, "train": {**recipe["train"], "output_dir": str(tmp_path / "cli")}}))
    assert main(["train", "--config", str(path)]) == 0
    with pytest.raises(ValueError, match="model.condition"):
        restoration_trainer({**recipe, "model": {**recipe["model"], "condition": "trees"}})


@pytest.fixture(scope="module")
def dinov2_base_folder(tmp_path_factory):
    """A random DINOv2 of transformers' default configuration (dinov2-base's size), saved locally."""
    from transformers import Dinov2Config, Dinov2Model

    folder = tmp_path_factory.mktemp("dinov2-base")
    torch.manual_seed(0)
    Dinov2Model(Dinov2Config()).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("name", ["3task", "5task"])
def test_dry_run_reports_the_authors_network_and_four_terms(name, dinov2_base_folder, capsys):
    assert main(["train", "--config", name, "--dry-run", f"model.semantic_encoder={dinov2_base_folder}"]) == 0
    out = capsys.readouterr().out
    assert "network: PerceiveIRNet (33,901,111 trainable parameters)" in out
    for term in ("L_rec x 1:", "L_cl x 0.1:", "L_clip x 0.05:", "L_dpl x 0.1:"):
        assert term in out
    assert "precision bf16" in out and "cosine 0.0002 -> 1e-06" in out
    assert "loss.perceiver: required" in out and "lists/rain100l_train.json: not found" in out
    assert ("global batch 8" if name == "3task" else "global batch 4") in out


def test_dry_run_reads_the_data_plan_and_fails_on_what_cannot_be_built(tmp_path, capsys):
    write_pairs(tmp_path / "data", n=2)
    recipe = {"model": {"name": "nafnet-small", "wrap": False},
              "loss": {"kind": "quality", "perceiver": str(tmp_path / "nowhere"), "feature_space": "clip"},
              "data": {"crop": 32, "tasks": [{"degraded_dir": str(tmp_path / "data" / "denoise" / "lq"),
                                              "clean_dir": str(tmp_path / "data" / "denoise" / "gt"),
                                              "task": "denoise", "repeat": 3}]},
              "train": {"max_steps": 2, "output_dir": str(tmp_path / "run")}}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    assert main(["train", "--config", str(path), "--dry-run"]) == 1  # a bare NAFNet has no CFE for L_cl
    out = capsys.readouterr().out
    assert "network: NAFNet" in out and "error: loss: NAFNet has no CFE" in out
    assert "(2 items x repeat 3, 100.0% of an epoch)" in out and "epoch: 6 samples" in out
    assert "nowhere: not on this machine" in out
    assert not (tmp_path / "run").exists()  # nothing trained, nothing written
    assert main(["train", "--config", str(path), "--dry-run", "loss.weights.cl=0"]) == 0
