"""Complete restoration networks built from the library's modules."""

from .amirnet import AMIRNet, amirnet

__all__ = ["AMIRNet", "amirnet"]
