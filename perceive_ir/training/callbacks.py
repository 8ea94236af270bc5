"""Callbacks built on the training loop's hooks: the AMIRNet degradation-tree schedule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from .._seeding import stable_seed
from .._validation import check_int
from ..amirnet import collect_representations
from ..errors import InvalidTypeError, InvalidValueError
from .loop import Callback, Trainer

__all__ = ["TreeGrowthCallback"]


class TreeGrowthCallback(Callback):
    """Grow an AMIRNet ``DegradationTree`` every ``every`` epochs and train its heads.

    At the start of epoch ``0, every, 2·every, …`` (while the tree is not fully grown) the
    representations of every training pair are collected with the tree's encoder
    (``perceive_ir.amirnet.collect_representations``, sample ids = indices into the
    trainer's dataset, each sample once, fixed crops) and ``tree.grow`` adds a level. At every
    step, ``weight · tree.pseudo_label_loss(degraded, tree.targets(ids))`` joins the loss.
    The tree's pseudo-labels are buffers of the model, so checkpoints carry them.

    Under DDP every process collects and grows on the same data with the same seeded crops
    and k-means seed, so the trees stay identical.

    Args:
        tree: The ``DegradationTree`` (typically a condition source of the wrapped model, so
            its parameters are already in the optimizer).
        every: Grow every this many epochs.
        weight: Weight of the pseudo-label loss.
        batch_size: Batch size of the representation pass.

    Raises:
        TypeError: ``tree`` lacks the ``grow`` / ``targets`` / ``pseudo_label_loss`` API.
        ValueError: ``every`` is not a positive int.

    Example:
        >>> class NotATree(nn.Module): pass
        >>> TreeGrowthCallback(NotATree())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        perceive_ir.errors.InvalidTypeError: `tree` must be an AMIRNet DegradationTree (grow, ...), got NotATree.
    """

    def __init__(self, tree: nn.Module, every: int = 1, weight: float = 1.0, batch_size: int = 16) -> None:
        required = ("grow", "targets", "pseudo_label_loss", "depth_grown", "depth")
        if not all(hasattr(tree, name) for name in required):
            raise InvalidTypeError(
                "`tree` must be an AMIRNet DegradationTree (grow, targets, pseudo_label_loss, depth_grown), "
                f"got {type(tree).__name__}."
            )
        check_int(every, "every")
        if not weight >= 0:
            raise InvalidValueError(f"`weight` must be >= 0, got {weight!r}.")
        self.tree: Any = tree  # duck-typed: any module with the DegradationTree API checked above
        self.every = every
        self.weight = float(weight)
        self.batch_size = batch_size

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """Every ``every`` epochs until full depth: cluster one pass of representations and grow a level."""
        if epoch % self.every or self.tree.depth_grown >= self.tree.depth:
            return

        generator = torch.Generator().manual_seed(stable_seed("tree", trainer.config.seed, epoch))
        reps, ids = collect_representations(
            self.tree,
            trainer.iter_dataset_once(self.batch_size),
            generator=generator,
            progress=trainer.config.progress and trainer.accelerator.is_main_process,
        )
        self.tree.grow(reps, ids)
        trainer.log_text(f"epoch {epoch}: degradation tree grown to depth {self.tree.depth_grown}")

    def loss_terms(self, model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        """The weighted pseudo-label loss of the batch as ``{"tree": ...}``; nothing before the first growth."""
        if self.tree.depth_grown == 0 or self.weight == 0:
            return {}
        targets = self.tree.targets(batch["index"])
        return {"tree": self.weight * self.tree.pseudo_label_loss(batch["degraded"], targets)}
