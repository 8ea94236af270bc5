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


def _pair(root: Path, deg: str, clean: str, v: float) -> None:
    write_image(root / clean, constant(v))
    write_image(root / deg, constant(v / 2))


def make_layout(name: str, root: Path) -> int:
    """Build a tiny fake copy of a standard layout; return the items expected per split."""
    if name == "bsd400_wed":
        write_image(root / "BSD400" / "2092.jpg", constant(0.4))
        write_image(root / "WED" / "00001.bmp", constant(0.6))
        write_image(root / "WED" / "00002.bmp", constant(0.6))
        return 3 * 3
    if name == "cbsd68":
        for i in range(2):
            write_image(root / f"{i:04d}.png", constant(0.5))
        return 2 * 3
    if name == "rain100l":
        for split in ("train", "test"):
            for i in (1, 2):
                _pair(root, f"{split}/rainy/rain-{i:03d}.png", f"{split}/norain/norain-{i:03d}.png", 0.2 * i)
        return 2
    if name == "reside_ots":
        _pair(root, "hazy/0001_0.8_0.2.jpg", "clear/0001.jpg", 0.6)
        write_image(root / "hazy" / "0001_1_0.16.jpg", constant(0.3))
        _pair(root, "hazy/0002_0.9_0.1.jpg", "clear/0002.jpg", 0.8)
        return 3
    if name == "sots_outdoor":
        _pair(root, "hazy/0001_0.8_0.2.jpg", "gt/0001.png", 0.6)
        _pair(root, "hazy/0005_0.9_0.1.jpg", "gt/0005.png", 0.8)
        return 2
    if name == "gopro":
        for split in ("train", "test"):
            for seq in ("GOPR0372_07_00", "GOPR0384_11_01"):
                _pair(root, f"{split}/{seq}/blur/000047.png", f"{split}/{seq}/sharp/000047.png", 0.5)
        return 2
    if name == "lol":
        for folder in ("our485", "eval15"):
            _pair(root, f"{folder}/low/1.png", f"{folder}/high/1.png", 0.5)
            _pair(root, f"{folder}/low/22.png", f"{folder}/high/22.png", 0.7)
        return 2
    raise AssertionError(name)
