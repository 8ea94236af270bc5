"""``perceive-ir export MODEL OUT.onnx``: a restorer as one ONNX file with dynamic height and width."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InvalidValueError

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "export"
HELP = ("Export a restorer (bare, or wrapped with its guidance computed inside) to ONNX with dynamic batch, "
        "height and width; needs the 'export' extra (onnx).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The model source, the output file, optional backbone weights and the opset."""
    from ..inference.export import ONNX_OPSET

    parser.add_argument("model", help="a preset name, a folder written by save_restoration_model / save_pretrained, "
                        "a Hub repo id, or a checkpoint file of a plain network (loaded with spandrel)")
    parser.add_argument("out", help="the .onnx file to write")
    parser.add_argument("--backbone", default=None, help="checkpoint of the backbone (as for `perceive-ir restore`)")
    parser.add_argument("--opset", type=int, default=ONNX_OPSET, help=f"ONNX opset (default {ONNX_OPSET})")
    parser.add_argument("--check", action="store_true",
                        help="run the file in onnxruntime on a random image and print the largest difference to "
                        "PyTorch (needs onnxruntime)")


def run(args: argparse.Namespace) -> int:
    """Export, optionally check with onnxruntime, print where the file is; returns the exit status."""
    import torch

    from .._destinations import check_not_a_source
    from ..inference.export import export_onnx
    from ._model_args import load_model_from_args

    if Path(args.out).suffix.lower() != ".onnx":
        raise InvalidValueError(f"OUT must be a .onnx file, got {args.out}.")
    check_not_a_source(args.out, [args.model if Path(args.model).exists() else None, args.backbone], name="OUT")
    loaded = load_model_from_args(args.model, args.backbone)
    out = export_onnx(loaded.module, args.out, multiple=loaded.multiple, opset=args.opset)
    print(f"Wrote {out} ({out.stat().st_size / 2**20:.1f} MiB): {loaded.description}; input 'degraded' "
          "(B, 3, H, W) float32 in [0, 1], output 'restored'.")
    if args.check:
        try:
            import onnxruntime
        except ImportError as err:
            raise ImportError('--check needs onnxruntime: pip install "perceive-ir[export]".') from err
        image = torch.rand(1, 3, 75, 93, generator=torch.Generator().manual_seed(0))
        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        got = torch.from_numpy(session.run(None, {"degraded": image.numpy()})[0])
        with torch.no_grad():
            want = loaded.module.eval()(image)
        print(f"onnxruntime vs PyTorch on a 75×93 image: max |difference| {float((got - want).abs().max()):.2e}")
    return 0
