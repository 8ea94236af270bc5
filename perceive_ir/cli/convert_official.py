"""``perceive-ir convert-official SRC DST``: an authors' ``.pth`` file into a Hub-ready perceive-ir folder."""

from __future__ import annotations

import argparse
import sys

from .._defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED, DEFAULT_SEMANTIC_ENCODER

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "convert-official"
HELP = ("Convert a Perceive-IR authors' checkpoint (stage-1 prompts, stage-2 restorer or stage-1 medium restorer; "
        "detected from its keys) into a folder with model.safetensors, config.json and a model card.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the source file, the destination folder and what the converted module references."""
    parser.add_argument("source", metavar="SRC", help="the authors' .pth file (read weights-only: nothing in it runs)")
    parser.add_argument("destination", metavar="DST", help="the folder to write")
    parser.add_argument("--kind", choices=("prompts", "restorer", "medium"), default=None,
                        help="require this kind of file (default: detect it from the keys)")
    parser.add_argument("--semantic-encoder", default=DEFAULT_SEMANTIC_ENCODER,
                        help="DINOv2 of a restorer: Hub id or local folder, referenced in config.json "
                        f"(default {DEFAULT_SEMANTIC_ENCODER}, the authors')")
    parser.add_argument("--semantic-encoder-revision", default=None, help="Hub revision of --semantic-encoder")
    parser.add_argument("--clip-model", default=DEFAULT_CLIP_MODEL,
                        help="CLIP of prompts: open_clip name or id, or a .json open_clip config "
                        f"(default {DEFAULT_CLIP_MODEL})")
    parser.add_argument("--clip-pretrained", default=DEFAULT_CLIP_PRETRAINED,
                        help=f"its weights: open_clip tag, or a local file with a .json config "
                        f"(default {DEFAULT_CLIP_PRETRAINED})")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a DST folder an earlier convert-official wrote (a folder holding other files "
                        "is never replaced)")


def run(args: argparse.Namespace) -> int:
    """Convert, print what was written; exit status 0, or 2 with a one-line error for a bad file or argument."""
    from ..apps.convert_official import convert_official
    from ..hub import PretrainedNotFoundError
    from ._errors import EXIT_USER_ERROR
    from ._model_args import clip_model_from_arg

    try:
        converted = convert_official(
            args.source,
            args.destination,
            kind=args.kind,
            semantic_encoder=args.semantic_encoder,
            semantic_encoder_revision=args.semantic_encoder_revision,
            clip_model=clip_model_from_arg(args.clip_model),
            clip_pretrained=args.clip_pretrained,
            overwrite=args.overwrite,
        )
    except (FileNotFoundError, FileExistsError, PretrainedNotFoundError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    print(f"{args.source} ({converted.kind}, SHA-256 {converted.sha256[:16]}…) → {converted.folder}: "
          f"{type(converted.module).__name__}; model card in {converted.folder / 'README.md'}")
    return 0
