"""Registry of published pretrained weights.

The registry maps short names to Hugging Face Hub repositories pinned by revision. It is
empty on purpose: an entry is added only once weights have really been trained and
published. Until then, ``from_pretrained`` takes a local folder or a Hub repository id that
you published yourself (see ``docs/hub.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._registry import Registry

__all__ = ["PublishedWeights", "PUBLISHED_WEIGHTS", "list_published", "how_to_get_weights"]


@dataclass(frozen=True)
class PublishedWeights:
    """One published checkpoint.

    Attributes:
        repo_id: Hugging Face Hub repository id.
        revision: Commit hash the name is pinned to.
        module: Class name the files load into (e.g. ``"QualityPerceiver"``).
        description: Training setting, in one line (data, schedule, protocol).
    """

    repo_id: str
    revision: str
    module: str
    description: str


#: Name → published checkpoint. Empty until weights are really trained and published.
PUBLISHED_WEIGHTS: Registry[PublishedWeights] = Registry(
    "published checkpoint", how_to_add="see docs/hub.md to train and publish one"
)


def list_published(module: str | None = None) -> list[str]:
    """Names of published checkpoints, optionally only those that load into ``module``.

    Example:
        >>> list_published("QualityPerceiver")
        []
    """
    return sorted(name for name, entry in PUBLISHED_WEIGHTS.items() if module in (None, entry.module))


def how_to_get_weights(module: str) -> str:
    """The advice shown when a checkpoint cannot be found."""
    published = list_published(module)
    listing = ", ".join(published) if published else "none yet"
    return (
        f"Published {module} checkpoints: {listing}. To make your own, train the module (docs/hub.md), "
        f"save it with `.save_pretrained(folder)` and load that folder, or publish it with "
        f"`.push_to_hub('your-name/your-repo')` and load it by that id (pin `revision=` for reproducibility)."
    )
