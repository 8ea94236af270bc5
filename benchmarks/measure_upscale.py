"""Measure how far torch's bicubic upscaling is from Pillow's (the authors'), and that ours matches Pillow.

Run: ``python benchmarks/measure_upscale.py`` (needs scikit-image for the photographs). Three
scikit-image photographs and three random-noise images, each shrunk to 60×90, 100×75 and
37×53 pixels, are upscaled so that the short side is 128 (the authors' rule for images smaller
than the crop). The numbers are quoted in ``perceive_ir.data.transforms.upscale_to_cover``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from perceive_ir.data import sample_images, upscale_to_cover

CROP = 128
SIZES = ((60, 90), (100, 75), (37, 53))


def _target(h: int, w: int) -> tuple[int, int]:
    s = CROP / min(h, w)
    return max(CROP, round(w * s)), max(CROP, round(h * s))  # Pillow's (width, height)


def main() -> None:
    rng = np.random.default_rng(0)
    photos = [(x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
              for x in sample_images(["astronaut", "coffee", "chelsea"]).values()]
    cases = {
        "photos": [np.asarray(Image.fromarray(p).resize((w, h), Image.Resampling.LANCZOS))
                   for p in photos for h, w in SIZES],
        "noise": [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in SIZES],
    }
    for name, arrays in cases.items():
        diffs: dict[str, list[np.ndarray]] = {"torch a=-0.75": [], "torch antialias (a=-0.5)": [], "ours": []}
        for a in arrays:
            size = _target(*a.shape[:2])
            ref = np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BICUBIC)).astype(np.float64)
            x = torch.from_numpy(a.copy()).permute(2, 0, 1).float().div(255)
            for label, aa in (("torch a=-0.75", False), ("torch antialias (a=-0.5)", True)):
                y = F.interpolate(x[None], size=size[::-1], mode="bicubic", align_corners=False, antialias=aa)
                y = y.clamp(0, 1)[0].permute(1, 2, 0).double().numpy() * 255
                diffs[label].append(np.abs(y - ref).ravel())
            ours = upscale_to_cover([x], CROP)[0].permute(1, 2, 0).double().numpy() * 255
            diffs["ours"].append(np.abs(ours - ref).ravel())
        for label, parts in diffs.items():
            d = np.concatenate(parts)
            print(f"{name:6s} {label:26s} vs Pillow: mean |diff| {d.mean():.3f}, max {d.max():.2f} grey levels")


if __name__ == "__main__":
    main()
