"""The models a restoration page offers, by label, loaded on first use and kept for the next request.

A :class:`ModelCatalog` maps the labels shown to a user onto model sources that
:func:`~perceive_ir.models.load_model` resolves: the folders and files a ``perceive-ir demo``
report keeps, a converted folder or a ``.pth`` file of the Perceive-IR authors, any local folder
written by ``save_restoration_model``, a checkpoint of a plain network, or a preset name
(random weights: its label says so).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

from .._validation import check_int
from ..errors import InvalidValueError
from ..models.descriptor import ModelDescriptor
from ..models.factory import list_models, load_model
from ..models.sources import parse_source
from .demo_models import read_demo_models

__all__ = ["ModelCatalog"]


class ModelCatalog:
    """Labelled model sources, loaded lazily and kept in a small least-recently-used cache.

    Args:
        choices: Label → model source (a folder, a checkpoint file, a preset name or a Hub id).
        semantic_encoder: DINOv2 (Hub id or local folder) for the authors' restorer ``.pth``
            files; ``None``: theirs, ``facebook/dinov2-base``. Converted folders name theirs.
        keep: How many loaded networks to keep in memory.
        allow_paths: Whether :meth:`load` also takes a path that is not one of the labels.

    Raises:
        ValueError: an empty label, or a label whose source is empty.

    Example:
        >>> catalog = ModelCatalog({"tiny wrapped": "nafnet-small"})
        >>> catalog.labels
        ['tiny wrapped (untrained preset)']
    """

    def __init__(
        self,
        choices: Mapping[str, str | os.PathLike[str]],
        *,
        semantic_encoder: str | None = None,
        keep: int = 2,
        allow_paths: bool = True,
    ) -> None:
        check_int(keep, "keep")
        self._sources: dict[str, str] = {}
        for label, source in choices.items():
            if not str(label).strip() or not str(source).strip():
                raise InvalidValueError(f"`choices` needs a non-empty label and source, got {label!r}: {source!r}.")
            self._sources[_label(str(label), str(source))] = str(source)
        self.semantic_encoder = semantic_encoder
        self.keep = keep
        self.allow_paths = allow_paths
        self._loaded: OrderedDict[str, ModelDescriptor] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_sources(
        cls,
        sources: Sequence[str | os.PathLike[str]] = (),
        *,
        demo_report: str | os.PathLike[str] | None = None,
        **kwargs: object,
    ) -> ModelCatalog:
        """The trained networks of a demo report (when it holds any), then each source labelled by its name.

        Args:
            sources: Model sources given by the user (``--model``).
            demo_report: A ``perceive-ir demo`` report folder; an absent folder adds nothing.
            **kwargs: :class:`ModelCatalog` options.

        Example:
            >>> ModelCatalog.from_sources(["nafnet-small"], demo_report="no/such/report").labels
            ['nafnet-small (untrained preset)']
        """
        choices: dict[str, str | os.PathLike[str]] = {}
        if demo_report is not None:
            choices.update(read_demo_models(demo_report).models)
        for source in sources:
            choices[_source_label(str(source))] = source
        return cls(choices, **kwargs)  # type: ignore[arg-type]

    @property
    def labels(self) -> list[str]:
        """The labels, in the order given."""
        return list(self._sources)

    def source(self, choice: str) -> str:
        """The model source behind a label, or ``choice`` itself when it is an existing path and paths are allowed.

        Raises:
            ValueError: neither a label nor (with ``allow_paths``) an existing file or folder.
        """
        if choice in self._sources:
            return self._sources[choice]
        if self.allow_paths and choice.strip() and Path(choice.strip()).expanduser().exists():
            return str(Path(choice.strip()).expanduser())
        known = ", ".join(repr(label) for label in self._sources) or "none"
        what = "a model label or an existing local folder or file" if self.allow_paths else "a model label"
        raise InvalidValueError(f"Model {choice!r} is not {what}; the labels are {known}.")

    def load(self, choice: str) -> ModelDescriptor:
        """The network of a label (or path), loaded once and kept while it is among the ``keep`` last used.

        Raises:
            ValueError, FileNotFoundError, PretrainedNotFoundError: an unknown label, a missing
                path or a folder or file that holds no usable model (from :func:`~perceive_ir.models.load_model`).
        """
        source = self.source(choice)
        with self._lock:
            if source in self._loaded:
                self._loaded.move_to_end(source)
                return self._loaded[source]
            kwargs = {} if self.semantic_encoder is None else {"semantic_encoder": self.semantic_encoder}
            loaded = load_model(source, **kwargs)
            self._loaded[source] = loaded
            while len(self._loaded) > self.keep:
                self._loaded.popitem(last=False)
            return loaded


def _is_preset(source: str) -> bool:
    try:
        return parse_source(source, presets=list_models()).kind == "preset"
    except (ValueError, OSError):  # an ambiguous or missing source: load() says why
        return False


def _label(label: str, source: str) -> str:
    """A preset's random weights are said in its label."""
    return f"{label} (untrained preset)" if _is_preset(source) else label


def _source_label(source: str) -> str:
    """A short label for a user's source: a path's last two parts, else the name."""
    parts = Path(source).parts
    return str(Path(*parts[-2:])) if len(parts) > 1 else source
