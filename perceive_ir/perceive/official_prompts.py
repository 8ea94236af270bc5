"""The Perceive-IR authors' stage-1 prompt checkpoint (``quality_prompts_100000.pth``).

The authors' ``train_stage1_prompts.py`` saves a ``torch.save`` dict whose ``prompt_learner``
entry is the state of their prompt learner: the learnt ``context`` ``(3, 16, width)`` and three
buffers fixed at construction, the token embeddings around the context (``token_prefix``
``(3, 1, width)``: start of text; ``token_suffix`` ``(3, L - 17, width)``: end of text and
padding) and ``tokenized_prompts`` ``(3, L)``, the token ids of the template
``"X X … X"`` (16 placeholders, no period) that locate the end-of-text token. Besides, it
holds the optimiser and scheduler state, ``iteration``, ``quality_names``
(``"terrible", "mediocre", "excellent"``: our low, medium, high), ``context_length`` and the
batch facts.

:func:`load_official_prompts` reads such a file without unpickling code (``weights_only``),
checks it and returns an :class:`OfficialPrompts`;
:meth:`QualityPerceiver.from_official <perceive_ir.perceive.perceiver.QualityPerceiver.from_official>`
builds a perceiver from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._files import check_finite_weights
from .._official_format import (
    OfficialCheckpointError,
    describe_checkpoint,
    flatten_checkpoint,
    load_official_checkpoint,
)

__all__ = [
    "OFFICIAL_PROMPT_KEYS",
    "OfficialCheckpointError",
    "OfficialPrompts",
    "is_official_prompt_checkpoint",
    "load_official_prompts",
    "official_prompts_from_mapping",
]

#: The tensors of the authors' prompt learner, as dotted keys of the checkpoint.
OFFICIAL_PROMPT_KEYS: tuple[str, str, str, str] = (
    "prompt_learner.context",
    "prompt_learner.token_prefix",
    "prompt_learner.token_suffix",
    "prompt_learner.tokenized_prompts",
)
_EXPECTED = "a Perceive-IR stage-1 prompt checkpoint (quality_prompts_*.pth)"
_N_TIERS = 3


@dataclass(frozen=True)
class OfficialPrompts:
    """The prompt tensors and facts of an authors' stage-1 checkpoint, checked for consistency.

    Attributes:
        context: ``(3, n_ctx, width)`` float32 learnt context, tiers terrible / mediocre / excellent.
        token_prefix: ``(3, 1, width)`` float32 start-of-text embeddings.
        token_suffix: ``(3, L - 1 - n_ctx, width)`` float32 end-of-text and padding embeddings.
        tokenized_prompts: ``(3, L)`` int64 token ids of the template (the end-of-text token
            has the largest id).
        quality_names: The tier words, low to high.
        iteration: Training iteration the checkpoint was saved at (the authors' stage 2
            accepts only 100000), or ``None`` when absent.
        task_balanced: Whether the prompts were trained with task-balanced sampling, or
            ``None`` when absent.
        source: Where it was read from (for messages).
    """

    context: Tensor
    token_prefix: Tensor
    token_suffix: Tensor
    tokenized_prompts: Tensor
    quality_names: tuple[str, str, str]
    iteration: int | None
    task_balanced: bool | None
    source: str

    @property
    def n_ctx(self) -> int:
        """Context vectors per tier (the authors': 16)."""
        return int(self.context.shape[1])

    @property
    def width(self) -> int:
        """Token-embedding width of the CLIP the prompts were trained with (ViT-B/32: 512)."""
        return int(self.context.shape[2])

    @property
    def context_length(self) -> int:
        """CLIP text context length ``L`` (77)."""
        return int(self.tokenized_prompts.shape[1])


def is_official_prompt_checkpoint(mapping: Mapping[str, Any]) -> bool:
    """Whether a loaded checkpoint dict has the authors' prompt-learner tensors.

    Only the keys are looked at (nested ``{"prompt_learner": {"context": …}}`` or flat
    ``"prompt_learner.context"``), so format detection is cheap; :func:`official_prompts_from_mapping`
    checks shapes and dtypes.

    Example:
        >>> import torch
        >>> is_official_prompt_checkpoint({"model": {"embed.weight": torch.zeros(1)}})
        False
        >>> names = ("context", "token_prefix", "token_suffix", "tokenized_prompts")
        >>> is_official_prompt_checkpoint({"prompt_learner": {n: torch.zeros(1) for n in names}})
        True
    """
    if not isinstance(mapping, Mapping):
        return False
    flat = flatten_checkpoint(mapping)
    return all(isinstance(flat.get(key), Tensor) for key in OFFICIAL_PROMPT_KEYS)


def load_official_prompts(path: str | os.PathLike[str]) -> OfficialPrompts:
    """Read and check an authors' stage-1 prompt checkpoint, without running any pickled code.

    Args:
        path: ``quality_prompts_100000.pth`` or another file written by the authors'
            ``train_stage1_prompts.py``.

    Returns:
        The checked prompt tensors and facts.

    Raises:
        FileNotFoundError: ``path`` is not an existing file.
        OfficialCheckpointError: the file is unreadable, refused by the weights-only loader,
            or not a prompt checkpoint (the message names the file, what was expected and
            what was found).

    Example:
        >>> import tempfile, torch
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     torch.save({"model": {"embed.weight": torch.zeros(1)}, "optimizer": {}}, f"{tmp}/x.pth")
        ...     try:
        ...         load_official_prompts(f"{tmp}/x.pth")
        ...     except OfficialCheckpointError as err:
        ...         print(str(err).split(": ", 1)[1][:41])
        looks like a restorer checkpoint (keys mo
    """
    return official_prompts_from_mapping(load_official_checkpoint(path, _EXPECTED), source=str(path))


def official_prompts_from_mapping(mapping: Mapping[str, Any], source: str = "<checkpoint>") -> OfficialPrompts:
    """Check an already loaded checkpoint dict and return its prompts.

    Args:
        mapping: The ``torch.save`` dict (nested or with dotted keys).
        source: Name used in error messages (the file).

    Raises:
        OfficialCheckpointError: a key is missing or a tensor has the wrong shape or dtype.
    """
    if not isinstance(mapping, Mapping):
        raise OfficialCheckpointError(f"{source}: expected {_EXPECTED} (a dict), found a {type(mapping).__name__}.")
    flat = flatten_checkpoint(mapping)
    missing = [key for key in OFFICIAL_PROMPT_KEYS if not isinstance(flat.get(key), Tensor)]
    if missing:
        raise OfficialCheckpointError(
            f"{source}: {describe_checkpoint(mapping)}; expected {_EXPECTED} with tensors "
            f"{', '.join(OFFICIAL_PROMPT_KEYS)} (missing {', '.join(missing)})."
        )
    context, prefix, suffix, tokens = (flat[key] for key in OFFICIAL_PROMPT_KEYS)

    def bad(key: str, expected: str, tensor: Tensor) -> OfficialCheckpointError:
        return OfficialCheckpointError(
            f"{source}: `{key}` must be {expected}, found {tensor.dtype} {list(tensor.shape)}."
        )

    for key, tensor in zip(OFFICIAL_PROMPT_KEYS[:3], (context, prefix, suffix), strict=True):
        if not tensor.is_floating_point() or tensor.ndim != 3 or tensor.shape[0] != _N_TIERS:
            raise bad(key, f"a float tensor ({_N_TIERS}, n, width)", tensor)
        try:
            check_finite_weights({key: tensor}, source)
        except ValueError as err:
            raise OfficialCheckpointError(str(err)) from None
    n_ctx, width = int(context.shape[1]), int(context.shape[2])
    if tuple(prefix.shape) != (_N_TIERS, 1, width):
        raise bad(OFFICIAL_PROMPT_KEYS[1], f"({_N_TIERS}, 1, {width}) like the context", prefix)
    if suffix.shape[2] != width:
        raise bad(OFFICIAL_PROMPT_KEYS[2], f"({_N_TIERS}, L - {1 + n_ctx}, {width}) like the context", suffix)
    length = 1 + n_ctx + int(suffix.shape[1])
    if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise bad(OFFICIAL_PROMPT_KEYS[3], f"integer token ids ({_N_TIERS}, {length})", tokens)
    if tuple(tokens.shape) != (_N_TIERS, length):
        raise bad(OFFICIAL_PROMPT_KEYS[3], f"({_N_TIERS}, {length}) = 1 + context + suffix tokens", tokens)
    end = tokens.long().argmax(dim=-1)
    if not bool((end > n_ctx).all()):
        raise OfficialCheckpointError(
            f"{source}: the end-of-text token of `{OFFICIAL_PROMPT_KEYS[3]}` must follow the {n_ctx} "
            f"context tokens, found it at positions {end.tolist()}."
        )

    stored_n_ctx = mapping.get("context_length")
    if stored_n_ctx is not None and stored_n_ctx != n_ctx:
        raise OfficialCheckpointError(
            f"{source}: `context_length` is {stored_n_ctx!r} but `prompt_learner.context` holds {n_ctx} vectors."
        )
    names = mapping.get("quality_names", ("terrible", "mediocre", "excellent"))
    if not (
        isinstance(names, (tuple, list))
        and len(names) == _N_TIERS
        and all(isinstance(n, str) and n.strip() for n in names)
    ):
        raise OfficialCheckpointError(f"{source}: `quality_names` must be {_N_TIERS} words, found {names!r}.")
    iteration = mapping.get("iteration")
    balanced = mapping.get("task_balanced")
    return OfficialPrompts(
        context=context.detach().float().contiguous(),
        token_prefix=prefix.detach().float().contiguous(),
        token_suffix=suffix.detach().float().contiguous(),
        tokenized_prompts=tokens.detach().long().contiguous(),
        quality_names=(str(names[0]), str(names[1]), str(names[2])),
        iteration=int(iteration) if isinstance(iteration, int) else None,
        task_balanced=bool(balanced) if isinstance(balanced, bool) else None,
        source=str(Path(source)) if source != "<checkpoint>" else source,
    )
