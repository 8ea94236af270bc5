"""Stage 2: train a restoration network with the quality-aware loss (or plain L1 for baselines)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save as safetensors_bytes
from torch import Tensor, nn
from torch.utils.data import Dataset

from .._atomic import atomic_write_bytes
from .._seeding import stable_seed
from .._validation import check_int
from ..data.paired import POSITIVE_KEY
from ..errors import InvalidTypeError, InvalidValueError
from ..perceive.cfe import CompactFeatureExtractor
from ..perceive.losses import QualityAwareLoss
from ..perceive.losses.difficulty import ProxyPSNRDifficulty
from ..perceive.losses.proxies import ProxyLike
from .checkpoint import trainable_state_dict
from .config import TrainConfig
from .loop import Callback, ModelSpec, Trainer, resolve_model
from .probe import probe_set

__all__ = ["POSITIVE_KEY", "RestorationTrainer", "find_cfe", "two_views"]



def _carries_guidance(model: nn.Module) -> bool:
    """Whether ``model`` computes its own guidance, CFE included (:class:`~perceive_ir.models.PerceiveIRNet`)."""
    return all(callable(getattr(model, name, None)) for name in ("compute_guidance", "forward_with_guidance")) and (
        isinstance(getattr(model, "cfe", None), CompactFeatureExtractor)
    )


def find_cfe(model: nn.Module) -> CompactFeatureExtractor | None:
    """The built-in CFE of a wrapped model (``model.adapter.condition``), or ``None``.

    Example:
        >>> from perceive_ir import wrap_backbone
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
        >>> type(find_cfe(wrap_backbone(net, semantic_encoder=None, cond_dim=8, probe_size=16))).__name__
        'CompactFeatureExtractor'
    """
    adapter = getattr(model, "adapter", None)
    for source in getattr(adapter, "condition", ()):
        if isinstance(source, CompactFeatureExtractor):
            return source
    return None


def two_views(images: Tensor, positions: Sequence[int], size: int, seed: int, epoch: int) -> tuple[Tensor, Tensor]:
    """Two random ``size²`` crops of each image, drawn from ``(seed, epoch, position)`` alone.

    Depending only on each sample's global position in the epoch (not on the process or the
    micro-batch it lands in) keeps single- and multi-process runs identical.

    Example:
        >>> a, b = two_views(torch.rand(2, 3, 32, 32), [0, 1], 16, seed=0, epoch=0)
        >>> a.shape, b.shape
        (torch.Size([2, 3, 16, 16]), torch.Size([2, 3, 16, 16]))
    """
    h, w = images.shape[-2:]
    if size > min(h, w):
        raise InvalidValueError(f"`cfe_crop` ({size}) is larger than the training images ({h}×{w}).")
    first, second = [], []
    for image, position in zip(images, positions, strict=True):
        g = torch.Generator().manual_seed(stable_seed("views", seed, epoch, int(position)))
        ys = torch.randint(0, h - size + 1, (2,), generator=g).tolist()
        xs = torch.randint(0, w - size + 1, (2,), generator=g).tolist()
        first.append(image[:, ys[0] : ys[0] + size, xs[0] : xs[0] + size])
        second.append(image[:, ys[1] : ys[1] + size, xs[1] : xs[1] + size])
    return torch.stack(first), torch.stack(second)


def _cl_source(model: nn.Module, loss_fn: QualityAwareLoss | None) -> str | None:
    """Where L_cl's embeddings come from; an error when its weight is nonzero and the model has no CFE."""
    if loss_fn is None or loss_fn.weights.cl == 0:
        return None
    if _carries_guidance(model):
        return "positive"
    if find_cfe(model) is not None:
        return "views"
    raise InvalidValueError(
        f"The loss weights L_cl by {loss_fn.weights.cl}, but {type(model).__name__} has no CFE to compute it from "
        "(a PerceiveIRNet, or a wrap_backbone model conditioned on the CFE): set the `cl` weight to 0 "
        "(recipe: loss.weights.cl=0) or train a model with a CFE."
    )


class _RestorationStep(nn.Module):
    """One training step's computation, wrapped as a whole by DDP."""

    def __init__(
        self, model: nn.Module, loss_fn: QualityAwareLoss | None, callbacks: Sequence[Callback], cl: str | None = None
    ) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn  # holds the frozen proxy restorers; only `model` is trained and saved
        self.callbacks = list(callbacks)
        self.cl = cl  # where L_cl's two embeddings come from: "positive", "views" or None (weight 0)

    def train(self, mode: bool = True) -> _RestorationStep:
        """Train mode for the model only; the loss (frozen critics) stays in eval mode."""
        super().train(mode)
        if self.loss_fn is not None:
            self.loss_fn.eval()
        return self

    def forward(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        degraded, clean = batch["degraded"], batch["clean"]
        z = z_positive = None
        model: Any = self.model  # duck-typed: a guided network has compute_guidance / forward_with_guidance / cfe
        if _carries_guidance(model):
            # the authors' train.py: the CFE embedding that conditions the network is the anchor of L_cl,
            # the CFE of another crop of the same degraded image its positive
            guidance = model.compute_guidance(degraded)
            restored = model.forward_with_guidance(degraded, guidance)
            if self.cl == "positive":
                z, z_positive = guidance.degradation, model.cfe(batch[POSITIVE_KEY])
        else:
            restored = model(degraded)
            if self.cl == "views":
                cfe = find_cfe(self.model)
                z, z_positive = cfe(batch["view_a"]), cfe(batch["view_b"])  # type: ignore[misc]
        if not isinstance(restored, Tensor):
            raise InvalidTypeError(f"The model must return a tensor, got {type(restored).__name__}.")
        if self.loss_fn is None:
            loss = F.l1_loss(restored, clean)
            terms = {"rec": loss.detach()}
        else:
            out = self.loss_fn(
                restored.float(), clean, degraded, tasks=batch["task"],
                z=z, z_positive=z_positive, labels=batch["task"] if z is not None else None,
            )
            loss, terms = out.loss, dict(out.terms)
        for cb in self.callbacks:
            for name, value in cb.loss_terms(self.model, batch).items():
                loss = loss + value
                terms[name] = value.detach()
        return loss, terms


class RestorationTrainer(Trainer):
    """Stage 2 of Perceive-IR: ``L_rec + λ1·L_cl + λ2·L_clip + λ3·L_dpl`` on task-balanced batches.

    * ``loss="l1"`` trains a baseline with L1 alone; a :class:`~perceive_ir.QualityAwareLoss`
      trains with the full quality-aware objective.
    * ``L_cl`` (loss weight ``cl > 0``), as the authors' ``train.py`` computes it for their
      network: for a :class:`~perceive_ir.models.PerceiveIRNet`, the anchor is the CFE
      embedding that conditions the network (of the input crop) and the positive the CFE of
      the batch's ``degraded_positive`` (another crop of the same degraded image: build the
      datasets with ``positive=True``). For a :func:`~perceive_ir.wrap_backbone` model with the
      built-in CFE [ours: the retrofit], two ``cfe_crop²`` crops of each degraded image are
      embedded and contrasted. Negatives come from the other samples of the global batch
      (gathered across processes) with another task id. A model with no CFE and a nonzero
      ``cl`` weight is an error: no term with a nonzero weight is left out.
    * ``proxies``: frozen proxy restorers whose outputs are the medium-quality negatives of
      ``L_dpl``, added to the loss's own (each masked to the tasks it is valid for); with the
      ``"proxy_psnr"`` difficulty rule, their PSNR and the model's are re-measured per task on
      a fixed probe set (:func:`~perceive_ir.training.probe_set`) at the start of every epoch,
      and the weights ``a/<proxy>/<task>`` are logged in ``metrics.csv``.
    * Accelerate handles devices, DDP, mixed precision; the loop handles accumulation,
      checkpoints (``checkpoints/step-*``), exact resume and ``metrics.csv``.

    At the end the main process writes ``model.safetensors`` (trainable state of the model)
    and, with ``save_pretrained``, ``adapter/`` for a wrapped backbone or ``pretrained/`` for a
    complete network such as :class:`~perceive_ir.models.PerceiveIRNet` (``load_model`` reads it).

    Args:
        model: The restoration model, or a zero-argument callable building it (called after
            seeding, on every process).
        datasets: Per-task datasets of ``{"degraded", "clean", "task", ...}`` crops.
        config: :class:`TrainConfig`.
        loss: ``"l1"`` or a :class:`~perceive_ir.QualityAwareLoss`.
        repeats: Task-balancing repeat factors (see :class:`~perceive_ir.data.TaskBalancedSampler`).
        proxies: More proxy restorers for the medium negatives (:class:`~perceive_ir.Proxy`
            objects or image-to-image callables; frozen here), after the loss's own.
        probe_samples: Samples per task of the fixed probe set of the PSNR difficulty rule
            (the authors' code: 24).
        cfe_crop: Side of the two CFE crops of a wrapped model (default: half the training crop).
        callbacks: :class:`~perceive_ir.training.Callback` objects (e.g. ``TreeGrowthCallback``).
        accelerator: An ``accelerate.Accelerator`` (default: built from ``config``).

    Raises:
        ValueError: a bad ``loss``; proxies with ``loss="l1"``; a nonzero ``cl`` weight for a
            model without a CFE; at the first step, a PerceiveIRNet batch without ``degraded_positive``.

    Example:
        >>> import tempfile
        >>> from torch.utils.data import Dataset
        >>> class Pairs(Dataset):
        ...     task = "denoise"
        ...     def __len__(self): return 4
        ...     def __getitem__(self, i):
        ...         clean = torch.full((3, 16, 16), i / 4)
        ...         return {"degraded": (clean + 0.1).clamp(0, 1), "clean": clean, "task": 0}
        >>> cfg = TrainConfig(output_dir=tempfile.mkdtemp(), batch_size=2, max_steps=2, progress=False)
        >>> trainer = RestorationTrainer(lambda: nn.Conv2d(3, 3, 3, padding=1), [Pairs()], cfg)
        >>> [sorted(row) for row in trainer.train()][0]
        ['epoch', 'loss', 'lr', 'rec', 'step']
    """

    def __init__(
        self,
        model: ModelSpec,
        datasets: Dataset | Sequence[Dataset],
        config: TrainConfig,
        *,
        loss: str | QualityAwareLoss = "l1",
        repeats: Sequence[int] | Mapping[str, int] | None = None,
        proxies: Sequence[ProxyLike] = (),
        probe_samples: int = 24,
        cfe_crop: int | None = None,
        callbacks: Sequence[Callback] = (),
        accelerator: Any = None,
    ) -> None:
        super().__init__(datasets, config, repeats=repeats, callbacks=callbacks, accelerator=accelerator)
        from accelerate.utils import set_seed

        set_seed(config.seed)
        self.model = resolve_model(model)
        if loss == "l1":
            loss_fn = None
        elif isinstance(loss, QualityAwareLoss):
            loss_fn = loss
        else:
            raise InvalidValueError(f"`loss` must be 'l1' or a QualityAwareLoss, got {loss!r}.")
        if proxies and loss_fn is None:
            raise InvalidValueError(
                "`proxies` are medium negatives of the quality-aware loss; loss='l1' does not use them."
            )
        for i, p in enumerate(proxies):
            if not callable(p):
                raise InvalidTypeError(f"`proxies[{i}]` must be a proxy restorer (a callable), got {type(p).__name__}.")
        if proxies:
            loss_fn.add_proxies(list(proxies))  # type: ignore[union-attr]
        self.loss_fn = loss_fn
        self.cl_source = _cl_source(self.model, loss_fn)
        self.use_cl = self.cl_source is not None
        if cfe_crop is not None and self.cl_source == "positive":
            raise InvalidValueError(
                f"`cfe_crop` ({cfe_crop}) sizes the two views of a wrapped model's CFE; {type(self.model).__name__} "
                f"contrasts its input crop with `{POSITIVE_KEY}` (the datasets' positive crop) instead: leave it out."
            )
        self.cfe_crop = cfe_crop
        device = self.accelerator.device
        self.model.to(device)
        step = _RestorationStep(self.model, loss_fn, self.callbacks, self.cl_source)
        if loss_fn is not None:
            loss_fn.to(device)
        measured = loss_fn is not None and len(loss_fn.proxies) > 0 and isinstance(self._rule, ProxyPSNRDifficulty)
        check_int(probe_samples, "probe_samples")
        self.probe = probe_set(self.dataset, probe_samples, config.seed) if measured else None
        self._setup(step)

    @property
    def _rule(self) -> Any:
        return self.loss_fn.difficulty if self.loss_fn is not None else None

    def _step_inputs(self, batch: dict[str, Any]) -> dict[str, Any]:
        if self.cl_source == "positive" and POSITIVE_KEY not in batch:
            raise InvalidValueError(
                f"L_cl needs the batch key `{POSITIVE_KEY}` (another crop of the same degraded image, the CFE "
                "positive of the authors' code): build the datasets with positive=True (recipe: data.positive: true)."
            )
        if self.cl_source == "views":
            size = self.cfe_crop or max(8, batch["degraded"].shape[-1] // 2)
            positions = batch["position"].tolist()
            a, b = two_views(batch["degraded"], positions, size, self.config.seed, self.epoch)
            batch = {**batch, "view_a": a, "view_b": b}
        return batch

    def on_epoch_start(self, epoch: int) -> None:
        """With a probe set: re-measure the difficulty weights; every rank then uses rank 0's measurement."""
        if self.probe is None:
            return
        from accelerate.utils import broadcast_object_list

        with self.accelerator.autocast():  # in the run's precision, as the authors' epoch probe (epoch_probe.py)
            self.loss_fn.update_difficulty(self.model, self.probe, device=self.accelerator.device)  # type: ignore[union-attr]
        # every rank uses rank 0's measurement, so the ranks' losses stay consistent
        (state,) = broadcast_object_list([self._rule.state_dict()])
        self._rule.load_state_dict(state)
        psnr = " ".join(f"{k}={v:.2f}" for k, v in self._rule.last_psnr.items())
        self.log_text(f"epoch {epoch}: probe PSNR {psnr} -> difficulty weights {self._rule.current}")

    def extra_logs(self) -> dict[str, float]:
        """The difficulty weights in force, ``a/<proxy>/<task>``, for every row of ``metrics.csv``."""
        return self._rule.logged() if isinstance(self._rule, ProxyPSNRDifficulty) else {}

    def extra_state(self) -> dict[str, Any]:
        """The difficulty rule's state, when the loss has one."""
        return {"difficulty": self._rule.state_dict()} if self._rule is not None else {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore the difficulty rule's state saved by :meth:`extra_state`."""
        if self._rule is not None and "difficulty" in state:
            self._rule.load_state_dict(state["difficulty"])

    def on_train_end(self) -> None:
        """Save the trainable weights to ``model.safetensors``, and the adapter or the complete network."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.output_dir / "model.safetensors", safetensors_bytes(trainable_state_dict(self.model)))
        model: Any = self.model  # a wrapped backbone or a complete network with save_pretrained, or neither
        if hasattr(model, "save_pretrained") and hasattr(model, "adapter"):
            model.save_pretrained(self.output_dir / "adapter")
        elif hasattr(model, "save_pretrained"):  # a complete network (PerceiveIRNet): load_model reads it
            model.save_pretrained(self.output_dir / "pretrained")
        self.log_text(f"saved the trained model to {self.output_dir}")
