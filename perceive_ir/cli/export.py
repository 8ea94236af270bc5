"""``perceive-ir export MODEL OUT``: a restorer as one ONNX file, or the authors' restorer as one spandrel file.

``--format onnx`` (the default): one ONNX file with dynamic batch, height and width.
``--format spandrel``: the Perceive-IR authors' restorer (their ``.pth`` with ``--semantic-encoder``,
or a folder of ``perceive-ir convert-official``) and its DINOv2 as one self-contained
``.safetensors`` file that spandrel hosts (chaiNNer, ComfyUI) load after
``perceive_ir.integrations.spandrel.install()``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InvalidValueError

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "export"
HELP = ("Export a restorer (bare, or wrapped with its guidance computed inside) to ONNX with dynamic batch, "
        "height and width (needs the 'export' extra: onnx), or the authors' restorer to one self-contained "
        ".safetensors file for spandrel hosts (--format spandrel: chaiNNer, ComfyUI).")
FORMATS = ("onnx", "spandrel")
_SUFFIXES = {"onnx": ".onnx", "spandrel": ".safetensors"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The model source, the output file, the format, optional backbone weights or DINOv2, and the opset."""
    from ..inference.export import ONNX_OPSET

    parser.add_argument("model", help="a preset name, a folder written by save_restoration_model / save_pretrained "
                        "/ convert-official, a Hub repo id, the Perceive-IR authors' restorer .pth, or a checkpoint "
                        "file of a plain network (loaded with spandrel)")
    parser.add_argument("out", help="the file to write: .onnx (--format onnx) or .safetensors (--format spandrel)")
    parser.add_argument("--format", choices=FORMATS, default="onnx",
                        help="onnx (default): an ONNX graph; spandrel: the Perceive-IR authors' restorer (their "
                        ".pth with --semantic-encoder, or a convert-official folder) and its DINOv2 weights in one "
                        ".safetensors file that chaiNNer / ComfyUI load (see docs/hosts.md)")
    parser.add_argument("--backbone", default=None, help="checkpoint of the backbone (as for `perceive-ir restore`)")
    parser.add_argument("--semantic-encoder", default=None,
                        help="DINOv2 (Hub id or local folder) for the authors' restorer .pth (default "
                        "facebook/dinov2-base); its weights are copied into a spandrel file")
    parser.add_argument("--opset", type=int, default=ONNX_OPSET, help=f"ONNX opset (default {ONNX_OPSET})")
    parser.add_argument("--check", action="store_true",
                        help="onnx: run the file in onnxruntime on a random image and print the largest difference "
                        "to PyTorch (needs onnxruntime); spandrel: rebuild the network from the file alone and do the "
                        "same")


def run(args: argparse.Namespace) -> int:
    """Export, optionally check with onnxruntime, print where the file is; returns the exit status."""
    import torch

    from .._destinations import check_not_a_source
    from ..inference.export import export_onnx
    from ._model_args import load_model_from_args

    suffix = _SUFFIXES[args.format]
    if Path(args.out).suffix.lower() != suffix:
        raise InvalidValueError(f"OUT must be a {suffix} file with --format {args.format}, got {args.out}.")
    sources = [args.model if Path(args.model).exists() else None, args.backbone,
               args.semantic_encoder if args.semantic_encoder and Path(args.semantic_encoder).exists() else None]
    check_not_a_source(args.out, sources, name="OUT")
    if args.format == "spandrel":
        return _run_spandrel(args)
    loaded = load_model_from_args(args.model, args.backbone, args.semantic_encoder)
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


def _run_spandrel(args: argparse.Namespace) -> int:
    """``--format spandrel``: the authors' restorer and its DINOv2 as one .safetensors file."""
    import torch

    from ..integrations.spandrel_format import save_spandrel, spandrel_model_from_state_dict
    from ..models.official.network import PerceiveIRNet
    from ._model_args import load_model_from_args

    if args.backbone is not None:
        raise InvalidValueError("--backbone does not apply to --format spandrel (it exports the authors' restorer).")
    loaded = load_model_from_args(args.model, None, args.semantic_encoder)
    if not isinstance(loaded.module, PerceiveIRNet):
        raise InvalidValueError(
            f"--format spandrel exports the Perceive-IR authors' restorer (their perceiveIR_*.pth with "
            f"--semantic-encoder, or a folder of convert-official); {args.model} is {loaded.description}."
        )
    out = save_spandrel(loaded.module, args.out)
    print(f"Wrote {out} ({out.stat().st_size / 2**20:.1f} MiB): {loaded.description} with its DINOv2 weights; "
          "load it in a spandrel host after perceive_ir.integrations.spandrel.install().")
    if args.check:
        from .._files import read_safetensors
        from ..inference.restore import restore

        rebuilt = spandrel_model_from_state_dict(read_safetensors(out, "a Perceive-IR spandrel file"))
        image = torch.rand(1, 3, 75, 93, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            got, want = rebuilt(image), restore(loaded.module, image)
        print(f"rebuilt from the file vs the source on a 75×93 image: max |difference| "
              f"{float((got - want).abs().max()):.2e}")
    return 0
