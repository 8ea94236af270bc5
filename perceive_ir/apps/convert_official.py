"""Convert the Perceive-IR authors' ``.pth`` files into Hub-ready perceive-ir folders.

``convert_official(SRC, DST)`` reads any of the authors' files (stage-1 prompts, stage-2
restorer, stage-1 medium restorer; the kind is told from the keys) with ``weights_only=True``,
loads it strictly into the matching module and writes a folder that loads with no pickle
involved: ``config.json`` + ``model.safetensors`` (``save_pretrained``) and a ``README.md``
model card (source file and its SHA-256, licence, how it was converted, the published
results it should reproduce, the command that pushes it to the Hub). The folder is written
to a temporary folder first and renamed into place whole.
"""

from __future__ import annotations

import glob
import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from .._atomic import atomic_folder, remove_stale_temporaries
from .._defaults import DEFAULT_CLIP_MODEL, DEFAULT_CLIP_PRETRAINED, DEFAULT_SEMANTIC_ENCODER
from .._destinations import check_not_a_source, check_replaceable_folder
from .._version import __version__
from ..models.official.checkpoint import read_official
from ..perceive.semantic import EncoderSpec
from .published_results import published_for

__all__ = ["AUTHORS_REPOSITORY", "CONVERTED_FILES", "ConvertedCheckpoint", "convert_official", "sha256_of"]

#: Where the authors publish their code and the links to their weights.
AUTHORS_REPOSITORY = "github.com/House-yuyu/Perceive-IR"
#: The entries a converted folder holds: the only ones ``overwrite`` may replace.
CONVERTED_FILES: frozenset[str] = frozenset({"README.md", "config.json", "model.safetensors"})
#: The authors' licence (their repository's LICENSE).
AUTHORS_LICENCE = "apache-2.0"

_TITLE_OF = {
    "prompts": "stage-1 quality prompts",
    "restorer": "stage-2 all-in-one restorer",
    "medium": "stage-1 medium-tier restorer",
}
# where a converted module's class is imported from in the model card: the shortest public package
_PUBLIC_PACKAGES = ("perceive_ir", "perceive_ir.models.official")


@dataclass(frozen=True)
class ConvertedCheckpoint:
    """The result of :func:`convert_official`.

    Attributes:
        folder: The written folder.
        kind: The kind of the source file (a key of ``OFFICIAL_KINDS``).
        module: The converted module (in eval mode).
        sha256: SHA-256 of the source file.
    """

    folder: Path
    kind: str
    module: nn.Module
    sha256: str


def sha256_of(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile() as handle:
        ...     sha256_of(handle.name)[:16]
        'e3b0c44298fc1c14'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _setting_of(tasks: list[str] | None, source: Path) -> str | None:
    """``"3-task"`` / ``"5-task"`` of a restorer: from its stored task list, else its file name."""
    if tasks and len(tasks) in (3, 5):
        return f"{len(tasks)}-task"
    name = source.name.lower()
    for count in ("3", "5"):
        if f"{count}task" in name or f"aio-{count}d" in name:
            return f"{count}-task"
    return None


def _import_line(module_class: type) -> str:
    """The shortest public import of ``module_class`` (e.g. ``from perceive_ir import QualityPerceiver``)."""
    name = module_class.__name__
    for package in _PUBLIC_PACKAGES:
        if getattr(importlib.import_module(package), name, None) is module_class:
            return f"from {package} import {name}"
    return f"from {module_class.__module__} import {name}"


def _model_card(kind: str, module: nn.Module, source: Path, digest: str, extra: dict[str, Any]) -> str:
    cls = type(module).__name__
    lines = [
        "---",
        "library_name: perceive-ir",
        f"license: {AUTHORS_LICENCE}",
        "tags:",
        "- image-restoration",
        "- all-in-one-image-restoration",
        "- perceive-ir",
        "---",
        "",
        f"# Perceive-IR: the authors' {_TITLE_OF[kind]}, converted for perceive-ir",
        "",
        f"These are the weights released by the Perceive-IR authors ({AUTHORS_REPOSITORY}, Zhang et al., "
        "*Perceive-IR: Learning to Perceive Degradation Better for All-in-One Image Restoration*, IEEE TIP 2025), "
        f"converted to a `{cls}` of perceive-ir: `config.json` + `model.safetensors`, loaded with no pickle.",
        "",
        "## Source",
        "",
        f"* file: `{source.name}`",
        f"* SHA-256: `{digest}`",
        "* licence: Apache-2.0 (the authors' repository), kept for these converted weights",
        f"* converted with perceive-ir {__version__}: `perceive-ir convert-official {source.name} <folder>`",
        "  (read with `torch.load(weights_only=True)`, loaded strictly: every tensor of the file used, "
        "every parameter filled)",
    ]
    lines += [f"* {key}: {value}" for key, value in extra.items()]
    if kind == "restorer":
        lines += [
            "* the frozen DINOv2 is referenced by `config.json` (`semantic_encoder`), never copied here",
            "",
            "## Published results it should reproduce",
            "",
            "Averages over the standard all-in-one test sets (PSNR dB / SSIM on RGB in [0, 1], whole image, "
            "inputs reflect-padded to multiples of 8 and cropped back), as the paper reports them:",
            "",
        ]
        setting = extra.get("setting")
        for name in ("3-task", "5-task") if setting is None else (setting,):
            for result in published_for(name):
                if result.method == "Perceive-IR":
                    lines.append(f"* {name}: {result.psnr:.2f} / {result.ssim:.3f}")
        lines += [
            "",
            "Measure it with `perceive-ir evaluate --model <this folder> --filelist <each test list> --out <folder>` "
            "(file lists from `python -m perceive_ir.data.filelists`; see docs/official_weights.md of perceive-ir).",
        ]
    elif kind == "prompts":
        lines += ["* the frozen CLIP is referenced by `config.json` (`clip_model`, `clip_pretrained`), never copied"]
    lines += [
        "",
        "## Use",
        "",
        "```python",
        _import_line(type(module)),
        "",
        f'module = {cls}.from_pretrained("<this repo or folder>")',
        "```",
        "",
        "## Publish",
        "",
        "```bash",
        "huggingface-cli upload <your-name>/<repo> <this folder> .",
        "```",
        "",
        f"or `{cls}.from_pretrained(folder).push_to_hub(\"<your-name>/<repo>\")`; then pin the commit it prints "
        "with `revision=` when loading.",
        "",
    ]
    return "\n".join(lines)


def convert_official(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    *,
    kind: str | None = None,
    semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER,
    semantic_encoder_revision: str | None = None,
    clip_model: str | dict[str, Any] = DEFAULT_CLIP_MODEL,
    clip_pretrained: str | None = DEFAULT_CLIP_PRETRAINED,
    overwrite: bool = False,
) -> ConvertedCheckpoint:
    """Convert an authors' ``.pth`` file into a perceive-ir folder with a model card.

    Args:
        source: The authors' file (prompts, restorer or medium restorer).
        destination: The folder to write (replaced whole when ``overwrite``, if it holds only
            :data:`CONVERTED_FILES`: a user's folder is never replaced).
        kind: Require this kind (a key of ``OFFICIAL_KINDS``); ``None`` detects it.
        semantic_encoder: DINOv2 of a restorer (Hub id or local folder; referenced in ``config.json``).
        semantic_encoder_revision: Its Hub revision.
        clip_model: CLIP of prompts (referenced in ``config.json``).
        clip_pretrained: Its weights.
        overwrite: Replace an existing ``destination`` that an earlier conversion wrote.

    Returns:
        A :class:`ConvertedCheckpoint`.

    Raises:
        FileExistsError: ``destination`` exists, is not empty and ``overwrite`` is False.
        ~perceive_ir._destinations.DestinationError: ``destination`` is the source file or contains it, or
            ``overwrite`` would replace a folder holding other files than :data:`CONVERTED_FILES` (a
            ``ValueError``).
        FileNotFoundError, OfficialCheckpointError: see :func:`~perceive_ir.models.official.load_official`.

    Example:
        >>> import tempfile, torch
        >>> from perceive_ir.models.official import MediumRestorer
        >>> tmp = tempfile.mkdtemp()
        >>> net = MediumRestorer(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1)
        >>> torch.save({"model": net.state_dict(), "iteration": 20000, "heldout_fold": 0}, f"{tmp}/medium.pth")
        >>> converted = convert_official(f"{tmp}/medium.pth", f"{tmp}/medium")
        >>> converted.kind, sorted(p.name for p in converted.folder.iterdir())
        ('medium', ['README.md', 'config.json', 'model.safetensors'])
    """
    src, dst = Path(source), Path(destination)
    check_not_a_source(dst, [src], name="`destination`")
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        if not overwrite:
            raise FileExistsError(f"`destination` {dst} exists and is not an empty folder; pass overwrite=True "
                                  "(--overwrite) to replace a folder convert-official wrote.")
        check_replaceable_folder(dst, CONVERTED_FILES, name="`destination`", what="convert-official")
    if isinstance(semantic_encoder, (str, os.PathLike)) and Path(semantic_encoder).is_dir():
        semantic_encoder = str(Path(semantic_encoder).resolve())  # config.json must work from any folder
    read = read_official(
        src,
        kind=kind,
        semantic_encoder=semantic_encoder,
        semantic_encoder_revision=semantic_encoder_revision,
        clip_model=clip_model,
        clip_pretrained=clip_pretrained,
    )
    digest = sha256_of(src)
    extra: dict[str, Any] = {}
    if "iteration" in read.facts:
        extra["training iteration"] = read.facts["iteration"]
    if "tasks" in read.facts:
        extra["tasks"] = ", ".join(read.facts["tasks"])
    setting = _setting_of(read.facts.get("tasks"), src) if read.kind == "restorer" else None
    if setting is not None:
        extra["setting"] = setting
    if "heldout_fold" in read.facts:
        extra["held-out fold (the scenes it may render)"] = read.facts["heldout_fold"]
    if dst.parent.is_dir():  # what a conversion killed while writing this destination left behind
        remove_stale_temporaries(dst.parent, glob.escape(dst.name))
    with atomic_folder(dst) as tmp:
        read.module.save_pretrained(tmp)  # type: ignore[operator]
        (tmp / "README.md").write_text(_model_card(read.kind, read.module, src, digest, extra), encoding="utf-8")
    return ConvertedCheckpoint(dst, read.kind, read.module, digest)
