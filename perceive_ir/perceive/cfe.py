"""Compact feature extraction (CFE): a small encoder of the degraded image.

CFE maps a degraded image to a unit-norm degradation embedding ``z`` that conditions the
semantic guidance of a wrapped backbone. It is trained with an InfoNCE loss in which two
crops of the same degraded image are a positive pair and the other images of the batch
(with a different degradation label, when labels are known) are negatives.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from .._blockwise_pooling import pooled_moments
from .._validation import check_embedding, check_image, check_int, to_input_dtype, to_module_dtype
from ..hub import HubMixin

__all__ = ["CompactFeatureExtractor", "DegenerateLossWarning", "degradation_contrastive_loss"]


class DegenerateLossWarning(UserWarning):
    """A loss had nothing to compare against (e.g. no negatives) and returned a meaningless zero."""


_warned_degenerate = False


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
        check_image(degraded, "degraded", channels=self.in_channels, min_size=2)
        in_dtype, degraded = degraded.dtype, to_module_dtype(degraded, self)
        block = self.inference_block_size
        if not torch.is_grad_enabled() and max(degraded.shape[-2:]) > block:
            stages = list(zip(self.encoder[0::2], self.encoder[1::2], strict=True))
            features = pooled_moments(stages, degraded, block)[0].to(degraded.dtype)
        else:
            features = self.encoder(degraded).mean(dim=(-2, -1))
        return to_input_dtype(F.normalize(self.proj(features), dim=-1), in_dtype)

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments (for ``save_pretrained``)."""
        return {"in_channels": self.in_channels, "dim": self.dim}


class _AllGatherWithGrad(torch.autograd.Function):
    """All-gather whose backward sums the gradients of every process and keeps the local slice."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # type: ignore[override]
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.batch, ctx.rank = x.shape[0], dist.get_rank()
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        grad = grad.contiguous()
        dist.all_reduce(grad)  # every process's loss depends on every process's keys
        return grad[ctx.rank * ctx.batch : (ctx.rank + 1) * ctx.batch]


def _gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` from every process; gradients flow back to each process's own slice."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    return _AllGatherWithGrad.apply(x)


def _gather_no_grad(x: Tensor) -> Tensor:
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x)
    return torch.cat(parts, dim=0)


def degradation_contrastive_loss(
    anchor: Tensor,
    positive: Tensor,
    labels: Tensor | None = None,
    temperature: float = 0.1,
    degenerate: Literal["warn", "raise"] = "warn",
) -> Tensor:
    """InfoNCE between two views of the same degraded images.

    For sample ``i`` the positive is ``positive[i]`` (another crop of the same degraded
    image); the negatives are the positives of every other sample — gathered from all
    processes under ``torch.distributed`` — except those sharing ``i``'s degradation label.

    Args:
        anchor: ``(B, D)`` embeddings of one view (normalised inside).
        positive: ``(B, D)`` embeddings of the other view.
        labels: Optional ``(B,)`` integer degradation labels; samples with the same label
            are not used as negatives. Without labels every other sample is a negative.
        temperature: Softmax temperature τ (the paper: 0.1).
        degenerate: What to do when a sample has no negative at all (a batch of one, or one
            degradation label for the whole batch): its term is a constant zero with no
            gradient. ``"warn"``: a :class:`DegenerateLossWarning`, once per process;
            ``"raise"``: a ``ValueError``.

    Returns:
        Scalar loss, averaged over the local batch.

    Example:
        >>> import torch
        >>> a = torch.randn(8, 128)
        >>> degradation_contrastive_loss(a, a + 0.01 * torch.randn(8, 128)).item() < 0.1
        True
    """
    check_embedding(anchor, "anchor")
    check_embedding(positive, "positive", dim=anchor.shape[1], batch=anchor.shape[0])
    if not temperature > 0:
        raise ValueError(f"`temperature` must be > 0, got {temperature!r}.")
    if degenerate not in ("warn", "raise"):
        raise ValueError(f"`degenerate` must be 'warn' or 'raise', got {degenerate!r}.")
    batch = anchor.shape[0]
    if labels is not None:
        if not isinstance(labels, Tensor) or labels.shape != (batch,) or labels.is_floating_point():
            raise ValueError(
                f"`labels` must be an integer tensor of shape ({batch},), got "
                f"{getattr(labels, 'dtype', type(labels).__name__)} {tuple(getattr(labels, 'shape', ()))}."
            )
    anchor = F.normalize(anchor, dim=-1)
    keys = _gather_with_grad(F.normalize(positive, dim=-1))
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    own = torch.arange(batch, device=anchor.device) + rank * batch  # index of each positive among keys
    logits = anchor @ keys.T / temperature
    if labels is not None:
        all_labels = _gather_no_grad(labels.to(anchor.device))
        same = labels.to(anchor.device)[:, None] == all_labels[None, :]
        same[torch.arange(batch, device=anchor.device), own] = False  # the positive stays
        logits = logits.masked_fill(same, float("-inf"))
        negatives = (~same).sum(dim=1) - 1
    else:
        negatives = torch.full((batch,), keys.shape[0] - 1, device=anchor.device)
    _check_negatives(negatives, degenerate)
    return F.cross_entropy(logits, own)


def _check_negatives(negatives: Tensor, degenerate: str) -> None:
    global _warned_degenerate
    alone = int((negatives == 0).sum())
    if not alone:
        return
    message = (
        f"degradation_contrastive_loss: {alone} of {negatives.numel()} sample(s) have no negative (a batch of one, "
        "or every other sample shares their degradation label); their loss is a constant 0 with no gradient. "
        "Use larger batches with several degradations."
    )
    if degenerate == "raise":
        raise ValueError(message)
    if not _warned_degenerate:
        _warned_degenerate = True
        warnings.warn(message, DegenerateLossWarning, stacklevel=3)
