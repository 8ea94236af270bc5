"""The quality perceiver as a torchmetrics metric: :class:`PerceiveIRQuality` and :func:`perceive_ir_quality`.

A no-reference image quality metric built like torchmetrics' own (``CLIPImageQualityAssessment``,
``ARNIQA``): the perceiver's tier probabilities per image, reported as a score in ``[0, 1]``
(the expected tier: low 0, medium 0.5, high 1), as the probability of each tier, or as the most
likely tier. Its states are sums and counts (``dist_reduce_fx="sum"``), or the per-image
probabilities (``"cat"``) for ``reduction="none"``, so a distributed run gives the result of one
process over the whole data. ``lower_better`` and ``score_range`` carry pyiqa's spelling of the
same facts as ``higher_is_better`` and the plot bounds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from .._validation import check_float, check_image, module_device
from ..errors import InvalidTypeError, InvalidValueError
from ..perceive.perceiver import QualityPerceiver
from ..perceive.perceiver_source import load_perceiver
from ..perceive.prompts import TIERS

__all__ = ["LOWER_BETTER", "OUTPUTS", "REDUCTIONS", "SCORE_RANGE", "PerceiveIRQuality", "perceive_ir_quality"]

#: What the metric reports: the expected tier in [0, 1], each tier's probability, or the likeliest tier.
OUTPUTS: tuple[str, ...] = ("score", "probs", "tier")
#: How the images' values combine: averaged, summed, or one value per image.
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")
#: pyiqa's metadata of the score: higher is better, values in [0, 1].
LOWER_BETTER = False
SCORE_RANGE: tuple[float, float] = (0.0, 1.0)

# expected-tier position of low / medium / high, as QualityPerceiver.score weighs them
_TIER_VALUES = (0.0, 0.5, 1.0)
# float rounding after a conversion may leave values a hair outside the range
_RANGE_EPS = 1e-4

Output = Literal["score", "probs", "tier"]
Reduction = Literal["mean", "sum", "none"]
Result = Tensor | dict[str, Tensor]


def _check_options(output: object, reduction: object, data_range: object) -> float:
    if output not in OUTPUTS:
        raise InvalidValueError(f"`output` must be one of {OUTPUTS}, got {output!r}.")
    if reduction not in REDUCTIONS:
        raise InvalidValueError(f"`reduction` must be one of {REDUCTIONS}, got {reduction!r}.")
    value = check_float(data_range, "data_range", minimum=0.0, exclusive=True)
    assert value is not None
    return value


def _check_images(images: object, data_range: float) -> Tensor:
    """ARNIQA's checks, with this library's messages: a float ``(N, 3, H, W)`` batch in ``[0, data_range]``."""
    if isinstance(images, Tensor) and not images.is_floating_point():
        raise InvalidTypeError(
            f"`images` must be a floating-point tensor with values in [0, data_range], got dtype {images.dtype}. "
            f"For 8-bit images pass `images.float()` with data_range=255 (this metric has data_range={data_range:g})."
        )
    check_image(images, "images", check_values=False)  # type, rank, channels, an empty batch
    assert isinstance(images, Tensor)
    lo, hi = (float(v) for v in torch.aminmax(images.detach()))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InvalidValueError("`images` contains NaN or Inf values.")
    if lo < -_RANGE_EPS * data_range or hi > (1.0 + _RANGE_EPS) * data_range:
        hint = " It looks like 0..255 data: pass data_range=255." if data_range <= 1.0 and hi > 2.0 else ""
        raise InvalidValueError(
            f"`images` must hold values in [0, data_range] = [0, {data_range:g}], got min {lo:.4g} and max "
            f"{hi:.4g}.{hint} Clamp network outputs first: `images.clamp(0, {data_range:g})`."
        )
    return images


def _probabilities(perceiver: QualityPerceiver, images: Tensor, data_range: float) -> Tensor:
    """``(N, 3)`` float32 tier probabilities of checked images, in eval mode and without gradients."""
    device = module_device(perceiver)
    if device is not None and images.device != device:
        raise InvalidValueError(
            f"`images` are on {images.device} but the perceiver is on {device}: move the metric with "
            f"`metric.to({str(images.device)!r})` (or the images to the perceiver's device)."
        )
    with torch.no_grad():
        probs = perceiver.probabilities((images / data_range).clamp(0.0, 1.0))
    return probs.float()


def _from_rows(probs: Tensor, output: str) -> Result:
    """``reduction="none"``: one value per image from ``(N, 3)`` probabilities."""
    if output == "score":
        return probs @ probs.new_tensor(_TIER_VALUES)
    if output == "probs":
        return {tier: probs[:, i] for i, tier in enumerate(TIERS)}
    return probs.argmax(dim=-1)


def _from_sums(probs_sum: Tensor, tier_count: Tensor, total: Tensor, output: str, reduction: str) -> Result:
    """``reduction="mean"`` / ``"sum"`` from the summed probabilities, the tier counts and the image count."""
    if output == "score":
        value = probs_sum @ probs_sum.new_tensor(_TIER_VALUES)
        return value / total if reduction == "mean" else value
    if output == "probs":
        values = probs_sum / total if reduction == "mean" else probs_sum
    else:
        values = tier_count / total if reduction == "mean" else tier_count
    return {tier: values[i] for i, tier in enumerate(TIERS)}


def _tier_counts(probs: Tensor) -> Tensor:
    return torch.bincount(probs.argmax(dim=-1), minlength=len(TIERS))


class PerceiveIRQuality(Metric):
    """No-reference image quality with a Perceive-IR quality perceiver, as a torchmetrics metric.

    Each image gets the perceiver's probabilities of the tiers low / medium / high
    (:meth:`QualityPerceiver.probabilities <perceive_ir.QualityPerceiver.probabilities>`), and
    the metric reports, by ``output``:

    * ``"score"`` [ours: the paper rates images by the tier probabilities alone; one scalar
      ranks them]: the expected tier ``0·p_low + 0.5·p_medium + 1·p_high`` in ``[0, 1]``, as
      :meth:`QualityPerceiver.score <perceive_ir.QualityPerceiver.score>`; higher is better;
    * ``"probs"``: a dict ``{"low": …, "medium": …, "high": …}`` of probabilities (with the
      authors' prompt file: their tier probabilities, terrible / mediocre / excellent);
    * ``"tier"`` [ours]: the likeliest tier, an index into ``("low", "medium", "high")`` per
      image with ``reduction="none"``; with ``"mean"`` a dict of the fraction of images rated
      each tier, with ``"sum"`` a dict of their counts.

    The paper defines no image quality metric: the perceiver is its stage-2 critic. This
    metric is ours throughout; what it measures is the perceiver's output, which reproduces
    the authors' for their prompt file (``style="official"``).

    ``reduction`` combines the images seen since the last ``reset()`` (``"mean"``,
    ``"sum"``) or keeps one value per image (``"none"``, a ``(N,)`` tensor or a dict of them).
    The states are sums reduced with ``dist_reduce_fx="sum"`` (per-image probabilities with
    ``"cat"`` for ``"none"``), so under DDP the synced result equals one process's over all
    the images. The perceiver is a child module (``metric.to(device)`` moves it) held in eval
    mode whatever ``train()`` is called with; scores are computed without gradients.

    Args:
        perceiver: A :class:`~perceive_ir.QualityPerceiver`, or where to load one
            (:func:`~perceive_ir.perceive.perceiver_source.load_perceiver`): a folder written
            by ``save_pretrained`` or ``perceive-ir convert-official``, a Hub repository id, or
            the authors' prompt checkpoint (``quality_prompts_*.pth``).
        data_range: The images' value range ``[0, data_range]`` (``255.0`` for 8-bit values
            in a float tensor); images are divided by it.
        output: ``"score"``, ``"probs"`` or ``"tier"`` (above).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (above).
        clip_model: With a source: rebuild CLIP from this (see ``load_perceiver``).
        clip_pretrained: With ``clip_model``: its weights.
        revision: With a Hub id: the branch, tag or commit.
        **kwargs: torchmetrics' ``Metric`` options (``sync_on_compute``, ``compute_on_cpu``, ...).

    Raises:
        ValueError: an unknown ``output`` or ``reduction``, a ``data_range`` that is not a
            positive number; at :meth:`update`, images that are not a ``(N, 3, H, W)`` batch in
            ``[0, data_range]`` or not on the perceiver's device.
        TypeError: a ``perceiver`` that is neither a perceiver nor a source; integer images.

    Example:
        >>> import torch
        >>> from perceive_ir import QualityPerceiver
        >>> from perceive_ir.testing import tiny_clip_config
        >>> perceiver = QualityPerceiver(clip_model=tiny_clip_config(), clip_pretrained=None)
        >>> metric = PerceiveIRQuality(perceiver)
        >>> metric.update(torch.rand(4, 3, 32, 32))
        >>> metric.update(torch.rand(2, 3, 32, 32))
        >>> score = metric.compute()
        >>> score.shape, bool(0 <= score <= 1), metric.higher_is_better, metric.lower_better
        (torch.Size([]), True, True, False)
    """

    is_differentiable: bool = False
    higher_is_better: bool = True
    full_state_update: bool = False
    plot_lower_bound: float = 0.0
    plot_upper_bound: float = 1.0
    #: pyiqa's metadata (``pyiqa.create_metric(...).lower_better`` / ``score_range``): the same facts.
    lower_better: bool = LOWER_BETTER
    score_range: tuple[float, float] = SCORE_RANGE
    #: The attribute holding the network (torchmetrics' convention, as ``ARNIQA.feature_network``).
    feature_network: str = "perceiver"

    perceiver: QualityPerceiver
    probs_sum: Tensor
    tier_count: Tensor
    total: Tensor
    probs_list: list[Tensor]

    def __init__(
        self,
        perceiver: QualityPerceiver | str | os.PathLike[str],
        *,
        data_range: float = 1.0,
        output: Output = "score",
        reduction: Reduction = "mean",
        clip_model: str | dict[str, Any] | None = None,
        clip_pretrained: str | None = None,
        revision: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_range = _check_options(output, reduction, data_range)
        self.output = output
        self.reduction = reduction
        self.perceiver = load_perceiver(
            perceiver, clip_model=clip_model, clip_pretrained=clip_pretrained, revision=revision
        ).eval()
        if reduction == "none":
            self.add_state("probs_list", [], dist_reduce_fx="cat")
        else:
            self.add_state("probs_sum", torch.zeros(len(TIERS)), dist_reduce_fx="sum")
            self.add_state("tier_count", torch.zeros(len(TIERS), dtype=torch.long), dist_reduce_fx="sum")
            self.add_state("total", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def train(self, mode: bool = True) -> PerceiveIRQuality:
        """Set the metric's mode; the perceiver stays in eval mode."""
        super().train(mode)
        self.perceiver.eval()
        return self

    def update(self, images: Tensor) -> None:
        """Add a batch of images.

        Args:
            images: ``(N, 3, H, W)`` floating-point images in ``[0, data_range]``, on the
                metric's device.
        """
        probs = _probabilities(self.perceiver, _check_images(images, self.data_range), self.data_range)
        if self.reduction == "none":
            self.probs_list.append(probs)
            return
        self.probs_sum += probs.sum(dim=0).to(self.probs_sum.dtype)
        self.tier_count += _tier_counts(probs).to(self.tier_count.device)
        self.total += probs.shape[0]

    def compute(self) -> Result:
        """The score, the tier probabilities or the tiers of the images seen since the last reset.

        Returns:
            A tensor (``output="score"``; ``"tier"`` with ``reduction="none"``) or a dict
            keyed ``"low"``, ``"medium"``, ``"high"``: scalars for ``"mean"`` / ``"sum"``,
            ``(N,)`` tensors for ``"none"``. A mean over no images is NaN.
        """
        if self.reduction == "none":
            if isinstance(self.probs_list, list) and not self.probs_list:  # nothing seen (a synced state is a tensor)
                return _from_rows(torch.zeros(0, len(TIERS), device=self.device), self.output)
            probs = dim_zero_cat(self.probs_list)
            return _from_rows(probs, self.output)
        return _from_sums(self.probs_sum, self.tier_count, self.total, self.output, self.reduction)

    def plot(self, val: Result | Sequence[Result] | None = None, ax: Any = None) -> Any:
        """Plot one result or several (needs matplotlib), within the bounds ``[0, 1]``.

        Args:
            val: Results of ``forward()`` or :meth:`compute`, or ``None`` to plot :meth:`compute`'s.
            ax: A matplotlib axis to draw on.

        Returns:
            The figure and the axis.
        """
        return self._plot(val, ax)  # type: ignore[arg-type]  # torchmetrics' own union, spelt differently


def perceive_ir_quality(
    images: Tensor,
    perceiver: QualityPerceiver | str | os.PathLike[str],
    *,
    data_range: float = 1.0,
    output: Output = "score",
    reduction: Reduction = "mean",
    clip_model: str | dict[str, Any] | None = None,
    clip_pretrained: str | None = None,
    revision: str | None = None,
) -> Result:
    """The functional form of :class:`PerceiveIRQuality`: one batch, no state.

    A perceiver given as a source is loaded on every call: for many batches, load it once
    (:func:`~perceive_ir.perceive.perceiver_source.load_perceiver`) or use the metric.

    Args:
        images: ``(N, 3, H, W)`` floating-point images in ``[0, data_range]``, on the perceiver's device.
        perceiver: A :class:`~perceive_ir.QualityPerceiver` or a source (as for the metric);
            it is put in eval mode.
        data_range: The images' value range.
        output: ``"score"``, ``"probs"`` or ``"tier"``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        clip_model: With a source: rebuild CLIP from this.
        clip_pretrained: With ``clip_model``: its weights.
        revision: With a Hub id: the branch, tag or commit.

    Returns:
        What :meth:`PerceiveIRQuality.compute` returns for this batch alone.

    Raises:
        ValueError, TypeError: as :class:`PerceiveIRQuality` and its :meth:`~PerceiveIRQuality.update`.

    Example:
        >>> import torch
        >>> from perceive_ir import QualityPerceiver
        >>> from perceive_ir.testing import tiny_clip_config
        >>> perceiver = QualityPerceiver(clip_model=tiny_clip_config(), clip_pretrained=None)
        >>> images = torch.rand(3, 3, 32, 32)
        >>> perceive_ir_quality(images, perceiver, reduction="none").shape
        torch.Size([3])
        >>> sorted(perceive_ir_quality(images, perceiver, output="probs"))
        ['high', 'low', 'medium']
    """
    value = _check_options(output, reduction, data_range)
    model = load_perceiver(perceiver, clip_model=clip_model, clip_pretrained=clip_pretrained, revision=revision).eval()
    probs = _probabilities(model, _check_images(images, value), value)
    if reduction == "none":
        return _from_rows(probs, output)
    return _from_sums(probs.sum(dim=0), _tier_counts(probs), probs.new_tensor(probs.shape[0]), output, reduction)
