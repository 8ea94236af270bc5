"""The probe measurement behind :class:`~perceive_ir.perceive.losses.ProxyPSNRDifficulty`: mean PSNRs per task.

The model and each proxy restorer are run on a fixed probe set; their per-image PSNRs are summed
per task (a proxy's only on the images of the tasks it is valid for), then averaged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..._tasks import task_name
from ...errors import InvalidTypeError, InvalidValueError
from .proxies import Proxy, task_ids

__all__ = ["ALL_TASKS", "MODEL", "PSNRSums", "probe_psnr_sums"]

#: Row key of a probe set without tasks: one set of weights for every sample.
ALL_TASKS = "all"


def _probe_batch(item: Any, index: int) -> tuple[Tensor, Tensor, Tensor | None]:
    """``(degraded, clean, tasks or None)`` from a probe item: a tuple/list, or a dict of a dataset."""
    if isinstance(item, Mapping):
        if "degraded" not in item or "clean" not in item:
            raise InvalidValueError(f"Probe batch {index} is a mapping without 'degraded' and 'clean'.")
        degraded, clean, tasks = item["degraded"], item["clean"], item.get("task")
    elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
        degraded, clean, tasks = item[0], item[1], item[2] if len(item) == 3 else None
    else:
        raise InvalidTypeError(
            f"Probe batch {index} must be (degraded, clean), (degraded, clean, tasks) or a dict, "
            f"got {type(item).__name__}."
        )
    if degraded.dim() == 3:
        degraded, clean = degraded[None], clean[None]
    if tasks is not None:
        tasks = task_ids(tasks if isinstance(tasks, (Tensor, list, tuple)) else [tasks], degraded.shape[0])
    return degraded, clean, tasks


#: The key of the model's own PSNR among the proxies' (numbered from 0) in :class:`PSNRSums`.
MODEL = -1


class PSNRSums:
    """Running sums of per-image PSNRs per ``(task, who)``: ``who`` is :data:`MODEL` or a proxy's index."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, int], list[float]] = {}  # (task, who) -> [sum, count]

    def add(self, task: str, who: int, values: Tensor) -> None:
        """Add the PSNRs ``values`` of ``who`` on images of ``task``."""
        entry = self.entries.setdefault((task, who), [0.0, 0.0])
        entry[0] += float(values.double().sum())
        entry[1] += values.numel()

    def mean(self, task: str, who: int) -> float | None:
        """``who``'s mean PSNR on ``task`` (``None``: never measured there)."""
        entry = self.entries.get((task, who))
        return None if entry is None else entry[0] / entry[1]

    def overall(self, who: int) -> float:
        """The mean over every task of ``who``'s PSNRs."""
        entries = [entry for (_, key), entry in self.entries.items() if key == who]
        return sum(e[0] for e in entries) / sum(e[1] for e in entries)

    def tasks(self) -> list[str]:
        """The measured tasks, sorted."""
        return sorted({task for task, _ in self.entries})


def _psnr(out: Tensor, clean: Tensor) -> Tensor:
    """Per-image PSNR (torchmetrics') of ``out`` clamped to ``[0, 1]`` against ``clean``."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    return peak_signal_noise_ratio(
        out.float().clamp(0, 1), clean.float(), data_range=1.0, reduction="none", dim=(1, 2, 3)
    )


def _add_probe_batch(
    sums: PSNRSums,
    model: Callable[[Tensor], Tensor],
    proxies: Sequence[Proxy],
    batch: tuple[Tensor, Tensor, Tensor | None],
) -> None:
    """Add the model's and each proxy's PSNRs on one probe batch, per task (a proxy's only where it is valid)."""
    degraded, clean, tasks = batch
    names = [ALL_TASKS] * degraded.shape[0] if tasks is None else [task_name(int(t)) for t in tasks]
    outputs: list[tuple[int, Tensor, Tensor | None]] = [(MODEL, _psnr(model(degraded), clean), None)]
    for k, proxy in enumerate(proxies):
        mask = proxy.valid_mask(tasks, degraded.shape[0]).to(degraded.device)
        outputs.append((k, _psnr(proxy.render(degraded, tasks, mask=mask), clean), mask))
    for who, values, valid in outputs:
        for task in sorted(set(names)):
            select = torch.tensor([n == task for n in names], device=values.device)
            if valid is not None:
                select &= valid
            if bool(select.any()):
                sums.add(task, who, values[select])


def probe_psnr_sums(
    model: Callable[[Tensor], Tensor],
    proxies: Sequence[Proxy],
    probe: Iterable[Any],
    device: torch.device | str | None,
) -> PSNRSums:
    """The PSNR sums of the model (in eval mode, restored afterwards) and the proxies over the probe set.

    Raises:
        ValueError: the probe set yielded no batches.
    """
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    sums, batches = PSNRSums(), 0
    try:
        for index, item in enumerate(probe):
            degraded, clean, tasks = _probe_batch(item, index)
            if device is not None:
                degraded, clean = degraded.to(device), clean.to(device)
            if tasks is not None:
                tasks = tasks.to(degraded.device)
            _add_probe_batch(sums, model, proxies, (degraded, clean, tasks))
            batches += 1
    finally:
        if isinstance(model, nn.Module):
            model.train(was_training)
    if batches == 0:
        raise InvalidValueError("`probe` yielded no batches.")
    return sums
