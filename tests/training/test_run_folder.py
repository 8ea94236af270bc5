"""A run's folder is never silently reused: a lock while it trains, a fresh run into a used folder refused."""

from __future__ import annotations

import filelock
import pytest

from perceive_ir.training import RestorationTrainer, TrainConfig
from perceive_ir.training.loop import RUN_LOCK_NAME, RunFolderInUseError

from ._helpers import wrapped_factory, write_pairs


def _trainer(tmp_path, datasets):
    cfg = TrainConfig(output_dir=str(tmp_path / "run"), batch_size=2, max_steps=2, checkpoint_every=1,
                      progress=False, seed=3)
    return RestorationTrainer(wrapped_factory(), datasets, cfg)


def test_a_fresh_run_into_a_used_folder_is_refused_unless_overwrite(tmp_path):
    datasets = write_pairs(tmp_path / "data", n=2)
    _trainer(tmp_path, datasets).train()
    run = tmp_path / "run"
    (run / "notes.txt").write_text("mine")
    model = (run / "model.safetensors").read_bytes()
    with pytest.raises(RunFolderInUseError, match=r"already holds a run \(checkpoints, model.safetensors"):
        _trainer(tmp_path, datasets).train()
    assert (run / "model.safetensors").read_bytes() == model  # untouched
    _trainer(tmp_path, datasets).train(resume="latest")  # a resume of a finished run is allowed
    _trainer(tmp_path, datasets).train(overwrite=True)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-00000001", "step-00000002"]
    assert (run / "notes.txt").read_text() == "mine"  # only the run's own files were replaced


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path):
    datasets = write_pairs(tmp_path / "data", n=2)
    (tmp_path / "run").mkdir()
    with filelock.FileLock(str(tmp_path / "run" / RUN_LOCK_NAME), timeout=0):  # another run holds it
        with pytest.raises(RunFolderInUseError, match="is in use by another training run"):
            _trainer(tmp_path, datasets).train()
    assert not (tmp_path / "run" / "checkpoints").exists()
    _trainer(tmp_path, datasets).train()  # released: it runs
