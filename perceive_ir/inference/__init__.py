"""Inference on images of any size: padding to the network's multiple, tiling, shared guidance.

:func:`restore` takes a network, its :class:`~perceive_ir.models.ModelDescriptor` or a model source,
and how to run it as one :class:`TilingSpec` (or loose keywords that build one).
"""

from .export import ONNX_OPSET, export_onnx
from .outputs import OutputKey, select_image
from .restore import restore
from .tiling import count_tiles, pad_to_multiple, tiled_apply
from .tiling_spec import TilingSpec

__all__ = [
    "ONNX_OPSET",
    "OutputKey",
    "TilingSpec",
    "count_tiles",
    "export_onnx",
    "pad_to_multiple",
    "restore",
    "select_image",
    "tiled_apply",
]
