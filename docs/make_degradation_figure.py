"""Render every degradation preset on a scikit-image photograph into docs/images/degradations.png.

Run from the repository root::

    python docs/make_degradation_figure.py

Needs scikit-image (``pip install "perceive-ir[data]"``) and matplotlib.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from perceive_ir.data import JPEG, Compose, GaussianNoise, Haze, get_degradation, sample_images  # noqa: E402
from perceive_ir.data.degradations import GaussianBlur  # noqa: E402

__all__ = ["render", "main"]

PANELS = ["noise15", "noise25", "noise50", "rain", "haze", "blur", "lowlight", "jpeg"]


def render(out: Path, image: str = "astronaut", size: int = 200, seed: int = 0) -> Path:
    """Draw the clean photo and each preset (plus two extras) in a grid and save it as PNG.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> render(Path(tempfile.mkdtemp()) / "fig.png", size=64).is_file()
        True
    """
    photo = sample_images([image])[image]
    h, w = photo.shape[-2:]
    side = min(h, w)
    photo = photo[:, (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    photo = torch.nn.functional.interpolate(photo[None], size=(size, size), mode="area")[0].clamp(0, 1)
    panels: list[tuple[str, torch.Tensor]] = [("clean", photo)]
    for name in PANELS:
        panels.append((f'"{name}"', get_degradation(name)(photo, seed=seed)))
    panels.append(("GaussianBlur(σ=2)", GaussianBlur(sigma=2.0)(photo)))
    combo = Compose([Haze(beta=1.0), GaussianNoise(sigma=15), JPEG(quality=30)])
    panels.append(("Compose(haze, noise15, jpeg30)", combo(photo, seed=seed)))
    cols = 4
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2.2, rows * 2.35), dpi=100)
    for ax in axes.flat:
        ax.axis("off")
    # the grid is rounded up to whole rows: the axes left over after the last panel stay blank
    for ax, (title, img) in zip(axes.flat, panels, strict=False):
        ax.imshow(img.permute(1, 2, 0).numpy())
        ax.set_title(title, fontsize=8)
    fig.tight_layout(pad=0.3)
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    # a 256-colour palette keeps the committed PNG small (noise does not compress losslessly)
    with Image.open(buf) as rendered:
        rendered.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(out, optimize=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images" / "degradations.png")
    parser.add_argument("--image", default="astronaut")
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = render(args.out, args.image, args.size, args.seed)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
