"""Complete restoration networks built from the library's modules, and loading them."""

from .amirnet import AMIRNet, amirnet
from .checkpoint import load_restoration_model, save_restoration_model
from .presets import build_model, list_models, perceive_ir_nafnet, perceive_ir_restormer, register_model
from .user_network import load_user_network

__all__ = [
    "AMIRNet",
    "amirnet",
    "build_model",
    "list_models",
    "load_restoration_model",
    "load_user_network",
    "perceive_ir_nafnet",
    "perceive_ir_restormer",
    "register_model",
    "save_restoration_model",
]
