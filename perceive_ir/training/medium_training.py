"""Training one cross-fitted medium restorer, the way the authors' ``train_stage1_medium.py`` does.

On the scenes of one fold, with L1 (github.com/House-yuyu/Perceive-IR at c7f79d47,
``src/configs/perceiveIR_stage1.yaml`` section ``medium`` and the README's stage-1 command):

* each epoch lists every scene ``task_resampling[task]`` times (denoise 3, dehaze 1,
  derain 120, deblur 50, low light 40) and shuffles the list with a permutation seeded by
  ``seed + epoch`` (their ``DistributedSampler``); batches of 4, the last partial one dropped;
* every read draws afresh: the noise of a synthetic scene, a 128² crop (images whose short
  side is below the crop are first upscaled bicubically, Pillow's kernel on the 8-bit image),
  a horizontal flip and a vertical flip, each with probability ½;
* AdamW (betas 0.9/0.999, weight decay 0.01, PyTorch's default, which the authors keep),
  learning rate 2e-4 annealed by cosine to 1e-6 over the steps (20K), bf16 autocast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.transforms import upscale_to_cover
from ..errors import InvalidTypeError, InvalidValueError

__all__ = [
    "AUTHORS_TASK_RESAMPLING",
    "Precision",
    "autocast_context",
    "check_task_resampling",
    "epoch_order",
    "medium_optimizer",
    "random_crop_pair",
    "train_medium_restorer",
    "uses_bf16",
]

#: Per-task repeats of the medium restorers' training set (``perceiveIR_stage1.yaml`` ``medium.task_resampling``).
AUTHORS_TASK_RESAMPLING: dict[str, int] = {"denoise": 3, "dehaze": 1, "derain": 120, "deblur": 50, "lowlight": 40}
Precision = Literal["auto", "bf16", "fp32"]

#: Reads the whole (low, high) images of a scene, given its position and the build's generator.
PairReader = Callable[[int, torch.Generator], tuple[Tensor, Tensor]]


def check_task_resampling(resampling: Mapping[str, int] | None) -> dict[str, int]:
    """``resampling`` as a plain dict of positive ints (``None``: every task once).

    Raises:
        ValueError: a value that is not a positive int, or a key that is not a string.

    Example:
        >>> check_task_resampling({"derain": 120})
        {'derain': 120}
    """
    if resampling is None:
        return {}
    if not isinstance(resampling, Mapping):
        raise InvalidValueError(f"`task_resampling` must map task names to repeats, got {type(resampling).__name__}.")
    out = {}
    for task, repeats in resampling.items():
        if not isinstance(task, str) or isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise InvalidValueError(
                f"`task_resampling` must map task names to positive ints, got {task!r}: {repeats!r}."
            )
        out[task] = repeats
    return out


def epoch_order(tasks: Sequence[str], resampling: Mapping[str, int], seed: int, epoch: int) -> list[int]:
    """The positions of one epoch: each scene ``resampling.get(task, 1)`` times, shuffled by ``seed + epoch``.

    Example:
        >>> sorted(epoch_order(["derain", "dehaze"], {"derain": 3}, seed=0, epoch=0))
        [0, 0, 0, 1]
    """
    repeated = [i for i, task in enumerate(tasks) for _ in range(resampling.get(task, 1))]
    permutation = torch.randperm(len(repeated), generator=torch.Generator().manual_seed(seed + epoch))
    return [repeated[j] for j in permutation.tolist()]


def _batches(tasks: Sequence[str], resampling: Mapping[str, int], seed: int, batch_size: int) -> Iterator[list[int]]:
    """Consecutive batches of the epoch orders, the last partial batch of each epoch dropped.

    An epoch smaller than a batch (tiny test sets; the authors' loader would yield nothing)
    is not dropped: its batches run on into the next epoch.
    """
    epoch, pending = 0, []
    while True:
        order = epoch_order(tasks, resampling, seed, epoch)
        epoch += 1
        if len(order) < batch_size:
            pending += order
            while len(pending) >= batch_size:
                yield pending[:batch_size]
                pending = pending[batch_size:]
            continue
        for start in range(0, len(order) - batch_size + 1, batch_size):  # drop_last
            yield order[start : start + batch_size]


def random_crop_pair(low: Tensor, high: Tensor, crop: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """An aligned random ``crop``² window of two ``3×H×W`` images, then random h and v flips (each p = ½).

    Images whose short side is below ``crop`` are first upscaled (Pillow bicubic, aspect ratio
    kept), as the authors' ``paired_random_crop`` does.

    Raises:
        ValueError: the two images differ in size.

    Example:
        >>> import torch
        >>> a = torch.rand(3, 20, 40)
        >>> lo, hi = random_crop_pair(a, a.clone(), 32, torch.Generator().manual_seed(0))
        >>> tuple(lo.shape), bool(torch.equal(lo, hi))
        ((3, 32, 32), True)
    """
    if low.shape != high.shape:
        raise InvalidValueError(f"low is {tuple(low.shape)} but high is {tuple(high.shape)}: the pair must be aligned.")
    low, high = upscale_to_cover([low, high], crop)
    height, width = low.shape[-2:]
    left = int(torch.randint(0, width - crop + 1, (1,), generator=generator))
    top = int(torch.randint(0, height - crop + 1, (1,), generator=generator))
    low, high = low[:, top : top + crop, left : left + crop], high[:, top : top + crop, left : left + crop]
    if float(torch.rand((), generator=generator)) < 0.5:
        low, high = low.flip(-1), high.flip(-1)
    if float(torch.rand((), generator=generator)) < 0.5:
        low, high = low.flip(-2), high.flip(-2)
    return low.contiguous(), high.contiguous()


def medium_optimizer(
    model: nn.Module, *, lr: float, min_lr: float, weight_decay: float, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW (betas 0.9/0.999) and a cosine schedule from ``lr`` to ``min_lr`` over ``steps`` steps.

    Example:
        >>> opt, sched = medium_optimizer(nn.Linear(2, 2), lr=2e-4, min_lr=1e-6, weight_decay=0.01, steps=10)
        >>> opt.param_groups[0]["weight_decay"], sched.get_last_lr()[0]
        (0.01, 0.0002)
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=min_lr)
    return optimizer, scheduler


def uses_bf16(precision: Precision, device: torch.device) -> bool:
    """Whether ``precision`` means bf16 autocast on ``device``.

    ``"auto"``: on CUDA devices that support bf16 (the authors train and render in bf16 on
    GPUs), fp32 elsewhere (a CPU: bf16 there is slow, and the authors' code runs only on CUDA).

    Example:
        >>> uses_bf16("auto", torch.device("cpu")), uses_bf16("bf16", torch.device("cpu"))
        (False, True)
    """
    if precision not in ("auto", "bf16", "fp32"):
        raise InvalidValueError(f"`precision` must be 'auto', 'bf16' or 'fp32', got {precision!r}.")
    if precision == "auto":
        return device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return precision == "bf16"


def autocast_context(bf16: bool, device: torch.device) -> AbstractContextManager[object]:
    """bf16 autocast on ``device`` when ``bf16``, else a context that changes nothing."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16)


def train_medium_restorer(
    factory: Callable[[], nn.Module],
    read_pair: PairReader,
    tasks: Sequence[str],
    *,
    steps: int,
    crop: int,
    batch_size: int,
    lr: float,
    min_lr: float,
    weight_decay: float,
    task_resampling: Mapping[str, int],
    precision: Precision,
    seed: int,
    device: torch.device,
    progress: bool,
) -> nn.Module:
    """Train ``factory()`` with L1 on fresh random crops of the scenes ``0 … len(tasks) - 1``.

    Args:
        factory: Builds the network (under ``torch.manual_seed(seed)``).
        read_pair: ``read_pair(position, generator)`` → the scene's whole (low, high) images;
            synthetic degradations draw from ``generator`` (fresh on every read).
        tasks: The task name of each scene (for ``task_resampling``).
        steps: Optimiser steps (the length of the cosine schedule).
        crop: Crop side (:func:`random_crop_pair`).
        batch_size: Crops per step.
        lr: Learning rate at the start of the cosine schedule.
        min_lr: Learning rate at its end.
        weight_decay: AdamW weight decay.
        task_resampling: Repeats per epoch by task name (a missing task: once).
        precision: ``"auto"``, ``"bf16"`` or ``"fp32"`` (:func:`uses_bf16`).
        seed: Seeds the network, the epoch orders, the crops, flips and noise.
        device: Where to train.
        progress: Show a tqdm bar.

    Returns:
        The trained network, in eval mode. The global RNG is left untouched.

    Raises:
        ValueError: no scenes.
        TypeError: the factory returns no ``nn.Module``.
    """
    if not tasks:
        raise InvalidValueError("The medium restorer has no scenes to train on.")
    bf16 = uses_bf16(precision, device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = factory()
        if not isinstance(model, nn.Module):
            raise InvalidTypeError(f"`restorer_factory` must return an nn.Module, got {type(model).__name__}.")
        model = model.to(device).train()
        optimizer, scheduler = medium_optimizer(model, lr=lr, min_lr=min_lr, weight_decay=weight_decay, steps=steps)
        generator = torch.Generator().manual_seed(seed)
        batches = _batches(tasks, task_resampling, seed, batch_size)
        loop: Iterator[int] | range = range(steps)
        if progress:
            from tqdm.auto import tqdm

            loop = tqdm(loop, desc="crossfit: training", leave=False)
        for _ in loop:
            low_b, high_b = _crop_batch(read_pair, next(batches), crop, generator)
            optimizer.zero_grad(set_to_none=True)
            with autocast_context(bf16, device):
                loss = F.l1_loss(model(low_b.to(device)), high_b.to(device))
            loss.backward()
            optimizer.step()
            scheduler.step()
    return model.eval()


def _crop_batch(
    read_pair: PairReader, positions: Sequence[int], crop: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """A batch of fresh random crops (and flips) of the scenes at ``positions``: stacked low, stacked high."""
    lows, highs = [], []
    for position in positions:
        low, high = random_crop_pair(*read_pair(position, generator), crop, generator)
        lows.append(low)
        highs.append(high)
    return torch.stack(lows), torch.stack(highs)
