"""AMIRNet's degradation tree: progressive clustering of degradation representations.

The tree grows one level at a time. :meth:`DegradationTree.grow` splits the training samples
of every current leaf into ``branching`` children with k-means on their degradation
representations (``encoder(degraded) − encoder(clean)``, see
:mod:`perceive_ir.amirnet.encoder`) and stores the resulting pseudo-labels. One linear head
per level learns to predict those pseudo-labels from the *degraded image alone*
(:meth:`DegradationTree.pseudo_label_loss`). At inference nothing is clustered and no clean
image is needed: the heads' soft memberships of every level, concatenated, are the condition
vector (``1 + 2 + 4 + 8 = 15`` values for the default depth 3 and branching 2).

Scheduling ``grow`` is the user's job, in their own loop::

    for epoch in range(epochs):
        if epoch % grow_every == 0 and tree.depth_grown < tree.depth:
            reps, ids = collect_representations(tree, pair_loader)   # no labels needed
            tree.grow(reps, ids)
        for degraded, clean, ids in train_loader:
            loss = restoration_loss + tree.pseudo_label_loss(degraded, tree.targets(ids))
            ...
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validation import check_embedding, check_image, check_int, check_same_shape, to_input_dtype, to_module_dtype
from ..errors import InvalidTypeError, InvalidValueError
from ..hub import HubMixin
from .encoder import DegradationEncoder, paired_random_crops

__all__ = ["DegradationTree", "CLUSTER_SPACES"]

#: How representations are transformed before k-means: ``"l2"`` clusters directions (the
#: kind of change, not its strength), ``"standardize"`` z-scores every feature over the
#: samples, ``"raw"`` uses them unchanged.
CLUSTER_SPACES = ("l2", "standardize", "raw")


class DegradationTree(nn.Module, HubMixin):
    """A tree of degradation clusters, grown without labels; a ``ConditionSource``.

    Levels are numbered from the root: level ``l`` has ``branching ** l`` nodes, node ``j`` of
    level ``l`` is the parent of nodes ``branching·j … branching·j + branching − 1`` of level
    ``l + 1``. The condition vector concatenates the memberships of levels ``0 … depth``; the
    root's membership is the constant 1 — it is kept so that the default layout is the
    paper's 15-d vector, and it acts as a bias input for whatever consumes the condition.
    A level that has not been grown yet passes its parent's membership on, split evenly
    among the children, so the vector always sums to 1 per level and stays meaningful
    while the tree grows.

    Training happens in the user's loop: every ``N`` epochs (while ``depth_grown < depth``)
    collect the representations of the training pairs with
    :func:`~perceive_ir.amirnet.collect_representations` and call :meth:`grow`; every step,
    add ``pseudo_label_loss(degraded, targets(sample_ids))`` to the loss, with the optimizer
    built from :meth:`parameter_groups`. See the module docstring and ``docs/amirnet.md``.

    Saved state (``save_pretrained``): encoder and head weights, ``depth_grown``, the parent
    of every node, the number of training samples in every node, the ids of the clustered
    samples and their pseudo-labels at every grown level.

    Args:
        in_channels: Channels of the images.
        depth: Number of levels below the root (default 3: 2, 4 and 8 nodes).
        branching: Children per node (the ``k`` of k-means; default 2).
        encoder_widths: Channels of the encoder's three convolutions.
        n_crops: Random crops averaged per representation.
        crop_size: Side of those crops (images smaller than this are used whole).
        cluster_space: Transform applied before k-means, one of :data:`CLUSTER_SPACES`.
        seed: ``random_state`` of k-means, so that growing is reproducible.

    Example:
        >>> import torch
        >>> tree = DegradationTree(depth=2, encoder_widths=(8, 16, 16), crop_size=16)
        >>> degraded, clean = torch.rand(8, 3, 24, 24), torch.rand(8, 3, 24, 24)
        >>> reps = tree.representation(degraded, clean)
        >>> tree.grow(reps).shape, tree.depth_grown
        (torch.Size([8]), 1)
        >>> loss = tree.pseudo_label_loss(degraded, tree.targets(torch.arange(8)))
        >>> tree(degraded).shape  # 1 + 2 + 4 soft memberships
        torch.Size([8, 7])
    """

    _depth_grown: Tensor
    parents: Tensor
    node_sizes: Tensor
    sample_ids: Tensor
    pseudo_labels: Tensor

    def __init__(
        self,
        in_channels: int = 3,
        depth: int = 3,
        branching: int = 2,
        encoder_widths: Sequence[int] = (32, 64, 64),
        n_crops: int = 4,
        crop_size: int = 64,
        cluster_space: str = "l2",
        seed: int = 0,
    ) -> None:
        super().__init__()
        for name, value, low in (("depth", depth, 1), ("branching", branching, 2), ("n_crops", n_crops, 1),
                                 ("crop_size", crop_size, 4)):
            check_int(value, name, minimum=low)
        if cluster_space not in CLUSTER_SPACES:
            raise InvalidValueError(f"`cluster_space` must be one of {CLUSTER_SPACES}, got {cluster_space!r}.")
        if not isinstance(seed, int):
            raise InvalidTypeError(f"`seed` must be an int, got {type(seed).__name__}.")
        self.in_channels = in_channels
        self.depth = depth
        self.branching = branching
        self.n_crops = n_crops
        self.crop_size = crop_size
        self.cluster_space = cluster_space
        self.seed = seed
        self.encoder = DegradationEncoder(in_channels, tuple(encoder_widths))
        #: Nodes per level, root first, e.g. ``(1, 2, 4, 8)``.
        self.level_sizes: tuple[int, ...] = tuple(branching**level for level in range(depth + 1))
        #: Size of the condition vector (``ConditionSource`` protocol).
        self.cond_dim: int = sum(self.level_sizes)
        # one classification head per level below the root (the root's membership is always 1);
        # the LayerNorm puts the unnormalised pooled features on a common scale for the heads
        self.heads = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(self.encoder.dim), nn.Linear(self.encoder.dim, n))
            for n in self.level_sizes[1:]
        )

        offsets = np.cumsum((0,) + self.level_sizes)
        parents = torch.full((self.cond_dim,), -1, dtype=torch.long)
        for level in range(1, depth + 1):
            children = torch.arange(self.level_sizes[level])
            parents[offsets[level] : offsets[level + 1]] = int(offsets[level - 1]) + children // branching
        self._offsets = tuple(int(o) for o in offsets)
        self.register_buffer("_depth_grown", torch.zeros((), dtype=torch.long))
        self.register_buffer("parents", parents)
        self.register_buffer("node_sizes", torch.zeros(self.cond_dim, dtype=torch.long))
        self.register_buffer("sample_ids", torch.zeros(0, dtype=torch.long))
        self.register_buffer("pseudo_labels", torch.zeros(0, depth, dtype=torch.long))

    # -- structure -----------------------------------------------------------------------
    @property
    def depth_grown(self) -> int:
        """How many levels below the root have been grown (0 … ``depth``)."""
        return int(self._depth_grown)

    @property
    def num_samples(self) -> int:
        """Number of clustered training samples (0 before the first ``grow``)."""
        return int(self.sample_ids.numel())

    def level_slice(self, level: int) -> slice:
        """Where level ``level`` (0 = root) lies in the condition vector.

        Example:
            >>> DegradationTree().level_slice(2)
            slice(3, 7, None)
        """
        if not 0 <= level <= self.depth:
            raise InvalidValueError(f"`level` must be in 0..{self.depth}, got {level!r}.")
        return slice(self._offsets[level], self._offsets[level + 1])

    def parameter_groups(self, lr: float, encoder_lr_scale: float = 0.1) -> list[dict[str, Any]]:
        """Optimizer parameter groups: the heads at ``lr``, the encoder at ``lr · encoder_lr_scale``.

        The encoder also computes the representations that later ``grow`` calls cluster. Trained
        at the heads' full rate on one level's pseudo-labels, it learns to tell apart only that
        level's nodes and blurs the differences *inside* each node that the next split needs;
        a 10× smaller rate lets the heads fit while the representation keeps its structure
        (measured on synthetic four-type data: purity of the 4 leaves 1.0 with the scaled rate,
        0.79–0.94 without; see ``docs/amirnet.md``).

        Example:
            >>> import torch
            >>> tree = DegradationTree()
            >>> opt = torch.optim.Adam(tree.parameter_groups(1e-3))
            >>> [g["lr"] for g in opt.param_groups]
            [0.001, 0.0001]
        """
        if not lr > 0 or not encoder_lr_scale >= 0:
            raise InvalidValueError(
                f"`lr` must be > 0 and `encoder_lr_scale` >= 0, got {lr!r} and {encoder_lr_scale!r}."
            )
        return [
            {"params": list(self.heads.parameters()), "lr": lr},
            {"params": list(self.encoder.parameters()), "lr": lr * encoder_lr_scale},
        ]

    # -- representation (training side, needs pairs) ------------------------------------------
    @torch.no_grad()
    def representation(
        self,
        degraded: Tensor,
        clean: Tensor,
        *,
        n_crops: int | None = None,
        crop_size: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Degradation representation of paired samples, for clustering (no gradient).

        ``encoder(degraded) − encoder(clean)`` on ``n_crops`` random crops, each taken at the
        same place in both images, averaged.

        Args:
            degraded: ``(B, C, H, W)`` degraded images in ``[0, 1]``.
            clean: ``(B, C, H, W)`` the matching clean images.
            n_crops: Crops per sample (default: the tree's ``n_crops``).
            crop_size: Crop side (default: the tree's ``crop_size``).
            generator: Optional ``torch.Generator`` for reproducible crops.

        Returns:
            ``(B, encoder.dim)`` representations.

        Example:
            >>> import torch
            >>> tree = DegradationTree(encoder_widths=(8, 16, 16))
            >>> tree.representation(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)).shape
            torch.Size([2, 32])
        """
        check_image(degraded, "degraded", channels=self.in_channels, min_size=4, check_values=False)
        check_image(clean, "clean", channels=self.in_channels, min_size=4, check_values=False)
        check_same_shape(degraded, "degraded", clean, "clean")
        n_crops = self.n_crops if n_crops is None else n_crops
        crop_size = self.crop_size if crop_size is None else crop_size
        check_int(n_crops, "n_crops")
        check_int(crop_size, "crop_size", minimum=4)
        total = torch.zeros(degraded.shape[0], self.encoder.dim, device=degraded.device, dtype=degraded.dtype)
        for _ in range(n_crops):
            d, c = paired_random_crops(degraded, clean, crop_size, generator=generator)
            feats = self.encoder(torch.cat([d, c]))
            total += feats[: d.shape[0]] - feats[d.shape[0] :]
        return total / n_crops

    # -- growing ---------------------------------------------------------------------------
    def _cluster_space(self, reps: np.ndarray) -> np.ndarray:
        if self.cluster_space == "l2":
            return reps / np.maximum(np.linalg.norm(reps, axis=1, keepdims=True), 1e-12)
        if self.cluster_space == "standardize":
            return (reps - reps.mean(0)) / np.maximum(reps.std(0), 1e-12)
        return reps

    def _split(self, points: np.ndarray, node: int) -> np.ndarray:
        """Split one leaf's samples into ``branching`` children; returns child index per sample."""
        n = points.shape[0]
        if n < self.branching:
            return np.arange(n)
        from sklearn.cluster import KMeans  # imported here: only growing needs scikit-learn
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # duplicate points: fewer clusters
            km = KMeans(n_clusters=self.branching, n_init=10, random_state=self.seed + node)
            return km.fit_predict(points)

    @torch.no_grad()
    def grow(self, representations: Tensor, sample_ids: Tensor | Sequence[int] | None = None) -> Tensor:
        """Add one level: split every current leaf's samples with k-means.

        The first call clusters all samples into ``branching`` groups and records which
        sample ids the tree is built on; every later call must pass representations of the
        same samples (any order), recomputed with the current encoder. Earlier levels keep
        their pseudo-labels.

        Args:
            representations: ``(N, encoder.dim)`` output of :meth:`representation` (or of
                :func:`~perceive_ir.amirnet.collect_representations`).
            sample_ids: ``(N,)`` unique integer ids of the samples, stable across epochs (e.g.
                dataset indices). Default ``0 … N−1``.

        Returns:
            ``(N,)`` long tensor: the new level's node of each sample, in the order given.

        Raises:
            ValueError: the tree is fully grown, there are no representations, shapes or ids
                do not match, or the representations are not finite.

        Example:
            >>> import torch
            >>> tree = DegradationTree(depth=2, encoder_widths=(8, 16, 16))
            >>> reps = torch.randn(10, 32)
            >>> _ = tree.grow(reps)
            >>> tree.grow(reps).max().item() < 4, tree.depth_grown
            (True, 2)
        """
        if self.depth_grown >= self.depth:
            raise InvalidValueError(f"The tree is fully grown ({self.depth} levels); `grow` cannot add another.")
        if representations is None:
            raise InvalidValueError(
                "`representations` is None: compute them first with `tree.representation(degraded, clean)` "
                "or `collect_representations(tree, batches)`."
            )
        check_embedding(representations, "representations", dim=self.encoder.dim)
        n = representations.shape[0]
        if n == 0:
            raise InvalidValueError(
                "`representations` is empty: grow needs the representations of the training samples; "
                "compute them with `collect_representations(tree, batches)`."
            )
        if not torch.isfinite(representations).all():
            raise InvalidValueError("`representations` contains NaN or Inf values.")
        ids = self._check_ids(sample_ids, n)
        order = torch.argsort(ids)
        ids_sorted = ids[order]
        reps = representations.detach().to("cpu", torch.float64)[order].numpy()
        level = self.depth_grown + 1
        device = self.pseudo_labels.device
        if level == 1:
            self.sample_ids = ids_sorted.to(device)
            self.pseudo_labels = torch.full((n, self.depth), -1, dtype=torch.long, device=device)
            parents = np.zeros(n, dtype=np.int64)
        else:
            if n != self.num_samples or not torch.equal(ids_sorted, self.sample_ids.cpu()):
                raise InvalidValueError(
                    f"`sample_ids` must be the {self.num_samples} samples the tree was first grown on "
                    f"(got {n} samples{'' if n != self.num_samples else ' with different ids'}); "
                    "pass the representations of the same samples, recomputed with the current encoder."
                )
            parents = self.pseudo_labels[:, level - 2].cpu().numpy()
        points = self._cluster_space(reps)
        labels = np.empty(n, dtype=np.int64)
        for parent in range(self.level_sizes[level - 1]):
            members = np.flatnonzero(parents == parent)
            if members.size:
                labels[members] = parent * self.branching + self._split(points[members], parent)
        new = torch.from_numpy(labels)
        self.pseudo_labels[:, level - 1] = new.to(device)
        sizes = torch.bincount(new, minlength=self.level_sizes[level])
        self.node_sizes[self.level_slice(level)] = sizes.to(device)
        if level == 1:
            self.node_sizes[0] = n
        self._depth_grown.fill_(level)
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(n)
        return new[inverse]

    def _check_ids(self, sample_ids: Tensor | Sequence[int] | None, n: int) -> Tensor:
        if sample_ids is None:
            return torch.arange(n)
        if not isinstance(sample_ids, Tensor):
            try:
                sample_ids = torch.as_tensor(list(sample_ids))
            except (TypeError, ValueError, RuntimeError) as err:
                raise InvalidTypeError(
                    f"`sample_ids` must be a sequence of ints or a 1-D integer tensor: {err}"
                ) from err
        if sample_ids.is_floating_point() or sample_ids.is_complex() or sample_ids.dtype == torch.bool:
            raise InvalidTypeError(f"`sample_ids` must hold integers, got dtype {sample_ids.dtype}.")
        if sample_ids.shape != (n,):
            raise InvalidValueError(
                f"`sample_ids` must have shape ({n},) to match the batch, got {tuple(sample_ids.shape)}."
            )
        ids = sample_ids.detach().to("cpu", torch.long)
        if torch.unique(ids).numel() != n:
            raise InvalidValueError("`sample_ids` must be unique: every sample is clustered once.")
        return ids

    # -- pseudo-label supervision ------------------------------------------------------------
    def targets(self, sample_ids: Tensor | Sequence[int]) -> Tensor:
        """Pseudo-labels of the given samples at every grown level.

        Args:
            sample_ids: ``(B,)`` ids of samples the tree was grown on.

        Returns:
            ``(B, depth_grown)`` long tensor on the tree's device (node index within each level).

        Example:
            >>> import torch
            >>> tree = DegradationTree(depth=2, encoder_widths=(8, 16, 16))
            >>> _ = tree.grow(torch.randn(6, 32), sample_ids=[10, 11, 12, 13, 14, 15])
            >>> tree.targets([12, 10]).shape
            torch.Size([2, 1])
        """
        if self.depth_grown == 0:
            raise InvalidValueError("The tree has not been grown yet: call `grow(representations, sample_ids)` first.")
        if not isinstance(sample_ids, Tensor):
            sample_ids = torch.as_tensor(list(sample_ids))
        if sample_ids.is_floating_point() or sample_ids.ndim != 1:
            raise InvalidTypeError(
                f"`sample_ids` must be a 1-D integer tensor, got {sample_ids.dtype} {tuple(sample_ids.shape)}."
            )
        ids = sample_ids.to(self.sample_ids.device, torch.long)
        pos = torch.searchsorted(self.sample_ids, ids).clamp(max=self.num_samples - 1)
        unknown = self.sample_ids[pos] != ids
        if unknown.any():
            raise InvalidValueError(f"`sample_ids` holds ids the tree was not grown on: {ids[unknown][:10].tolist()}.")
        return self.pseudo_labels[pos, : self.depth_grown]

    def logits(self, degraded: Tensor) -> list[Tensor]:
        """Raw head outputs of levels ``1 … depth`` (``(B, branching**l)`` each).

        Example:
            >>> import torch
            >>> [t.shape[1] for t in DegradationTree().logits(torch.rand(1, 3, 16, 16))]
            [2, 4, 8]
        """
        check_image(degraded, "degraded", channels=self.in_channels, min_size=4, check_values=False)
        features = self.encoder(to_module_dtype(degraded, self))
        return [to_input_dtype(head(features), degraded.dtype) for head in self.heads]

    def pseudo_label_loss(self, degraded: Tensor, targets: Tensor) -> Tensor:
        """Cross-entropy of every grown level's head against its pseudo-labels, averaged over levels.

        Trains the heads and the encoder; gradients flow into both. Targets equal to ``-1``
        are ignored (e.g. samples added after the tree was grown).

        Args:
            degraded: ``(B, C, H, W)`` degraded images in ``[0, 1]``.
            targets: ``(B, depth_grown)`` long pseudo-labels, e.g. ``tree.targets(sample_ids)``.

        Returns:
            Scalar loss.

        Example:
            >>> import torch
            >>> tree = DegradationTree(encoder_widths=(8, 16, 16))
            >>> x = torch.rand(4, 3, 16, 16)
            >>> _ = tree.grow(tree.representation(x, torch.rand(4, 3, 16, 16)))
            >>> tree.pseudo_label_loss(x, tree.targets(torch.arange(4))).ndim
            0
        """
        if self.depth_grown == 0:
            raise InvalidValueError("The tree has not been grown yet: call `grow(representations, sample_ids)` first.")
        if not isinstance(targets, Tensor):
            raise InvalidTypeError(
                f"`targets` must be a torch.Tensor of shape (B, depth_grown), got {type(targets).__name__}."
            )
        if targets.is_floating_point() or targets.dtype == torch.bool:
            raise InvalidTypeError(f"`targets` must be an integer tensor, got dtype {targets.dtype}.")
        b = degraded.shape[0] if isinstance(degraded, Tensor) and degraded.ndim == 4 else None
        if targets.ndim != 2 or targets.shape[1] != self.depth_grown or (b is not None and targets.shape[0] != b):
            raise InvalidValueError(
                f"`targets` must have shape (B, depth_grown) = ({b}, {self.depth_grown}), got {tuple(targets.shape)}."
            )
        logits = self.logits(degraded)
        losses = []
        for level in range(self.depth_grown):
            t = targets[:, level].to(logits[level].device, torch.long)
            if (t >= self.level_sizes[level + 1]).any() or (t < -1).any():
                raise InvalidValueError(
                    f"`targets` at level {level + 1} must lie in -1..{self.level_sizes[level + 1] - 1}."
                )
            if (t >= 0).any():
                losses.append(F.cross_entropy(logits[level], t, ignore_index=-1))
        if not losses:
            return logits[0].sum() * 0.0
        return torch.stack(losses).mean()

    # -- inference (degraded only) ---------------------------------------------------------------
    def forward(self, degraded: Tensor) -> Tensor:
        """Soft memberships of every level, concatenated: the condition vector.

        Args:
            degraded: ``(B, C, H, W)`` degraded images in ``[0, 1]``, at least 4×4.

        Returns:
            ``(B, cond_dim)``; ``level_slice(l)`` of it sums to 1 for every level ``l``.

        Example:
            >>> import torch
            >>> tree = DegradationTree()
            >>> tree(torch.rand(2, 3, 32, 32)).shape
            torch.Size([2, 15])
        """
        logits = self.logits(degraded)
        b = degraded.shape[0]
        levels = [logits[0].new_ones(b, 1)]
        for level in range(1, self.depth + 1):
            if level <= self.depth_grown:
                levels.append(logits[level - 1].softmax(dim=1))
            else:  # not grown yet: the parent's membership, shared evenly by its children
                levels.append(levels[-1].repeat_interleave(self.branching, dim=1) / self.branching)
        return torch.cat(levels, dim=1)

    @torch.no_grad()
    def assign(self, degraded: Tensor) -> Tensor:
        """Hard node (argmax of the head) of every grown level: ``(B, depth_grown)`` long.

        Example:
            >>> import torch
            >>> DegradationTree().assign(torch.rand(2, 3, 16, 16)).shape  # nothing grown yet
            torch.Size([2, 0])
        """
        logits = self.logits(degraded)
        if self.depth_grown == 0:
            return torch.zeros(degraded.shape[0], 0, dtype=torch.long, device=degraded.device)
        return torch.stack([logits[level].argmax(dim=1) for level in range(self.depth_grown)], dim=1)

    # -- hub ------------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments (for ``save_pretrained``); how far it has grown is saved as buffers."""
        return {
            "in_channels": self.in_channels,
            "depth": self.depth,
            "branching": self.branching,
            "encoder_widths": list(self.encoder.widths),
            "n_crops": self.n_crops,
            "crop_size": self.crop_size,
            "cluster_space": self.cluster_space,
            "seed": self.seed,
        }

    def _load_from_state_dict(self, state_dict: dict[str, Tensor], prefix: str, *args: Any, **kwargs: Any) -> None:
        # the number of clustered samples is data, not configuration: size the buffers to the file
        for name in ("sample_ids", "pseudo_labels"):
            incoming = state_dict.get(prefix + name)
            if isinstance(incoming, Tensor) and incoming.shape != getattr(self, name).shape:
                setattr(self, name, torch.empty_like(incoming, device=getattr(self, name).device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
