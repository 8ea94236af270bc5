"""CoOp-style learnable prompts, one per quality tier, run through CLIP's frozen text tower."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validation import check_int
from ..errors import InvalidValueError

__all__ = ["TIERS", "DEFAULT_TIER_WORDS", "PROMPT_STYLES", "TierPrompts"]

#: Quality tiers in the order of the perceiver's logits.
TIERS: tuple[str, str, str] = ("low", "medium", "high")
#: Words whose embeddings initialise the last context vector of each tier (the paper's).
DEFAULT_TIER_WORDS: tuple[str, str, str] = ("terrible", "mediocre", "excellent")

_PLACEHOLDER = "X"
#: ``"perceive-ir"``: template ``X … X.``, token embeddings read from CLIP at every call;
#: ``"official"``: the authors' template ``X … X`` (no period) with the start and end token
#: embeddings stored as buffers, as their prompt learner keeps them.
PROMPT_STYLES: tuple[str, str] = ("perceive-ir", "official")


class TierPrompts(nn.Module):
    """Learnable context vectors ``(3, n_ctx, width)`` for the (low, medium, high) prompts.

    Each prompt is ``[SOT] ctx_1 … ctx_n . [EOT]``: the ``n_ctx`` context vectors replace the
    token embeddings of a placeholder template. Context is initialised ``N(0, 0.02)`` and the
    last vector of each tier from the (mean sub-word) embedding of its tier word.

    With ``style="official"`` the prompts are laid out as the Perceive-IR authors' prompt
    learner lays them out, so that their checkpoints load unchanged: the template has no
    period, and the embeddings around the context (``token_prefix``: start of text;
    ``token_suffix``: end of text and padding) and the template's token ids (``tokens``) are
    persistent buffers, saved and loaded with the context.

    Args:
        clip: open_clip ``CLIP`` whose text tower the prompts run through (not registered here).
        tokenizer: open_clip tokenizer of that model.
        n_ctx: Context vectors per tier.
        tier_words: One word per tier, low to high.
        init_std: Standard deviation of the context initialisation.
        style: ``"perceive-ir"`` or ``"official"`` (see above).

    Example:
        >>> from perceive_ir.perceive.clip_loading import load_clip
        >>> clip = load_clip({"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32,
        ...     "patch_size": 16, "head_width": 16}, "text_cfg": {"context_length": 77, "vocab_size": 49408,
        ...     "width": 16, "heads": 1, "layers": 1}}, None)
        >>> prompts = TierPrompts(clip.model, clip.tokenizer, n_ctx=4)
        >>> prompts(clip.model).shape
        torch.Size([3, 16])
    """

    tokens: Tensor
    token_prefix: Tensor
    token_suffix: Tensor

    def __init__(
        self,
        clip: Any,  # an open_clip CLIP (no type stubs)
        tokenizer: Callable[[list[str]], Tensor],
        n_ctx: int = 16,
        tier_words: Sequence[str] = DEFAULT_TIER_WORDS,
        init_std: float = 0.02,
        style: str = "perceive-ir",
    ) -> None:
        super().__init__()
        check_int(n_ctx, "n_ctx")
        if style not in PROMPT_STYLES:
            raise InvalidValueError(f"`style` must be one of {PROMPT_STYLES}, got {style!r}.")
        if len(tier_words) != len(TIERS) or not all(isinstance(w, str) and w.strip() for w in tier_words):
            raise InvalidValueError(
                f"`tier_words` must be {len(TIERS)} non-empty words (low, medium, high), got {tier_words!r}."
            )
        context_length = int(clip.positional_embedding.shape[0])
        if n_ctx + 3 > context_length:
            raise InvalidValueError(
                f"`n_ctx`={n_ctx} does not fit CLIP's context length {context_length} (need n_ctx + 3)."
            )
        embedding: nn.Embedding = clip.token_embedding
        template = " ".join([_PLACEHOLDER] * n_ctx) + ("." if style == "perceive-ir" else "")
        tokens = tokenizer([template] * len(TIERS)).long()
        placeholder_id = int(tokenizer([_PLACEHOLDER])[0, 1])
        if not bool((tokens[:, 1 : 1 + n_ctx] == placeholder_id).all()):
            raise InvalidValueError(
                "The tokenizer split the prompt template unexpectedly; use an open_clip BPE tokenizer."
            )
        official = style == "official"
        self.register_buffer("tokens", tokens, persistent=official)
        if official:
            with torch.no_grad():
                around = embedding(tokens).float()
            self.register_buffer("token_prefix", around[:, :1].clone())
            self.register_buffer("token_suffix", around[:, 1 + n_ctx :].clone())
        self.n_ctx = n_ctx
        self.style = style
        self.tier_words = tuple(tier_words)

        ctx = torch.empty(len(TIERS), n_ctx, embedding.weight.shape[1]).normal_(0.0, init_std)
        with torch.no_grad():
            for tier, word in enumerate(tier_words):
                ids = tokenizer([word])[0].long()
                end = int(ids.argmax())  # EOT has the largest id
                ctx[tier, -1] = embedding.weight[ids[1:end]].mean(dim=0).to(ctx.dtype)
        self.ctx = nn.Parameter(ctx)

    def forward(self, clip: Any) -> Tensor:
        """Encode the three prompts with ``clip``'s text tower.

        Returns:
            ``(3, embed_dim)`` L2-normalised text features, ordered (low, medium, high).
        """
        from open_clip.transformer import text_global_pool

        cast = clip.transformer.get_cast_dtype()
        tokens = self.tokens
        if self.style == "official":
            prefix, suffix = self.token_prefix.to(cast), self.token_suffix.to(cast)
        else:
            around = clip.token_embedding(tokens).to(cast)
            prefix, suffix = around[:, :1], around[:, 1 + self.n_ctx :]
        x = torch.cat([prefix, self.ctx.to(cast), suffix], dim=1)
        x = x + clip.positional_embedding.to(cast)
        x = clip.transformer(x, attn_mask=clip.attn_mask)
        x = clip.ln_final(x)
        x = text_global_pool(x, tokens, clip.text_pool_type, eos_token_id=getattr(clip, "text_eos_id", None))
        proj = clip.text_projection
        if proj is not None:
            x = proj(x) if isinstance(proj, nn.Linear) else x @ proj
        return F.normalize(x, dim=-1)
