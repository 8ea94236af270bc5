"""The one pad-to-multiple and crop-back of the package.

Networks that downsample need their input's height and width to be multiples of some number
(8 for the Restormers and the authors' U-Net, ``2 ** levels`` for AMIRNet). Every place that
pads for such a network calls :func:`pad_to_multiple`, which pads the bottom and right edges
only, so the original image is the top-left corner of the padded one and :func:`crop_to`
takes it back.

``mode`` keeps each caller's padding: ``"auto"`` reflects where the image is large enough and
replicates otherwise (tiling, the retrofit wrapper, AMIRNet, the padded medium restorers),
``"reflect"`` always reflects (the authors' U-Net and tiled evaluator), ``"replicate"`` always
replicates (the authors' direct evaluator).

Example:
    >>> import torch
    >>> image = torch.rand(1, 3, 30, 17)
    >>> padded, size = pad_to_multiple(image, 8)
    >>> tuple(padded.shape), size
    ((1, 3, 32, 24), (30, 17))
    >>> torch.equal(crop_to(padded, size), image)
    True
"""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor

from ._validation import check_int
from .errors import InvalidValueError

__all__ = ["PadMode", "crop_to", "pad_to_multiple"]

#: How the added rows and columns are filled (see the module docstring).
PadMode = Literal["auto", "reflect", "replicate"]
_MODES = ("auto", "reflect", "replicate")


def pad_to_multiple(image: Tensor, multiple: int, *, mode: PadMode = "auto") -> tuple[Tensor, tuple[int, int]]:
    """Pad ``(..., H, W)`` on the bottom and right so that H and W are multiples of ``multiple``.

    Args:
        image: A ``B×C×H×W`` (or ``C×H×W`` for ``"replicate"``/``"reflect"``) tensor.
        multiple: The size multiple, a positive int (1 leaves the image as it is).
        mode: ``"auto"``: reflect where the padding is smaller than the image, replicate
            otherwise; ``"reflect"`` or ``"replicate"``: always that.

    Returns:
        The padded image (``image`` itself when no padding is needed) and the original
        ``(H, W)`` to crop back to.

    Raises:
        ValueError: ``multiple`` is not a positive int, or ``mode`` is unknown.

    Example:
        >>> import torch
        >>> padded, (h, w) = pad_to_multiple(torch.rand(1, 3, 3, 5), 8)
        >>> tuple(padded.shape), (h, w)
        ((1, 3, 8, 8), (3, 5))
    """
    check_int(multiple, "multiple")
    if mode not in _MODES:
        raise InvalidValueError(f"`mode` must be 'auto', 'reflect' or 'replicate', got {mode!r}.")
    height, width = image.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if not pad_h and not pad_w:
        return image, (height, width)
    if mode == "auto":
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(image, (0, pad_w, 0, pad_h), mode=mode), (height, width)


def crop_to(image: Tensor, size: tuple[int, int]) -> Tensor:
    """The top-left ``size = (H, W)`` of ``image``: what :func:`pad_to_multiple` padded, cropped back.

    Example:
        >>> import torch
        >>> crop_to(torch.rand(1, 3, 32, 24), (30, 17)).shape
        torch.Size([1, 3, 30, 17])
    """
    height, width = size
    return image[..., :height, :width]
