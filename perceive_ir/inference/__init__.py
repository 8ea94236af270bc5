"""Inference on images of any size: padding to the network's multiple, tiling, shared guidance."""

from .export import ONNX_OPSET, export_onnx
from .restore import restore
from .tiling import pad_to_multiple, tiled_apply

__all__ = ["ONNX_OPSET", "export_onnx", "pad_to_multiple", "restore", "tiled_apply"]
