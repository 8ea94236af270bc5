"""``perceive-ir app``: the restoration web page (Gradio; the optional extra ``app``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._defaults import DEFAULT_SEMANTIC_ENCODER
from ..errors import InvalidValueError, MissingFileError
from ._fast_args import add_fast_arguments, fast_options, report_compiles

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "app"
HELP = ("Serve a web page that restores photographs: upload one or pick a bundled one, synthesise a degradation, "
        "compare input and output with a slider, with the perceiver's ratings; needs the 'app' extra (gradio).")

_DEFAULT_REPORT = "reports/demo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The models and perceiver to offer, how to restore, and where to serve."""
    parser.add_argument(
        "--model", action="append", default=[], metavar="SOURCE",
        help="a model to offer (repeat for more): a folder from convert-official / save_restoration_model, the "
        "authors' restorer .pth, a plain network's checkpoint, a Hub repo id, or a preset name (untrained)",
    )
    parser.add_argument(
        "--demo-report", default=_DEFAULT_REPORT,
        help=f"a `perceive-ir demo` report folder: its trained networks and perceiver are offered when it holds "
        f"them (default {_DEFAULT_REPORT})",
    )
    parser.add_argument(
        "--perceiver", default=None,
        help="quality perceiver rating input and output: a save_pretrained / convert-official folder, a Hub id, or "
        "the authors' prompt .pth (default: the demo report's, when there is one)",
    )
    parser.add_argument("--clip-model", default=None,
                        help="CLIP of --perceiver (as for `perceive-ir score`; default: the saved reference)")
    parser.add_argument("--clip-pretrained", default=None, help="open_clip pretrained tag for --clip-model")
    parser.add_argument("--semantic-encoder", default=None,
                        help="DINOv2 (Hub id or folder) for the authors' restorer .pth "
                        f"(default {DEFAULT_SEMANTIC_ENCODER})")
    parser.add_argument("--tile", type=int, default=512,
                        help="images with a side above this restore in tiles of this side (default 512; 0: whole)")
    parser.add_argument("--overlap", type=int, default=32, help="overlap between tiles in pixels (default 32)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    add_fast_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on (default 127.0.0.1: this machine only; 0.0.0.0: the network)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--open", action="store_true", help="open the page in the default browser")
    parser.add_argument("--no-path-box", action="store_true",
                        help="offer only the listed models (no box for a local model path on the page)")


def run(args: argparse.Namespace) -> int:
    """Check the options, load the perceiver and the first model, and serve the page until interrupted.

    Returns:
        The exit status — 0 after the server stops.

    Raises:
        ValueError, FileNotFoundError, ImportError: a bad option, a model or perceiver that does not
            load, or Gradio missing (the command line prints them as one ``error:`` line, status 2).
    """
    from ..apps.demo_models import read_demo_models
    from ..apps.model_catalog import ModelCatalog
    from ..apps.web_page import PageSettings, build_page, import_gradio, launch_page
    from ._model_args import load_perceiver_from_args, resolve_device

    import_gradio()  # before any model loads: a missing extra is the first thing to say
    if args.tile < 0:
        raise InvalidValueError(f"--tile must be 0 (whole images) or a positive number of pixels, got {args.tile}.")
    if args.overlap < 0 or (args.tile and args.overlap >= args.tile):
        raise InvalidValueError(f"--overlap must be in [0, --tile={args.tile}), got {args.overlap}.")
    if not 0 < args.port < 65536:
        raise InvalidValueError(f"--port must be in 1..65535, got {args.port}.")
    device = resolve_device(args.device)
    fast = fast_options(args)
    report_compiles(args.compile)
    report = Path(args.demo_report)
    if args.demo_report != _DEFAULT_REPORT and not report.is_dir():
        raise MissingFileError(f"--demo-report {report} is not a folder (expected one written by perceive-ir demo).")
    demo = read_demo_models(report)
    catalog = ModelCatalog.from_sources(args.model, demo_report=report, semantic_encoder=args.semantic_encoder,
                                        allow_paths=not args.no_path_box)
    if not catalog.labels:
        raise InvalidValueError(
            f"No model to offer: run `perceive-ir demo` first (its trained networks are picked up from "
            f"{_DEFAULT_REPORT}, or the folder given with --demo-report), or pass --model with a folder, a checkpoint "
            "file or a preset name."
        )
    # fail now, not on the first click: every model the user named, else the first one offered
    named = [label for label in catalog.labels if catalog.source(label) in args.model]
    for label in named or catalog.labels[:1]:
        catalog.load(label)
    perceiver_source = args.perceiver or (str(demo.perceiver) if demo.perceiver else None)
    perceiver = None
    if perceiver_source is not None:
        perceiver = load_perceiver_from_args(perceiver_source, args.clip_model, args.clip_pretrained)
    note = None
    if args.perceiver is None and perceiver is not None:  # the demo's, trained for minutes on a few photographs
        note = "the demo's perceiver, trained for minutes on a few photographs: a rough indication, not the paper's"
    settings = PageSettings(perceiver=perceiver, tile=args.tile or None, overlap=args.overlap, device=device,
                            perceiver_note=note, fast=fast)
    page = build_page(catalog, settings)
    print(f"perceive-ir app: models {', '.join(catalog.labels)}; perceiver "
          f"{perceiver_source or 'none (pass --perceiver to rate images)'}; on {device}.", file=sys.stderr)
    url = launch_page(page, host=args.host, port=args.port, open_browser=args.open, block=False)
    print(f"Serving on {url} (Ctrl+C to stop).", file=sys.stderr, flush=True)
    page.block_thread()  # until Ctrl+C, then the server closes
    return 0
