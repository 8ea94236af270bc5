"""Complete restoration networks: the model factory, the reference presets, saving and loading.

Build by name with :func:`create_model`; load anything a user points at (preset, folder,
checkpoint file, Hub id) with :func:`load_model`; the Perceive-IR authors' released networks
live in :mod:`perceive_ir.models.official` (:func:`load_official`). A new preset is registered in
:mod:`perceive_ir.models.presets` (or from user code) with :func:`register_model`. The medium-tier
restorers of the stage-1 triplet build are named in :data:`MEDIUM_RESTORERS`, where user code
registers its own (``MEDIUM_RESTORERS.register(name, MediumRestorerEntry(factory, multiple))``).
"""

from .checkpoint import load_restoration_model, save_restoration_model
from .factory import LoadedModel, ModelPreset, create_model, list_models, load_model, model_multiple, register_model
from .medium_restorers import DEFAULT_MEDIUM_RESTORER, MEDIUM_RESTORERS, MediumRestorerEntry, medium_restorer
from .official import MediumRestorer, PerceiveIRNet, load_official
from .padded_restorer import PaddedRestorer
from .presets import nafnet_backbone, perceive_ir_nafnet, perceive_ir_restormer, restormer_backbone
from .tiny_restorer import TinyRestorer
from .user_network import load_user_network

__all__ = [
    "DEFAULT_MEDIUM_RESTORER",
    "LoadedModel",
    "MEDIUM_RESTORERS",
    "MediumRestorer",
    "MediumRestorerEntry",
    "PaddedRestorer",
    "ModelPreset",
    "PerceiveIRNet",
    "TinyRestorer",
    "create_model",
    "list_models",
    "load_model",
    "load_official",
    "load_restoration_model",
    "load_user_network",
    "medium_restorer",
    "model_multiple",
    "nafnet_backbone",
    "perceive_ir_nafnet",
    "perceive_ir_restormer",
    "register_model",
    "restormer_backbone",
    "save_restoration_model",
]
