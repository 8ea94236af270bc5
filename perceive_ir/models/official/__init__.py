"""The Perceive-IR authors' released networks as perceive-ir models, and their checkpoint reader.

* :class:`PerceiveIRNet` — their stage-2 restorer (Restormer body, prompt guidance from the
  CFE embedding and DINOv2 CLS tokens, prompt-guided cross attention in every decoder block).
* :class:`MediumRestorer` — their stage-1 medium-tier restorer.
* :func:`load_official` — reads any of their ``.pth`` files (prompts, restorer, medium) safely
  and strictly into the matching module.
"""

from .checkpoint import OFFICIAL_KINDS, OfficialCheckpointError, detect_official_kind, load_official
from .medium import MediumRestorer
from .network import PerceiveIRGuidance, PerceiveIRNet

__all__ = [
    "OFFICIAL_KINDS",
    "MediumRestorer",
    "OfficialCheckpointError",
    "PerceiveIRGuidance",
    "PerceiveIRNet",
    "detect_official_kind",
    "load_official",
]
