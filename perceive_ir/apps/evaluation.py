"""Evaluate a restoration network on file-listed test sets: PSNR / SSIM per task (torchmetrics).

This is this library's own protocol [ours], not the Perceive-IR authors' published one (for that,
:func:`perceive_ir.apps.protocol_evaluation.evaluate_protocol`: crop, quantised noise, replicate
padding, guidance on the padded image, scikit-image SSIM).

Protocol: RGB images in ``[0, 1]``, the whole image (padded to the network's multiple and
cropped back by :func:`~perceive_ir.inference.restore.restore`, optionally tiled), the output
clamped to ``[0, 1]``, PSNR and SSIM (torchmetrics functional, ``data_range=1.0``, SSIM with a Gaussian
11×11 window, σ 1.5) per image and averaged per row. A row is one test set and degradation
(CBSD68 gives one row per noise level).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torchmetrics.functional import peak_signal_noise_ratio, structural_similarity_index_measure

from .._validation import check_int
from ..data.datasets import FileListDataset
from ..errors import InvalidValueError
from ..inference.compiled import FastOptions
from ..inference.outputs import OutputKey
from ..inference.restore import restore
from ..inference.tiling_spec import DEFAULT_OVERLAP, TilingSpec
from ..models.descriptor import ModelDescriptor
from .protocol_metrics import MSE_FLOOR
from .published_results import SETTINGS

__all__ = ["PSNR_CEILING_DB", "EvaluationRow", "ImageScore", "evaluate_filelists", "protocol", "setting_averages"]

#: The highest PSNR recorded: identical images, with the MSE floored at 1e-12 as the authors' evaluator does.
PSNR_CEILING_DB = -10.0 * math.log10(MSE_FLOOR)


@dataclass
class ImageScore:
    """PSNR (dB) and SSIM of one restored image."""

    name: str
    psnr: float
    ssim: float


@dataclass
class EvaluationRow:
    """One test set (and degradation): mean PSNR / SSIM over its images.

    Attributes:
        dataset: Layout name from the file list (``cbsd68``, ``rain100l``, ...).
        task: Task name (``denoise``, ``derain``, ...).
        degradation: Synthesised degradation preset (``noise25``), or ``None`` for real pairs.
        split: The file list's split.
        filelist: Path of the file list.
        images: Per-image scores.
    """

    dataset: str
    task: str
    degradation: str | None
    split: str
    filelist: str
    images: list[ImageScore] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The dataset name, followed by the degradation preset when there is one (``cbsd68 noise25``)."""
        return self.dataset + (f" {self.degradation}" if self.degradation else "")

    @property
    def n(self) -> int:
        """Number of images scored."""
        return len(self.images)

    @property
    def psnr(self) -> float:
        """Mean PSNR (dB) over the images; 0 when there are none."""
        return sum(s.psnr for s in self.images) / max(self.n, 1)

    @property
    def ssim(self) -> float:
        """Mean SSIM over the images; 0 when there are none."""
        return sum(s.ssim for s in self.images) / max(self.n, 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``label``, ``n`` and the means, then every field (the per-image scores as dicts)."""
        return {"label": self.label, "n": self.n, "psnr": self.psnr, "ssim": self.ssim, **asdict(self)}


def protocol(tile: int | None, overlap: int, multiple: int) -> dict[str, Any]:
    """The evaluation protocol, stated in every result.

    Example:
        >>> protocol(None, 32, 8)["padding"]
        'reflect-pad to a multiple of 8, crop back'
    """
    tiling = "none" if tile is None else f"tiles of {tile} px, overlap {overlap} px, guidance from the whole image"
    return {
        "name": "file lists [ours: not the authors' adair3/adair5 protocol; see perceive-ir evaluate --protocol]",
        "color": "RGB",
        "range": "[0, 1] (output clamped)",
        "region": "whole image",
        "padding": f"reflect-pad to a multiple of {multiple}, crop back",
        "tiling": tiling,
        "metrics": "torchmetrics peak_signal_noise_ratio (at most 120 dB: MSE floored at 1e-12) and "
        "structural_similarity_index_measure (Gaussian 11x11, sigma 1.5), data_range=1.0, per image, averaged per row",
    }


def evaluate_filelists(
    model: nn.Module | ModelDescriptor,
    filelists: Sequence[str | os.PathLike[str]],
    *,
    tiling: TilingSpec | None = None,
    tile: int | None = None,
    overlap: int = DEFAULT_OVERLAP,
    device: str | torch.device | None = None,
    half: bool = False,
    multiple: int | None = None,
    limit: int | None = None,
    progress: bool = False,
    output: OutputKey = None,
    fast: FastOptions | None = None,
) -> list[EvaluationRow]:
    """PSNR / SSIM of ``model`` on each file list (one row per test set and degradation).

    Args:
        model: The network or its :class:`~perceive_ir.models.descriptor.ModelDescriptor` (see
            :func:`~perceive_ir.inference.restore.restore`).
        filelists: JSON file lists written by ``python -m perceive_ir.data.filelists``.
        tiling: How to run each image (:class:`~perceive_ir.inference.tiling_spec.TilingSpec`);
            ``None``: from the next six keywords (then leave them alone when giving it).
        tile: Tile side in pixels, or ``None`` to restore each image whole (as in
            :func:`~perceive_ir.inference.restore.restore`, like the next four).
        overlap: Overlap between tiles in pixels.
        device: Where to compute; ``None``: the model's device.
        half: Compute in float16 autocast (CUDA only).
        multiple: Pad inputs to a multiple of this; ``None``: ``model.multiple`` for a wrapped network, else 1.
        limit: Evaluate only the first ``limit`` images of each list (smoke tests).
        progress: A tqdm bar over the images.
        output: Which part of a tuple/list/dict output is the image (index or key); ``None``: the
            first image-shaped tensor (see :func:`~perceive_ir.inference.outputs.select_image`).
        fast: Compiled / channels-last / bfloat16 settings for
            :func:`~perceive_ir.inference.restore.restore` (``None``: float32 eager).

    Returns:
        The rows, in file-list order.

    Raises:
        ValueError: no file lists, one listed twice, a bad ``limit``, or a restored image whose
            size is not the clean image's (a super-resolution network).

    Example:
        >>> import tempfile, torch
        >>> from pathlib import Path
        >>> from torch import nn
        >>> from perceive_ir.data import save_png, write_filelist
        >>> root = Path(tempfile.mkdtemp()); save_png(torch.rand(3, 16, 16), root / "01.png")
        >>> rows = evaluate_filelists(nn.Identity(), write_filelist("cbsd68", root, root / "lists"))
        >>> [(r.label, r.n) for r in rows]
        [('cbsd68 noise15', 1), ('cbsd68 noise25', 1), ('cbsd68 noise50', 1)]
    """
    if not filelists:
        raise InvalidValueError("`filelists` is empty: give at least one file list.")
    names = [str(p) for p in filelists]
    if len(set(names)) != len(names):
        raise InvalidValueError(
            f"`filelists` names a file list twice: {sorted({n for n in names if names.count(n) > 1})}."
        )
    check_int(limit, "limit", optional=True)
    if tiling is None:  # checked once, before the first image
        tiling = TilingSpec(tile=tile, overlap=overlap, device=device, half=half, multiple=multiple, output=output)
    elif (tile, overlap, device, half, multiple, output) != (None, DEFAULT_OVERLAP, None, False, None, None):
        raise InvalidValueError("Give `tiling` or the loose keywords (tile, overlap, ...), not both.")
    rows: dict[tuple[str, str | None, str], EvaluationRow] = {}
    for path in filelists:
        dataset = FileListDataset(path)
        meta = dataset.meta
        count = len(dataset) if limit is None else min(limit, len(dataset))
        indices = range(count)
        if progress:
            from tqdm.auto import tqdm

            indices = tqdm(indices, desc=str(meta.get("dataset", path)), unit="image", leave=False)
        for i in indices:
            item = dataset.items[i]
            key = (str(path), item.degradation, meta.get("dataset", ""))
            row = rows.get(key)
            if row is None:
                row = rows[key] = EvaluationRow(
                    dataset=str(meta.get("dataset", "")), task=str(meta.get("task", "")),
                    degradation=item.degradation, split=str(meta.get("split", "")), filelist=str(path),
                )
            sample = dataset[i]
            restored = restore(model, sample["degraded"], tiling=tiling,
                               **(fast or FastOptions()).as_kwargs()).clamp(0, 1)
            row.images.append(_score(sample["name"], restored, sample["clean"]))
    return list(rows.values())


def _score(name: str, restored: torch.Tensor, clean: torch.Tensor) -> ImageScore:
    if restored.shape != clean.shape:
        raise InvalidValueError(
            f"{name}: the model restored a {tuple(restored.shape)} image for a {tuple(clean.shape)} clean one; the "
            "restoration protocol compares images of the input's size (a super-resolution network does not fit it)."
        )
    pred, target = restored[None].double(), clean[None].to(restored.device).double()
    # the MSE floor of the authors' evaluator: identical images score 120 dB, not an infinity JSON cannot hold
    psnr = min(float(peak_signal_noise_ratio(pred, target, data_range=1.0)), PSNR_CEILING_DB)
    ssim_value = structural_similarity_index_measure(pred, target, data_range=1.0)
    assert isinstance(ssim_value, torch.Tensor)  # a tensor unless return_full_image=True
    ssim = float(ssim_value)
    return ImageScore(name, psnr, ssim)


def setting_averages(rows: Sequence[EvaluationRow]) -> dict[str, dict[str, Any]]:
    """Averages over the rows of each standard setting (3-task, 5-task) that the rows cover.

    Returns:
        ``{setting: {"psnr", "ssim", "complete", "missing"}}``; ``psnr``/``ssim`` are ``None``
        when a test set of the setting is missing. Only settings touched by some row appear.

    Example:
        >>> row = EvaluationRow("rain100l", "derain", None, "test", "x.json", [ImageScore("a", 30.0, 0.9)])
        >>> setting_averages([row])["3-task"]["complete"]
        False
    """
    by_key = {(r.dataset, r.degradation): r for r in rows if r.split in ("test", "")}
    out: dict[str, dict[str, Any]] = {}
    for setting, keys in SETTINGS.items():
        present = [by_key[k] for k in keys if k in by_key]
        if not present:
            continue
        missing = [f"{d} {g}" if g else d for d, g in keys if (d, g) not in by_key]
        complete = not missing
        out[setting] = {
            "psnr": sum(r.psnr for r in present) / len(present) if complete else None,
            "ssim": sum(r.ssim for r in present) / len(present) if complete else None,
            "complete": complete,
            "missing": missing,
        }
    return out
