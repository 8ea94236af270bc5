"""Collect the degradation representations of a whole dataset, ready for ``tree.grow``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

from .._validation import check_image
from ..errors import InvalidTypeError, InvalidValueError
from .tree import DegradationTree

__all__ = ["collect_representations"]


def _unpack(batch: Any, index: int) -> tuple[Any, Any, Any]:
    if isinstance(batch, Mapping):
        if "degraded" not in batch or "clean" not in batch:
            raise InvalidValueError(f"Batch {index} is a mapping without 'degraded' and 'clean' keys: {sorted(batch)}.")
        return batch["degraded"], batch["clean"], batch.get("sample_ids")
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
        return batch[0], batch[1], batch[2] if len(batch) == 3 else None
    raise InvalidTypeError(
        f"Batch {index} must be (degraded, clean), (degraded, clean, sample_ids) or a mapping with those keys, "
        f"got {type(batch).__name__}{f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''}."
    )


@torch.no_grad()
def collect_representations(
    tree: DegradationTree,
    batches: Iterable[Any],
    *,
    n_crops: int | None = None,
    crop_size: int | None = None,
    generator: torch.Generator | None = None,
    progress: bool = True,
) -> tuple[Tensor, Tensor]:
    """Representations of every pair in ``batches``, with their sample ids, for :meth:`~DegradationTree.grow`.

    Args:
        tree: The tree whose encoder computes the representations.
        batches: Any iterable (e.g. a ``DataLoader``) of ``(degraded, clean)`` or
            ``(degraded, clean, sample_ids)`` tuples, or mappings with those keys. Without ids,
            samples are numbered ``0 … N−1`` in iteration order — then the order must be the
            same at every call (no shuffling).
        n_crops: Crops per sample (default: the tree's).
        crop_size: Crop side (default: the tree's).
        generator: Optional ``torch.Generator`` for the crops.
        progress: Show a tqdm progress bar.

    Returns:
        ``(N, encoder.dim)`` representations on the CPU and ``(N,)`` long sample ids.

    Example:
        >>> import torch
        >>> tree = DegradationTree(encoder_widths=(8, 16, 16))
        >>> pairs = [(torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)) for _ in range(3)]
        >>> reps, ids = collect_representations(tree, pairs, progress=False)
        >>> reps.shape, ids.tolist()[-2:]
        (torch.Size([12, 32]), [10, 11])
    """
    from tqdm.auto import tqdm

    if not isinstance(tree, DegradationTree):
        raise InvalidTypeError(f"`tree` must be a DegradationTree, got {type(tree).__name__}.")
    device = next(tree.parameters()).device
    reps: list[Tensor] = []
    ids: list[Tensor] = []
    with_ids: bool | None = None
    count = 0
    was_training = tree.training
    tree.eval()
    try:
        for index, batch in enumerate(tqdm(batches, desc="degradation representations", disable=not progress)):
            degraded, clean, batch_ids = _unpack(batch, index)
            if with_ids is None:
                with_ids = batch_ids is not None
            elif with_ids != (batch_ids is not None):
                raise InvalidValueError(f"Batch {index}: either every batch carries sample ids or none does.")
            if not isinstance(degraded, Tensor) or not isinstance(clean, Tensor):
                raise InvalidTypeError(f"Batch {index}: `degraded` and `clean` must be tensors.")
            # the API edge checks values (NaN/Inf, [0, 1]); the tree's own forward checks shapes only
            check_image(degraded, "degraded", channels=tree.in_channels, min_size=4)
            check_image(clean, "clean", channels=tree.in_channels, min_size=4)
            rep = tree.representation(
                degraded.to(device), clean.to(device), n_crops=n_crops, crop_size=crop_size, generator=generator
            )
            n = rep.shape[0]
            if batch_ids is None:
                batch_ids = torch.arange(count, count + n)
            batch_ids = torch.as_tensor(batch_ids).reshape(-1)
            if batch_ids.numel() != n or batch_ids.is_floating_point():
                raise InvalidValueError(
                    f"Batch {index}: `sample_ids` must hold {n} integers, "
                    f"got {tuple(batch_ids.shape)} {batch_ids.dtype}."
                )
            reps.append(rep.cpu())
            ids.append(batch_ids.cpu().long())
            count += n
    finally:
        tree.train(was_training)
    if not reps:
        raise InvalidValueError("`batches` is empty: there is nothing to represent.")
    return torch.cat(reps), torch.cat(ids)
