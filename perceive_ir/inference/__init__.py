"""Inference on images of any size: padding to the network's multiple, tiling, shared guidance."""

from .export import ONNX_OPSET, export_onnx
from .outputs import OutputKey, select_image
from .restore import restore
from .tiling import count_tiles, pad_to_multiple, tiled_apply

__all__ = [
    "ONNX_OPSET",
    "OutputKey",
    "count_tiles",
    "export_onnx",
    "pad_to_multiple",
    "restore",
    "select_image",
    "tiled_apply",
]
