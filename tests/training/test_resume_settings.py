"""Resume refuses changed result-affecting settings (naming the key) unless allowed, then logs them."""

from __future__ import annotations

import pytest
import torch

from perceive_ir.training import RestorationTrainer, TrainConfig
from perceive_ir.training.checkpoint import latest_checkpoint
from perceive_ir.training.resume_settings import CHANGES_LOG, FREE_SETTINGS, encode_settings, settings_changes

from ._helpers import TinyNet, write_pairs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    datasets = write_pairs(root / "data", n=2)
    cfg = dict(output_dir=str(root / "run"), batch_size=2, max_steps=2, lr=1e-3, progress=False, checkpoint_every=1)
    RestorationTrainer(lambda: TinyNet(), datasets, TrainConfig(**cfg)).train()
    return datasets, cfg


def _trainer(run, net=TinyNet, **changes):
    datasets, cfg = run
    return RestorationTrainer(lambda: net(), datasets, TrainConfig(**{**cfg, **changes}))


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"lr": 0.1}, "train.lr: 0.001 -> 0.1"),
        ({"batch_size": 4}, "train.batch_size: 2 -> 4"),
        ({"max_steps": 4}, "train.max_steps: 2 -> 4"),
        ({"warmup_steps": 1}, "train.warmup_steps: 0 -> 1"),
        ({"seed": 5}, "train.seed: 0 -> 5"),
    ],
)
def test_a_changed_setting_is_refused_naming_the_key(run, changes, key):
    trainer = _trainer(run, **changes)
    with pytest.raises(ValueError) as info:
        trainer.train(resume="latest")
    assert key in str(info.value) and "allow" in str(info.value)
    assert trainer.step == 0  # nothing was loaded or trained


def test_watching_and_storing_settings_may_change(run):
    trainer = _trainer(run, log_every=1, keep_checkpoints=1, checkpoint_every=5, max_steps=2)
    path, changes = trainer.check_resume("latest")
    assert changes == [] and path == latest_checkpoint(run[1]["output_dir"])
    assert {"train.output_dir", "train.progress", "train.num_workers"} <= FREE_SETTINGS


def test_allowed_changes_are_applied_and_logged_in_the_run_folder(tmp_path, run):
    datasets, cfg = run
    out = tmp_path / "continued"
    trainer = RestorationTrainer(lambda: TinyNet(), datasets,
                                 TrainConfig(**{**cfg, "output_dir": str(out), "lr": 0.01, "max_steps": 3}))
    history = trainer.train(resume=latest_checkpoint(cfg["output_dir"]), allow_changes=True)
    assert [row["step"] for row in history] == [3]
    log = (out / CHANGES_LOG).read_text()
    assert "train.lr: 0.001 -> 0.01" in log and "train.max_steps: 2 -> 3" in log


def test_a_changed_model_is_refused_by_its_weights(run):
    class Wider(TinyNet):
        def __init__(self):
            super().__init__(width=16)

    # the recorded settings cannot see the model of a Python run: the weights are checked instead
    with pytest.raises(ValueError, match="saved from another model than the one built now"):
        _trainer(run, net=Wider).train(resume="latest")


def test_a_checkpoint_without_settings_resumes_with_a_note(run, tmp_path):
    datasets, cfg = run
    trainer = _trainer(run)
    state_file = latest_checkpoint(cfg["output_dir"]) / "state.pt"
    state = torch.load(state_file, weights_only=True)
    state.pop("settings")
    legacy = tmp_path / "legacy" / "checkpoints" / "step-00000002"
    legacy.mkdir(parents=True)
    torch.save(state, legacy / "state.pt")
    (legacy / "model.safetensors").write_bytes((state_file.parent / "model.safetensors").read_bytes())
    assert trainer.check_resume(legacy, allow_changes=False) == (legacy, [])


def test_settings_changes_compares_nested_sections():
    saved = encode_settings({"model": {"name": "a"}, "data": {"tasks": [{"task": "denoise"}]}, "train": {"lr": 1}})
    now = {"model": {"name": "b"}, "data": {"tasks": [{"task": "derain"}]}, "train": {"lr": 1, "output_dir": "x"}}
    assert [key for key, _, _ in settings_changes(saved, now)] == ["data.tasks", "model.name"]


def test_a_resume_removes_what_a_killed_run_was_writing(run, tmp_path):
    datasets, cfg = run
    out = tmp_path / "again"
    out.mkdir()
    for name in (".metrics.csv.k1ll.tmp", ".model.safetensors.k1ll.tmp"):
        (out / name).write_bytes(b"half written")
    (out / ".adapter.k1ll.tmp").mkdir()
    (out / "notes.txt").write_text("mine")
    trainer = RestorationTrainer(lambda: TinyNet(), datasets, TrainConfig(**{**cfg, "output_dir": str(out)}))
    trainer.train(resume=latest_checkpoint(cfg["output_dir"]))
    assert not list(out.glob(".*.tmp")) and (out / "notes.txt").read_text() == "mine"


def test_a_checked_resume_reads_the_training_state_once(tmp_path, run, monkeypatch):
    import perceive_ir.training.loop as loop

    datasets, cfg = run
    reads = []
    real = loop.load_training_state
    monkeypatch.setattr(loop, "load_training_state", lambda path: reads.append(path) or real(path))
    trainer = RestorationTrainer(lambda: TinyNet(), datasets,
                                 TrainConfig(**{**cfg, "output_dir": str(tmp_path / "again")}))
    checkpoint = latest_checkpoint(cfg["output_dir"])
    trainer.check_resume(checkpoint)  # as the command line does, before training
    trainer.train(resume=checkpoint)
    assert reads == [checkpoint] and trainer.step == 2
