"""The two restorers a ``crossfit`` triplet build trained, loaded back for stage 2 as proxy restorers."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from torch import nn

from ..data.triplet_manifest import MANIFEST_NAME, load_manifest
from ..errors import InvalidValueError, MissingFileError
from ..models.padded_restorer import PaddedRestorer
from ..perceive.losses.proxies import Proxy
from .crossfit import fold_checkpoint, load_fold
from .triplet_build import restorer_and_multiple

__all__ = ["crossfit_proxies", "load_crossfit_restorers"]


def load_crossfit_restorers(
    triplets: str | os.PathLike[str],
    restorer_factory: Callable[[], nn.Module] | None = None,
    multiple: int | None = None,
) -> list[nn.Module]:
    """The two restorers a ``crossfit`` build trained (fold 0's, then fold 1's), frozen, in eval mode.

    Stage 2 uses them as proxy restorers (medium negatives) of the quality-aware loss. Each
    is wrapped in a :class:`~perceive_ir.models.padded_restorer.PaddedRestorer`, so any crop size works.

    Args:
        triplets: The build's ``out_dir`` or its ``manifest.json``.
        restorer_factory: Rebuilds the network for a build made with a custom factory; named
            restorers (:data:`~perceive_ir.models.medium_restorers.MEDIUM_RESTORERS`) rebuild themselves.
        multiple: Input size multiple (default: the named restorer's, else 1).

    Raises:
        FileNotFoundError: no manifest, or a fold's checkpoint is missing.
        ValueError: the build is not a ``crossfit`` one, or it used a custom factory and none is given.

    Example:
        >>> try:
        ...     load_crossfit_restorers("/nonexistent")
        ... except FileNotFoundError as err:
        ...     print(str(err).split(":")[0])
        No triplet manifest at /nonexistent/manifest.json
    """
    path = Path(triplets)
    path = path if path.suffix == ".json" else path / MANIFEST_NAME
    factory, named_multiple = _rebuilder(path, restorer_factory)
    restorers: list[nn.Module] = []
    for fold in (0, 1):
        ckpt = fold_checkpoint(path.parent, fold)
        if not ckpt.is_file():
            raise MissingFileError(f"{ckpt} is missing: the cross-fit build in {path.parent} did not finish.")
        padded = PaddedRestorer(load_fold(factory, ckpt), named_multiple if multiple is None else int(multiple))
        restorers.append(padded.eval().requires_grad_(False))
    return restorers


def _rebuilder(
    path: Path, restorer_factory: Callable[[], nn.Module] | None
) -> tuple[Callable[[], nn.Module], int]:
    """The factory and multiple that rebuild the restorers of the crossfit build described at ``path``."""
    doc = load_manifest(path)
    if doc is None:
        raise MissingFileError(
            f"No triplet manifest at {path}: build the triplets first (build_triplets, strategy='crossfit')."
        )
    settings = doc["settings"]
    if settings.get("strategy") != "crossfit":
        raise InvalidValueError(
            f"{path} was built with strategy={settings.get('strategy')!r}; only 'crossfit' trains restorers."
        )
    name = str(settings.get("restorer"))
    try:  # a named restorer rebuilds itself; a custom one needs its factory
        return restorer_and_multiple(name if restorer_factory is None else restorer_factory)
    except ValueError:
        raise InvalidValueError(
            f"{path} was built with the custom restorer {name!r}: pass `restorer_factory` to rebuild it."
        ) from None


def crossfit_proxies(restorers: Sequence[nn.Module]) -> list[Proxy]:
    """The cross-fit restorers (:func:`load_crossfit_restorers`) as proxies named ``crossfit<k>``.

    Args:
        restorers: The restorers of a ``crossfit`` build, fold 0's first.

    Example:
        >>> [p.name for p in crossfit_proxies([nn.Identity(), nn.Identity()])]
        ['crossfit0', 'crossfit1']
    """
    return [Proxy(net, name=f"crossfit{k}") for k, net in enumerate(restorers)]
