"""``perceive-ir restore INPUT OUTPUT --model ...``: restore one image or a folder of images."""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path
from typing import Any

from ..errors import InvalidValueError, MissingFileError
from ._errors import EXIT_USER_ERROR
from ._fast_args import add_fast_arguments, fast_options, report_compiles
from ._model_args import (
    add_inference_arguments,
    add_model_arguments,
    load_model_from_args,
    resolve_device,
    tiling_from_args,
)

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "restore"
HELP = "Restore an image or every image of a folder (tiled, any size); writes PNGs (or the OUTPUT file's format)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the input and output paths, the model and the inference options to ``parser``."""
    parser.add_argument("input", help="an image file or a folder of images")
    parser.add_argument("output", help="output file for one image (its suffix picks the format: .png, .jpg, .tif, "
                                       ".webp, .bmp) or a folder (PNGs named after the inputs)")
    add_model_arguments(parser)
    add_inference_arguments(parser)
    add_fast_arguments(parser)
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
        raise InvalidValueError(
            f"OUTPUT would overwrite the input image {clashes[0]}{more}; choose another OUTPUT, "
            "or pass --overwrite to replace the inputs."
        )


def _names_a_file(dst: Path) -> bool:
    """OUTPUT names a file when it has an image suffix and is not an existing folder."""
    from ..data.io import IMAGE_EXTENSIONS

    return dst.suffix.lower() in IMAGE_EXTENSIONS and not dst.is_dir()


def _jobs(src: Path, dst: Path) -> list[tuple[Path, Path]]:
    from ..data.io import list_images

    if src.is_file():
        out = dst if _names_a_file(dst) else dst / f"{src.stem}.png"
        return [(src, out)]
    if not src.is_dir():
        raise MissingFileError(f"INPUT not found: {src}")
    if _names_a_file(dst):
        raise InvalidValueError(f"INPUT {src} is a folder, so OUTPUT must be a folder, not the file name {dst}.")
    files = list_images(src)
    if not files:
        raise InvalidValueError(f"No images found in {src}.")
    stems: dict[str, Path] = {}
    for f in files:
        if f.stem in stems:
            raise InvalidValueError(f"{stems[f.stem]} and {f} would both be written to {f.stem}.png.")
        stems[f.stem] = f
    return [(f, dst / f"{f.stem}.png") for f in files]


def _restore_one(src: Path, dst: Path, loaded: Any, args: argparse.Namespace, tiling: Any) -> None:
    """Read ``src``, restore its colour, re-attach its alpha (resized with the image) and write ``dst``."""
    import torch.nn.functional as F

    from ..data.io import read_image_file, save_image
    from ..inference.restore import restore

    read = read_image_file(src)
    # the descriptor gives the multiple and scale; the spec, how to run it
    out = restore(loaded, read.image, tiling=tiling, mode=args.mode,
                  **fast_options(args).as_kwargs()).clamp(0, 1).cpu()
    alpha = read.alpha
    if alpha is not None and alpha.shape[-2:] != out.shape[-2:]:  # a super-resolution network
        alpha = F.interpolate(alpha[None], size=out.shape[-2:], mode="bilinear", align_corners=False)[0].clamp(0, 1)
    # written back at the input's depth where the format allows: 16-bit (and float) inputs as 16-bit PNG
    bits = 16 if read.bits > 8 and dst.suffix.lower() == ".png" else 8
    save_image(out, dst, alpha=alpha, bits=bits)


def run(args: argparse.Namespace) -> int:
    """Restore the input image (or every image of the input folder) and save the results.

    Outputs never replace an input image unless ``--overwrite``; temporary files left in the
    output folder by a killed run are removed. An image with alpha keeps it (re-attached to the
    restored colour). A folder restore goes on past an image that cannot be read or restored and
    ends with the list of those that failed.

    Returns:
        The exit status — 0, or 2 after printing the error when the input or the model cannot be used,
        or when any image failed (each failure is printed, then a summary line).
    """
    import torch
    from tqdm.auto import tqdm

    from .._atomic import remove_stale_temporaries

    try:
        jobs = _jobs(Path(args.input), Path(args.output))
        _protect_inputs(jobs, args.overwrite)
        device = resolve_device(args.device)
        tiling = tiling_from_args(args, device)  # checked once, before the model loads
        report_compiles(args.compile and not args.quiet)
        fast_options(args)  # a bad combination is named before the model loads
        loaded = load_model_from_args(args.model, args.backbone, args.semantic_encoder)
    except (OSError, ValueError, TypeError, RuntimeError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    for _, dst in jobs:  # leftovers of a killed run of these outputs (each is written to a temporary, then renamed)
        if dst.parent.is_dir():
            remove_stale_temporaries(dst.parent, glob.escape(dst.name))
    failed: list[Path] = []
    bar = tqdm(jobs, desc="restore", unit="image", disable=args.quiet or len(jobs) == 1)
    for src, dst in bar:
        try:
            _restore_one(src, dst, loaded, args, tiling)
        except torch.OutOfMemoryError:
            hint = "a smaller --tile" if args.tile else "--tile 512 (or smaller)"
            print(f"error: {src}: out of memory on {device}; use {hint}.", file=sys.stderr)
            return EXIT_USER_ERROR
        except (OSError, ValueError, TypeError, RuntimeError) as err:
            print(f"error: {src}: {err}", file=sys.stderr)
            failed.append(src)
    if failed:
        done = len(jobs) - len(failed)
        print(f"error: {len(failed)} of {len(jobs)} image(s) failed ({', '.join(p.name for p in failed)}); "
              f"{done} restored -> {args.output}", file=sys.stderr)
        return EXIT_USER_ERROR
    if not args.quiet:
        print(f"restored {len(jobs)} image(s) with {loaded.description} -> {args.output}", file=sys.stderr)
    return 0
