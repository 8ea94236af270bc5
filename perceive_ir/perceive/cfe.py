"""Compact feature extraction (CFE): a small encoder of the degraded image.

CFE maps a degraded image to a unit-norm degradation embedding ``z`` that conditions the
semantic guidance of a wrapped backbone. It is trained with the InfoNCE loss of
:mod:`perceive_ir.perceive.contrastive` (:func:`degradation_contrastive_loss`): two crops of
the same degraded image are a positive pair, the detached embeddings of the images with
another degradation label are the negatives.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._blockwise_pooling import Stage, pooled_moments
from .._validation import check_image, check_int, to_input_dtype, to_module_dtype
from ..hub import HubMixin
from .contrastive import DegenerateLossWarning, degradation_contrastive_loss  # re-exported: their earlier home

__all__ = ["CompactFeatureExtractor", "DegenerateLossWarning", "degradation_contrastive_loss"]


class CompactFeatureExtractor(nn.Module, HubMixin):
    """Degraded image → unit-norm ``(B, dim)`` degradation embedding.

    Four stride-2 3×3 convolutions (``in_channels → 32 → 64 → 96 → 128``) with GELU, global
    average pooling and a linear projection, as in the released Perceive-IR code.

    Without gradients (``torch.no_grad`` / ``torch.inference_mode``), images larger than
    :attr:`inference_block_size` on a side are encoded block by block with exact halos, so
    memory stays bounded on large images; the result equals the whole-image pass up to
    float rounding.

    Args:
        in_channels: Channels of the input image.
        dim: Size of the embedding.

    Example:
        >>> import torch
        >>> cfe = CompactFeatureExtractor(dim=128)
        >>> z = cfe(torch.rand(2, 3, 64, 64))
        >>> z.shape, torch.allclose(z.norm(dim=1), torch.ones(2))
        (torch.Size([2, 128]), True)
    """

    def __init__(self, in_channels: int = 3, dim: int = 128) -> None:
        super().__init__()
        check_int(in_channels, "in_channels")
        check_int(dim, "dim")
        self.in_channels = in_channels
        self.dim = dim
        widths = (in_channels, 32, 64, 96, 128)
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GELU()]
        self.encoder = nn.Sequential(*layers)
        self.proj = nn.Linear(widths[-1], dim)

    #: Side (input pixels) of the blocks used without gradients on larger images.
    inference_block_size: int = 512

    @property
    def cond_dim(self) -> int:
        """Size of the condition vector (``ConditionSource`` protocol)."""
        return self.dim

    def forward(self, degraded: Tensor) -> Tensor:
        """Embed a batch of degraded images.

        Args:
            degraded: ``(B, in_channels, H, W)`` float images in ``[0, 1]``, at least 2×2, any
                floating-point dtype (computed in the module's dtype).

        Returns:
            ``(B, dim)`` L2-normalised embeddings, in ``degraded``'s dtype.
        """
        check_image(degraded, "degraded", channels=self.in_channels, min_size=2, check_values=False)
        in_dtype, degraded = degraded.dtype, to_module_dtype(degraded, self)
        block = self.inference_block_size
        if not torch.is_grad_enabled() and max(degraded.shape[-2:]) > block:
            # the encoder alternates Conv2d and activation: (conv, activation) stages
            stages = cast("list[Stage]", list(zip(self.encoder[0::2], self.encoder[1::2], strict=True)))
            features = pooled_moments(stages, degraded, block)[0].to(degraded.dtype)
        else:
            features = self.encoder(degraded).mean(dim=(-2, -1))
        return to_input_dtype(F.normalize(self.proj(features), dim=-1), in_dtype)

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments (for ``save_pretrained``)."""
        return {"in_channels": self.in_channels, "dim": self.dim}
