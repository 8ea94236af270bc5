"""PSNR and SSIM as the Perceive-IR authors' evaluator computes them (``evaluate_stage2.metrics``).

* PSNR: ``-10·log10(max(MSE, 1e-12))`` of the float32 images in ``[0, 1]`` (the restored one
  clamped), the mean taken in float32 as theirs: at most 120 dB, always finite.
* SSIM: ``skimage.metrics.structural_similarity`` of the ``H×W×3`` float32 arrays,
  ``channel_axis=-1``, ``data_range=1.0`` and skimage's defaults (uniform 7×7 window, sample
  covariance): RGB, no border crop, no 8-bit rounding of the output. scikit-image comes with
  ``pip install 'perceive-ir[data]'``.

``ssim="gaussian"`` [ours: torchmetrics' Gaussian 11×11 window, σ 1.5, the metric of the
file-list evaluation; differs from the authors' by up to ~0.05 on the same pair] is kept as a
named option only.
"""

from __future__ import annotations

import math
from typing import Literal

from torch import Tensor

from ..errors import InvalidValueError

__all__ = [
    "MSE_FLOOR",
    "SKIMAGE_INSTALL",
    "SSIM_METHODS",
    "SsimMethod",
    "authors_psnr",
    "protocol_ssim",
    "require_skimage",
]

#: The authors' evaluator floors the MSE here, so identical images score 120 dB rather than infinity.
MSE_FLOOR = 1e-12

SsimMethod = Literal["skimage", "gaussian"]

#: ``skimage`` [paper: authors ``evaluate_stage2.py`` ``metrics``]; ``gaussian`` [ours: torchmetrics].
SSIM_METHODS: tuple[str, ...] = ("skimage", "gaussian")

#: How to get scikit-image, named by the errors that need it.
SKIMAGE_INSTALL = "pip install 'perceive-ir[data]'"


def require_skimage() -> None:
    """Import scikit-image's SSIM, or raise an ImportError that names the install command."""
    try:
        import skimage.metrics  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"the authors' SSIM (skimage.metrics.structural_similarity) needs scikit-image ({err}); install it with: "
            f"{SKIMAGE_INSTALL}"
        ) from None


def authors_psnr(image: Tensor, target: Tensor) -> float:
    """PSNR (dB) of ``image`` (clamped to ``[0, 1]``) against ``target``, both ``3×H×W``, as the authors.

    Example:
        >>> import torch
        >>> round(authors_psnr(torch.full((3, 4, 4), 0.5), torch.full((3, 4, 4), 0.6)), 4)
        20.0
        >>> authors_psnr(torch.zeros(3, 4, 4), torch.zeros(3, 4, 4))  # the 1e-12 floor: finite
        120.0
    """
    mse = float((image.float().clamp(0, 1) - target.float()).square().mean())
    return -10.0 * math.log10(max(mse, MSE_FLOOR))


def protocol_ssim(image: Tensor, target: Tensor, method: SsimMethod = "skimage") -> float:
    """SSIM of ``3×H×W`` images in ``[0, 1]``: the authors' (scikit-image) or, named, torchmetrics' Gaussian one.

    Raises:
        ValueError: unknown ``method``.
        ImportError: ``skimage`` without scikit-image installed (the message names the install command).

    Example:
        >>> import torch
        >>> x = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> protocol_ssim(x, x), protocol_ssim(x, x, "gaussian")
        (1.0, 1.0)
    """
    if method == "skimage":
        require_skimage()
        from skimage.metrics import structural_similarity

        first = image.detach().float().cpu().permute(1, 2, 0).numpy()
        second = target.detach().float().cpu().permute(1, 2, 0).numpy()
        return float(structural_similarity(first, second, channel_axis=-1, data_range=1.0))
    if method == "gaussian":
        from torchmetrics.functional import structural_similarity_index_measure

        pred, ref = image[None].double(), target[None].to(image.device).double()
        value = structural_similarity_index_measure(pred, ref, data_range=1.0)
        assert isinstance(value, Tensor)  # a tensor unless return_full_image=True
        return float(value)
    raise InvalidValueError(f"Unknown SSIM `method` {method!r}; known: {list(SSIM_METHODS)}.")
