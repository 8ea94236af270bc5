"""A quality perceiver from wherever it lives: a saved folder, a Hub id or the authors' prompt file.

One resolver for every entry point that takes a perceiver *source* (``perceive-ir score`` /
``app``'s ``--perceiver``, the torchmetrics metric): the same string means the same perceiver
everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InvalidTypeError, InvalidValueError
from .perceiver import QualityPerceiver

__all__ = ["PerceiverSource", "load_perceiver"]

#: What :func:`load_perceiver` accepts: a perceiver (returned as it is) or where to read one.
PerceiverSource = QualityPerceiver | str | os.PathLike[str]


def load_perceiver(
    source: PerceiverSource,
    *,
    clip_model: str | dict[str, Any] | None = None,
    clip_pretrained: str | None = None,
    revision: str | None = None,
) -> QualityPerceiver:
    """Resolve a perceiver source into a :class:`QualityPerceiver`.

    ``source`` is tried in this order:

    1. a :class:`QualityPerceiver`: returned as it is (the other arguments must be left out);
    2. an existing **file**: the Perceive-IR authors' stage-1 prompt checkpoint
       (``quality_prompts_*.pth``), read by :meth:`QualityPerceiver.from_official` with
       ``clip_model`` / ``clip_pretrained`` (default: their CLIP, ViT-B-32 / ``openai``);
    3. a **folder** written by ``save_pretrained`` (or ``perceive-ir convert-official``), or a
       **Hub** repository id (``revision`` pins it), read by
       :meth:`QualityPerceiver.from_pretrained`; ``clip_model`` (with ``clip_pretrained``)
       rebuilds CLIP from another source than the saved reference.

    Args:
        source: The perceiver or where it lives.
        clip_model: An open_clip name, ``hf-hub:`` / ``local-dir:`` id or open_clip config dict
            (e.g. :func:`perceive_ir.testing.tiny_clip_config`), or ``None`` for the default.
        clip_pretrained: Its open_clip pretrained tag or local weights file; only with ``clip_model``.
        revision: Hub branch, tag or commit; only for a Hub id.

    Returns:
        The perceiver (a loaded one is frozen and in eval mode only when its loader makes it
        so: :meth:`~QualityPerceiver.from_official` does).

    Raises:
        TypeError: ``source`` is none of the above.
        ValueError: options that do not apply to ``source``; what the loaders raise for a bad file.
        FileNotFoundError, PretrainedNotFoundError: neither a file, a folder nor a reachable Hub repository.

    Example:
        >>> import tempfile
        >>> from perceive_ir.testing import tiny_clip_config
        >>> folder = QualityPerceiver(clip_model=tiny_clip_config(), clip_pretrained=None).save_pretrained(
        ...     tempfile.mkdtemp() + "/perceiver")
        >>> load_perceiver(str(folder)).tiers
        ('low', 'medium', 'high')
    """
    if clip_pretrained is not None and clip_model is None:
        raise InvalidValueError("`clip_pretrained` names the weights of `clip_model`: give `clip_model` too.")
    if isinstance(source, QualityPerceiver):
        if clip_model is not None or revision is not None:
            raise InvalidValueError(
                "`clip_model`, `clip_pretrained` and `revision` say how to load a perceiver; `source` is one already."
            )
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidTypeError(
            "`source` must be a QualityPerceiver, a folder written by save_pretrained, a Hub repository id or the "
            f"authors' prompt checkpoint (.pth), got {type(source).__name__}."
        )
    if Path(source).is_file():
        if revision is not None:
            raise InvalidValueError(f"`revision` pins a Hub repository; {source} is a local file.")
        if clip_model is None:
            return QualityPerceiver.from_official(source)
        return QualityPerceiver.from_official(source, clip_model=clip_model, clip_pretrained=clip_pretrained)
    overrides: dict[str, Any] = {}
    if clip_model is not None:
        overrides = {"clip_model": clip_model, "clip_pretrained": clip_pretrained}
    return QualityPerceiver.from_pretrained(source, revision=revision, **overrides)
