"""One request of the restoration page: degrade a photograph (or not), restore it, rate both, time it.

:func:`restore_photo` is the page's work without the page: it synthesises a degradation with a
fixed seed (or takes the photograph as it is), restores it with
:func:`~perceive_ir.inference.restore` (tiled above ``tile`` pixels, with whole-image guidance),
rates the input and the output with a quality perceiver, and measures PSNR against the clean
photograph when there is one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import Tensor

from .._validation import check_image, check_int, module_device
from ..data.degradations.presets import get_degradation, list_degradations
from ..errors import InvalidTypeError, InvalidValueError
from ..inference.compiled import FastOptions
from ..inference.restore import restore
from ..inference.tiling import count_tiles
from ..inference.tiling_spec import TilingSpec
from ..models.descriptor import ModelDescriptor
from ..perceive.perceiver import QualityPerceiver

__all__ = ["PhotoResult", "restore_photo"]


@dataclass(frozen=True)
class PhotoResult:
    """What one restoration of a photograph gave.

    Attributes:
        degraded: The network's input, ``(3, H, W)`` in ``[0, 1]``.
        restored: Its output, clamped to ``[0, 1]`` (``k·H × k·W`` for a ×k network).
        seconds: Wall time of the restoration alone (not the degradation or the ratings).
        tiles: Tiles the image was cut into (1: restored whole).
        device: Where it ran.
        degradation: The synthesised degradation's preset, or ``None`` for the photograph as it is.
        input_tiers: The perceiver's tier → probability for ``degraded`` (``None`` without a perceiver).
        output_tiers: The same for ``restored``.
        psnr_input: PSNR (dB) of ``degraded`` against the clean photograph; ``None`` without one.
        psnr_restored: PSNR (dB) of ``restored`` against it; ``None`` without one or at another scale.
    """

    degraded: Tensor
    restored: Tensor
    seconds: float
    tiles: int
    device: str
    degradation: str | None
    input_tiers: dict[str, float] | None
    output_tiers: dict[str, float] | None
    psnr_input: float | None
    psnr_restored: float | None

    def summary(self, model: str) -> str:
        """A few Markdown lines for the page: what ran, where, how long, and the PSNR gain when measured."""
        h, w = self.degraded.shape[-2:]
        how = "whole" if self.tiles == 1 else f"in {self.tiles} tiles"
        lines = [f"Restored {w}×{h} with **{model}** on {self.device} in **{self.seconds:.2f} s** ({how})."]
        if self.degradation is not None:
            lines.append(f"Input: the photograph with synthesised `{self.degradation}`.")
        else:
            lines.append("Input: the photograph as it is (no clean reference, so no PSNR).")
        if self.psnr_input is not None and self.psnr_restored is not None:
            gain = self.psnr_restored - self.psnr_input
            lines.append(f"PSNR against the clean photograph: input {self.psnr_input:.2f} dB → restored "
                         f"{self.psnr_restored:.2f} dB ({gain:+.2f} dB).")
        return "\n\n".join(lines)


def restore_photo(
    photo: Tensor,
    model: ModelDescriptor,
    *,
    degradation: str | None = None,
    seed: int = 0,
    perceiver: QualityPerceiver | None = None,
    tile: int | None = 512,
    overlap: int = 32,
    device: str | torch.device | None = None,
    progress: bool = False,
    fast: FastOptions | None = None,
) -> PhotoResult:
    """Degrade ``photo`` with a preset (or not), restore it, and rate input and output.

    Args:
        photo: ``(3, H, W)`` float image in ``[0, 1]``.
        model: The network, from :func:`~perceive_ir.models.load_model` or a
            :class:`~perceive_ir.apps.model_catalog.ModelCatalog`.
        degradation: A preset of :func:`~perceive_ir.data.list_degradations` to synthesise, or
            ``None`` to restore the photograph as it is.
        seed: Seed of the synthesised degradation (the same seed gives the same input).
        perceiver: Rates the input and the output (tier probabilities); ``None``: not rated.
        tile: Images with a side above this restore in overlapping tiles of this side (rounded
            up to the model's multiple); ``None``: always whole.
        overlap: Overlap between tiles, in pixels.
        device: Where to restore (``None``: the model's device).
        progress: A tqdm bar over the tiles (a web page can follow it).
        fast: Compiled / channels-last / bfloat16 settings for
            :func:`~perceive_ir.inference.restore.restore` (``None``: float32 eager).

    Returns:
        The :class:`PhotoResult`.

    Raises:
        TypeError, ValueError: a bad ``photo``, an unknown ``degradation``, a bad ``seed``,
            ``tile`` or ``overlap``, or a network whose output is not an image.

    Example:
        >>> import torch
        >>> from perceive_ir.models import load_model
        >>> model = load_model("nafnet-small", semantic_encoder=None, probe_size=32)
        >>> result = restore_photo(torch.rand(3, 40, 56), model, degradation="noise25", tile=32, overlap=8)
        >>> result.restored.shape, result.tiles, result.psnr_input is not None
        (torch.Size([3, 40, 56]), 6, True)
    """
    if not isinstance(photo, Tensor) or photo.ndim != 3:
        shape = tuple(photo.shape) if isinstance(photo, Tensor) else type(photo).__name__
        raise InvalidTypeError(f"`photo` must be a (3, H, W) tensor, got {shape}.")
    check_image(photo[None], "photo")
    check_int(seed, "seed", minimum=0)
    check_int(tile, "tile", optional=True)
    if degradation is not None and degradation not in list_degradations():
        raise InvalidValueError(f"`degradation` must be None or one of {list_degradations()}, got {degradation!r}.")
    clean = photo.float()
    degraded = clean if degradation is None else get_degradation(degradation)(clean, seed=seed)
    multiple = model.multiple
    side = None if tile is None else math.ceil(tile / multiple) * multiple  # restore() needs a multiple
    tiles = 1 if side is None else count_tiles(*degraded.shape[-2:], tile=side, overlap=overlap, multiple=multiple)

    start = time.perf_counter()
    tiling = TilingSpec(tile=side, overlap=overlap, device=device, progress=progress)
    restored = restore(model, degraded, tiling=tiling,  # the descriptor's multiple and scale
                       **(fast or FastOptions()).as_kwargs()).clamp(0, 1)
    seconds = time.perf_counter() - start
    where = str(device) if device is not None else str(module_device(model.module) or "cpu")

    input_tiers = output_tiers = None
    if perceiver is not None:
        input_tiers, output_tiers = _rate(perceiver, degraded), _rate(perceiver, restored)
    psnr_input = psnr_restored = None
    if degradation is not None:
        psnr_input = _psnr(degraded, clean)
        psnr_restored = _psnr(restored, clean) if restored.shape == clean.shape else None
    return PhotoResult(degraded, restored, seconds, tiles, where, degradation, input_tiers, output_tiers,
                       psnr_input, psnr_restored)


@torch.inference_mode()
def _rate(perceiver: QualityPerceiver, image: Tensor) -> dict[str, float]:
    batch = image[None].to(module_device(perceiver) or image.device)
    probabilities = perceiver.eval().probabilities(batch)[0]
    return {tier: float(p) for tier, p in zip(perceiver.tiers, probabilities, strict=True)}


def _psnr(image: Tensor, reference: Tensor) -> float:
    from torchmetrics.functional.image import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(image[None].cpu(), reference[None].cpu(), data_range=1.0))
