"""Real photographs shipped inside scikit-image, as float tensors (optional extra ``data``)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import Tensor

from ..errors import UnknownNameError

__all__ = ["SAMPLE_IMAGE_NAMES", "sample_images"]

# name -> skimage.data function; all ship inside the scikit-image wheel (no download)
_SOURCES: dict[str, str] = {
    "astronaut": "astronaut",
    "chelsea": "chelsea",
    "coffee": "coffee",
    "rocket": "rocket",
    "motorcycle": "stereo_motorcycle",
    "hubble_deep_field": "hubble_deep_field",
    "immunohistochemistry": "immunohistochemistry",
}

#: Names accepted by :func:`sample_images`.
SAMPLE_IMAGE_NAMES: tuple[str, ...] = tuple(_SOURCES)


def sample_images(names: Iterable[str] | None = None) -> dict[str, Tensor]:
    """Colour photographs from ``skimage.data`` as float ``3×H×W`` tensors in ``[0, 1]``.

    ``"motorcycle"`` is the left image of the stereo pair. Sizes vary (300×451 to 872×1000).

    Args:
        names: Which images (see :data:`SAMPLE_IMAGE_NAMES`); all by default.

    Returns:
        ``{name: image}`` in the order requested.

    Raises:
        ImportError: scikit-image is not installed.
        KeyError: an unknown name.

    Example:
        >>> imgs = sample_images(["chelsea"])
        >>> tuple(imgs["chelsea"].shape)
        (3, 300, 451)
    """
    try:
        import skimage.data as skdata
    except ImportError as exc:
        raise ImportError(
            'sample_images() needs scikit-image: pip install "perceive-ir[data]" (or pip install scikit-image).'
        ) from exc
    wanted = list(SAMPLE_IMAGE_NAMES if names is None else ([names] if isinstance(names, str) else names))
    unknown = [n for n in wanted if n not in _SOURCES]
    if unknown:
        raise UnknownNameError(f"Unknown sample image(s) {unknown}; known: {list(SAMPLE_IMAGE_NAMES)}.")
    out: dict[str, Tensor] = {}
    for name in wanted:
        arr = getattr(skdata, _SOURCES[name])()
        if isinstance(arr, tuple):  # stereo_motorcycle -> (left, right, disparity)
            arr = arr[0]
        arr = np.ascontiguousarray(arr[..., :3])
        out[name] = torch.from_numpy(arr).permute(2, 0, 1).float() / 255.0
    return out
