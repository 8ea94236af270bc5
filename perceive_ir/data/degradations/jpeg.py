"""JPEG compression artefacts, encoded and decoded with Pillow."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..._validation import check_int
from ...errors import InvalidValueError
from ..io import image_to_array
from .base import Degradation, check_severity

__all__ = ["JPEG"]


class JPEG(Degradation):
    """Round-trip each image through Pillow's JPEG encoder at ``quality``.

    Images are quantised to 8 bits first (as any saved JPEG is); Pillow's default 4:2:0
    chroma subsampling applies. Deterministic: ``seed`` has no effect.

    Args:
        quality: JPEG quality in ``[1, 95]`` (lower is stronger compression).

    Example:
        >>> import torch
        >>> y = JPEG(quality=10)(torch.rand(3, 32, 32))
        >>> tuple(y.shape)
        (3, 32, 32)
    """

    stochastic = False

    def __init__(self, quality: int = 30) -> None:
        check_int(quality, "quality")
        if quality > 95:
            raise InvalidValueError(f"`quality` must be an int in [1, 95], got {quality!r}.")
        self.quality = quality

    def apply(self, images: Tensor, generator: torch.Generator | None) -> Tensor:
        """Encode each image as an 8-bit JPEG at ``quality`` with Pillow and decode it back."""
        out = []
        for img in images:
            buf = io.BytesIO()
            Image.fromarray(image_to_array(img)).save(buf, format="JPEG", quality=self.quality)
            buf.seek(0)
            with Image.open(buf) as decoded:
                back = np.asarray(decoded.convert("RGB"), dtype=np.uint8).copy()
            out.append(torch.from_numpy(back).permute(2, 0, 1))  # uint8: divided in the images' own dtype
        return torch.stack(out).to(images.device, images.dtype) / 255.0

    @classmethod
    def from_severity(cls, severity: float) -> "JPEG":
        """Quality 90 (severity 0) down to 5 (severity 1)."""
        return cls(quality=round(90 - 85 * check_severity(severity)))
