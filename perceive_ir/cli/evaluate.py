"""``perceive-ir evaluate``: the authors' published protocol (``--protocol``) or file-listed sets (``--filelist``)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import InvalidValueError
from ._errors import EXIT_USER_ERROR, USER_ERRORS, user_error_message
from ._fast_args import add_fast_arguments, fast_options, report_compiles
from ._model_args import (
    add_inference_arguments,
    add_model_arguments,
    load_model_from_args,
    resolve_device,
    tiling_from_args,
)

if TYPE_CHECKING:  # torch is imported when the command runs (keeps `perceive-ir --help` fast)
    import torch

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "evaluate"
HELP = ("PSNR/SSIM: the authors' adair3/adair5 protocol (--protocol, --data-root) or file-listed test sets "
        "(--filelist); writes results.json and results.md.")

_PROTOCOLS = ("adair3", "adair5")
_PRECISION = {"fp32": "float32", "bf16": "bfloat16 autocast"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model, protocol or file-list, output and inference options to ``parser``."""
    add_model_arguments(parser)
    parser.add_argument(
        "--protocol", default=None,
        help="the Perceive-IR authors' published evaluation (evaluate_stage2_adair.py): adair3 (3-task) or adair5 "
        "(5-task); needs --data-root",
    )
    parser.add_argument("--data-root", default=None,
                        help="with --protocol: the folder holding AiO/test/... or test/... in the authors' layout")
    parser.add_argument(
        "--ssim", default="skimage", choices=("skimage", "gaussian"),
        help="with --protocol: skimage = the authors' SSIM (default; needs pip install 'perceive-ir[data]'); "
        "gaussian = [ours: torchmetrics' Gaussian 11x11 window, not comparable with published numbers]",
    )
    parser.add_argument("--filelist", action="append", default=None,
                        help="[ours] a test file list from `python -m perceive_ir.data.filelists` (repeatable)")
    parser.add_argument("--out", required=True, help="folder for results.json and results.md")
    add_inference_arguments(parser)
    add_fast_arguments(parser)
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N cases (--protocol) or images of each list (smoke test)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no table on stdout")


def _check_choice(args: argparse.Namespace) -> None:
    if (args.protocol is None) == (args.filelist is None):
        raise InvalidValueError(
            "give either --protocol adair3|adair5 with --data-root (the authors' published evaluation) "
            "or --filelist (test sets from file lists), not both or neither."
        )
    if args.protocol is None:
        return
    if args.protocol not in _PROTOCOLS:
        raise InvalidValueError(f"--protocol must be one of {', '.join(_PROTOCOLS)}, got {args.protocol!r}.")
    if args.data_root is None:
        raise InvalidValueError(f"--protocol {args.protocol} needs --data-root (the folder holding AiO/test or test).")
    fixed = [flag for flag, given in (("--tile", args.tile is not None), ("--half", args.half),
                                      ("--dtype bf16", args.dtype != "fp32")) if given]
    if fixed:
        raise InvalidValueError(f"--protocol {args.protocol} restores whole images in float32, as the authors: drop "
                                f"{' and '.join(fixed)}.")


def run(args: argparse.Namespace) -> int:
    """Evaluate the model and write ``results.json`` and ``results.md`` to ``--out``.

    Returns:
        The exit status — 0, or 2 after printing the error when the model, the data or an option cannot be used.
    """
    try:
        _check_choice(args)
        fast_options(args)  # a bad combination is named before the model loads
        report_compiles(args.compile and not args.quiet)
        device = resolve_device(args.device)
        if args.protocol is not None:
            return _run_protocol(args, device)
        return _run_filelists(args, device)
    except (*USER_ERRORS, RuntimeError) as err:  # type: ignore[misc]  # mypy reads no starred except tuple
        print(user_error_message(err), file=sys.stderr)
        return EXIT_USER_ERROR


def _run_protocol(args: argparse.Namespace, device: torch.device) -> int:
    from ..apps.adair_cases import protocol_cases
    from ..apps.protocol_evaluation import evaluate_protocol
    from ..apps.protocol_metrics import require_skimage
    from ..apps.protocol_report import protocol_document, protocol_markdown, write_protocol_results

    if args.ssim == "skimage":
        require_skimage()  # before the model is loaded
    protocol_cases(args.data_root, args.protocol)  # a missing test folder is named before the model is loaded
    loaded = load_model_from_args(args.model, args.backbone, args.semantic_encoder)
    result = evaluate_protocol(loaded, args.data_root, args.protocol, ssim=args.ssim, device=device,
                               output=args.output_key, limit=args.limit, progress=not args.quiet,
                               fast=fast_options(args))
    doc = protocol_document(result, loaded.description, device=str(device), data_root=str(args.data_root))
    json_path, md_path = write_protocol_results(doc, args.out)
    if not args.quiet:
        print(protocol_markdown(doc))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


def _run_filelists(args: argparse.Namespace, device: torch.device) -> int:
    from ..apps.evaluation import evaluate_filelists, protocol
    from ..apps.evaluation_report import results_document, results_markdown, write_results

    tiling = tiling_from_args(args, device).replace(progress=False)  # checked before the model loads
    loaded = load_model_from_args(args.model, args.backbone, args.semantic_encoder)
    rows = evaluate_filelists(loaded, args.filelist, tiling=tiling, limit=args.limit, progress=not args.quiet,
                              fast=fast_options(args))
    stated = {**protocol(args.tile, args.overlap, loaded.multiple), "device": str(device),
              "precision": "float16 autocast" if args.half else _PRECISION[args.dtype]}
    if args.compile or args.channels_last:
        stated["execution"] = " + ".join(n for n, on in (("torch.compile", args.compile),
                                                        ("channels-last", args.channels_last)) if on)
    if args.limit is not None:
        stated["subset"] = f"first {args.limit} image(s) of each list (not the full test set)"
    json_path, md_path = write_results(rows, args.out, stated, loaded.description)
    if not args.quiet:
        print(results_markdown(results_document(rows, stated, loaded.description)))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0
