"""The quality-aware loss of Perceive-IR stage 2, for the user's own training loop."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence, Union

import torch
from torch import Tensor, nn

from ..._validation import OUTPUT_RANGE_SLACK, check_image, check_same_shape, to_input_dtype, to_module_dtype
from ...errors import InvalidTypeError, InvalidValueError
from ..perceiver import QualityPerceiver
from .difficulty import DifficultyRule, ProxyPSNRDifficulty, resolve_difficulty
from .feature_spaces import FeatureSpace, resolve_feature_space
from .functional import (
    clip_quality_term,
    contrastive_term,
    encode_references,
    encode_restored,
    medium_negative_weights,
    perceptual_term,
    restoration_term,
)
from .proxies import Proxy, ProxyLike, as_proxies, task_ids

__all__ = ["LossWeights", "QualityAwareLoss", "QualityAwareLossOutput", "MediumNegatives", "PAPER_FEATURE_SPACE"]

#: What ``medium=`` accepts: a tensor, a proxy restorer (a :class:`Proxy` or any callable), or a sequence of them.
MediumNegatives = Union[Tensor, nn.Module, Sequence[Union[Tensor, nn.Module, Callable[[Tensor], Tensor]]], None]

#: The default feature space of ``L_dpl``: the paper's ImageNet VGG-16 (relu1_2, relu2_2, relu3_1, relu3_3).
PAPER_FEATURE_SPACE = "vgg16"

_MIN_SIZE = 8
_TERMS = ("rec", "cl", "clip", "dpl")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the four terms: ``L = rec·L_rec + cl·L_cl + clip·L_clip + dpl·L_dpl``.

    Defaults are the paper's best ``(λ1, λ2, λ3) = (0.1, 0.05, 0.1)`` with ``L_rec`` = L1.
    A weight of 0 skips the term's computation entirely.
    """

    rec: float = 1.0
    cl: float = 0.1
    clip: float = 0.05
    dpl: float = 0.1

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, (int, float)) or value < 0:
                raise InvalidValueError(f"Loss weight `{name}` must be a non-negative number, got {value!r}.")


@dataclass
class QualityAwareLossOutput:
    """Result of :class:`QualityAwareLoss`.

    Attributes:
        loss: Weighted scalar total, ready for ``backward()``.
        terms: Detached unweighted terms that were computed: ``rec``, ``clip``, ``dpl``, ``cl``.
        medium_weights: Detached ``(B, K)`` difficulty weights used for the medium negatives.
    """

    loss: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)
    medium_weights: Tensor | None = None


class QualityAwareLoss(nn.Module):
    """``L = L_rec + λ1·L_cl + λ2·L_clip + λ3·L_dpl`` — drop into any restoration training loop.

    * ``L_rec``: L1 between restored and target.
    * ``L_clip``: ``mean(1 − p_high)`` of the restored image under the frozen perceiver
      (with CLIP's logit scale, so the softmax is not flat).
    * ``L_dpl``: difficulty-adaptive perceptual loss with the target as positive, the degraded
      input as easy negative and the ``medium`` images as weighted negatives.
    * ``L_cl``: the authors' InfoNCE on CFE embeddings (the other degradations' detached
      anchors as negatives; :func:`~perceive_ir.perceive.contrastive.degradation_contrastive_loss`),
      when ``z`` and ``z_positive`` are given.

    Defaults are the paper's: λ = (0.1, 0.05, 0.1), ``L_dpl`` in the frozen ImageNet VGG-16
    (relu1_2, relu2_2, relu3_1, relu3_3 with weights 1/12, 1/6, 1/3, 1), and the per-epoch
    PSNR difficulty rule (``a_k`` = 1.25 / 0.75, one line per epoch:
    :meth:`update_difficulty`). Proxy restorers given as ``proxies=`` render the medium
    negatives of every batch, each only for the samples of the tasks it is valid for (the
    mask ``m_k``; pass ``tasks=`` to :meth:`forward`). See docs/quality_aware_loss.md,
    "Fidelity to the paper".

    Each term is a function of :mod:`perceive_ir.perceive.losses.functional`, callable on its own
    with the same value; this module checks the inputs, runs the frozen encoders and adds the
    weighted terms. Frozen encoders run once per call on everything that needs them: one forward+backward of
    the feature space on the restored batch, and one ``no_grad`` forward covering target,
    degraded and medium images together (with the CLIP feature space, the forward with
    gradient also serves ``L_clip``).

    Args:
        perceiver: A trained :class:`QualityPerceiver`; it is frozen here (prompts included).
            May be ``None`` only when no term needs it.
        weights: A :class:`LossWeights` or a mapping with some of ``rec``, ``cl``, ``clip``, ``dpl``.
        feature_space: A name in :data:`~perceive_ir.perceive.losses.FEATURE_SPACES`:
            ``"vgg16"`` (default, the paper's: torchvision VGG-16 with ImageNet weights, read
            from torch's hub cache or ``$PERCEIVE_IR_VGG16_WEIGHTS``; offline and missing, a
            :class:`~perceive_ir.perceive.losses.VGG16WeightsNotFoundError` says where to put
            the file), ``"clip"`` (the perceiver's vision tower, no extra download, not the
            paper's) or one you registered; a :class:`FeatureSpace` (e.g.
            ``VGG16FeatureSpace(weights="/path/vgg16-397923af.pth")``); or a callable
            returning a list of feature maps.
        difficulty: ``"proxy_psnr"`` (default, the paper's per-epoch rule, per task; call
            :meth:`update_difficulty` once per epoch), ``"proxy_psnr_sample"`` (the authors'
            code: each sample's proxy PSNR against the model's mean probe PSNR),
            ``"perceiver"`` (per-sample rule from the perceiver's scores), another name in
            :data:`~perceive_ir.perceive.losses.DIFFICULTY_RULES`, fixed number(s), or a
            :class:`DifficultyRule`.
        layer_weights: Per-layer weights of the feature space (default the paper's for four
            layers, uniform otherwise).
        proxies: Proxy restorers whose outputs are the medium negatives ``M_k``: any
            image-to-image callable, or a :class:`~perceive_ir.perceive.losses.Proxy` that also
            names the tasks it is valid for. They are frozen and run under ``no_grad``.
        clip_logit_scale: ``L_clip`` from CLIP's scaled logits (default). ``False`` uses the
            raw cosines, as the authors' released code does (see
            :meth:`QualityPerceiver.quality_loss <perceive_ir.perceive.perceiver.QualityPerceiver.quality_loss>`;
            that softmax is nearly flat and its gradient small).
        degenerate: What ``L_cl`` does for a sample without negatives (a batch of one, or one
            degradation label): ``"warn"`` once or ``"raise"`` (see
            :func:`~perceive_ir.perceive.contrastive.degradation_contrastive_loss`).

    Example:
        >>> import torch
        >>> tiny = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 4, "width": 32,
        ...     "patch_size": 16, "head_width": 16}, "text_cfg": {"context_length": 77,
        ...     "vocab_size": 49408, "width": 16, "heads": 1, "layers": 1}}
        >>> from perceive_ir import QualityPerceiver
        >>> from perceive_ir.perceive.losses import Proxy, VGG16FeatureSpace
        >>> vgg = VGG16FeatureSpace(weights=None)  # offline stand-in; the default loads ImageNet weights
        >>> blur = Proxy(lambda x: torch.nn.functional.avg_pool2d(x, 3, 1, 1), tasks=["denoise"])
        >>> loss_fn = QualityAwareLoss(QualityPerceiver(tiny, None, n_ctx=4), feature_space=vgg, proxies=[blur])
        >>> degraded, clean = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
        >>> restored = degraded.clone().requires_grad_()
        >>> out = loss_fn(restored, clean, degraded, tasks=["denoise", "dehaze"])
        >>> out.loss.backward()
        >>> sorted(out.terms), restored.grad is not None, out.medium_weights.tolist()
        (['clip', 'dpl', 'rec'], True, [[1.0], [0.0]])
    """

    def __init__(
        self,
        perceiver: QualityPerceiver | None,
        weights: LossWeights | Mapping[str, float] | None = None,
        feature_space: str | FeatureSpace | Callable[[Tensor], Sequence[Tensor]] = PAPER_FEATURE_SPACE,
        difficulty: str | float | Sequence[float] | DifficultyRule = "proxy_psnr",
        layer_weights: Sequence[float] | None = None,
        proxies: ProxyLike | Sequence[ProxyLike] | None = None,
        clip_logit_scale: bool = True,
        degenerate: Literal["warn", "raise"] = "warn",
    ) -> None:
        super().__init__()
        if degenerate not in ("warn", "raise"):
            raise InvalidValueError(f"`degenerate` must be 'warn' or 'raise', got {degenerate!r}.")
        self.degenerate = degenerate
        if not isinstance(clip_logit_scale, bool):
            raise InvalidTypeError(f"`clip_logit_scale` must be a bool, got {type(clip_logit_scale).__name__}.")
        self.clip_logit_scale = clip_logit_scale
        self.weights = _loss_weights(weights)
        self.difficulty = resolve_difficulty(difficulty)
        if perceiver is not None and not isinstance(perceiver, QualityPerceiver):
            raise InvalidTypeError(f"`perceiver` must be a QualityPerceiver or None, got {type(perceiver).__name__}.")
        self.perceiver = perceiver.freeze() if perceiver is not None else None
        self.feature_space: FeatureSpace = resolve_feature_space(feature_space, self.perceiver, layer_weights)
        if self.weights.clip > 0:
            self._require_perceiver("a non-zero `clip` weight")
        if self.difficulty.needs_scores:
            self._require_perceiver("difficulty='perceiver'")
        self.proxies = nn.ModuleList(as_proxies(proxies))
        self._warned_unmeasured = False

    def add_proxies(self, proxies: ProxyLike | Sequence[ProxyLike]) -> None:
        """Append proxy restorers (named ``proxy<k>`` by position unless they are named :class:`Proxy` objects).

        Raises:
            ValueError: a name is already taken.
        """
        added = as_proxies(proxies, first_index=len(self.proxies))
        names = [p.name for p in self.proxies] + [p.name for p in added]
        if len(set(names)) != len(names):
            raise InvalidValueError(f"Proxy names must be unique, got {names}.")
        self.proxies.extend(added)

    def update_difficulty(
        self, model: Callable[[Tensor], Tensor], probe: Iterable[Any], device: torch.device | str | None = None
    ) -> dict[str, list[float | None]]:
        """Re-measure the difficulty weights ``a_k`` on a fixed probe set: call it once per epoch.

        The paper's rule (:class:`ProxyPSNRDifficulty`): per task, ``a_k = 1.25`` when proxy
        ``k`` scores a PSNR at or below the current model on the probe images, else 0.75.

        Args:
            model: The network being trained (switched to eval mode for the probe, then back).
            probe: The same probe batches every epoch: ``(degraded, clean, tasks)`` tuples or
                dataset dicts (:func:`perceive_ir.training.probe_set` builds one).
            device: Device to measure on (default: the probe's).

        Returns:
            Task name → one weight per proxy (``None`` where a proxy is not valid for the task).

        Raises:
            ValueError: the loss has no proxies, or its difficulty rule is not measured on a probe set.
        """
        if not isinstance(self.difficulty, ProxyPSNRDifficulty):
            raise InvalidValueError(
                f"update_difficulty needs difficulty='proxy_psnr', this loss uses {type(self.difficulty).__name__}."
            )
        if not len(self.proxies):
            raise InvalidValueError("update_difficulty needs proxy restorers: pass `proxies=` to the loss.")
        return self.difficulty.measure(model, list(self.proxies), probe, device=device)

    def _require_perceiver(self, what: str) -> None:
        if self.perceiver is None:
            raise InvalidValueError(f"{what} needs a QualityPerceiver; pass `perceiver=`.")

    def _mediums(
        self, medium: MediumNegatives, degraded: Tensor, tasks: Tensor | None
    ) -> tuple[list[Tensor], Tensor | None]:
        """The medium negatives (the loss's proxies first, then ``medium=``) and their ``(B, K)`` validity mask."""
        items: list[Any] = list(self.proxies)
        if medium is not None:
            items += [medium] if isinstance(medium, (Tensor, nn.Module)) else list(medium)
        tensors, masks = [], []
        for k, item in enumerate(items):
            if isinstance(item, Tensor):
                out, mask = item, None
            elif isinstance(item, Proxy):
                mask = item.valid_mask(tasks, degraded.shape[0]).to(degraded.device)
                out = item.render(degraded, tasks, mask=mask)
            elif callable(item):  # a bare restorer of this call: valid for every task, run as it is
                with torch.no_grad():
                    out, mask = item(degraded), None
                if not isinstance(out, Tensor):
                    raise InvalidTypeError(
                        f"Proxy restorer medium[{k}] returned {type(out).__name__}, expected a tensor."
                    )
            else:
                raise InvalidTypeError(
                    f"`medium[{k}]` must be a tensor or a proxy restorer, got {type(item).__name__}."
                )
            what = f"proxy {item.name!r}" if isinstance(item, Proxy) and k < len(self.proxies) else f"medium[{k}]"
            check_image(out, what, slack=OUTPUT_RANGE_SLACK, min_size=_MIN_SIZE)
            check_same_shape(out, what, degraded, "degraded")
            tensors.append(out.detach())
            masks.append(mask)
        if all(m is None for m in masks):
            return tensors, None
        ones = torch.ones(degraded.shape[0], dtype=torch.bool, device=degraded.device)
        return tensors, torch.stack([ones if m is None else m for m in masks], dim=1)

    def forward(
        self,
        restored: Tensor,
        target: Tensor,
        degraded: Tensor,
        medium: MediumNegatives = None,
        z: Tensor | None = None,
        z_positive: Tensor | None = None,
        labels: Tensor | None = None,
        tasks: Tensor | Sequence[str | int] | None = None,
    ) -> QualityAwareLossOutput:
        """Compute the loss.

        Args:
            restored: Network output ``(B, 3, H, W)``, values in ``[-1, 2]`` tolerated.
            target: Clean ground truth, same shape, in ``[0, 1]``.
            degraded: The network's input, same shape, in ``[0, 1]``.
            medium: More medium-quality negatives for this batch, after the loss's ``proxies``:
                tensors, proxy restorers (called on ``degraded`` under ``no_grad``) or a
                sequence of them.
            z: Unit-norm CFE embeddings ``(B, D)`` of one crop of ``degraded`` (anchor of ``L_cl``).
            z_positive: CFE embeddings of another crop of the same images.
            labels: Optional ``(B,)`` integer degradation labels for ``L_cl``.
            tasks: The samples' tasks (``(B,)`` ids or names): they select each proxy's mask
                ``m_k`` and the per-task difficulty weights. Required when a proxy is
                restricted to some tasks or the weights were measured per task.

        Returns:
            :class:`QualityAwareLossOutput` with ``.loss``, ``.terms`` and ``.medium_weights``
            (``a_k · m_k`` per sample). Images of any floating-point dtype are computed in the
            loss's own dtype; ``.loss`` comes back in ``restored``'s dtype.
        """
        self._check_inputs(restored, target, degraded, z, z_positive)
        in_dtype = restored.dtype
        restored, target, degraded = (to_module_dtype(t, self) for t in (restored, target, degraded))
        w = self.weights
        self._warn_if_unmeasured()
        task_tensor = None if tasks is None else task_ids(tasks, restored.shape[0]).to(restored.device)
        mediums, masks = self._mediums(medium, degraded, task_tensor) if w.dpl > 0 else ([], None)
        mediums = [to_module_dtype(m, self) for m in mediums]
        need_scores = w.dpl > 0 and len(mediums) > 0 and self.difficulty.needs_scores
        terms: dict[str, Tensor] = {}

        total = w.rec * restoration_term(restored, target) if w.rec > 0 else restored.new_zeros(())
        if w.rec > 0:
            terms["rec"] = restoration_term(restored.detach(), target)
        embedding, restored_features = encode_restored(
            restored, self.feature_space, self.perceiver, need_features=w.dpl > 0,
            need_embedding=w.clip > 0 or need_scores,
        )
        if w.clip > 0:
            assert self.perceiver is not None and embedding is not None  # checked when the loss was built
            terms["clip"] = clip_quality_term(self.perceiver, embedding, logit_scale=self.clip_logit_scale)
            total = total + w.clip * terms["clip"]
        medium_weights = None
        if w.dpl > 0:
            assert restored_features is not None
            terms["dpl"], medium_weights = self._dpl(
                restored_features, embedding, target, degraded, mediums, masks, task_tensor, need_scores
            )
            total = total + w.dpl * terms["dpl"]
        if z is not None and z_positive is not None and w.cl > 0:
            terms["cl"] = contrastive_term(z, z_positive, labels, degenerate=self.degenerate)
            total = total + w.cl * terms["cl"]

        return QualityAwareLossOutput(
            loss=to_input_dtype(total, in_dtype),
            terms={name: term.detach() for name, term in terms.items()},
            medium_weights=medium_weights.detach() if medium_weights is not None else None,
        )

    def _dpl(
        self,
        restored_features: list[Tensor],
        embedding: Tensor | None,
        target: Tensor,
        degraded: Tensor,
        mediums: list[Tensor],
        masks: Tensor | None,
        tasks: Tensor | None,
        need_scores: bool,
    ) -> tuple[Tensor, Tensor | None]:
        """``L_dpl`` and the ``(B, K)`` weights of its medium negatives (``None`` without any)."""
        references = encode_references(
            self.feature_space, target, degraded, mediums, self.perceiver, need_medium_embedding=need_scores
        )
        medium_weights = None
        if mediums:
            medium_weights = medium_negative_weights(
                self.difficulty, mediums, target, perceiver=self.perceiver, restored_embedding=embedding,
                medium_embedding=references.medium_embedding, tasks=tasks, masks=masks,
            )
        dpl = perceptual_term(restored_features, references, medium_weights, self.feature_space.layer_weights)
        return dpl, medium_weights

    def _check_inputs(
        self, restored: Tensor, target: Tensor, degraded: Tensor, z: Tensor | None, z_positive: Tensor | None
    ) -> None:
        check_image(restored, "restored", slack=OUTPUT_RANGE_SLACK, min_size=_MIN_SIZE)
        check_image(target, "target", min_size=_MIN_SIZE)
        check_image(degraded, "degraded", min_size=_MIN_SIZE)
        check_same_shape(restored, "restored", target, "target")
        check_same_shape(degraded, "degraded", target, "target")
        if (z is None) != (z_positive is None):
            raise InvalidValueError(
                "`z` and `z_positive` must be given together (two crops of the same degraded images)."
            )

    def _warn_if_unmeasured(self) -> None:
        """Warn once when the PSNR rule's weights are used before their first measurement."""
        rule = self.difficulty
        measured = not isinstance(rule, ProxyPSNRDifficulty) or rule.current is not None
        if self.weights.dpl > 0 and len(self.proxies) and not measured:
            if not self._warned_unmeasured:
                self._warned_unmeasured = True
                warnings.warn(
                    "The difficulty weights a_k are 1.0 until they are measured: call "
                    "loss_fn.update_difficulty(model, probe) once per epoch (perceive_ir.training.probe_set builds "
                    "the probe). RestorationTrainer and the recipes do it for you.",
                    stacklevel=3,  # the caller of forward, as before the warning moved here
                )


def _loss_weights(weights: LossWeights | Mapping[str, float] | None) -> LossWeights:
    """``weights=`` as :class:`LossWeights`: a mapping's unknown terms are refused."""
    if isinstance(weights, Mapping):
        unknown = set(weights) - set(_TERMS)
        if unknown:
            raise InvalidValueError(f"`weights` has unknown terms {sorted(unknown)}; expected rec, cl, clip, dpl.")
        return LossWeights(**weights)
    if weights is None:
        return LossWeights()
    if not isinstance(weights, LossWeights):
        raise InvalidTypeError(f"`weights` must be a LossWeights or a mapping, got {type(weights).__name__}.")
    return weights
