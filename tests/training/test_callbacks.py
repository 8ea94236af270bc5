"""Callbacks: the AMIRNet tree-growth schedule (when perceive_ir.amirnet is installed) and callback state."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from perceive_ir import wrap_backbone
from perceive_ir.training import (
    Callback,
    RestorationTrainer,
    TrainConfig,
    TreeGrowthCallback,
)

from ._helpers import TinyNet, write_pairs


class _Counter(Callback):
    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.steps = 0

    def on_epoch_start(self, trainer, epoch):
        self.epochs.append(epoch)

    def on_step_end(self, trainer, step, logs):
        self.steps += 1

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


def test_callback_hooks_and_state_survive_resume(tmp_path):
    datasets = write_pairs(tmp_path / "data", n=2)  # 4 samples, batch 2: 2 steps per epoch
    cfg = TrainConfig(output_dir=str(tmp_path / "run"), batch_size=2, max_steps=3, progress=False, checkpoint_every=1)
    counter = _Counter()
    RestorationTrainer(lambda: TinyNet(), datasets, cfg, callbacks=[counter]).train()
    assert counter.epochs == [0, 1] and counter.steps == 3
    cfg.max_steps = 5
    resumed = _Counter()
    # a longer run changes the schedule: allowed explicitly (a plain resume refuses it, test_resume_settings.py)
    RestorationTrainer(lambda: TinyNet(), datasets, cfg, callbacks=[resumed]).train(resume="latest", allow_changes=True)
    assert resumed.steps == 5 and resumed.epochs == [2]  # step 3 was mid-epoch 1; epoch 2 starts at step 5


def test_tree_callback_rejects_other_modules():
    with pytest.raises(TypeError, match="DegradationTree"):
        TreeGrowthCallback(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="every"):
        TreeGrowthCallback(type("T", (), {k: 0 for k in ("grow", "targets", "pseudo_label_loss", "depth_grown",
                                                          "depth")})(), every=0)


def test_tree_grows_on_schedule_and_resumes_exactly(tmp_path):
    amirnet = pytest.importorskip("perceive_ir.amirnet")
    datasets = write_pairs(tmp_path / "data", n=2)  # 4 samples, batch 2: 2 steps per epoch

    def trainer(name, *extra):
        torch.manual_seed(2)
        tree = amirnet.DegradationTree(depth=2, encoder_widths=(8, 8, 8), n_crops=1, crop_size=16)
        model = wrap_backbone(TinyNet(), semantic_encoder=None, condition=tree, probe_size=16, multiple=2)
        cfg = TrainConfig(output_dir=str(tmp_path / name), batch_size=2, max_steps=5, progress=False,
                          checkpoint_every=1, lr=1e-3, seed=2)
        callbacks = [TreeGrowthCallback(tree, every=1, weight=0.5), *extra]
        return RestorationTrainer(model, datasets, cfg, callbacks=callbacks), tree

    straight, tree = trainer("straight")
    history = straight.train()
    assert tree.depth_grown == 2  # grown at the start of epochs 0 and 1, then fully grown
    assert all("tree" in row for row in history)

    killed, _ = trainer("killed", _KillAt(3))
    with pytest.raises(KeyboardInterrupt):
        killed.train()
    resumed, resumed_tree = trainer("killed")
    resumed.train(resume="latest")
    assert resumed_tree.depth_grown == 2
    assert torch.equal(resumed_tree.pseudo_labels, tree.pseudo_labels)
    for (name, p), (_, q) in zip(straight.model.named_parameters(), resumed.model.named_parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-6, msg=name)


class _KillAt(Callback):
    def __init__(self, at):
        self.at = at

    def on_step_end(self, trainer, step, logs):
        if step == self.at:
            raise KeyboardInterrupt
