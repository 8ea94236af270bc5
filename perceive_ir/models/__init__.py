"""Complete restoration networks: the model factory, the reference presets, saving and loading.

Three functions build or load a network:

* :func:`create_model` builds a preset by name (:func:`list_models`) → ``nn.Module``;
* :func:`load_model` loads anything a user points at (a file, a folder, ``hf-hub:ORG/NAME`` or a
  Hub id, a preset name; :func:`~perceive_ir.models.sources.parse_source` says which) → its
  :class:`ModelDescriptor`, the one description of the network every consumer reads;
* :func:`load_official` reads the Perceive-IR authors' released files (their restorer, medium
  restorer and stage-1 prompts, :mod:`perceive_ir.models.official`).

Which architecture a checkpoint file holds is told by the ordered registry
:data:`~perceive_ir.models.architectures.ARCHITECTURES`. A new preset is registered in
:mod:`perceive_ir.models.presets` (or from user code) with :func:`register_model`.
``LoadedModel``, ``load_restoration_model`` and ``load_user_network`` are deprecated (they warn).

The medium-tier restorers of the stage-1 triplet build are named in :data:`MEDIUM_RESTORERS`, where
user code registers its own (``MEDIUM_RESTORERS.register(name, MediumRestorerEntry(factory, multiple))``).
"""

from typing import Any

from ._deprecated import warn_deprecated
from .architectures import ARCHITECTURES, Architecture
from .checkpoint import load_restoration_model, save_restoration_model
from .descriptor import ModelDescriptor, describe_module
from .factory import ModelPreset, create_model, list_models, load_model, model_multiple, register_model
from .medium_restorers import DEFAULT_MEDIUM_RESTORER, MEDIUM_RESTORERS, MediumRestorerEntry, medium_restorer
from .official import MediumRestorer, PerceiveIRNet, load_official
from .padded_restorer import PaddedRestorer
from .presets import nafnet_backbone, perceive_ir_nafnet, perceive_ir_restormer, restormer_backbone
from .sources import ModelSource, parse_source
from .tiny_restorer import TinyRestorer
from .user_network import load_user_network

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "DEFAULT_MEDIUM_RESTORER",
    "MEDIUM_RESTORERS",
    "MediumRestorer",
    "MediumRestorerEntry",
    "ModelDescriptor",
    "PaddedRestorer",
    "ModelPreset",
    "ModelSource",
    "PerceiveIRNet",
    "TinyRestorer",
    "create_model",
    "describe_module",
    "list_models",
    "load_model",
    "load_official",
    "load_restoration_model",
    "load_user_network",
    "medium_restorer",
    "model_multiple",
    "nafnet_backbone",
    "parse_source",
    "perceive_ir_nafnet",
    "perceive_ir_restormer",
    "register_model",
    "restormer_backbone",
    "save_restoration_model",
]


def __getattr__(name: str) -> Any:
    if name == "LoadedModel":  # the former result of load_model, now one ModelDescriptor
        warn_deprecated("perceive_ir.models.LoadedModel", "perceive_ir.models.ModelDescriptor")
        return ModelDescriptor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
