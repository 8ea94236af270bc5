"""``perceive-ir restore INPUT OUTPUT --model ...``: restore one image or a folder of images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._errors import EXIT_USER_ERROR
from ._model_args import add_inference_arguments, add_model_arguments, load_model_from_args, resolve_device

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "restore"
HELP = "Restore an image or every image of a folder (tiled, any size); writes PNGs."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the input and output paths, the model and the inference options to ``parser``."""
    parser.add_argument("input", help="an image file or a folder of images")
    parser.add_argument("output", help="output PNG file (for one image) or folder")
    add_model_arguments(parser)
    add_inference_arguments(parser)
    parser.add_argument(
        "--mode", default="whole", choices=("whole", "authors-direct", "authors-tiled"),
        help="whole (default) [ours: guidance once on the whole image, smooth blending]; authors-direct: the "
        "authors' published evaluator (replicate pad, guidance on the padded image; no --tile); authors-tiled: "
        "their tiled evaluator (guidance per tile, reflect pad per tile, uniform average)",
    )
    parser.add_argument("--overwrite", action="store_true",
                        help="allow an output to replace an input image (refused otherwise)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _protect_inputs(jobs: list[tuple[Path, Path]], overwrite: bool) -> None:
    """Refuse outputs that would replace an input image, unless ``--overwrite``."""
    if overwrite:
        return
    inputs = {src.resolve() for src, _ in jobs}
    clashes = [dst for _, dst in jobs if dst.resolve() in inputs]
    if clashes:
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise ValueError(
            f"OUTPUT would overwrite the input image {clashes[0]}{more}; choose another OUTPUT, "
            "or pass --overwrite to replace the inputs."
        )


def _jobs(src: Path, dst: Path) -> list[tuple[Path, Path]]:
    from ..data.io import list_images

    if src.is_file():
        out = dst if dst.suffix.lower() == ".png" else dst / f"{src.stem}.png"
        return [(src, out)]
    if not src.is_dir():
        raise FileNotFoundError(f"INPUT not found: {src}")
    if dst.suffix.lower() == ".png":
        raise ValueError(f"INPUT {src} is a folder, so OUTPUT must be a folder, not {dst}.")
    files = list_images(src)
    if not files:
        raise ValueError(f"No images found in {src}.")
    stems: dict[str, Path] = {}
    for f in files:
        if f.stem in stems:
            raise ValueError(f"{stems[f.stem]} and {f} would both be written to {f.stem}.png.")
        stems[f.stem] = f
    return [(f, dst / f"{f.stem}.png") for f in files]


def run(args: argparse.Namespace) -> int:
    """Restore the input image (or every image of the input folder) and save the results as PNGs.

    Outputs never replace an input image unless ``--overwrite``; temporary files left in the
    output folder by a killed run are removed.

    Returns:
        The exit status: 0, or 2 after printing the error when the input or the model cannot be used or an
        image fails (out of memory included).
    """
    import torch
    from tqdm.auto import tqdm

    from .._atomic import remove_stale_temporaries
    from ..data.io import read_image, save_png
    from ..inference.restore import restore

    try:
        jobs = _jobs(Path(args.input), Path(args.output))
        _protect_inputs(jobs, args.overwrite)
        device = resolve_device(args.device)
        loaded = load_model_from_args(args.model, args.backbone, args.semantic_encoder)
    except (OSError, ValueError, TypeError, RuntimeError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    for folder in {dst.parent for _, dst in jobs}:
        if folder.is_dir():  # leftovers of a killed run (each PNG is written to a temporary, then renamed)
            remove_stale_temporaries(folder, "*.png")
    bar = tqdm(jobs, desc="restore", unit="image", disable=args.quiet or len(jobs) == 1)
    for src, dst in bar:
        try:
            image = read_image(src)
            out = restore(loaded.module, image, tile=args.tile, overlap=args.overlap, device=device,
                          half=args.half, multiple=loaded.multiple, output=args.output_key, mode=args.mode)
        except torch.OutOfMemoryError:
            hint = "a smaller --tile" if args.tile else "--tile 512 (or smaller)"
            print(f"error: {src}: out of memory on {device}; use {hint}.", file=sys.stderr)
            return EXIT_USER_ERROR
        except (OSError, ValueError, TypeError, RuntimeError) as err:
            print(f"error: {src}: {err}", file=sys.stderr)
            return EXIT_USER_ERROR
        save_png(out.clamp(0, 1), dst)
    if not args.quiet:
        print(f"restored {len(jobs)} image(s) with {loaded.description} -> {args.output}", file=sys.stderr)
    return 0
