"""AMIRNet's pieces: a label-free degradation tree and feature transform blocks (FTB).

* :class:`DegradationTree` — encoder + one head per level, grown by progressive k-means on
  paired degradation representations; at inference a ``(B, cond_dim)`` condition vector.
* :func:`collect_representations` — a dataset's representations for ``DegradationTree.grow``.
* :class:`FeatureTransformBlock` — a NAFNet block steered by a condition vector.
* :class:`NAFBlock`, :class:`LayerNorm2d`, :class:`SimpleGate` — plain NAFNet parts.

The full network is :func:`perceive_ir.models.amirnet`.
"""

from .collect import collect_representations
from .encoder import DegradationEncoder, paired_random_crops
from .ftb import FeatureTransformBlock
from .metrics import cluster_purity
from .nafnet import LayerNorm2d, NAFBlock, SimpleGate
from .synthetic import DEGRADATION_TYPES, degrade, procedural_images, synthetic_pairs
from .tree import DegradationTree

__all__ = [
    "DegradationTree",
    "DegradationEncoder",
    "paired_random_crops",
    "collect_representations",
    "FeatureTransformBlock",
    "NAFBlock",
    "LayerNorm2d",
    "SimpleGate",
    "cluster_purity",
    "DEGRADATION_TYPES",
    "degrade",
    "procedural_images",
    "synthetic_pairs",
]
