"""Stage-1 trainer: the triplet cross-entropy goes down on a tiny manifest built with strategy='mild'."""

from __future__ import annotations

import pytest
import torch

from perceive_ir import QualityPerceiver
from perceive_ir.data import TripletDataset
from perceive_ir.testing import tiny_clip_config
from perceive_ir.training import PerceiverTrainer, TrainConfig, balanced_repeats, build_triplets

from ._helpers import write_pairs


def _fixed_loss(perceiver: QualityPerceiver, manifest) -> float:
    ds = TripletDataset(manifest, crop=None, hflip=False)
    low, medium, high = (torch.stack([ds[i][t] for i in range(len(ds))]) for t in ("low", "medium", "high"))
    with torch.no_grad():
        return float(perceiver.triplet_loss(low, medium, high))


def test_prompt_learning_lowers_the_triplet_cross_entropy(tmp_path):
    from perceive_ir.data import PairedFolderDataset

    write_pairs(tmp_path / "data", n=3)
    scenes = PairedFolderDataset(tmp_path / "data" / "denoise" / "lq", tmp_path / "data" / "denoise" / "gt",
                                 task="denoise")
    manifest = build_triplets(scenes, tmp_path / "triplets", strategy="mild", progress=False)
    cfg = TrainConfig(output_dir=str(tmp_path / "run"), batch_size=3, max_steps=12, lr=5e-3, warmup_steps=1,
                      progress=False, log_every=4, seed=1)
    trainer = PerceiverTrainer(lambda: QualityPerceiver(tiny_clip_config(), None, n_ctx=4), manifest, cfg, crop=24)
    clip_before = {k: v.clone() for k, v in trainer.perceiver.clip.state_dict().items()}
    before = _fixed_loss(trainer.perceiver, manifest)
    history = trainer.train()
    after = _fixed_loss(trainer.perceiver, manifest)
    assert after < before - 0.05, (before, after)
    assert history[-1]["step"] == 12 and "ce" in history[-1]
    # only the prompts trained; CLIP is untouched
    for k, v in trainer.perceiver.clip.state_dict().items():
        assert torch.equal(v, clip_before[k]), k
    loaded = QualityPerceiver.from_pretrained(tmp_path / "run" / "perceiver")
    torch.testing.assert_close(loaded.prompts.ctx, trainer.perceiver.prompts.ctx)


def test_balanced_repeats_and_errors(tmp_path):
    assert balanced_repeats([10, 10]) == [1, 1]
    assert balanced_repeats([1, 360]) == [360, 1]
    cfg = TrainConfig(output_dir=str(tmp_path), batch_size=2, max_steps=1, progress=False)
    with pytest.raises(TypeError, match="triplets"):
        PerceiverTrainer(lambda: None, torch.utils.data.TensorDataset(torch.zeros(2)), cfg)


def test_prompt_learning_resumes_exactly(tmp_path):
    from perceive_ir.data import PairedFolderDataset
    from perceive_ir.training import Callback

    class Kill(Callback):
        def on_step_end(self, trainer, step, logs):
            if step == 3:
                raise KeyboardInterrupt

    write_pairs(tmp_path / "data", n=3)
    scenes = PairedFolderDataset(tmp_path / "data" / "lowlight" / "lq", tmp_path / "data" / "lowlight" / "gt",
                                 task="lowlight")
    manifest = build_triplets(scenes, tmp_path / "triplets", strategy="mild", progress=False)

    def trainer(name, *callbacks):
        cfg = TrainConfig(output_dir=str(tmp_path / name), batch_size=3, max_steps=4, lr=5e-3, progress=False,
                          checkpoint_every=2, seed=4)
        def factory():
            return QualityPerceiver(tiny_clip_config(), None, n_ctx=4)

        return PerceiverTrainer(factory, manifest, cfg, crop=24, callbacks=callbacks)

    straight = trainer("straight")
    straight.train()
    killed = trainer("killed", Kill())
    with pytest.raises(KeyboardInterrupt):
        killed.train()
    torch.manual_seed(123)
    resumed = trainer("killed")
    assert [row["step"] for row in resumed.train(resume="latest")] == [3, 4]
    torch.testing.assert_close(resumed.perceiver.prompts.ctx, straight.perceiver.prompts.ctx, rtol=1e-6, atol=1e-6)
