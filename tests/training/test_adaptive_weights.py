"""A recipe run on CPU with two proxies: the difficulty weights a_k are re-measured every epoch and logged."""

from __future__ import annotations

import csv

import torch
import yaml

from perceive_ir import QualityPerceiver
from perceive_ir.cli.main import main
from perceive_ir.data import PairedFolderDataset
from perceive_ir.perceive.losses import VGG16FeatureSpace
from perceive_ir.perceive.losses.feature_spaces import VGG16_ENV
from perceive_ir.testing import tiny_clip_config
from perceive_ir.training import build_triplets

from ._helpers import write_pairs


def test_recipe_run_logs_adaptive_weights_that_change_across_epochs(tmp_path, monkeypatch):
    write_pairs(tmp_path / "data", n=4)  # denoise and lowlight, 4 scenes each
    # stage 1's cross-fit medium restorers (tiny ones, barely trained): the two proxies
    scenes = PairedFolderDataset(tmp_path / "data" / "denoise" / "lq", tmp_path / "data" / "denoise" / "gt",
                                 task="denoise")
    build_triplets(scenes, tmp_path / "triplets", strategy="crossfit", restorer_factory="tiny", steps=1, crop=16,
                   batch_size=2, fold_path=lambda p: p.rsplit("/", 1)[-1], progress=False)  # folds from file names
    torch.manual_seed(0)
    QualityPerceiver(tiny_clip_config(), None, n_ctx=4).save_pretrained(tmp_path / "perceiver")
    # the recipe's default feature space is the paper's VGG-16; random weights stand in for ImageNet's here
    vgg = VGG16FeatureSpace(weights=None)
    torch.save({f"features.{k}": v for k, v in vgg.features.state_dict().items()}, tmp_path / "vgg16.pth")
    monkeypatch.setenv(VGG16_ENV, str(tmp_path / "vgg16.pth"))
    recipe = {
        "model": {"name": "nafnet-small", "semantic_encoder": None, "cond_dim": 16},
        "loss": {"kind": "quality", "perceiver": str(tmp_path / "perceiver"),
                 "medium_restorers": str(tmp_path / "triplets"), "probe_samples": 2},
        "data": {"crop": 32, "seed": 0, "tasks": [
            {"degraded_dir": str(tmp_path / "data" / t / "lq"), "clean_dir": str(tmp_path / "data" / t / "gt"),
             "task": t} for t in ("denoise", "lowlight")]},
        "train": {"output_dir": str(tmp_path / "run"), "batch_size": 4, "epochs": 4, "progress": False,
                  "log_every": 1, "checkpoint_every": 1000, "lr": 3e-3, "cpu": True},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    assert main(["train", "--config", str(path)]) == 0

    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    columns = [f"a/crossfit{k}/{task}" for k in (0, 1) for task in ("denoise", "lowlight")]
    assert {"rec", "cl", "clip", "dpl"} <= set(rows[0]) and set(columns) <= set(rows[0])
    by_epoch: dict[int, set[tuple[float, ...]]] = {}
    for row in rows:
        by_epoch.setdefault(int(row["epoch"]), set()).add(tuple(float(row[c]) for c in columns))
    assert sorted(by_epoch) == [0, 1, 2, 3]
    assert all(len(values) == 1 for values in by_epoch.values())  # measured once per epoch, held for the epoch
    per_epoch = [next(iter(by_epoch[e])) for e in sorted(by_epoch)]
    assert all(set(weights) <= {0.75, 1.25} for weights in per_epoch)
    # every weight follows from the probe PSNRs logged beside it: 1.25 iff the proxy is not better than the model
    for row in rows:
        for k in (0, 1):
            for task in ("denoise", "lowlight"):
                proxy, model = float(row[f"psnr/crossfit{k}/{task}"]), float(row[f"psnr/model/{task}"])
                assert float(row[f"a/crossfit{k}/{task}"]) == (1.25 if proxy <= model else 0.75)
    # the model improves while the proxies are frozen: some weight flips from 0.75 (proxy better) to 1.25
    assert len(set(per_epoch)) > 1, per_epoch
    assert any(first == 0.75 and last == 1.25 for first, last in zip(per_epoch[0], per_epoch[-1], strict=True))
