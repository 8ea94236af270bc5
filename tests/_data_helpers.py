"""Helpers shared by the data tests: PSNR from a library, tiny image folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image


def _psnr_fn():
    try:  # torchmetrics if it imports (it pulls in torchvision, which may be broken)
        from torchmetrics.functional.image import peak_signal_noise_ratio

        def tm(a: torch.Tensor, b: torch.Tensor) -> float:
            return float(peak_signal_noise_ratio(a, b, data_range=1.0))

        return tm
    except Exception:  # noqa: BLE001 - any import failure falls back to kornia
        from kornia.metrics import psnr as kpsnr

        def kn(a: torch.Tensor, b: torch.Tensor) -> float:
            return float(kpsnr(a, b, 1.0))

        return kn


psnr = _psnr_fn()


def write_image(path: Path, image: torch.Tensor) -> Path:
    """Write a 3×H×W float image with the format implied by the extension (Pillow)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    img = Image.fromarray(np.ascontiguousarray(arr))
    if path.suffix.lower() in (".jpg", ".jpeg"):
        img.save(path, quality=98)
    else:
        img.save(path)
    return path


def constant(value: float, h: int = 24, w: int = 32) -> torch.Tensor:
    return torch.full((3, h, w), float(value))
