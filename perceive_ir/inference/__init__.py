"""Inference on images of any size: padding to the network's multiple, tiling, shared guidance."""

from .restore import restore
from .tiling import pad_to_multiple, tiled_apply

__all__ = ["pad_to_multiple", "restore", "tiled_apply"]
