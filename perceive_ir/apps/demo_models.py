"""The trained networks a ``perceive-ir demo`` report folder keeps, for ``perceive-ir app`` and ``load_model``.

The demo writes, beside ``results.md``:

* ``models/bare_l1.safetensors`` — the bare ``nafnet-small`` backbone trained with L1 (a plain
  state dict: :func:`~perceive_ir.models.load_model` reads it with spandrel);
* ``models/wrapped_quality_aware/`` — the wrapped network trained with the quality-aware loss
  (:func:`~perceive_ir.models.checkpoint.save_restoration_model`);
* ``perceiver/`` — the stage-1 quality perceiver (``save_pretrained``).

:func:`read_demo_models` finds them again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ..models.checkpoint import save_network_weights, save_restoration_model
from ..perceive.perceiver import QualityPerceiver
from ..retrofit.wrap import WrappedBackbone

__all__ = ["DEMO_MODEL_PATHS", "DEMO_PERCEIVER_PATH", "DemoModels", "read_demo_models", "save_demo_models"]

#: Label → path inside the report folder of each trained network the demo keeps.
DEMO_MODEL_PATHS: dict[str, str] = {
    "demo: bare (L1)": "models/bare_l1.safetensors",
    "demo: wrapped (quality-aware)": "models/wrapped_quality_aware",
}
#: Path of the demo's stage-1 perceiver inside the report folder.
DEMO_PERCEIVER_PATH = "perceiver"


@dataclass(frozen=True)
class DemoModels:
    """What a demo report folder holds.

    Attributes:
        models: Label → model source for :func:`~perceive_ir.models.load_model`, for the ones present.
        perceiver: The perceiver folder, or ``None`` when absent.
    """

    models: dict[str, Path]
    perceiver: Path | None


def save_demo_models(
    out: str | os.PathLike[str], *, bare: nn.Module, wrapped: WrappedBackbone, perceiver: QualityPerceiver
) -> DemoModels:
    """Save the demo's two trained networks and its perceiver into the report folder ``out``.

    Every file is written atomically (a temporary, then a rename).

    Args:
        out: The report folder.
        bare: The bare backbone trained with L1.
        wrapped: The wrapped network trained with the quality-aware loss.
        perceiver: The stage-1 perceiver.

    Returns:
        Where each was written.
    """
    out = Path(out)
    bare_path, wrapped_path = (out / path for path in DEMO_MODEL_PATHS.values())
    save_network_weights(bare, bare_path)
    save_restoration_model(wrapped, wrapped_path)
    perceiver.save_pretrained(out / DEMO_PERCEIVER_PATH)
    return DemoModels(dict(zip(DEMO_MODEL_PATHS, (bare_path, wrapped_path), strict=True)), out / DEMO_PERCEIVER_PATH)


def read_demo_models(report: str | os.PathLike[str]) -> DemoModels:
    """The trained networks and the perceiver a demo report folder holds (none for an absent folder).

    Args:
        report: A folder written by ``perceive-ir demo`` (``--out``; default ``reports/demo``).

    Returns:
        The ones present — a report of an older version, or an interrupted run, may lack some.

    Example:
        >>> read_demo_models("no/such/report")
        DemoModels(models={}, perceiver=None)
    """
    report = Path(report)
    models = {label: report / path for label, path in DEMO_MODEL_PATHS.items() if (report / path).exists()}
    perceiver = report / DEMO_PERCEIVER_PATH
    return DemoModels(models, perceiver if perceiver.is_dir() else None)
