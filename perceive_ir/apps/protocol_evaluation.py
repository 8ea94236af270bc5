"""The Perceive-IR authors' published evaluation, ``adair3`` / ``adair5``, for any restoration network.

Reproduces ``src/perceiveIR/evaluate_stage2_adair.py`` (run by their ``scripts/test_perceiveIR.sh``):
the cases and degraded inputs of :mod:`~perceive_ir.apps.adair_cases`; each input restored whole
in float32 by :func:`~perceive_ir.inference.restore` with ``mode="authors-direct"`` (replicate
padding on the right/bottom to a multiple of 8, the network and its DINOv2/CFE guidance run on
the padded image, cropped back) and clamped to ``[0, 1]``; PSNR and SSIM of
:mod:`~perceive_ir.apps.protocol_metrics` per image; the mean per group (the paper's rows) and
the mean of the groups' means (``column_mean``, the paper's average column). The 5-task paper
average uses only BSD68 at σ 25 among the noise rows (``paper_average``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from statistics import fmean
from typing import Any

import torch
from torch import nn

from .._validation import check_int
from ..errors import InvalidValueError
from ..inference.compiled import FastOptions
from ..inference.outputs import OutputKey
from ..inference.restore import restore
from ..models.descriptor import ModelDescriptor
from .adair_cases import (
    ADAIR_GROUPS,
    EXPECTED_CASES,
    PROTOCOLS,
    degraded_pair,
    protocol_cases,
    protocol_rng,
    uint8_sha256,
)
from .protocol_metrics import SSIM_METHODS, SsimMethod, authors_psnr, protocol_ssim, require_skimage

__all__ = ["PAPER_AVERAGE_GROUPS", "evaluate_protocol", "protocol_statement", "summarize_records"]

#: The groups the paper averages, per protocol (5-task: σ 25 only among the BSD68 rows).
PAPER_AVERAGE_GROUPS: dict[str, tuple[str, ...]] = {
    "adair3": ADAIR_GROUPS["adair3"],
    "adair5": ("bsd68_sigma25", "SOTS-Outdoor", "Rain100L", "GoPro", "LOLv1"),
}


def protocol_statement(protocol: str, ssim: SsimMethod = "skimage") -> dict[str, str]:
    """What the protocol does, stated in every result.

    Example:
        >>> protocol_statement("adair5")["crop"]
        'none'
    """
    if protocol not in PROTOCOLS:
        raise InvalidValueError(f"Unknown `protocol` {protocol!r}; known: {list(PROTOCOLS)}.")
    adair3 = protocol == "adair3"
    ssim_text = (
        "skimage.metrics.structural_similarity(HxWx3 float32, channel_axis=-1, data_range=1.0): uniform 7x7 window, "
        "sample covariance [paper: authors evaluate_stage2.py metrics]" if ssim == "skimage" else
        "torchmetrics structural_similarity_index_measure, Gaussian 11x11, sigma 1.5, data_range=1.0 [ours: the "
        "file-list evaluation's metric; NOT the authors' SSIM, not comparable with published numbers]"
    )
    return {
        "name": protocol,
        "source": "[paper: authors src/perceiveIR/evaluate_stage2_adair.py --protocol " + protocol + "]",
        "cases": "BSD68 sorted at sigma 15, then 25, then 50; SOTS-Outdoor; Rain100L"
        + ("" if adair3 else "; GoPro; LOL-v1"),
        "crop": "centre crop of targets and paired inputs to multiples of 16" if adair3 else "none",
        "noise": "uint8-truncated clip(target + randn(H, W, 3) * sigma), one numpy RandomState(0) advanced through "
        "the cases in order, drawn after the crop" if adair3 else
        "uint8-truncated (target * 255 + randn(3, H, W) * sigma).clamp(0, 255), torch.Generator seeded "
        "3407 + BSD68 index",
        "inference": "whole image, float32, replicate-pad right/bottom to a multiple of 8, guidance (DINOv2, CFE) on "
        "the padded image, output cropped and clamped to [0, 1]",
        "psnr": "-10 log10(max(MSE, 1e-12)) on float images in [0, 1], RGB, no border crop",
        "ssim": ssim_text,
        "average": "column_mean = mean of the groups' means" + (
            "" if adair3 else "; paper_average = mean over bsd68_sigma25, SOTS-Outdoor, Rain100L, GoPro, LOLv1 "
            "(the paper's 5-task average)"
        ),
    }


def _mean_of(items: Sequence[dict[str, Any]], key: str) -> float:
    return fmean(float(item[key]) for item in items)


def summarize_records(records: Sequence[dict[str, Any]], protocol: str) -> dict[str, Any]:
    """Per-group means, ``column_mean`` (mean of the groups' means) and, for ``adair5``, ``paper_average``.

    A mean over groups is ``None`` while one of its groups has no record (a ``limit`` run).

    Example:
        >>> rows = [{"dataset": g, "psnr": 30.0, "ssim": 0.9, "input_psnr": 20.0, "input_ssim": 0.5}
        ...         for g in ADAIR_GROUPS["adair3"]]
        >>> summarize_records(rows, "adair3")["column_mean"]
        {'psnr': 30.0, 'ssim': 0.9}
    """
    groups: dict[str, dict[str, Any]] = {}
    for name in ADAIR_GROUPS[protocol]:
        members = [r for r in records if r["dataset"] == name]
        if members:
            groups[name] = {"count": len(members),
                            **{k: _mean_of(members, k) for k in ("psnr", "ssim", "input_psnr", "input_ssim")}}

    def over(names: Sequence[str]) -> dict[str, float] | None:
        if not all(n in groups for n in names):
            return None
        return {k: fmean(groups[n][k] for n in names) for k in ("psnr", "ssim")}

    summary: dict[str, Any] = {"groups": groups, "column_mean": over(ADAIR_GROUPS[protocol])}
    if protocol == "adair5":
        summary["paper_average"] = over(PAPER_AVERAGE_GROUPS["adair5"])
        summary["paper_average_groups"] = list(PAPER_AVERAGE_GROUPS["adair5"])
    return summary


def _relative(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def evaluate_protocol(
    model: nn.Module | ModelDescriptor,
    data_root: str | os.PathLike[str],
    protocol: str,
    *,
    ssim: SsimMethod = "skimage",
    device: str | torch.device | None = None,
    multiple: int | None = None,
    output: OutputKey = None,
    limit: int | None = None,
    progress: bool = False,
    fast: FastOptions | None = None,
) -> dict[str, Any]:
    """Run the authors' ``adair3`` / ``adair5`` protocol on ``model``: one record per test image, group means.

    Args:
        model: Any restoration ``nn.Module`` (``(B, 3, H, W)`` in ``[0, 1]`` → same size; for the
            authors' ``PerceiveIRNet`` its guidance is computed on the padded input), or its
            :class:`~perceive_ir.models.descriptor.ModelDescriptor`.
        data_root: The folder holding ``AiO/test/...`` or ``test/...`` in the authors' layout.
        protocol: ``"adair3"`` or ``"adair5"``.
        ssim: ``"skimage"`` (the authors') or ``"gaussian"`` [ours: torchmetrics].
        device: Where to compute; ``None``: the model's device.
        multiple: The network's own size multiple (``None``: the model's); inputs are padded to the
            least common multiple of it and 8 (the authors: 8).
        output: Which part of a tuple/list/dict output is the image.
        limit: Only the first ``limit`` cases (a smoke test; the result says it is incomplete).
        progress: A tqdm bar over the cases.
        fast: Compiled / channels-last / bfloat16 settings for
            :func:`~perceive_ir.inference.restore.restore` (``None``: float32 eager).

    Returns:
        ``{"protocol", "statement", "count", "expected", "complete", "records", "groups",
        "column_mean"}`` (and ``"paper_average"`` for ``adair5``). Each record: ``dataset`` (the
        authors' group name), ``task``, ``sigma``, ``target`` and ``input`` (relative to
        ``data_root``), ``height``, ``width``, ``degraded_sha256`` (of the uint8 input),
        ``psnr``, ``ssim`` and the degraded input's own ``input_psnr``, ``input_ssim``.

    Raises:
        ValueError: unknown ``protocol`` or ``ssim``, bad ``limit``, an unpaired test image, a
            non-finite score.
        FileNotFoundError: a missing test folder (named).
        ImportError: ``ssim="skimage"`` without scikit-image.

    Example:
        >>> import tempfile
        >>> from torch import nn
        >>> from perceive_ir.data import save_png
        >>> root = Path(tempfile.mkdtemp())
        >>> save_png(torch.rand(3, 20, 20), root / "test/denoise/bsd68/target/01.png")
        >>> for sub, name in (("dehaze", "0001"), ("derain/Rain100L", "1")):
        ...     save_png(torch.rand(3, 20, 20), root / "test" / sub / "input" / f"{name}.png")
        ...     save_png(torch.rand(3, 20, 20), root / "test" / sub / "target" / f"{name}.png")
        >>> result = evaluate_protocol(nn.Identity(), root, "adair3")
        >>> [r["dataset"] for r in result["records"]][:2], result["records"][0]["target"]
        (['bsd68_sigma15', 'bsd68_sigma25'], 'test/denoise/bsd68/target/01.png')
    """
    if ssim not in SSIM_METHODS:
        raise InvalidValueError(f"Unknown `ssim` {ssim!r}; known: {list(SSIM_METHODS)}.")
    check_int(limit, "limit", optional=True)
    if ssim == "skimage":
        require_skimage()  # before any image is restored
    root = Path(data_root)
    cases = protocol_cases(root, protocol)
    count = len(cases) if limit is None else min(limit, len(cases))
    rng = protocol_rng()
    indices = range(count)
    if progress:
        from tqdm.auto import tqdm

        indices = tqdm(indices, desc=protocol, unit="image", leave=False)
    records = []
    for i in indices:
        case = cases[i]
        low8, low, target = degraded_pair(case, protocol, rng)
        restored = restore(model, low, device=device, multiple=multiple, output=output, mode="authors-direct",
                           **(fast or FastOptions()).as_kwargs())
        restored = restored.float().clamp(0, 1)
        record: dict[str, Any] = {
            "dataset": case.dataset, "task": case.task, "sigma": case.sigma,
            "target": _relative(case.target, root), "input": _relative(case.input, root),
            "height": int(target.shape[1]), "width": int(target.shape[2]), "degraded_sha256": uint8_sha256(low8),
            "psnr": authors_psnr(restored, target), "ssim": protocol_ssim(restored, target, ssim),
            "input_psnr": authors_psnr(low, target), "input_ssim": protocol_ssim(low, target, ssim),
        }
        bad = [k for k in ("psnr", "ssim", "input_psnr", "input_ssim") if not math.isfinite(record[k])]
        if bad:
            raise InvalidValueError(f"{case.target}: non-finite {', '.join(bad)} (the restored image holds NaN?).")
        records.append(record)
    return {
        "protocol": protocol,
        "statement": protocol_statement(protocol, ssim),
        "count": len(records),
        "expected": EXPECTED_CASES[protocol],
        "complete": len(records) == EXPECTED_CASES[protocol],
        "records": records,
        **summarize_records(records, protocol),
    }
