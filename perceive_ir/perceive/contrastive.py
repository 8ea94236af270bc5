"""The degradation contrastive loss ``L_cl`` that trains the compact feature extractor (CFE).

For each sample ``i`` the positive is another crop of the same degraded image; the negatives
are the *detached* anchors of the samples whose degradation label differs from ``i``'s,
gathered from every process under ``torch.distributed``. Samples without any negative are
left out of the mean; a batch in which no sample has one gives 0. This is the authors'
formula (``losses.py`` ``degradation_contrastive_loss`` of the released code).

The formula perceive-ir used before (negatives = the other samples' *positives*, with
gradient; samples without a negative counted as 0) stays available as
``negatives="positives"``.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, overload

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor

from .._validation import check_embedding
from ..errors import InvalidValueError

__all__ = ["DegenerateLossWarning", "degradation_contrastive_loss"]

Negatives = Literal["anchors", "positives"]


class DegenerateLossWarning(UserWarning):
    """A loss had nothing to compare against (e.g. no negatives) and returned a meaningless zero."""


_warned_degenerate = False


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


# --------------------------------------------------------------------------------------------
# gathering across processes


def _gather_detached(x: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, int]:
    """Every process's ``x`` (detached) and ``labels``, concatenated by rank; batch sizes may differ.

    Returns:
        ``(bank, bank_labels, offset)``: ``offset`` is where this process's rows start in ``bank``.
    """
    x = x.detach()
    if not _distributed():
        return x, labels, 0
    world, rank = dist.get_world_size(), dist.get_rank()
    size = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.empty_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    counts = [int(s.item()) for s in sizes]
    longest = max(counts)
    padded = F.pad(x, (0, 0, 0, longest - x.shape[0])).contiguous()
    padded_labels = F.pad(labels, (0, longest - labels.shape[0]), value=-1).contiguous()
    parts = [torch.empty_like(padded) for _ in range(world)]
    label_parts = [torch.empty_like(padded_labels) for _ in range(world)]
    dist.all_gather(parts, padded)
    dist.all_gather(label_parts, padded_labels)
    bank = torch.cat([p[:n] for p, n in zip(parts, counts, strict=True)])
    bank_labels = torch.cat([p[:n] for p, n in zip(label_parts, counts, strict=True)])
    return bank, bank_labels, sum(counts[:rank])


class _AllGatherWithGrad(torch.autograd.Function):
    """All-gather whose backward sums the gradients of every process and keeps the local slice."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.batch, ctx.rank = x.shape[0], dist.get_rank()
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)  # every process's loss depends on every process's keys
        return grad[ctx.rank * ctx.batch : (ctx.rank + 1) * ctx.batch]


def _gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` from every process (equal batch sizes); gradients flow back to each process's slice."""
    return _AllGatherWithGrad.apply(x) if _distributed() else x


def _gather_no_grad(x: Tensor) -> Tensor:
    if not _distributed():
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x)
    return torch.cat(parts, dim=0)


# --------------------------------------------------------------------------------------------
# the two formulas


def _authors_loss(
    anchor: Tensor, positive: Tensor, labels: Tensor | None, temperature: float
) -> tuple[Tensor, Tensor]:
    """The authors' formula: ``(loss, has_negative)``; see :func:`degradation_contrastive_loss`."""
    batch = anchor.shape[0]
    ids = labels if labels is not None else torch.zeros(batch, dtype=torch.long, device=anchor.device)
    bank, bank_labels, offset = _gather_detached(anchor, ids)
    positive_logit = (anchor * positive).sum(dim=-1) / temperature
    if labels is not None:
        allowed = ids[:, None] != bank_labels[None, :]
    else:  # no labels: every other sample is a negative
        own = torch.arange(batch, device=anchor.device) + offset
        allowed = torch.arange(bank.shape[0], device=anchor.device)[None, :] != own[:, None]
    negative_logits = (anchor @ bank.T / temperature).masked_fill(~allowed, float("-inf"))
    logits = torch.cat((positive_logit[:, None], negative_logits), dim=1)
    per_sample = torch.logsumexp(logits, dim=1) - positive_logit
    has_negative = allowed.any(dim=1)
    if not bool(has_negative.any()):
        return positive_logit.sum() * 0.0, has_negative  # 0, still connected to both inputs
    return per_sample[has_negative].mean(), has_negative


def _positives_loss(
    anchor: Tensor, positive: Tensor, labels: Tensor | None, temperature: float
) -> tuple[Tensor, Tensor]:
    """perceive-ir's earlier formula: ``(loss, has_negative)``; see :func:`degradation_contrastive_loss`."""
    batch = anchor.shape[0]
    anchor = F.normalize(anchor, dim=-1)
    keys = _gather_with_grad(F.normalize(positive, dim=-1))
    rank = dist.get_rank() if _distributed() else 0
    own = torch.arange(batch, device=anchor.device) + rank * batch  # index of each positive among keys
    logits = anchor @ keys.T / temperature
    if labels is not None:
        same = labels[:, None] == _gather_no_grad(labels)[None, :]
        same[torch.arange(batch, device=anchor.device), own] = False  # the positive stays
        logits = logits.masked_fill(same, float("-inf"))
        negatives = (~same).sum(dim=1) - 1
    else:
        negatives = torch.full((batch,), keys.shape[0] - 1, device=anchor.device)
    return F.cross_entropy(logits, own), negatives > 0


@overload
def degradation_contrastive_loss(
    anchor: Tensor, positive: Tensor, labels: Tensor | None = ..., temperature: float = ...,
    degenerate: Literal["warn", "raise"] = ..., *, negatives: Negatives = ...,
    return_valid_fraction: Literal[False] = ...,
) -> Tensor: ...


@overload
def degradation_contrastive_loss(
    anchor: Tensor, positive: Tensor, labels: Tensor | None = ..., temperature: float = ...,
    degenerate: Literal["warn", "raise"] = ..., *, negatives: Negatives = ...,
    return_valid_fraction: Literal[True],
) -> tuple[Tensor, float]: ...


def degradation_contrastive_loss(
    anchor: Tensor,
    positive: Tensor,
    labels: Tensor | None = None,
    temperature: float = 0.1,
    degenerate: Literal["warn", "raise"] = "warn",
    *,
    negatives: Negatives = "anchors",
    return_valid_fraction: bool = False,
) -> Tensor | tuple[Tensor, float]:
    """InfoNCE between two views of the same degraded images, as the Perceive-IR authors compute it.

    For sample ``i`` with anchor ``a_i`` and positive ``p_i`` (another crop of the same
    degraded image)::

        l_i = -log( exp(a_i·p_i/τ) / (exp(a_i·p_i/τ) + Σ_j exp(a_i·sg(a_j)/τ)) )

    over the samples ``j`` whose label differs from ``i``'s, their anchors detached (``sg``) and
    gathered from every process under ``torch.distributed`` (batch sizes may differ). The loss
    is the mean of ``l_i`` over the local samples that have at least one negative; when none
    has, it is 0 (with a gradient of zeros) and a :class:`DegenerateLossWarning` is issued once
    per process. Inputs are used as they are: pass unit-norm embeddings (the CFE's are).
    [paper: authors losses.py degradation_contrastive_loss]

    Args:
        anchor: ``(B, D)`` unit-norm embeddings of one view (the CFE output that conditions the network).
        positive: ``(B, D)`` embeddings of the other view.
        labels: Optional ``(B,)`` integer degradation labels. Without labels every other sample
            is a negative [ours: for data without task labels; the authors always pass them].
        temperature: Softmax temperature τ (the authors': 0.1).
        degenerate: What to do when a sample has no negative (a batch of one, or one
            degradation label in the whole gathered batch): ``"warn"`` — a
            :class:`DegenerateLossWarning`, once per process; ``"raise"`` — a ``ValueError``.
        negatives: ``"anchors"`` (default, the authors' formula above) or ``"positives"``
            [ours: the formula perceive-ir used before, kept so runs trained with it can be
            reproduced: both inputs L2-normalised inside, the negatives are the other samples'
            *positives* with gradient (SimCLR-style keys; needs equal batch sizes under
            ``torch.distributed``), and a sample without a negative counts as 0 in the mean].
        return_valid_fraction: Also return the fraction of local samples that had a negative
            (the authors' ``return_valid_fraction``).

    Returns:
        The scalar loss, or ``(loss, valid_fraction)`` with ``return_valid_fraction=True``.

    Raises:
        ValueError: bad shapes, labels or options; or no negative with ``degenerate="raise"``.

    Example:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> a = F.normalize(torch.randn(8, 128), dim=1)
        >>> labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
        >>> loss, valid = degradation_contrastive_loss(a, a, labels, return_valid_fraction=True)
        >>> loss.item() < 0.01, valid
        (True, 1.0)
    """
    labels = _checked_arguments(anchor, positive, labels, temperature, degenerate, negatives)
    batch = anchor.shape[0]
    formula = _authors_loss if negatives == "anchors" else _positives_loss
    loss, has_negative = formula(anchor, positive, labels, temperature)
    _check_negatives(has_negative, degenerate, left_out=negatives == "anchors")
    if return_valid_fraction:
        return loss, float(has_negative.sum()) / batch
    return loss


def _checked_arguments(
    anchor: Tensor, positive: Tensor, labels: Tensor | None, temperature: float, degenerate: str, negatives: str
) -> Tensor | None:
    """Check :func:`degradation_contrastive_loss`'s arguments; return the labels as int64 on the anchor's device."""
    check_embedding(anchor, "anchor")
    check_embedding(positive, "positive", dim=anchor.shape[1], batch=anchor.shape[0])
    if not temperature > 0:
        raise InvalidValueError(f"`temperature` must be > 0, got {temperature!r}.")
    if degenerate not in ("warn", "raise"):
        raise InvalidValueError(f"`degenerate` must be 'warn' or 'raise', got {degenerate!r}.")
    if negatives not in ("anchors", "positives"):
        raise InvalidValueError(f"`negatives` must be 'anchors' or 'positives', got {negatives!r}.")
    if labels is None:
        return None
    batch = anchor.shape[0]
    if not isinstance(labels, Tensor) or labels.shape != (batch,) or labels.is_floating_point():
        raise InvalidValueError(
            f"`labels` must be an integer tensor of shape ({batch},), got "
            f"{getattr(labels, 'dtype', type(labels).__name__)} {tuple(getattr(labels, 'shape', ()))}."
        )
    return labels.to(device=anchor.device, dtype=torch.long)


def _check_negatives(has_negative: Tensor, degenerate: str, left_out: bool) -> None:
    global _warned_degenerate
    alone = int((~has_negative).sum())
    if not alone:
        return
    effect = (
        "they are left out of the mean (a batch where no sample has one gives 0)"
        if left_out
        else "their loss is a constant 0 with no gradient"
    )
    message = (
        f"degradation_contrastive_loss: {alone} of {has_negative.numel()} sample(s) have no negative (a batch of "
        f"one, or every other sample shares their degradation label); {effect}. "
        "Use larger batches with several degradations."
    )
    if degenerate == "raise":
        raise InvalidValueError(message)
    if not _warned_degenerate:
        _warned_degenerate = True
        warnings.warn(message, DegenerateLossWarning, stacklevel=3)
