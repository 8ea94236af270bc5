"""Stage-2 trainer: the loss goes down, resume is exact, checkpoints rotate, every trainable parameter is used."""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn.functional as F

from perceive_ir.training import RestorationTrainer, TrainConfig, list_checkpoints
from perceive_ir.training.callbacks import Callback
from perceive_ir.training.restoration import _RestorationStep

from ._helpers import box_blur, quality_loss, wrapped_factory, write_pairs


def _config(tmp_path, name, **kw):
    base = {"output_dir": str(tmp_path / name), "batch_size": 4, "lr": 1e-3, "progress": False, "log_every": 1,
            "checkpoint_every": 100, "seed": 3}
    return TrainConfig(**{**base, **kw})


def _fixed_eval(model, datasets):
    samples = [d[i] for d in datasets for i in range(len(d))]
    degraded = torch.stack([s["degraded"] for s in samples])
    clean = torch.stack([s["clean"] for s in samples])
    tasks = torch.tensor([s["task"] for s in samples])
    with torch.no_grad():
        return float(F.l1_loss(model(degraded), clean)), degraded, clean, tasks


def test_quality_aware_training_lowers_the_loss(tmp_path):
    datasets = write_pairs(tmp_path / "data")
    loss_fn = quality_loss()
    trainer = RestorationTrainer(wrapped_factory(), datasets, _config(tmp_path, "run", max_steps=16),
                                 loss=loss_fn, proxies=[box_blur()], probe_samples=2)
    before, degraded, clean, tasks = _fixed_eval(trainer.model, datasets)
    with torch.no_grad():
        total_before = float(loss_fn(trainer.model(degraded), clean, degraded, tasks=tasks).loss)
    history = trainer.train()
    after, _, _, _ = _fixed_eval(trainer.model, datasets)
    with torch.no_grad():
        total_after = float(loss_fn(trainer.model(degraded), clean, degraded, tasks=tasks).loss)
    assert after < 0.92 * before, (before, after)
    assert total_after < total_before
    assert {"rec", "clip", "dpl", "cl", "loss", "lr"} <= set(history[-1])
    # the PSNR rule was measured per task on the probe set (one weight per proxy)
    current = trainer.loss_fn.difficulty.current
    assert set(current) == {"denoise", "lowlight"} and all(len(row) == 1 for row in current.values())
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == list(range(1, 17))
    assert {float(r["a/proxy0/denoise"]) for r in rows} <= {0.75, 1.25}
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert (tmp_path / "run" / "adapter" / "config.json").is_file()


class _Kill(Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, trainer, step, logs):
        if step == self.at:
            raise KeyboardInterrupt(f"simulated kill after step {step}")


def _resumable_trainer(tmp_path, name, datasets, callbacks=()):
    cfg = _config(tmp_path, name, max_steps=6, grad_accum=2, checkpoint_every=3, warmup_steps=2, keep_checkpoints=2)
    return RestorationTrainer(wrapped_factory(), datasets, cfg, loss=quality_loss(), proxies=[box_blur()],
                              probe_samples=2, callbacks=callbacks)


def test_kill_and_resume_matches_an_uninterrupted_run(tmp_path):
    datasets = write_pairs(tmp_path / "data")  # 8 samples, batch 4: 2 steps per epoch
    straight = _resumable_trainer(tmp_path, "straight", datasets)
    straight_history = straight.train()

    killed = _resumable_trainer(tmp_path, "killed", datasets, callbacks=[_Kill(4)])  # after step 4, saved at 3
    with pytest.raises(KeyboardInterrupt):
        killed.train()
    assert [p.name for p in list_checkpoints(tmp_path / "killed")] == ["step-00000003"]
    # scramble the global RNG: resume must restore it
    torch.manual_seed(999)
    resumed = _resumable_trainer(tmp_path, "killed", datasets)
    resumed_history = resumed.train(resume="latest")

    assert [r["step"] for r in resumed_history] == [4, 5, 6]
    for a, b in zip(straight_history[3:], resumed_history, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-7), key
    for (name, p), (_, q) in zip(straight.model.named_parameters(), resumed.model.named_parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-6, msg=name)
    assert straight.loss_fn.difficulty.current == resumed.loss_fn.difficulty.current
    # the resumed metrics file holds the whole run once, like the straight one
    steps = [int(r["step"]) for r in csv.DictReader((tmp_path / "killed" / "metrics.csv").open())]
    assert steps == list(range(1, 7))
    assert [p.name for p in list_checkpoints(tmp_path / "killed")] == ["step-00000003", "step-00000006"]


def test_checkpoints_rotate_and_leave_no_temp_folders(tmp_path):
    datasets = write_pairs(tmp_path / "data", n=2)
    cfg = _config(tmp_path, "run", max_steps=4, checkpoint_every=1, keep_checkpoints=2)
    RestorationTrainer(wrapped_factory(), datasets, cfg).train()
    root = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["step-00000003", "step-00000004"]


def test_every_trainable_parameter_gets_a_gradient(tmp_path):
    """No trainable parameter is unused in the step, so DDP needs no unused-parameter search."""
    datasets = write_pairs(tmp_path / "data", n=2)
    trainer = RestorationTrainer(wrapped_factory(semantic=True), datasets, _config(tmp_path, "run", max_steps=1),
                                 loss=quality_loss(), proxies=[box_blur()], probe_samples=2)
    assert isinstance(trainer.step_module, _RestorationStep)
    batch = next(iter(trainer._loader(0, 0)))
    loss, terms = trainer.step_module(trainer._step_inputs(batch))
    loss.backward()
    assert "cl" in terms
    trainable = [(n, p) for n, p in trainer.step_module.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("model.") for n, _ in trainable)  # perceiver and encoder frozen
    frozen_encoder = [p for n, p in trainer.model.named_parameters() if ".semantic.encoder." in n]
    assert frozen_encoder and not any(p.requires_grad for p in frozen_encoder)
    unused = [n for n, p in trainable if p.grad is None]
    assert not unused


def test_l1_baseline_and_argument_errors(tmp_path):
    datasets = write_pairs(tmp_path / "data", n=2)
    with pytest.raises(ValueError, match="batch_size"):
        RestorationTrainer(wrapped_factory(), datasets, _config(tmp_path, "a", max_steps=1, batch_size=3,
                                                                  grad_accum=2))
    with pytest.raises(ValueError, match="loss"):
        RestorationTrainer(wrapped_factory(), datasets, _config(tmp_path, "b", max_steps=1), loss="l2")
    with pytest.raises(ValueError, match="proxies"):
        RestorationTrainer(wrapped_factory(), datasets, _config(tmp_path, "c", max_steps=1), proxies=[box_blur()])
    with pytest.raises(ValueError, match="max_steps"):
        TrainConfig(batch_size=2)
    history = RestorationTrainer(wrapped_factory(), datasets, _config(tmp_path, "d", max_steps=2)).train()
    assert set(history[0]) == {"step", "epoch", "loss", "rec", "lr"}
    assert history[0]["loss"] == history[0]["rec"]


def test_gradient_accumulation_matches_the_full_batch(tmp_path):
    """With L1 (a per-sample mean), 2 micro-batches of 2 give the step of one batch of 4."""
    datasets = write_pairs(tmp_path / "data", n=2)
    models, losses = [], []
    for name, accum in (("full", 1), ("accum", 2)):
        cfg = _config(tmp_path, name, max_steps=2, grad_accum=accum)
        trainer = RestorationTrainer(wrapped_factory(), datasets, cfg)
        losses.append([row["loss"] for row in trainer.train()])
        models.append(trainer.model)
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for (name, p), (_, q) in zip(models[0].named_parameters(), models[1].named_parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)


def test_bf16_mixed_precision_on_cpu(tmp_path):
    datasets = write_pairs(tmp_path / "data", n=2)
    trainer = RestorationTrainer(wrapped_factory(), datasets, _config(tmp_path, "bf16", max_steps=2,
                                                                       mixed_precision="bf16"), loss=quality_loss())
    history = trainer.train()
    assert trainer.accelerator.mixed_precision == "bf16"
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in history)
    # a later full-precision trainer in the same process gets a full-precision accelerator
    later = RestorationTrainer(wrapped_factory(), datasets, _config(tmp_path, "fp32", max_steps=1))
    assert later.accelerator.mixed_precision == "no"
