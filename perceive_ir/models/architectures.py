"""The architectures a checkpoint file is recognised as, in one ordered registry.

Each :class:`Architecture` says whether a loaded checkpoint is its kind (``detect(state)``) and
turns it into a :class:`~perceive_ir.models.descriptor.ModelDescriptor` (``load(state, **opts)``).
:func:`~perceive_ir.models.load_model` asks them in the order of :data:`ARCHITECTURES`:

1. ``authors-restorer`` — the Perceive-IR authors' stage-2 restorer (``perceiveIR_*.pth``);
2. ``authors-medium`` — their stage-1 medium restorer (``medium_*.pth``);
3. ``authors-prompts`` — their stage-1 prompt file, refused with what to do instead (a quality
   perceiver, not a restorer);
4. ``spandrel`` — anything else, read by spandrel (+ spandrel-extra-arches), which detects the
   architecture from the keys (and refuses what it does not know).

The authors' formats are told apart by :func:`~perceive_ir.models.official.checkpoint.detect_official_kind`
alone. Register another format from user code with ``ARCHITECTURES.register(id, Architecture(...))``:
entries are asked in the order they were registered, except the ``spandrel`` fallback (which
claims everything), always asked last.

Example:
    >>> list(ARCHITECTURES)
    ['authors-restorer', 'authors-medium', 'authors-prompts', 'spandrel']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._official_format import load_official_checkpoint
from .._registry import Registry
from ..errors import InvalidValueError
from .descriptor import ModelDescriptor, describe_module
from .official.checkpoint import detect_official_kind, read_official_mapping
from .user_network import _load_user_descriptor, _network_from_state_dict, _rgb_network

__all__ = [
    "ARCHITECTURES",
    "AUTHORS_RESTORER_SUPPORTS_BFLOAT16",
    "AUTHORS_RESTORER_SUPPORTS_HALF",
    "Architecture",
    "describe_spandrel",
    "detect_architecture",
    "read_checkpoint_state",
]

#: float16 output within 0.005 (max abs) of float32 on the tiny reference restorer, CPU (tests/integrations).
AUTHORS_RESTORER_SUPPORTS_HALF = True
#: bfloat16 output within 0.02 (max abs) of float32 on the tiny reference restorer, CPU (tests/integrations).
AUTHORS_RESTORER_SUPPORTS_BFLOAT16 = True

# the entry that claims every file, asked after all others
_FALLBACK = "spandrel"
# suffixes of torch.save files the authors' formats come in
_TORCH_SUFFIXES = (".pth", ".pt", ".ckpt", ".tar")


@dataclass(frozen=True)
class Architecture:
    """A checkpoint format: how to recognise a loaded checkpoint, and how to load it.

    Attributes:
        id: The architecture's id.
        detect: ``detect(state) -> bool``: whether ``state`` (the checkpoint's top-level dict,
            or ``None`` when the file is not a weights-only ``torch.save`` dict) is this format.
        load: ``load(state, *, source, **opts) -> ModelDescriptor``; ``source`` is the file.
    """

    id: str
    detect: Callable[[Mapping[str, Any] | None], bool]
    load: Callable[..., ModelDescriptor]


def _authors(kind: str) -> Callable[[Mapping[str, Any] | None], bool]:
    return lambda state: state is not None and detect_official_kind(state) == kind


def _load_authors(state: Mapping[str, Any] | None, *, source: str, **opts: Any) -> ModelDescriptor:
    assert state is not None  # detect() claimed it
    official = read_official_mapping(state, str(Path(source)), **opts)
    restorer = official.kind == "restorer"
    return describe_module(
        official.module,
        description=f"authors' {type(official.module).__name__} from {source}",
        source_kind="file",
        source=str(source),
    ).replace(
        architecture=type(official.module).__name__,
        scale=1,
        supports_half=restorer and AUTHORS_RESTORER_SUPPORTS_HALF,
        supports_bfloat16=restorer and AUTHORS_RESTORER_SUPPORTS_BFLOAT16,
    )


def _refuse_prompts(state: Mapping[str, Any] | None, *, source: str, **opts: Any) -> ModelDescriptor:
    raise InvalidValueError(
        f"{source} is the authors' stage-1 prompt checkpoint (a quality perceiver, not a restorer): use it with "
        "`perceive-ir score --perceiver` after `perceive-ir convert-official`, or QualityPerceiver.from_official."
    )


def describe_spandrel(descriptor: Any, *, source: str = "", source_kind: str = "file") -> ModelDescriptor:
    """Our description of a spandrel ``ImageModelDescriptor``: its network (taking RGB images) and its facts.

    A network spandrel feeds an extra noise-level channel comes behind
    :class:`~perceive_ir.retrofit.input_adapters.NoiseLevelMap`.

    Example:
        >>> from spandrel import ModelLoader
        >>> from spandrel.architectures.NAFNet import NAFNet
        >>> net = NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1])
        >>> d = describe_spandrel(ModelLoader().load_from_state_dict(net.state_dict()))
        >>> d.architecture, d.scale, d.multiple, d.tiling
        ('NAFNet', 1, 1, 'supported')
    """
    scale = int(getattr(descriptor, "scale", 1) or 1)
    size = descriptor.size_requirements
    purpose = str(getattr(descriptor, "purpose", "Restoration"))
    return ModelDescriptor(
        _rgb_network(descriptor).eval(),
        int(getattr(size, "multiple_of", 1) or 1),
        f"{descriptor.architecture.id}{f' ×{scale}' if scale != 1 else ''} from {source}",
        architecture=str(descriptor.architecture.id),
        purpose=purpose if purpose in ("Restoration", "SR", "FaceSR", "Inpainting") else "Unknown",  # type: ignore[arg-type]  # checked
        scale=scale,
        input_channels=int(descriptor.input_channels),
        output_channels=int(descriptor.output_channels),
        minimum_size=int(getattr(size, "minimum", 0) or 0),
        tiling=descriptor.tiling.name.lower(),
        supports_half=bool(descriptor.supports_half),
        supports_bfloat16=bool(descriptor.supports_bfloat16),
        source_kind=source_kind,  # type: ignore[arg-type]  # the caller's kind
        source=source,
    )


def _load_spandrel(state: Mapping[str, Any] | None, *, source: str, **opts: Any) -> ModelDescriptor:
    # spandrel reads the file itself when there is one (its own readers, its canonical state dict);
    # `opts` (e.g. semantic_encoder=) are for the authors' files, not spandrel's networks
    if source and Path(source).is_file():
        return describe_spandrel(_load_user_descriptor(source), source=str(source))
    assert state is not None
    return describe_spandrel(_network_from_state_dict(dict(state), source=source or "state dict"), source=source)


ARCHITECTURES: Registry[Architecture] = Registry(
    "checkpoint architecture",
    {
        "authors-restorer": Architecture("authors-restorer", _authors("restorer"), _load_authors),
        "authors-medium": Architecture("authors-medium", _authors("medium"), _load_authors),
        "authors-prompts": Architecture("authors-prompts", _authors("prompts"), _refuse_prompts),
        "spandrel": Architecture("spandrel", lambda state: True, _load_spandrel),
    },
    how_to_add="add one with perceive_ir.models.architectures.ARCHITECTURES.register",
    error=InvalidValueError,
)


def read_checkpoint_state(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A checkpoint file's top-level dict when it is a weights-only ``torch.save`` file, else ``None``.

    Only ``.pth``, ``.pt``, ``.ckpt`` and ``.tar`` files are read (the authors' formats);
    anything else, or a file a weights-only load refuses, is left to spandrel, which says what it is.

    Example:
        >>> import tempfile, torch
        >>> path = tempfile.mkdtemp() + "/w.pth"
        >>> torch.save({"conv.weight": torch.zeros(1)}, path)
        >>> sorted(read_checkpoint_state(path))
        ['conv.weight']
    """
    if Path(path).suffix.lower() not in _TORCH_SUFFIXES:
        return None
    try:
        return load_official_checkpoint(path, "a Perceive-IR authors' checkpoint")
    except ValueError:  # not a weights-only torch dict: let spandrel say what it is
        return None


def detect_architecture(state: Mapping[str, Any] | None) -> Architecture:
    """The first architecture of :data:`ARCHITECTURES` that claims ``state`` (the ``spandrel`` fallback last).

    Example:
        >>> import torch
        >>> detect_architecture({"conv.weight": torch.zeros(1)}).id
        'spandrel'
    """
    fallback = [ARCHITECTURES[_FALLBACK]] if _FALLBACK in ARCHITECTURES else []
    for architecture in [a for name, a in ARCHITECTURES.items() if name != _FALLBACK] + fallback:
        if architecture.detect(state):
            return architecture
    raise InvalidValueError("No registered architecture recognises the checkpoint.")  # pragma: no cover - fallback
