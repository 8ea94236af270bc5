"""What the web page does, without the page: restore bundled photographs with a demo report's networks.

For each photograph and degradation, :func:`~perceive_ir.apps.photo_restoration.restore_photo`
synthesises the degradation (seed 0), restores it (tiled above ``--tile``), rates input and output
with the report's perceiver, and this script prints the PSNR of both against the clean
photograph, the tile count and the time. ``perceive-ir app`` shows the same figures on its page.

    perceive-ir demo                       # once: writes reports/demo with its trained networks
    python examples/restore_photos.py [--report reports/demo] [--model "demo: bare (L1)"]
"""

from __future__ import annotations

import argparse

from perceive_ir.apps.demo_models import DEMO_MODEL_PATHS, read_demo_models
from perceive_ir.apps.photo_restoration import restore_photo
from perceive_ir.data import SAMPLE_IMAGE_NAMES, list_degradations, sample_images
from perceive_ir.models import load_model
from perceive_ir.perceive.perceiver import QualityPerceiver


def main() -> None:
    """Restore each photograph under each degradation and print one table row per pair."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", default="reports/demo", help="a perceive-ir demo report folder")
    parser.add_argument("--model", default="demo: wrapped (quality-aware)", choices=list(DEMO_MODEL_PATHS))
    parser.add_argument("--photos", nargs="+", default=["chelsea", "hubble_deep_field"], choices=SAMPLE_IMAGE_NAMES)
    parser.add_argument("--degradations", nargs="+", default=["noise25", "rain", "haze"], choices=list_degradations())
    parser.add_argument("--tile", type=int, default=512, help="tile side above which images restore in tiles")
    args = parser.parse_args()

    saved = read_demo_models(args.report)
    if args.model not in saved.models or saved.perceiver is None:
        parser.error(f"{args.report} holds no {args.model!r} and perceiver: run `perceive-ir demo --out {args.report}`")
    model = load_model(saved.models[args.model])
    perceiver = QualityPerceiver.from_pretrained(saved.perceiver)
    print("| photograph | degradation | input PSNR | restored PSNR | tiles | seconds | P(high) in → out |")
    print("|---|---|---|---|---|---|---|")
    for name, photo in sample_images(args.photos).items():
        for degradation in args.degradations:
            r = restore_photo(photo, model, degradation=degradation, seed=0, perceiver=perceiver, tile=args.tile)
            print(f"| {name} {photo.shape[2]}×{photo.shape[1]} | {degradation} | {r.psnr_input:.2f} dB | "
                  f"{r.psnr_restored:.2f} dB ({r.psnr_restored - r.psnr_input:+.2f}) | {r.tiles} | {r.seconds:.2f} | "
                  f"{r.input_tiers['high']:.2f} → {r.output_tiers['high']:.2f} |")


if __name__ == "__main__":
    main()
