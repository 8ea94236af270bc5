"""One stage-2 run, used by the 2-process test: under ``torchrun`` (gloo, CPU) or in-process.

Usage: ``python -m torch.distributed.run --nproc_per_node 2 tests/training/_ddp_worker.py DATA OUT``.
Each rank saves its trainable parameters and the logged (globally averaged) losses.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from perceive_ir.training import RestorationTrainer, TrainConfig
from perceive_ir.training.checkpoint import trainable_state_dict

if not __package__:  # run as a script (by torchrun): make the repository's ``tests`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.training._helpers import CROP, box_blur, quality_loss, wrapped_factory  # noqa: E402

STEPS = 3


def run(data: Path, out: Path) -> tuple[dict[str, torch.Tensor], list[dict[str, float]], int, int]:
    """Train ``STEPS`` steps with global batch 8 (4 per process on 2 processes)."""
    torch.set_num_threads(1)
    datasets = _read(data)
    cfg = TrainConfig(output_dir=str(out), batch_size=8, max_steps=STEPS, lr=1e-3, progress=False, log_every=1,
                      checkpoint_every=100, seed=5)
    trainer = RestorationTrainer(wrapped_factory(semantic=True), datasets, cfg, loss=quality_loss(),
                                 proxies=[box_blur()], probe_samples=2)
    history = trainer.train()
    return trainable_state_dict(trainer.model), history, trainer.world, trainer.rank


def _read(data: Path):
    from perceive_ir.data import PairedFolderDataset

    return [PairedFolderDataset(data / t / "lq", data / t / "gt", task=t, crop=CROP, hflip=True, seed=7)
            for t in ("denoise", "lowlight")]


if __name__ == "__main__":
    data_dir, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    params, history, world, rank = run(data_dir, out_dir)
    torch.save({"params": params, "history": history, "world": world}, out_dir / f"rank{rank}.pt")
