"""The training loop shared by both stages: Accelerate, task-balanced sampling, logging, exact resume."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import filelock
import torch
from torch import Tensor, nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Sampler

from .._atomic import remove_stale_temporaries
from .._seeding import stable_seed
from ..data.draws import ReadKey, read_keyed
from ..data.sampler import TaskBalancedSampler, TaskQuotaSampler
from ..errors import InvalidTypeError, InvalidValueError, MissingFileError, PerceiveIRError, TrainingDivergedError
from .checkpoint import (
    capture_rng_state,
    latest_checkpoint,
    load_checkpoint,
    load_training_state,
    resolve_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from .config import TrainConfig
from .metrics_log import MetricsLog
from .resume_settings import describe_changes, encode_settings, log_changes, settings_changes
from .schedule import warmup_cosine

__all__ = [
    "RUN_LOCK_NAME",
    "RUN_OUTPUTS",
    "Callback",
    "ModelSpec",
    "RunFolderInUseError",
    "Trainer",
    "build_accelerator",
    "resolve_model",
]

#: The lock file a run holds in its output folder while it trains.
RUN_LOCK_NAME = ".run.lock"
#: What a run writes in its output folder: a fresh run refuses a folder holding any of them
#: unless told to overwrite, and overwriting removes exactly these.
RUN_OUTPUTS: tuple[str, ...] = (
    "checkpoints", "model.safetensors", "adapter", "perceiver", "metrics.csv", "config.yaml", "resume-changes.log"
)


class RunFolderInUseError(PerceiveIRError, FileExistsError):
    """A training run's output folder is held by another run, or holds an earlier run's files."""


class Callback:
    """Base class of training callbacks; override what you need.

    ``loss_terms`` runs inside the (DDP-wrapped) training step, so its terms are part of the
    synchronised backward pass; the other hooks run on every process between steps.
    ``state_dict``/``load_state_dict`` go into checkpoints, so a resumed run sees the same state.

    Example:
        >>> class CountSteps(Callback):
        ...     def __init__(self): self.steps = 0
        ...     def on_step_end(self, trainer, step, logs): self.steps += 1
        >>> CountSteps().state_dict()
        {}
    """

    def on_train_start(self, trainer: Trainer) -> None:
        """Before the first step (after a resume has restored everything)."""

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """At the start of every epoch (also of the first epoch of a resumed run if it starts one)."""

    def on_step_end(self, trainer: Trainer, step: int, logs: Mapping[str, float]) -> None:
        """After optimizer step ``step`` (1-based), before its checkpoint, with that step's logged values."""

    def loss_terms(self, model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        """Extra **weighted** loss terms added to the step's loss (logged under their names)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Callback state for checkpoints (tensors, numbers, strings, lists, dicts)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""


logger = logging.getLogger("perceive_ir.training")

#: A model, or a zero-argument callable that builds one (called after seeding).
ModelSpec = nn.Module | Callable[[], nn.Module]


def resolve_model(model: ModelSpec, name: str = "model") -> nn.Module:
    """``model`` itself, or what the zero-argument factory ``model`` builds.

    Raises:
        TypeError: neither a module nor a callable returning one.

    Example:
        >>> resolve_model(lambda: nn.Linear(2, 2)).out_features
        2
    """
    if isinstance(model, nn.Module):
        return model
    if callable(model):
        built = model()
        if not isinstance(built, nn.Module):
            raise InvalidTypeError(f"The `{name}` factory returned {type(built).__name__}, not an nn.Module.")
        return built
    raise InvalidTypeError(f"`{name}` must be an nn.Module or a callable building one, got {type(model).__name__}.")


def build_accelerator(config: TrainConfig) -> Any:
    """An ``accelerate.Accelerator`` for ``config`` (CPU, one GPU, or the processes of ``accelerate launch``).

    Gradient accumulation is handled by the loop itself (``config.grad_accum``), so the
    accelerator is created with one accumulation step. Several processes without CUDA (e.g.
    ``torchrun --nproc_per_node 2`` on a CPU machine) train on the CPU with gloo.
    """
    from accelerate import Accelerator

    several = int(os.environ.get("WORLD_SIZE", "1")) > 1
    cpu = config.cpu or (several and not torch.cuda.is_available())
    try:
        return Accelerator(cpu=cpu, mixed_precision=config.mixed_precision)
    except ValueError as err:
        # Accelerate keeps one global state per process; a second trainer with another precision
        # (notebooks, tests) may reset it when nothing is distributed.
        from accelerate.state import AcceleratorState, PartialState

        if "already been initialized" not in str(err) or several or PartialState().num_processes > 1:
            raise
        AcceleratorState._reset_state()
        return Accelerator(cpu=cpu, mixed_precision=config.mixed_precision)


class _Positions(Sampler[ReadKey]):
    """Yields this rank's read keys of the epoch (``ReadKey(index, epoch, global position)``), skipping ``skip``."""

    def __init__(self, keys: Sequence[ReadKey], skip: int) -> None:
        self.items = list(keys)[skip:]

    def __iter__(self) -> Iterator[ReadKey]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class _WithIndex(Dataset):
    """Reads a key with its own draw and adds ``index`` (dataset index) and ``position`` (global position in the epoch).

    A :class:`ReadKey` goes down to the dataset that holds the sample
    (:func:`~perceive_ir.data.draws.read_keyed`), so each repeat of a seeded sample in an
    epoch gets its own crop, flips and noise; a plain index reads ``dataset[index]`` (position -1).
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: ReadKey | int) -> dict[str, Any]:
        sample = dict(read_keyed(self.dataset, key))
        sample["index"] = key.index if isinstance(key, ReadKey) else key
        sample["position"] = key.position if isinstance(key, ReadKey) else -1
        return sample


def _as_concat(datasets: Dataset | Sequence[Dataset]) -> ConcatDataset:
    if isinstance(datasets, ConcatDataset):
        return datasets
    if isinstance(datasets, Dataset):
        return ConcatDataset([datasets])
    if isinstance(datasets, Sequence) and datasets and all(isinstance(d, Dataset) for d in datasets):
        return ConcatDataset(list(datasets))
    raise InvalidTypeError(f"`datasets` must be a Dataset or a non-empty list of them, got {type(datasets).__name__}.")


class Trainer:
    """Base loop: subclasses build the step module and say what a batch feeds it.

    The step module (an ``nn.Module`` whose ``forward(batch)`` returns ``(loss, terms)``) is
    what Accelerate wraps in DDP, so every trainable computation, including callback loss
    terms, runs inside one DDP forward.

    Every read of an epoch is keyed by its global position in the epoch's order
    (:class:`~perceive_ir.data.draws.ReadKey`): a seeded dataset gives each repeat of a sample
    its own crop, flips and noise, the same ones in every run with the same seed, in a resumed
    run (which skips the positions already trained on) and on whichever DDP rank reads it.

    Args:
        datasets: Per-task datasets (a list, a ``ConcatDataset`` or one dataset); samples are dicts.
        config: The :class:`TrainConfig`.
        repeats: Per-dataset repeat factors of the task-balanced sampler (a list, a mapping task
            name → factor such as ``PAPER_REPEATS``, or ``None``: 1 each); ``sampling="repeat"`` only.
        callbacks: :class:`Callback` objects.
        accelerator: An ``accelerate.Accelerator`` (default: one built from ``config``).
        sampling: ``"repeat"``: every sample of dataset ``i`` ``repeats[i]`` times per epoch,
            shuffled (:class:`~perceive_ir.data.TaskBalancedSampler`); ``"quota"``: every
            optimizer step's global batch holds near-equal counts of each dataset, drawn with
            replacement (:class:`~perceive_ir.data.TaskQuotaSampler`, the authors' stage 1).

    Raises:
        ValueError: an unknown ``sampling``, or ``repeats`` given with ``sampling="quota"``.
    """

    def __init__(
        self,
        datasets: Dataset | Sequence[Dataset],
        config: TrainConfig,
        *,
        repeats: Sequence[int] | Mapping[str, int] | None = None,
        callbacks: Sequence[Callback] = (),
        accelerator: Any = None,
        sampling: str = "repeat",
    ) -> None:
        if sampling not in ("repeat", "quota"):
            raise InvalidValueError(f"`sampling` must be 'repeat' or 'quota', got {sampling!r}.")
        if sampling == "quota" and repeats is not None:
            raise InvalidValueError(
                "`repeats` are factors of sampling='repeat' (pass sampling='repeat' to use them); "
                "sampling='quota' draws with replacement."
            )
        if not isinstance(config, TrainConfig):
            raise InvalidTypeError(f"`config` must be a TrainConfig, got {type(config).__name__}.")
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, Callback):
                raise InvalidTypeError(f"`callbacks[{i}]` must be a Callback, got {type(cb).__name__}.")
        self.config = config
        self.callbacks = list(callbacks)
        self.accelerator = accelerator if accelerator is not None else build_accelerator(config)
        self.output_dir = Path(config.output_dir)
        self.dataset = _as_concat(datasets)
        acc = self.accelerator
        self.world, self.rank = acc.num_processes, acc.process_index
        self.micro_batch = config.per_process_batch(self.world)
        self.sampling = sampling
        self.sampler: TaskBalancedSampler | TaskQuotaSampler
        if sampling == "quota":
            self.sampler = TaskQuotaSampler(
                self.dataset, self.micro_batch * self.world * config.grad_accum, seed=config.seed,
                num_replicas=self.world, rank=self.rank,
            )
        else:
            self.sampler = TaskBalancedSampler(
                self.dataset, repeats, seed=config.seed, num_replicas=self.world, rank=self.rank
            )
        per_step = self.micro_batch * config.grad_accum
        self.steps_per_epoch = len(self.sampler) // per_step
        if self.steps_per_epoch == 0:
            raise InvalidValueError(
                f"An epoch has {len(self.sampler)} samples per process, fewer than one optimizer step needs "
                f"({per_step}): lower `batch_size` or raise the repeat factors."
            )
        self.total_steps = config.max_steps or config.epochs * self.steps_per_epoch  # type: ignore[operator]
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.history: list[dict[str, float]] = []
        #: The run's settings, stored in every checkpoint and compared on resume (see
        #: :mod:`~perceive_ir.training.resume_settings`); the command line sets the whole recipe.
        self.settings: dict[str, Any] = {"train": dataclasses.asdict(config)}
        # the checkpoint folder check_resume read and its training state, kept for the resume that follows
        # (the command line checks before training; the state, optimizer included, is then read once)
        self._resume_state: tuple[Path, dict[str, Any]] | None = None

    #: ``torch.compile`` each training step's computation (the model and its loss, forward and
    #: backward) when training starts, in place, so checkpoints keep their keys (``perceive-ir train --compile``).
    compile_step: bool = False

    # -- to be provided by subclasses -----------------------------------------------------------
    model: nn.Module  # the unwrapped model whose trainable state is checkpointed

    def _setup(self, step_module: nn.Module) -> None:
        """Create optimizer and scheduler for ``self.model`` and prepare ``step_module``."""
        cfg = self.config
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise InvalidValueError("The model has no trainable parameters.")
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
        self.scheduler = warmup_cosine(optimizer, self.total_steps, cfg.warmup_steps, cfg.min_lr_ratio)
        self.step_module, self.optimizer = self.accelerator.prepare(step_module, optimizer)

    def _step_inputs(self, batch: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        """Trainer-specific state for checkpoints (subclasses extend)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`extra_state`."""

    def on_epoch_start(self, epoch: int) -> None:
        """Trainer-specific work at the start of an epoch (subclasses extend)."""

    def extra_logs(self) -> dict[str, float]:
        """Trainer-specific values added to every logged row and ``metrics.csv`` (subclasses extend)."""
        return {}

    def on_train_end(self) -> None:
        """Write final artefacts on the main process (subclasses extend)."""

    # -- helpers ---------------------------------------------------------------------------------
    def log_text(self, message: str) -> None:
        """Log a line from the main process."""
        if self.accelerator.is_main_process:
            logger.info(message)

    def _loader(self, epoch: int, skip: int) -> DataLoader:
        self.sampler.set_epoch(epoch)
        for d in self.dataset.datasets:
            if hasattr(d, "set_epoch"):
                d.set_epoch(epoch)
        positions = _Positions(self.sampler.read_keys(), skip)
        generator = torch.Generator().manual_seed(stable_seed("loader", self.config.seed, epoch, self.rank))
        return DataLoader(
            _WithIndex(self.dataset),
            batch_size=self.micro_batch,
            sampler=positions,
            drop_last=True,
            num_workers=self.config.num_workers,
            generator=generator,
            pin_memory=self.accelerator.device.type == "cuda",
        )

    def iter_dataset_once(self, batch_size: int) -> Iterator[dict[str, Any]]:
        """Every sample of the training datasets once, in index order (epoch 0 crops), with ``sample_ids``."""
        for d in self.dataset.datasets:
            if hasattr(d, "set_epoch"):
                d.set_epoch(0)
        loader = DataLoader(_WithIndex(self.dataset), batch_size=batch_size, shuffle=False)
        for batch in loader:
            yield {"degraded": batch["degraded"], "clean": batch["clean"], "sample_ids": batch["index"]}

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        device = self.accelerator.device
        return {k: v.to(device, non_blocking=True) if isinstance(v, Tensor) else v for k, v in batch.items()}

    def _state(self, rng: list[dict[str, Any]]) -> dict[str, Any]:
        scaler = getattr(self.accelerator, "scaler", None)
        return {
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "total_steps": self.total_steps,
            "world_size": self.world,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "rng": rng,
            "extra": self.extra_state(),
            "callbacks": [cb.state_dict() for cb in self.callbacks],
            "settings": encode_settings(self.settings),
        }

    def save(self) -> Path | None:
        """Checkpoint the current step (main process writes; all processes wait)."""
        rng = [capture_rng_state()]
        if self.world > 1:  # every process's random state, in rank order
            from accelerate.utils import gather_object

            rng = gather_object(rng)
        self.accelerator.wait_for_everyone()
        path = None
        if self.accelerator.is_main_process:
            path = save_checkpoint(
                self.output_dir, self.step, self.model, self._state(rng), self.config.keep_checkpoints
            )
        self.accelerator.wait_for_everyone()
        return path

    def _resume_path(self, resume: str | Path) -> Path:
        if str(resume) == "latest":
            found = latest_checkpoint(self.output_dir)
            if found is None:
                raise MissingFileError(
                    f"Cannot resume: {self.output_dir} has no checkpoint yet (train.output_dir names the run)."
                )
            return found
        path = Path(resume)
        found = resolve_checkpoint(path)
        if found is None:
            raise MissingFileError(f"Cannot resume from {path}: no checkpoint there (expected a step-* folder "
                                   "or a run directory with checkpoints/).")
        return found

    def check_resume(
        self, resume: str | Path, allow_changes: bool = False
    ) -> tuple[Path, list[tuple[str, Any, Any]]]:
        """The checkpoint ``resume`` names and the settings that differ, once they may.

        Reads only the checkpoint's training state, so a caller can check before it writes
        anything (the command line does, before it updates the run's ``config.yaml``). The state
        read is kept, so a :meth:`train` resuming from the same checkpoint does not read it again.

        Args:
            resume: A checkpoint folder, a run directory, or ``"latest"`` (this run's newest).
            allow_changes: Accept settings that change the result (then logged in the run
                folder's ``resume-changes.log``) instead of refusing them.

        Returns:
            The checkpoint folder and the changed ``(key, old, new)`` settings (only when allowed).

        Raises:
            FileNotFoundError: no checkpoint there.
            ValueError: a result-affecting setting differs from the checkpoint's (the message
                names each key, its old and new value).
        """
        path, _, changes = self._checked_state(resume, allow_changes)
        return path, changes

    def _checked_state(
        self, resume: str | Path, allow_changes: bool
    ) -> tuple[Path, dict[str, Any], list[tuple[str, Any, Any]]]:
        """:meth:`check_resume`, also returning the checkpoint's training state (read once per folder)."""
        path = self._resume_path(resume)
        if self._resume_state is None or self._resume_state[0] != path:
            self._resume_state = (path, load_training_state(path))
        state = self._resume_state[1]
        saved = state.get("settings")
        if saved is None:  # a checkpoint from before settings were recorded
            self.log_text(f"note: {path} records no settings; they cannot be compared")
            return path, state, []
        changes = settings_changes(saved, self.settings)
        if changes and not allow_changes:
            raise InvalidValueError(
                f"Cannot resume from {path}: settings that change the result differ from the checkpoint's "
                f"({describe_changes(changes)}). Resume with the run's settings, or allow the changes "
                "(--allow-changes; allow_changes=True), which are then logged in the run folder."
            )
        return path, state, changes

    def _resume(self, resume: str | Path, allow_changes: bool = False) -> None:
        path, state, changes = self._checked_state(resume, allow_changes)  # a check_resume's read is reused
        self._resume_state = None
        load_checkpoint(path, self.model, state)  # the weights, once the settings are checked
        if changes and self.accelerator.is_main_process:  # logged once the checkpoint did load
            log = log_changes(self.output_dir, path, changes)
            self.log_text(f"resuming with changed settings ({describe_changes(changes)}); logged in {log}")
        if state["total_steps"] != self.total_steps or state["world_size"] != self.world:
            self.log_text(
                f"note: checkpoint was taken with total_steps={state['total_steps']}, world_size="
                f"{state['world_size']}; now {self.total_steps}, {self.world} (not an exact continuation)"
            )
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        scaler = getattr(self.accelerator, "scaler", None)
        if scaler is not None and state["scaler"] is not None:
            scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        self.load_extra_state(state["extra"])
        # a run may resume with callbacks appended or dropped at the end (e.g. a one-off monitor that
        # stopped it): the callbacks present both then and now get their state back, in order
        for cb, cb_state in zip(self.callbacks, state["callbacks"], strict=False):
            cb.load_state_dict(cb_state)
        rng = state["rng"]
        restore_rng_state(rng[self.rank] if len(rng) == self.world else rng[0])
        self.log_text(f"resumed from {path} at step {self.step} (epoch {self.epoch})")

    # -- the loop --------------------------------------------------------------------------------
    def _reduce(self, value: Tensor) -> float:
        return float(self.accelerator.reduce(value.detach().float().reshape(1), reduction="mean"))

    def _train_step(self, batches: list[dict[str, Any]]) -> dict[str, float]:
        acc, cfg = self.accelerator, self.config
        total: dict[str, Tensor] = {}
        for i, batch in enumerate(batches):
            sync = i == len(batches) - 1
            ctx = nullcontext() if sync or self.world == 1 else acc.no_sync(self.step_module)
            with ctx, acc.autocast():
                loss, terms = self.step_module(self._step_inputs(self._to_device(batch)))
                acc.backward(loss / len(batches))
            for name, value in {"loss": loss, **terms}.items():
                total[name] = total.get(name, 0) + value.detach().float() / len(batches)
        if cfg.grad_clip is not None:
            acc.clip_grad_norm_(self.step_module.parameters(), cfg.grad_clip)
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        logs = {name: self._reduce(value) for name, value in total.items()}
        logs["lr"] = lr
        return logs

    def _previous_run(self) -> list[str]:
        """What an earlier run left in the output folder (the names a run writes)."""
        return [name for name in RUN_OUTPUTS if (self.output_dir / name).exists()]

    def _check_fresh_start(self, overwrite: bool) -> None:
        """Refuse a fresh run into a folder an earlier run used, unless ``overwrite``: then remove that run's files."""
        found = self._previous_run()
        if not found:
            return
        if not overwrite:
            raise RunFolderInUseError(
                f"{self.output_dir} already holds a run ({', '.join(found)}): continue it with resume='latest' "
                "(--resume), start over with overwrite=True (--overwrite: its checkpoints and outputs are replaced), "
                "or choose another train.output_dir."
            )
        if self.accelerator.is_main_process:
            for name in found:
                path = self.output_dir / name
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        self.accelerator.wait_for_everyone()

    @contextlib.contextmanager
    def _run_lock(self) -> Iterator[None]:
        """Hold the output folder's lock (main process) while the run uses it; a second run is refused."""
        if not self.accelerator.is_main_process:
            yield
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.output_dir / RUN_LOCK_NAME), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise RunFolderInUseError(
                f"{self.output_dir} is in use by another training run (it holds {RUN_LOCK_NAME}); wait for it "
                "to finish, or choose another train.output_dir."
            ) from None
        try:
            yield
        finally:
            lock.release()

    def train(
        self, resume: str | Path | None = None, allow_changes: bool = False, overwrite: bool = False
    ) -> list[dict[str, float]]:
        """Run until ``total_steps``; returns the per-step logs of this call (global means).

        The output folder is locked while the run uses it, and a fresh run (no ``resume``) into
        a folder that an earlier run used is refused unless ``overwrite``.

        Args:
            resume: A checkpoint folder, a run directory, or ``"latest"`` (this run's newest).
                The run then continues exactly where the checkpoint was taken.
            allow_changes: Resume even when settings that change the result (learning rate,
                batch size, schedule, model, data) differ from the checkpoint's; the changes
                are logged in ``resume-changes.log`` of the run folder. Otherwise they are
                refused (:meth:`check_resume`).
            overwrite: Start a fresh run in a folder an earlier run used: its files named in
                :data:`RUN_OUTPUTS` are removed first (nothing else in the folder is touched).

        Raises:
            RunFolderInUseError: another run holds the folder, or an earlier run's files are
                there and neither ``resume`` nor ``overwrite`` is given.
        """
        with self._run_lock():
            if resume is None:
                self._check_fresh_start(overwrite)
            return self._train_locked(resume, allow_changes)

    def _train_locked(self, resume: str | Path | None, allow_changes: bool) -> list[dict[str, float]]:
        metrics = self._begin(resume, allow_changes)
        bar = self._progress_bar()
        history: list[dict[str, float]] = []
        self.step_module.train()
        try:
            while self.step < self.total_steps:
                self._run_epoch(metrics, bar, history)
        finally:
            bar.close()
        acc = self.accelerator
        acc.wait_for_everyone()
        if acc.is_main_process:
            self.on_train_end()
        acc.wait_for_everyone()
        self.history = history
        return history

    def _begin(self, resume: str | Path | None, allow_changes: bool) -> MetricsLog:
        """Resume if asked, clear a killed run's temporaries, open the metrics log and start the callbacks."""
        cfg, acc = self.config, self.accelerator
        if resume is not None:
            self._resume(resume, allow_changes)
        if acc.is_main_process and self.output_dir.is_dir():  # files a killed run was writing (metrics, weights)
            remove_stale_temporaries(self.output_dir)
        metrics = MetricsLog(self.output_dir / "metrics.csv", resume_step=self.step if resume is not None else None)
        for cb in self.callbacks:
            cb.on_train_start(self)
        if self.compile_step:
            acc.unwrap_model(self.step_module).compile()  # nn.Module.compile: in place, the same state_dict keys
        self.log_text(
            f"training {self.total_steps} steps: {self.world} process(es) × {self.micro_batch} samples × "
            f"{cfg.grad_accum} accumulation = batch {cfg.batch_size}; {self.steps_per_epoch} steps/epoch; "
            f"device {acc.device}, mixed precision {cfg.mixed_precision}"
        )
        return metrics

    def _progress_bar(self) -> Any:
        """The run's tqdm bar (disabled off the main process or without ``config.progress``)."""
        from tqdm.auto import tqdm

        shown = self.config.progress and self.accelerator.is_main_process
        return tqdm(total=self.total_steps, initial=self.step, disable=not shown, desc="train", dynamic_ncols=True)

    def _run_epoch(self, metrics: MetricsLog, bar: Any, history: list[dict[str, float]]) -> None:
        """The rest of the current epoch (or up to ``total_steps``), starting it first if it is new."""
        cfg = self.config
        if self.batch_in_epoch == 0:
            self.on_epoch_start(self.epoch)
            for cb in self.callbacks:
                cb.on_epoch_start(self, self.epoch)
            self.step_module.train()
        skip = self.batch_in_epoch * self.micro_batch * cfg.grad_accum
        iterator = iter(self._loader(self.epoch, skip))
        for _ in range(self.steps_per_epoch - self.batch_in_epoch):
            if self.step >= self.total_steps:
                break
            logs = self._train_step([next(iterator) for _ in range(cfg.grad_accum)])
            self._after_step(logs, metrics, bar, history)

    def _advance(self) -> int:
        """Count one optimizer step; returns the epoch it belonged to (the next one starts after its last)."""
        self.step += 1
        self.batch_in_epoch += 1
        epoch = self.epoch
        if self.batch_in_epoch == self.steps_per_epoch:
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0
        return epoch

    def _after_step(
        self, logs: dict[str, float], metrics: MetricsLog, bar: Any, history: list[dict[str, float]]
    ) -> None:
        """Record a step: its row, the log line, the divergence check, the callbacks and a due checkpoint."""
        cfg = self.config
        epoch = self._advance()
        row = {"step": self.step, "epoch": epoch, **logs, **self.extra_logs()}
        history.append(row)
        metrics.append(row)
        bar.update(1)
        bar.set_postfix(loss=f"{logs['loss']:.4f}", lr=f"{logs['lr']:.2e}")
        if self.step % cfg.log_every == 0 or self.step == self.total_steps:
            self._log_step(logs, epoch, metrics)
        self._check_finite(logs, metrics)
        for cb in self.callbacks:
            cb.on_step_end(self, self.step, logs)
        if self.step % cfg.checkpoint_every == 0 or self.step == self.total_steps:
            if self.accelerator.is_main_process:
                metrics.flush()
            self.save()

    def _log_step(self, logs: Mapping[str, float], epoch: int, metrics: MetricsLog) -> None:
        """The step's log line; the metrics file is flushed with it."""
        terms = " ".join(f"{k}={v:.4f}" for k, v in logs.items() if k not in ("loss", "lr"))
        self.log_text(f"step {self.step}/{self.total_steps} epoch {epoch} loss={logs['loss']:.4f} "
                      f"{terms} lr={logs['lr']:.3e}")
        if self.accelerator.is_main_process:
            metrics.flush()

    def _check_finite(self, logs: Mapping[str, float], metrics: MetricsLog) -> None:
        """Stop a run whose loss is not finite (the metrics so far are flushed; no checkpoint is written)."""
        if math.isfinite(logs["loss"]):
            return
        if self.accelerator.is_main_process:
            metrics.flush()
        raise TrainingDivergedError(
            f"The loss is {logs['loss']} at step {self.step}; the last checkpoint is unaffected "
            "(try a lower `lr`, `grad_clip`, or full precision)."
        )
