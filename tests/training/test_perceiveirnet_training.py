"""RestorationTrainer trains the authors' network with all four terms, and never drops a weighted term."""

from __future__ import annotations

import csv

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from perceive_ir import QualityAwareLoss, QualityPerceiver
from perceive_ir.models import PerceiveIRNet, load_model
from perceive_ir.perceive.losses import VGG16FeatureSpace
from perceive_ir.testing import tiny_clip_config, tiny_dinov2_config
from perceive_ir.training import RestorationTrainer, TrainConfig

from ._helpers import TinyNet

CROP = 32


class WithPositive(Dataset):
    """Crops of two tasks, each item with ``degraded_positive``: another crop of the same degraded image."""

    def __init__(self, task: int, n: int = 2, positive: bool = True) -> None:
        g = torch.Generator().manual_seed(task)
        self.clean = [torch.rand(3, 48, 48, generator=g) for _ in range(n)]
        self.task, self.positive = task, positive

    def __len__(self) -> int:
        return len(self.clean)

    def __getitem__(self, i: int) -> dict:
        clean = self.clean[i]
        degraded = (clean * 0.5) if self.task else (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
        item = {"degraded": degraded[:, :CROP, :CROP], "clean": clean[:, :CROP, :CROP], "task": self.task}
        if self.positive:
            item["degraded_positive"] = degraded[:, -CROP:, -CROP:]
        return item


def tiny_net() -> PerceiveIRNet:
    return PerceiveIRNet(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1,
                         semantic_encoder=tiny_dinov2_config())


def loss(**kwargs) -> QualityAwareLoss:
    torch.manual_seed(0)
    perceiver = QualityPerceiver(tiny_clip_config(), None, n_ctx=4)
    return QualityAwareLoss(perceiver, feature_space=VGG16FeatureSpace(weights=None), clip_logit_scale=False,
                            difficulty="proxy_psnr_sample", **kwargs)


def config(tmp_path, name: str, **kwargs) -> TrainConfig:
    return TrainConfig(**{"output_dir": str(tmp_path / name), "batch_size": 4, "max_steps": 2, "progress": False,
                          "log_every": 1, "checkpoint_every": 100, "cpu": True, **kwargs})


def test_two_cpu_steps_log_all_four_terms_nonzero(tmp_path):
    trainer = RestorationTrainer(tiny_net, [WithPositive(0), WithPositive(4)], config(tmp_path, "run"), loss=loss())
    assert trainer.cl_source == "positive"
    trainer.train()
    loaded = load_model(tmp_path / "run" / "pretrained")  # the trained network, ready for restore/evaluate
    image = torch.rand(1, 3, 24, 24)
    assert torch.allclose(loaded.module.eval()(image), trainer.model.eval()(image), atol=1e-6)
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2]
    for row in rows:
        for term in ("rec", "cl", "clip", "dpl"):
            assert float(row[term]) > 0, (term, row)


def test_the_anchor_is_the_embedding_that_conditions_the_network():
    """L_cl's anchor is the CFE output the network is guided by (the authors' train.py), with its gradient."""
    net, seen = tiny_net(), {}
    step_loss = loss()
    original = step_loss.forward

    def spy(*args, **kwargs):
        seen["z"], seen["z_positive"] = kwargs["z"], kwargs["z_positive"]
        return original(*args, **kwargs)

    step_loss.forward = spy
    trainer = RestorationTrainer(net, [WithPositive(0), WithPositive(4)], TrainConfig(max_steps=1, batch_size=4,
                                 progress=False, cpu=True, output_dir="unused"), loss=step_loss)
    batch = {k: torch.stack([WithPositive(0)[0][k], WithPositive(4)[0][k]]) for k in ("degraded", "clean",
                                                                                     "degraded_positive")}
    batch["task"] = torch.tensor([0, 4])
    trainer.step_module(trainer._step_inputs(batch))
    assert torch.allclose(seen["z"], net.cfe(batch["degraded"])) and seen["z"].requires_grad
    assert torch.allclose(seen["z_positive"], net.cfe(batch["degraded_positive"]))


def test_a_batch_without_the_positive_crop_is_an_error_naming_the_key(tmp_path):
    trainer = RestorationTrainer(tiny_net, [WithPositive(0, positive=False), WithPositive(4, positive=False)],
                                 config(tmp_path, "run"), loss=loss())
    with pytest.raises(ValueError, match="degraded_positive"):
        trainer.train()


def test_a_weighted_term_the_model_cannot_compute_is_an_error(tmp_path):
    """A model without a CFE and a nonzero L_cl weight: refused, naming the term (never silently dropped)."""
    with pytest.raises(ValueError, match="L_cl"):
        RestorationTrainer(lambda: TinyNet(), [WithPositive(0), WithPositive(4)], config(tmp_path, "a"), loss=loss())
    plain = RestorationTrainer(lambda: TinyNet(), [WithPositive(0), WithPositive(4)], config(tmp_path, "b"),
                               loss=loss(weights={"cl": 0.0}))
    assert plain.cl_source is None
    with pytest.raises(ValueError, match="cfe_crop"):
        RestorationTrainer(tiny_net, [WithPositive(0), WithPositive(4)], config(tmp_path, "c"), loss=loss(),
                           cfe_crop=16)


def test_the_authors_network_has_nothing_trainable_outside_its_own_modules():
    net = tiny_net()
    frozen = {n for n, p in net.named_parameters() if not p.requires_grad}
    assert frozen and all(n.startswith("semantic.") for n in frozen)
    assert isinstance(net.cfe, nn.Module)
