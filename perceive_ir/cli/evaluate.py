"""``perceive-ir evaluate --model ... --filelist LIST.json --out DIR``: PSNR / SSIM per task."""

from __future__ import annotations

import argparse
import sys

from ._errors import EXIT_USER_ERROR
from ._model_args import add_inference_arguments, add_model_arguments, load_model_from_args, resolve_device

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "evaluate"
HELP = "PSNR/SSIM per task on file-listed test sets; writes results.json and results.md."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model, file-list, output and inference options to ``parser``."""
    add_model_arguments(parser)
    parser.add_argument("--filelist", action="append", required=True,
                        help="a test file list from `python -m perceive_ir.data.filelists` (repeatable)")
    parser.add_argument("--out", required=True, help="folder for results.json and results.md")
    add_inference_arguments(parser)
    parser.add_argument("--limit", type=int, default=None, help="only the first N images of each list (smoke test)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no table on stdout")


def run(args: argparse.Namespace) -> int:
    """Evaluate the model on every ``--filelist`` and write ``results.json`` and ``results.md`` to ``--out``.

    Returns:
        The exit status: 0, or 2 after printing the error when the model or a file list cannot be used.
    """
    from ..apps.evaluation import evaluate_filelists, protocol
    from ..apps.evaluation_report import results_document, results_markdown, write_results

    try:
        device = resolve_device(args.device)
        loaded = load_model_from_args(args.model, args.backbone, args.semantic_encoder)
        rows = evaluate_filelists(
            loaded.module, args.filelist, tile=args.tile, overlap=args.overlap, device=device, half=args.half,
            multiple=loaded.multiple, limit=args.limit, progress=not args.quiet, output=args.output_key,
        )
    except (OSError, ValueError, TypeError, RuntimeError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    stated = {**protocol(args.tile, args.overlap, loaded.multiple), "device": str(device),
              "precision": "float16 autocast" if args.half else "float32"}
    if args.limit is not None:
        stated["subset"] = f"first {args.limit} image(s) of each list (not the full test set)"
    json_path, md_path = write_results(rows, args.out, stated, loaded.description)
    if not args.quiet:
        print(results_markdown(results_document(rows, stated, loaded.description)))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0
