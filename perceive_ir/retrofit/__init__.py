"""Retrofitting any restoration network: forward hooks, layer choice and condition sources.

* :func:`wrap_backbone` / :class:`WrappedBackbone` — semantic guidance and degradation
  conditioning enter a user's network through forward hooks; its ``state_dict`` stays its own.
* :class:`GuidanceSettings` — the guidance settings (semantic encoder, condition size, FiLM
  heads) as one frozen object, ``wrap_backbone(net, settings=...)``.
* :func:`probe_backbone`, :func:`select_guidance_layers` — which modules to guide.
* :class:`NoiseLevelMap`, :class:`AdaptedInput` — input adapters, for networks that take more
  than the RGB image (DRUNet's noise-level channel).
* :class:`ConditionSource` — the protocol of a condition source (the CFE, AMIRNet's tree, or
  a user's module); a new kind of source needs nothing here but that protocol.
* :data:`CONDITION_KINDS` — how a saved model's condition sources are described and rebuilt
  (``"hub"``, ``"user"``); register a :class:`ConditionKind` so that a module of yours is rebuilt
  on load instead of passed again.
"""

from .condition import ConditionSource
from .condition_spec import CONDITION_KINDS, ConditionKind
from .input_adapters import AdaptedInput, NoiseLevelMap
from .layer_probe import probe_backbone, select_guidance_layers
from .settings import GuidanceSettings
from .wrap import Guidance, WrappedBackbone, wrap_backbone

__all__ = [
    "CONDITION_KINDS",
    "AdaptedInput",
    "ConditionKind",
    "ConditionSource",
    "Guidance",
    "GuidanceSettings",
    "NoiseLevelMap",
    "WrappedBackbone",
    "probe_backbone",
    "select_guidance_layers",
    "wrap_backbone",
]
