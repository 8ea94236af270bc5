"""``perceive-ir score IMAGES... --perceiver DIR``: tier probabilities and quality score per image."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import InvalidValueError, MissingFileError

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "score"
HELP = "Rate images with a trained quality perceiver: P(low), P(medium), P(high) and a score in [0, 1]."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the images, the perceiver to load (and what to rebuild its CLIP from) and the output options."""
    parser.add_argument("images", nargs="+", help="image files or folders of images")
    parser.add_argument(
        "--perceiver",
        required=True,
        help="folder written by save_pretrained or convert-official, a Hub repo id, or the Perceive-IR authors' "
        "prompt checkpoint (quality_prompts_*.pth; its CLIP: --clip-model, default ViT-B-32 / openai)",
    )
    parser.add_argument("--revision", default=None, help="Hub revision of --perceiver")
    parser.add_argument(
        "--clip-model",
        default=None,
        help="rebuild CLIP from this instead of the saved reference: an open_clip name, hf-hub:/local-dir: id, "
        "a .json open_clip model config, or 'tiny' (perceive_ir.testing.tiny_clip_config, random weights, offline "
        "smoke tests)",
    )
    parser.add_argument(
        "--clip-pretrained",
        default=None,
        help="open_clip pretrained tag for --clip-model, or a local weights file for a .json config",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    parser.add_argument(
        "--json", action="store_true",
        help="print JSON instead of a table: per image its tier probabilities, score, and pyiqa's metadata "
        "(lower_better false, score_range [0, 1])",
    )


def _files(paths: list[str]) -> list[Path]:
    from ..data.io import list_images

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += list_images(p)
        elif p.is_file():
            files.append(p)
        else:
            raise MissingFileError(f"Image or folder not found: {p}")
    if not files:
        raise InvalidValueError(f"No images found in {paths}.")
    return files


def run(args: argparse.Namespace) -> int:
    """Print each image's tier probabilities and quality score, as a table or as JSON (``--json``).

    Each JSON entry also carries pyiqa's metadata of the score, as
    :class:`~perceive_ir.integrations.torchmetrics.PerceiveIRQuality` does: ``lower_better``
    (false) and ``score_range`` (``[0, 1]``).

    Returns:
        The exit status — 0, or 2 after printing the error when an image or the perceiver cannot be loaded.
    """
    import torch

    from ..data.io import read_image
    from ..integrations.torchmetrics import LOWER_BETTER, SCORE_RANGE
    from ._errors import EXIT_USER_ERROR
    from ._model_args import load_perceiver_from_args, resolve_device

    try:
        files = _files(args.images)
        device = resolve_device(args.device)
        perceiver = load_perceiver_from_args(args.perceiver, args.clip_model, args.clip_pretrained,
                                             args.revision).to(device).eval()
        results: list[dict[str, Any]] = []
        with torch.inference_mode():
            for f in files:
                image = read_image(f)[None].to(device)
                probs = perceiver.probabilities(image)[0]
                score = float(perceiver.score(image)[0])
                results.append({"image": str(f), **{t: float(p) for t, p in zip(perceiver.tiers, probs, strict=True)},
                                "score": score, "lower_better": LOWER_BETTER, "score_range": list(SCORE_RANGE)})
    except (OSError, ValueError, TypeError, RuntimeError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    width = max(len("image"), *(len(r["image"]) for r in results))
    print(f"{'image':<{width}}  {'low':>6}  {'medium':>6}  {'high':>6}  {'score':>6}")
    for r in results:
        print(f"{r['image']:<{width}}  {r['low']:6.3f}  {r['medium']:6.3f}  {r['high']:6.3f}  {r['score']:6.3f}")
    return 0
