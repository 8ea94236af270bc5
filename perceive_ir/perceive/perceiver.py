"""The quality perceiver: frozen CLIP + three learnt tier prompts (Perceive-IR stage 1)."""

from __future__ import annotations

import os
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED
from .._validation import OUTPUT_RANGE_SLACK, check_image, to_input_dtype, to_module_dtype
from ..errors import InvalidValueError
from ..hub import HubMixin
from .clip_loading import load_clip, portable_clip_source
from .official_prompts import OfficialCheckpointError, OfficialPrompts, load_official_prompts
from .prompts import DEFAULT_TIER_WORDS, PROMPT_STYLES, TIERS, TierPrompts

__all__ = ["QualityPerceiver"]

# Expected tier position used by ``score``: low → 0, medium → 0.5, high → 1.
_TIER_VALUES = (0.0, 0.5, 1.0)


class QualityPerceiver(nn.Module, HubMixin):
    """Rates restoration quality as low / medium / high with a frozen CLIP and learnt prompts.

    Only the prompt context (``prompts.ctx``) trains; CLIP stays frozen and in eval mode even
    when the perceiver is put in train mode. Resizing to CLIP's input size and CLIP
    normalisation happen inside and are differentiable, so a loss on the score reaches the
    input image. Once the prompts are trained, the tier text features are cached: scoring
    then costs one CLIP image forward.

    Args:
        clip_model: open_clip model name (``"ViT-B-32"``), ``"hf-hub:org/repo"`` /
            ``"local-dir:/path"`` id, or an open_clip config dict.
        clip_pretrained: open_clip pretrained tag or file for a plain model name (the paper:
            OpenAI ViT-B/32, ``"openai"``); with a config dict, ``None`` (random weights) or a
            local state-dict file; ``None`` with an id.
        n_ctx: Learnable context vectors per tier (the paper: 16).
        tier_words: Words initialising the last context vector of each tier.
        style: ``"perceive-ir"``, or ``"official"``: the authors' released pipeline, which
            :meth:`from_official` uses — their prompt layout (see
            :class:`~perceive_ir.perceive.prompts.TierPrompts`) and their image preprocessing
            (bicubic resize to CLIP's size *without* antialiasing, always applied).

    Example:
        >>> import torch
        >>> tiny = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32,
        ...     "patch_size": 16, "head_width": 16}, "text_cfg": {"context_length": 77,
        ...     "vocab_size": 49408, "width": 16, "heads": 1, "layers": 1}}
        >>> perceiver = QualityPerceiver(clip_model=tiny, clip_pretrained=None, n_ctx=4)
        >>> images = torch.rand(2, 3, 48, 48)
        >>> perceiver(images).shape, perceiver.score(images).shape
        (torch.Size([2, 3]), torch.Size([2]))
    """

    clip: Any  # an open_clip CLIP: open_clip has no type stubs, its towers' attributes vary by model
    prompts: TierPrompts
    pixel_mean: Tensor
    pixel_std: Tensor

    def __init__(
        self,
        clip_model: str | dict[str, Any] = DEFAULT_CLIP_MODEL,
        clip_pretrained: str | None = DEFAULT_CLIP_PRETRAINED,
        n_ctx: int = 16,
        tier_words: Sequence[str] = DEFAULT_TIER_WORDS,
        style: str = "perceive-ir",
    ) -> None:
        super().__init__()
        if style not in PROMPT_STYLES:
            raise InvalidValueError(f"`style` must be one of {PROMPT_STYLES}, got {style!r}.")
        clip_model, clip_pretrained = portable_clip_source(clip_model, clip_pretrained)
        loaded = load_clip(clip_model, clip_pretrained)
        self.clip = loaded.model.requires_grad_(False).eval()
        self.prompts = TierPrompts(self.clip, loaded.tokenizer, n_ctx=n_ctx, tier_words=tier_words, style=style)
        self.style = style
        self.register_buffer("pixel_mean", torch.tensor(loaded.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(loaded.std).view(1, 3, 1, 1), persistent=False)
        self.image_size = loaded.image_size
        self._clip_has_source = loaded.has_source
        self._config = {
            "clip_model": clip_model,
            "clip_pretrained": clip_pretrained,
            "n_ctx": n_ctx,
            "tier_words": list(tier_words),
            "style": style,
        }
        self._text_cache: tuple[tuple[Any, ...], Tensor] | None = None

    # -- modes -------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> QualityPerceiver:
        """Set train mode on the prompts; CLIP always stays in eval mode."""
        super().train(mode)
        self.clip.eval()
        return self

    def freeze(self) -> QualityPerceiver:
        """Freeze the prompts too (stage 2 uses the perceiver as a fixed critic); returns ``self``."""
        self.requires_grad_(False)
        return self.eval()

    @property
    def tiers(self) -> tuple[str, str, str]:
        """Names of the logit columns: ``("low", "medium", "high")``."""
        return TIERS

    # -- features ----------------------------------------------------------------------------
    def text_features(self) -> Tensor:
        """``(3, D)`` normalised tier features; cached while the prompts cannot change."""
        ctx = self.prompts.ctx
        if torch.is_grad_enabled() and ctx.requires_grad:
            self._text_cache = None
            return self.prompts(self.clip)
        # _version moves on every in-place update (optimiser step, load_state_dict, copy_)
        key = (ctx._version, ctx.data_ptr(), ctx.device, ctx.dtype)
        if self._text_cache is None or self._text_cache[0] != key:
            with torch.no_grad():
                self._text_cache = (key, self.prompts(self.clip))
        return self._text_cache[1]

    def preprocess(self, images: Tensor) -> Tensor:
        """Resize to CLIP's input size (bicubic) and normalise; differentiable.

        The ``"perceive-ir"`` style antialiases (a downscaled image then matches what CLIP saw
        in training, a resized photograph); the ``"official"`` style resizes as the authors'
        code does, without antialiasing.
        """
        if self.style == "official":
            images = F.interpolate(images, size=self.image_size, mode="bicubic", align_corners=False)
        elif tuple(images.shape[-2:]) != self.image_size:
            images = F.interpolate(images, size=self.image_size, mode="bicubic", align_corners=False, antialias=True)
        return (images - self.pixel_mean) / self.pixel_std

    def encode_images(self, images: Tensor) -> Tensor:
        """``(B, D)`` normalised CLIP image features of ``[0, 1]`` images (no input checks)."""
        return F.normalize(self.clip.encode_image(self.preprocess(images)), dim=-1)

    def encode_images_with_intermediates(self, images: Tensor, indices: Sequence[int]) -> tuple[Tensor, list[Tensor]]:
        """One CLIP image forward returning normalised features and the chosen blocks' outputs.

        Used by the quality-aware loss so the quality term and the perceptual term share a
        single pass of the vision tower.
        """
        out = self.clip.visual.forward_intermediates(self.preprocess(images), indices=list(indices))
        return F.normalize(out["image_features"], dim=-1), list(out["image_intermediates"])

    @property
    def vision_depth(self) -> int:
        """How many intermediates the CLIP vision tower can return (for choosing perceptual layers).

        A ViT: its transformer blocks; open_clip's ResNet (RN50, ...): its stem and four stages;
        a timm tower (ConvNeXt, ...): its feature stages.

        Raises:
            ValueError: a tower that cannot return intermediates (the message names it).
        """
        visual = self.clip.visual
        depth = None
        if hasattr(visual, "forward_intermediates"):
            if hasattr(visual, "transformer") and hasattr(visual.transformer, "resblocks"):
                depth = len(visual.transformer.resblocks)
            elif all(hasattr(visual, n) for n in ("stem", "layer1", "layer2", "layer3", "layer4")):
                depth = 5  # ModifiedResNet.forward_intermediates: stem, layer1..layer4
            elif hasattr(getattr(visual, "trunk", None), "forward_intermediates"):
                info = getattr(visual.trunk, "feature_info", None)
                depth = len(info) if info is not None else None
        if not depth:
            raise InvalidValueError(
                f"The CLIP vision tower {type(visual).__name__} cannot return intermediate features, so the 'clip' "
                "feature space cannot use it: pass feature_space='vgg16' (or your own) to QualityAwareLoss, or use a "
                "ViT, ResNet (RN50, ...) or timm (ConvNeXt, ...) CLIP model."
            )
        return depth

    def logits_from_features(self, image_features: Tensor, logit_scale: bool = True) -> Tensor:
        """Tier logits from normalised image features: ``logit_scale.exp() · cos``.

        Args:
            image_features: ``(B, D)`` normalised CLIP image features.
            logit_scale: Multiply by CLIP's logit scale (default). ``False`` gives the raw
                cosines, the logits of the authors' released stage-2 quality loss.
        """
        cosine = image_features @ self.text_features().to(image_features.dtype).T
        return self.clip.logit_scale.exp() * cosine if logit_scale else cosine

    # -- public scoring ------------------------------------------------------------------------
    def forward(self, images: Tensor) -> Tensor:
        """Tier logits.

        Args:
            images: ``(B, 3, H, W)`` float images in ``[0, 1]`` (network outputs may overshoot
                by up to 1), any floating-point dtype (computed in CLIP's).

        Returns:
            ``(B, 3)`` logits ordered (low, medium, high), scaled by CLIP's logit scale, in
            ``images``' dtype.
        """
        check_image(images, "images", slack=OUTPUT_RANGE_SLACK, check_values=False)  # values: at the edges
        logits = self.logits_from_features(self.encode_images(to_module_dtype(images, self.clip)))
        return to_input_dtype(logits, images.dtype)

    def probabilities(self, images: Tensor) -> Tensor:
        """``(B, 3)`` softmax over the tiers (low, medium, high)."""
        return self.forward(images).softmax(dim=-1)

    def score(self, images: Tensor) -> Tensor:
        """``(B,)`` quality score in ``[0, 1]``: the expected tier, low = 0, medium = 0.5, high = 1."""
        probs = self.probabilities(images)
        return probs @ probs.new_tensor(_TIER_VALUES)

    def quality_loss(self, images: Tensor, logit_scale: bool = True) -> Tensor:
        """The quality term ``L_clip = mean(1 − p_high)`` of restored images, differentiable.

        Args:
            images: ``(B, 3, H, W)`` float images in ``[0, 1]`` (outputs may overshoot by up to 1).
            logit_scale: ``True`` (ours, the default): the softmax of the scaled logits.
                ``False``: the authors' released form, the softmax of raw cosines over
                images clamped to ``[0, 1]``; its softmax is nearly flat, so its gradient is
                small. It reproduces their ``QualityCLIPLoss`` value.

        Returns:
            A scalar.
        """
        check_image(images, "images", slack=OUTPUT_RANGE_SLACK, check_values=False)  # values: at the edges
        if not logit_scale:
            images = images.clamp(0.0, 1.0)
        logits = self.logits_from_features(self.encode_images(images), logit_scale=logit_scale)
        return (1.0 - logits.softmax(dim=-1)[:, 2]).mean()

    def triplet_loss(self, low: Tensor, medium: Tensor, high: Tensor) -> Tensor:
        """Stage-1 prompt-learning loss: cross-entropy of each image against its tier.

        Args:
            low: Degraded images ``(B, 3, H, W)``.
            medium: Partially restored images, same shape.
            high: Clean images, same shape.

        Returns:
            Scalar cross-entropy over the ``3B`` images (one CLIP forward).
        """
        for name, x in (("low", low), ("medium", medium), ("high", high)):
            check_image(x, name)
        if not (low.shape == medium.shape == high.shape):
            raise InvalidValueError(
                f"`low`, `medium` and `high` must have the same shape, got {tuple(low.shape)}, "
                f"{tuple(medium.shape)} and {tuple(high.shape)}."
            )
        images = to_module_dtype(torch.cat([low, medium, high]), self.clip)
        logits = self.logits_from_features(self.encode_images(images))
        targets = torch.arange(3, device=logits.device).repeat_interleave(low.shape[0])
        return F.cross_entropy(logits, targets)

    # -- the authors' checkpoints ---------------------------------------------------------------
    @classmethod
    def from_official(
        cls,
        path: str | os.PathLike[str],
        clip_model: str | dict[str, Any] = DEFAULT_CLIP_MODEL,
        clip_pretrained: str | None = DEFAULT_CLIP_PRETRAINED,
    ) -> QualityPerceiver:
        """Build a perceiver from the Perceive-IR authors' stage-1 prompt checkpoint.

        The file (``quality_prompts_100000.pth``, as their ``train_stage1_prompts.py`` writes
        it) is read with ``weights_only=True``: nothing in it is executed. The perceiver has
        the ``"official"`` style, so its tier probabilities equal the authors' pipeline's
        (their tiers terrible / mediocre / excellent are our low / medium / high).

        Args:
            path: The prompt checkpoint.
            clip_model: The CLIP the prompts were trained with (the authors': OpenAI ViT-B/32).
            clip_pretrained: Its weights (``"openai"``), or a local state-dict file with a
                config-dict ``clip_model``.

        Returns:
            The perceiver, frozen and in eval mode.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            OfficialCheckpointError: the file is not a readable prompt checkpoint, or its
                prompts do not fit ``clip_model`` (token width or context length).

        Example:
            >>> import tempfile
            >>> from perceive_ir.perceive.official_prompts import OfficialCheckpointError
            >>> with tempfile.NamedTemporaryFile(suffix=".pth") as handle:
            ...     try:
            ...         QualityPerceiver.from_official(handle.name, clip_model={}, clip_pretrained=None)
            ...     except OfficialCheckpointError as err:
            ...         print("refused:", "truncated or not a torch.save file" in str(err))
            refused: True
        """
        return cls.from_official_prompts(
            load_official_prompts(path), clip_model=clip_model, clip_pretrained=clip_pretrained
        )

    @classmethod
    def from_official_prompts(
        cls,
        prompts: OfficialPrompts,
        clip_model: str | dict[str, Any] = DEFAULT_CLIP_MODEL,
        clip_pretrained: str | None = DEFAULT_CLIP_PRETRAINED,
    ) -> QualityPerceiver:
        """Build a perceiver from the authors' prompts already read (see :meth:`from_official`).

        For a caller that has loaded the checkpoint dict once already
        (:func:`~perceive_ir.perceive.official_prompts.official_prompts_from_mapping`), so the
        file is not read again.

        Args:
            prompts: The checked prompt tensors and facts.
            clip_model: As for :meth:`from_official`.
            clip_pretrained: As for :meth:`from_official`.

        Returns:
            The perceiver, frozen and in eval mode.

        Raises:
            OfficialCheckpointError: the prompts do not fit ``clip_model`` (token width or
                context length).

        Example:
            >>> import torch
            >>> from perceive_ir.perceive.official_prompts import official_prompts_from_mapping
            >>> clip = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32,
            ...         "head_width": 16, "patch_size": 16}, "text_cfg": {"context_length": 20, "vocab_size": 49408,
            ...         "width": 32, "heads": 2, "layers": 1}}
            >>> tokens = torch.zeros(3, 20, dtype=torch.long)
            >>> tokens[:, 17] = 49407
            >>> learner = {"context": torch.zeros(3, 16, 32), "token_prefix": torch.zeros(3, 1, 32),
            ...            "token_suffix": torch.zeros(3, 3, 32), "tokenized_prompts": tokens}
            >>> prompts = official_prompts_from_mapping({"prompt_learner": learner})
            >>> perceiver = QualityPerceiver.from_official_prompts(prompts, clip_model=clip, clip_pretrained=None)
            >>> torch.equal(perceiver.prompts.ctx, prompts.context), perceiver.training
            (True, False)
        """
        perceiver = cls(
            clip_model=clip_model,
            clip_pretrained=clip_pretrained,
            n_ctx=prompts.n_ctx,
            tier_words=prompts.quality_names,
            style="official",
        )
        own = perceiver.prompts
        if tuple(own.token_suffix.shape) != tuple(prompts.token_suffix.shape) or own.ctx.shape != prompts.context.shape:
            name = clip_model if isinstance(clip_model, str) else "(config dict)"
            raise OfficialCheckpointError(
                f"{prompts.source}: the prompts were trained with a CLIP of token width {prompts.width} and "
                f"context length {prompts.context_length}; `clip_model` {name} has width {own.ctx.shape[-1]} "
                f"and context length {own.tokens.shape[1]}."
            )
        with torch.no_grad():
            own.ctx.copy_(prompts.context)
            own.token_prefix.copy_(prompts.token_prefix)
            own.token_suffix.copy_(prompts.token_suffix)
            own.tokens.copy_(prompts.tokenized_prompts)
        return perceiver.freeze()

    # -- hub -----------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments it was built with: CLIP reference, ``n_ctx`` and tier words."""
        return dict(self._config)

    def _external_state_prefixes(self) -> tuple[str, ...]:
        return ("clip.",) if self._clip_has_source else ()
