"""Perceive-IR's modules (Zhang et al., arXiv 2408.15994; IEEE TIP 2025).

* :class:`QualityPerceiver` — frozen CLIP + learnt low / medium / high tier prompts (stage 1).
* :mod:`perceive_ir.perceive.losses` — the quality-aware loss of stage 2 and its terms.
* :class:`SemanticGuidance` — frozen DINOv2 CLS features → per-level FiLM (SGM), with
  optional :class:`ChannelCrossAttention`.
* :class:`CompactFeatureExtractor` — degraded image → unit-norm degradation embedding (CFE),
  trained with :func:`degradation_contrastive_loss` (``L_cl``).

These modules depend only on the package's infrastructure: never on retrofitting, models,
inference, data, training, applications or the CLI (``docs/architecture.md``).
"""

from .cfe import CompactFeatureExtractor
from .contrastive import DegenerateLossWarning, degradation_contrastive_loss
from .cross_attention import ChannelCrossAttention
from .film import FiLMHead, film
from .losses import LossWeights, Proxy, QualityAwareLoss, QualityAwareLossOutput
from .perceiver import QualityPerceiver
from .semantic import SemanticGuidance

__all__ = [
    "ChannelCrossAttention",
    "CompactFeatureExtractor",
    "DegenerateLossWarning",
    "FiLMHead",
    "LossWeights",
    "Proxy",
    "QualityAwareLoss",
    "QualityAwareLossOutput",
    "QualityPerceiver",
    "SemanticGuidance",
    "degradation_contrastive_loss",
    "film",
]
