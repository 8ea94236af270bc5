"""The shipped recipes are valid, and recipes build their models from the presets."""

from __future__ import annotations

import pytest
import torch

from perceive_ir.training import TrainConfig
from perceive_ir.training.config_files import list_builtin_configs, load_config


@pytest.mark.parametrize("name", ["3task", "5task", "3task-retrofit", "5task-retrofit", "small", "perceiver"])
def test_shipped_recipes_are_valid(name):
    assert name in list_builtin_configs()
    cfg = load_config(name)
    train = TrainConfig.from_mapping(dict(cfg.train))
    if name.split("-")[0] in ("3task", "5task"):
        # the authors' perceiveIR_{3,5}task.yaml: patch 256, lr 2e-4 -> 1e-6 cosine, weight decay 1e-4, 500K steps;
        # the paper-named recipes train the authors' network, the retrofit ones our wrapped Restormer
        assert cfg.model.name == ("restormer" if "retrofit" in name else "perceiveirnet") and cfg.data.crop == 256
        assert (train.lr, train.weight_decay, train.max_steps, train.warmup_steps) == (2e-4, 1e-4, 500_000, 0)
        assert train.lr * train.min_lr_ratio == pytest.approx(1e-6)
        assert train.batch_size == (8 if name.startswith("3task") else 4)
        assert dict(cfg.loss.weights) == {"rec": 1.0, "cl": 0.1, "clip": 0.05, "dpl": 0.1}
        rule = "proxy_psnr" if "retrofit" in name else "proxy_psnr_sample"  # the authors' per-sample rule
        assert cfg.loss.feature_space == "vgg16" and cfg.loss.difficulty == rule
        assert cfg.loss.probe_samples == 24
        repeats = {t.filelist.split("/")[-1].split("_train")[0]: t.repeat for t in cfg.data.tasks}
        expected = {"bsd400_wed": 4, "rain100l": 360, "reside_ots": 1}
        if name.startswith("5task"):
            expected |= {"gopro": 30, "lol": 140}
        assert repeats == expected
    if name == "perceiver":
        assert train.lr == 4e-5 and train.max_steps == 100_000 and cfg.data.crop == 224
        assert train.lr * train.min_lr_ratio == pytest.approx(1e-6)


@pytest.mark.parametrize("name", ["3task", "5task", "3task-retrofit", "5task-retrofit", "perceiver"])
def test_every_paper_value_cites_its_source(name):
    """A `[paper` label names the authors' file/key, every other label says it is ours, and none cites outside notes."""
    from importlib.resources import files

    text = (files("perceive_ir.training") / "configs" / f"{name}.yaml").read_text()
    assert "DESIGN.md" not in text and "[paper]" not in text
    labelled = 0
    for line in text.splitlines():
        for kind in ("[paper", "[ours"):
            if kind in line:
                labelled += 1
                after = line.split(kind, 1)[1]
                assert after.startswith(": "), line  # a source or a reason follows
                if kind == "[paper":
                    assert "authors" in after, line
    assert labelled >= 8


def test_recipe_models_from_presets():
    from perceive_ir.training.recipe import build_backbone, build_restoration_model

    wrapped = build_restoration_model({"name": "nafnet-small", "semantic_encoder": None, "cond_dim": 16,
                                       "probe_size": 32})
    assert type(wrapped).__name__ == "WrappedBackbone" and wrapped.cond_dim == 16 and wrapped.multiple == 16
    bare = build_restoration_model({"name": "nafnet-small", "wrap": False})
    assert type(bare).__name__ == "NAFNet" and type(build_backbone({"name": "nafnet-small"})) is type(bare)
    with pytest.raises(ValueError, match="model.name"):
        build_restoration_model({"wrap": True})


def test_recipe_proxies_are_the_crossfit_restorers_then_the_listed_ones(tmp_path):
    from spandrel.architectures.NAFNet import NAFNet

    from perceive_ir.data import PairedFolderDataset
    from perceive_ir.training import build_triplets
    from perceive_ir.training.config import LossSection
    from perceive_ir.training.recipe import build_proxies

    from ._helpers import write_pairs

    write_pairs(tmp_path / "data", n=4)
    scenes = PairedFolderDataset(tmp_path / "data" / "denoise" / "lq", tmp_path / "data" / "denoise" / "gt",
                                 task="denoise")
    build_triplets(scenes, tmp_path / "triplets", strategy="crossfit", restorer_factory="tiny", steps=1, crop=16,
                   batch_size=2, fold_path=lambda p: p.rsplit("/", 1)[-1], progress=False)  # folds from file names
    torch.manual_seed(0)
    net = NAFNet(width=8, enc_blk_nums=[1, 1, 1, 1], middle_blk_num=1, dec_blk_nums=[1, 1, 1, 1])
    torch.save(net.state_dict(), tmp_path / "nafnet.pth")
    section = LossSection(kind="quality", perceiver="p", medium_restorers=str(tmp_path / "triplets"),
                          proxies=[{"checkpoint": str(tmp_path / "nafnet.pth"), "tasks": ["dehaze"], "name": "naf"},
                                   str(tmp_path / "nafnet.pth")])
    proxies = build_proxies(section)
    assert [p.name for p in proxies] == ["crossfit0", "crossfit1", "naf", "proxy3"]
    assert [p.task_names for p in proxies] == [None, None, ("dehaze",), None]
    image = torch.rand(1, 3, 30, 22)  # not a multiple of NAFNet's 16: the proxy pads and crops back
    assert all(p.render(image, torch.tensor([2])).shape == image.shape for p in proxies)
    assert not any(q.requires_grad for p in proxies for q in p.parameters())


def test_probe_set_takes_a_fixed_number_per_task_and_is_reproducible(tmp_path):
    from perceive_ir.training import probe_set

    from ._helpers import write_pairs

    datasets = write_pairs(tmp_path / "data", n=4)
    first, again = probe_set(datasets, per_task=3, seed=1), probe_set(datasets, per_task=3, seed=1)
    assert [t.tolist() for _, _, t in first] == [[0, 0, 0], [4, 4, 4]]  # denoise, lowlight
    for (d1, c1, _), (d2, c2, _) in zip(first, again, strict=True):
        assert torch.equal(d1, d2) and torch.equal(c1, c2)
    assert [d.shape[0] for d, _, _ in probe_set(datasets, per_task=10)] == [4, 4]  # fewer when a task has fewer


def test_bf16_recipes_stop_on_a_gpu_without_bf16(monkeypatch):
    from perceive_ir.training.recipe import check_precision

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Tesla V100")
    with pytest.raises(ValueError, match="train.mixed_precision=no"):
        check_precision(TrainConfig(max_steps=1, mixed_precision="bf16"))
    check_precision(TrainConfig(max_steps=1, mixed_precision="no"))
    check_precision(TrainConfig(max_steps=1, mixed_precision="bf16", cpu=True))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    check_precision(TrainConfig(max_steps=1, mixed_precision="bf16"))


def test_recipe_builds_the_authors_network_from_its_options():
    from perceive_ir.models import PerceiveIRNet
    from perceive_ir.testing import tiny_dinov2_config
    from perceive_ir.training.recipe import build_restoration_model

    options = {"dim": 8, "blocks": [1, 1, 1, 1], "heads": [1, 1, 1, 1], "refinement_blocks": 1}
    net = build_restoration_model({"name": "perceiveirnet", "semantic_encoder": tiny_dinov2_config().to_dict(),
                                   "options": options})
    assert isinstance(net, PerceiveIRNet) and net.dim == 8 and tuple(net.blocks) == (1, 1, 1, 1)
    with pytest.raises(ValueError, match="do not fit the network 'perceiveirnet'"):
        build_restoration_model({"name": "perceiveirnet", "cond_dim": 64, "options": options})
    narrow = build_restoration_model({"name": "nafnet-small", "semantic_encoder": None, "options": {"width": 8}})
    assert narrow.backbone.intro.out_channels == 8  # a wrapped preset's options replace its backbone's arguments
