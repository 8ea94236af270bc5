"""AMIRNet (Zhang et al., ACM MM 2023): a label-free degradation tree, FTBs and the network.

* :class:`DegradationTree` — encoder + one head per level, grown by progressive k-means on
  paired degradation representations; at inference a ``(B, cond_dim)`` condition vector.
* :func:`collect_representations` — a dataset's representations for ``DegradationTree.grow``.
* :class:`FeatureTransformBlock` — a NAFNet block steered by a condition vector.
* :class:`NAFBlock`, :class:`LayerNorm2d`, :class:`SimpleGate` — plain NAFNet parts.
* :class:`AMIRNet`, :func:`amirnet` — the NAFNet U-Net with FTBs in its encoder, conditioned
  by a tree it owns (also ``perceive_ir.create_model("amirnet")``).

Synthetic paired data for experiments with the tree: :mod:`perceive_ir.data.synthetic`.
"""

from .collect import collect_representations
from .encoder import DegradationEncoder, paired_random_crops
from .ftb import FeatureTransformBlock
from .metrics import cluster_purity
from .nafnet import LayerNorm2d, NAFBlock, SimpleGate
from .network import AMIRNet, amirnet
from .tree import DegradationTree

__all__ = [
    "AMIRNet",
    "DegradationEncoder",
    "DegradationTree",
    "FeatureTransformBlock",
    "LayerNorm2d",
    "NAFBlock",
    "SimpleGate",
    "amirnet",
    "cluster_purity",
    "collect_representations",
    "paired_random_crops",
]
