"""Settings shared by the stage-1 and stage-2 trainers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["TrainConfig"]

_PRECISIONS = ("no", "fp16", "bf16")


@dataclass
class TrainConfig:
    """How to train: optimisation, schedule, precision, logging and checkpointing.

    ``batch_size`` is the **global** batch of one optimizer step, summed over processes and
    gradient-accumulation micro-batches: each process loads
    ``batch_size / (num_processes · grad_accum)`` samples per micro-batch. The same config
    therefore trains the same way on one GPU, many GPUs or a CPU.

    Attributes:
        output_dir: Run folder: ``checkpoints/``, ``metrics.csv``, final weights.
        batch_size: Global batch per optimizer step.
        max_steps: Optimizer steps of the run; ``None``: ``epochs`` × steps per epoch.
        epochs: Epochs of the run (used when ``max_steps`` is ``None``).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        betas: AdamW betas.
        warmup_steps: Linear warmup steps before the cosine decay.
        min_lr_ratio: Final learning rate as a fraction of ``lr``.
        grad_accum: Gradient-accumulation micro-batches per optimizer step.
        grad_clip: Max gradient norm, or ``None``.
        mixed_precision: ``"no"``, ``"fp16"`` (CUDA) or ``"bf16"``.
        seed: Seed of model init, sampling order, crops.
        log_every: Log (and write ``metrics.csv``) every this many steps.
        checkpoint_every: Save a checkpoint every this many steps (and at the end).
        keep_checkpoints: Newest checkpoints kept on disk.
        num_workers: DataLoader workers per process.
        progress: tqdm progress bar on the main process.
        cpu: Force the CPU even when a GPU is visible.

    Example:
        >>> TrainConfig(batch_size=8, grad_accum=2, max_steps=1).per_process_batch(num_processes=2)
        2
    """

    output_dir: str = "runs/perceive-ir"
    batch_size: int = 8
    max_steps: int | None = None
    epochs: int | None = None
    lr: float = 2e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    grad_accum: int = 1
    grad_clip: float | None = None
    mixed_precision: str = "no"
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    num_workers: int = 0
    progress: bool = True
    cpu: bool = False

    def __post_init__(self) -> None:
        for name in ("batch_size", "grad_accum", "log_every", "checkpoint_every", "keep_checkpoints"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
        for name in ("max_steps", "epochs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"`{name}` must be None or a positive int, got {value!r}.")
        if self.max_steps is None and self.epochs is None:
            raise ValueError("Give `max_steps` or `epochs` (the length of the run).")
        if self.mixed_precision not in _PRECISIONS:
            raise ValueError(f"`mixed_precision` must be one of {_PRECISIONS}, got {self.mixed_precision!r}.")
        if not self.lr > 0:
            raise ValueError(f"`lr` must be > 0, got {self.lr!r}.")
        self.betas = (float(self.betas[0]), float(self.betas[1]))

    def per_process_batch(self, num_processes: int) -> int:
        """Samples each process loads per micro-batch.

        Raises:
            ValueError: ``batch_size`` is not divisible by ``num_processes · grad_accum``.
        """
        parts = num_processes * self.grad_accum
        if self.batch_size % parts:
            raise ValueError(
                f"`batch_size` ({self.batch_size}) must be divisible by num_processes × grad_accum "
                f"({num_processes} × {self.grad_accum}); it is the global batch of one optimizer step."
            )
        return self.batch_size // parts

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build from a mapping (e.g. the ``train`` section of a YAML recipe); unknown keys are errors.

        Example:
            >>> TrainConfig.from_mapping({"max_steps": 3, "lr": 1e-3}).lr
            0.001
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown training settings {unknown}; known: {sorted(known)}.")
        values = dict(values)
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)
