"""The simple triplet strategies, ``"mild"`` and ``"model"``, and the tiled rendering of a medium image.

* ``"model"``: a restorer you supply (e.g. loaded with spandrel), applied as is, in tiles.
* ``"mild"``: ``high + strength · (low − high)``, a cheap approximation (a blend towards the
  clean image), **not** the paper's method; useful for smoke tests and quick starts.

The paper's ``"crossfit"`` lives in :mod:`~perceive_ir.training.crossfit`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ..data.stage1_scenes import Scene
from ..errors import InvalidValueError
from ..inference.authors_paths import restore_per_tile
from ..inference.tiling import tiled_apply
from .medium_training import autocast_context
from .triplet_build import TripletBuild, TripletRenderer

__all__ = ["MildRenderer", "ModelRenderer", "quantize_truncate", "render_tiles"]


def quantize_truncate(image: Tensor) -> Tensor:
    """8-bit values by truncation, as the authors' ``to_pil_image`` writes a float image.

    Example:
        >>> quantize_truncate(torch.tensor([0.5, 1.2])).mul(255).tolist()
        [127.0, 255.0]
    """
    return (image.clamp(0, 1).float() * 255).to(torch.uint8).float() / 255.0


def render_tiles(fn: Callable[[Tensor], Tensor], low: Tensor, build: TripletBuild, *, bf16: bool) -> Tensor:
    """``fn`` applied to the ``3×H×W`` image ``low`` in the build's tiles, quantised as the authors write it.

    Args:
        fn: The restorer, ``B×3×h×w → B×3×h×w``.
        low: The degraded image.
        build: Its ``tile``, ``overlap``, ``multiple``, ``tile_blend`` and ``device`` are used:
            ``"uniform"`` tiles are padded one by one and their overlaps averaged (the authors'
            renderer); ``"cosine"`` is :func:`~perceive_ir.inference.tiling.tiled_apply`'s blend.
        bf16: Render under bf16 autocast.

    Returns:
        The medium image, ``3×H×W`` on the CPU, 8-bit values.
    """
    image = low.unsqueeze(0).to(build.device)
    with torch.no_grad(), autocast_context(bf16, build.device):
        if build.tile_blend == "uniform":
            medium = restore_per_tile(
                fn, image, tile=build.tile, overlap=build.overlap, multiple=build.multiple, clamp_tiles=False
            )
        else:
            medium = tiled_apply(fn, image, tile=build.tile, overlap=build.overlap, multiple=build.multiple)
    return quantize_truncate(medium.squeeze(0).cpu())


class MildRenderer(TripletRenderer):
    """``"mild"``: medium = high + ``mild_strength`` · (low − high) [ours: a quick approximation].

    Raises:
        ValueError: ``mild_strength`` is not in ``(0, 1)``.
    """

    def __init__(self, build: TripletBuild) -> None:
        if not 0.0 < build.mild_strength < 1.0:
            raise InvalidValueError(f"`mild_strength` must be in (0, 1), got {build.mild_strength!r}.")
        super().__init__(build)

    def settings(self) -> dict[str, Any]:
        """The blend strength."""
        return {"mild_strength": self.build.mild_strength}

    def medium(self, scene: Scene, low: Tensor, high: Tensor) -> Tensor:
        """The blend of ``high`` towards ``low``."""
        return high + self.build.mild_strength * (low - high)


class ModelRenderer(TripletRenderer):
    """``"model"``: the build's ``model`` applied in tiles (an ``nn.Module`` is put in eval mode).

    Raises:
        ValueError: no callable ``model``.
    """

    def __init__(self, build: TripletBuild) -> None:
        if build.model is None or not callable(build.model):
            raise InvalidValueError("strategy='model' needs `model`: an nn.Module or callable restorer.")
        super().__init__(build)
        self.model: Callable[[Tensor], Tensor] = build.model
        if isinstance(self.model, nn.Module):
            self.model.eval()

    def settings(self) -> dict[str, Any]:
        """The model's class name and the tile blend."""
        return {"model": type(self.model).__name__, "tile_blend": self.build.tile_blend}

    def medium(self, scene: Scene, low: Tensor, high: Tensor) -> Tensor:
        """The model's output, rendered in tiles (full precision)."""
        return render_tiles(self.model, low, self.build, bf16=False)
