"""Inference on images of any size: padding to the network's multiple, tiling, shared guidance."""

from .outputs import OutputKey, select_image
from .restore import restore
from .tiling import pad_to_multiple, tiled_apply

__all__ = ["OutputKey", "pad_to_multiple", "restore", "select_image", "tiled_apply"]
