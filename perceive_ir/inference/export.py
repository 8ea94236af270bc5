"""Export a restorer to ONNX with dynamic batch, height and width (``perceive-ir export``).

:func:`export_onnx` writes one self-contained ``.onnx`` file: a bare network, or a
:class:`~perceive_ir.retrofit.wrap.WrappedBackbone` with its guidance computed inside the
graph (the condition sources, the frozen semantic encoder with its resize to
``image_size²``, the FiLM heads, the padding to ``multiple`` and the crop back). Its input is
``degraded`` ``(B, 3, H, W)`` float32 in ``[0, 1]``, its output ``restored``.

It uses PyTorch's TorchScript-based exporter (``dynamo=False``): it runs the model's Python
once on an example and records the tensor operations, with sizes kept symbolic. What the trace
cannot keep is said in ``docs/export.md``: the graph validates no input values, and the
degradation encoders always pool the whole image at once (their block-wise path is a memory
saving chosen by image size in Python).

The ``torch.export``-based exporter (``torch.onnx.export(..., dynamo=True)``, which needs the
``onnxscript`` package) works too since the value checks moved out of the module forwards
(PyTorch 2.14, onnxscript 0.7.2, measured for this note): the authors' restorer (the tiny
reference one) and a wrapped small NAFNet with a tiny DINOv2 export with dynamic batch, height
and width (``torch.export.Dim.AUTO``), and onnxruntime matches PyTorch within 2.4e-7 on two
sizes. It stays the second choice: it took 3.5 to 5 minutes per model on a shared 2-core
machine where the TorchScript exporter takes seconds, and ``onnxscript`` is one more dependency.
Earlier (before the checks moved) it refused the data-dependent input checks.
"""

from __future__ import annotations

import glob
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._atomic import atomic_write, remove_stale_temporaries
from .._validation import check_int
from ..errors import InvalidTypeError, InvalidValueError
from ..models.factory import load_model, model_multiple

__all__ = ["ONNX_OPSET", "export_onnx"]

#: ONNX opset of the export: 18 is the first whose ``Resize`` antialiases (the semantic encoder's resize).
ONNX_OPSET = 18

_AA_BILINEAR = "aten::_upsample_bilinear2d_aa"
_AA_BICUBIC = "aten::_upsample_bicubic2d_aa"
#: PyTorch's antialiased bicubic filter uses a = -0.5 (PIL's), not the -0.75 of its plain bicubic.
_AA_CUBIC_A = -0.5


def _resize_aa_symbolic(g: Any, x: Any, output_size: Any, align_corners: Any, scale_factors: Any) -> Any:
    """ONNX ``Resize`` (linear, antialiased) for PyTorch's antialiased bilinear interpolation.

    ``exclude_outside=1`` renormalises the filter weights at the border, as PyTorch does.
    """
    return _resize_aa(g, x, output_size, align_corners, mode="linear")


def _resize_aa_cubic_symbolic(g: Any, x: Any, output_size: Any, align_corners: Any, scale_factors: Any) -> Any:
    """ONNX ``Resize`` (cubic, a = -0.5, antialiased) for PyTorch's antialiased bicubic interpolation."""
    return _resize_aa(g, x, output_size, align_corners, mode="cubic")


def _resize_aa(g: Any, x: Any, output_size: Any, align_corners: Any, mode: str) -> Any:
    """The shared ONNX ``Resize`` node of the antialiased interpolations, to a fixed output size."""
    from torch.onnx import symbolic_helper as sh

    size = sh._maybe_get_const(output_size, "is")
    if sh._is_value(size) or size is None:
        raise InvalidValueError("export_onnx: antialiased resizing is exported only to a fixed output size.")
    corners = bool(sh._maybe_get_const(align_corners, "b"))
    shape = g.op("Shape", x)
    batch_channels = g.op(
        "Slice", shape, g.op("Constant", value_t=torch.tensor([0])), g.op("Constant", value_t=torch.tensor([2]))
    )
    sizes = g.op("Concat", batch_channels, g.op("Constant", value_t=torch.tensor(list(size))), axis_i=0)
    empty = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
    cubic = {"cubic_coeff_a_f": _AA_CUBIC_A} if mode == "cubic" else {}
    return g.op(
        "Resize", x, empty, empty, sizes, mode_s=mode, antialias_i=1, exclude_outside_i=1,
        coordinate_transformation_mode_s="align_corners" if corners else "half_pixel", **cubic,
    )


def _example(multiple: int, generator: torch.Generator) -> torch.Tensor:
    """An example of odd sides, neither a multiple of ``multiple``: the padding paths get traced.

    Odd, so that no power-of-two multiple a backbone pads to by itself divides them either.
    """
    sides = []
    for side in (4 * max(multiple, 16) + 9, 5 * max(multiple, 16) + 11):
        while side % 2 == 0 or (multiple > 1 and side % multiple == 0):
            side += 1
        sides.append(side)
    return torch.rand(1, 3, *sides, generator=generator)


def export_onnx(
    model: nn.Module | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    multiple: int | None = None,
    opset: int = ONNX_OPSET,
) -> Path:
    """Export a restorer to an ONNX file with dynamic batch, height and width.

    Args:
        model: A bare network, a :class:`~perceive_ir.retrofit.wrap.WrappedBackbone` (its guidance
            is computed inside the graph), or a model source for :func:`~perceive_ir.models.load_model`
            (a preset name, a folder, a checkpoint file, a Hub id).
        path: The ``.onnx`` file to write (atomically; the weights are inside it).
        multiple: The size multiple the network needs (default: from the model, as
            :func:`~perceive_ir.inference.restore` finds it); the example traced is not a
            multiple of it, so the graph pads inputs of any size like the model does.
        opset: ONNX opset, at least :data:`ONNX_OPSET`.

    Returns:
        ``path``.

    Raises:
        TypeError: ``model`` is not a module or a model source.
        ValueError: ``opset`` below :data:`ONNX_OPSET`, or a bad ``multiple``.
        ImportError: ``onnx`` is not installed (``pip install "perceive-ir[export]"``).
        RuntimeError: the model holds an operation ONNX cannot express (the message is PyTorch's).

    Example:
        >>> import tempfile, onnxruntime
        >>> from perceive_ir import create_model
        >>> net = create_model("nafnet-small", wrap=False)
        >>> file = export_onnx(net, tempfile.mkdtemp() + "/nafnet.onnx")
        >>> session = onnxruntime.InferenceSession(str(file), providers=["CPUExecutionProvider"])
        >>> session.run(None, {"degraded": torch.rand(1, 3, 40, 56).numpy()})[0].shape
        (1, 3, 40, 56)
    """
    if isinstance(model, (str, os.PathLike)):
        loaded = load_model(model)
        model = loaded.module
        multiple = loaded.multiple if multiple is None else multiple  # as restore() takes it
    if not isinstance(model, nn.Module):
        raise InvalidTypeError(
            f"`model` must be an nn.Module or a model source (str / path), got {type(model).__name__}."
        )
    check_int(multiple, "multiple", optional=True)
    if not isinstance(opset, int) or isinstance(opset, bool) or opset < ONNX_OPSET:
        raise InvalidValueError(f"`opset` must be an int of at least {ONNX_OPSET} (antialiased Resize), got {opset!r}.")
    try:
        import onnx  # noqa: F401  (the exporter needs it; say how to get it before tracing)
    except ImportError as err:
        raise ImportError('export_onnx needs onnx: pip install "perceive-ir[export]".') from err
    multiple = multiple or model_multiple(model)
    out = Path(path)
    if out.parent.is_dir():  # what an export killed while writing this file left behind
        remove_stale_temporaries(out.parent, glob.escape(out.name))
    example = _example(multiple, torch.Generator().manual_seed(0))
    was_training = model.training
    model.eval()
    torch.onnx.register_custom_op_symbolic(_AA_BILINEAR, _resize_aa_symbolic, opset)
    torch.onnx.register_custom_op_symbolic(_AA_BICUBIC, _resize_aa_cubic_symbolic, opset)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # the trace follows the example's Python branches; input checks become constants
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            # the exporter's own notices about its deprecation (see the module docstring for the choice)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.")
            warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.script. is deprecated", category=FutureWarning)
            atomic_write(out, lambda file: torch.onnx.export(
                model, (example,), file, dynamo=False,  # type: ignore[arg-type]  # a file object works too opset_version=opset,
                input_names=["degraded"], output_names=["restored"],
                dynamic_axes={"degraded": {0: "batch", 2: "height", 3: "width"},
                              "restored": {0: "batch", 2: "height", 3: "width"}},
            ))
    finally:
        torch.onnx.unregister_custom_op_symbolic(_AA_BILINEAR, opset)
        torch.onnx.unregister_custom_op_symbolic(_AA_BICUBIC, opset)
        model.train(was_training)
    return out
