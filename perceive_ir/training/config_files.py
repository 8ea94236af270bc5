"""Recipe configuration: YAML files merged with ``key=value`` command-line overrides (OmegaConf).

A recipe file is either **complete by itself** or names a **base recipe** to refine with a
top-level ``base:`` key (a built-in name such as ``small``, or a YAML path relative to the
file): the file's values are then merged onto the base's, so it holds only what differs::

    base: small
    train:
      max_steps: 2000

A base may itself name a base. Every section stays strict after the merge (unknown keys are
errors, :mod:`~perceive_ir.training.config`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Sequence, cast

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..errors import InvalidValueError, MissingFileError

__all__ = ["BASE_KEY", "builtin_config_path", "list_builtin_configs", "load_config", "names_base"]

#: Top-level key of a recipe file naming the recipe it refines.
BASE_KEY = "base"

_MAX_BASES = 8


def list_builtin_configs() -> list[str]:
    """Names of the configs shipped with the package (``perceive_ir/training/configs/*.yaml``).

    Example:
        >>> isinstance(list_builtin_configs(), list)
        True
    """
    root = resources.files("perceive_ir.training") / "configs"
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def builtin_config_path(name: str) -> Path:
    """Path of a shipped config by name (e.g. ``"3task"``)."""
    path = Path(str(resources.files("perceive_ir.training") / "configs" / f"{name}.yaml"))
    if not path.is_file():
        available = ", ".join(list_builtin_configs()) or "none"
        raise MissingFileError(f"No built-in config {name!r}; available: {available}.")
    return path


def _resolve(config: str | Path, relative_to: Path | None = None) -> Path:
    path = Path(config)
    if not path.suffix:
        return builtin_config_path(str(config))
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if path.is_dir():
        raise InvalidValueError(
            f"Config {path} is a folder; expected a YAML recipe file or a built-in name "
            f"({', '.join(list_builtin_configs())})."
        )
    if not path.is_file():
        raise MissingFileError(f"Config file not found: {path}")
    return path


def _read(path: Path) -> DictConfig:
    try:
        loaded = OmegaConf.load(path)
    except UnicodeDecodeError:
        raise InvalidValueError(f"Config {path} is not a text file; expected a YAML recipe.") from None
    except (yaml.YAMLError, OmegaConfBaseException) as err:
        raise InvalidValueError(f"Config {path} is not valid YAML: {' '.join(str(err).split())}") from None
    if isinstance(loaded, ListConfig):
        raise InvalidValueError(
            f"Config {path} holds a YAML list; a recipe is a mapping of sections (model, data, ...)."
        )
    if not loaded:
        raise InvalidValueError(
            f"Config {path} is empty; a recipe sets its sections, or starts with `{BASE_KEY}: <recipe>` to refine one."
        )
    return loaded


def _load_file(path: Path, chain: tuple[Path, ...] = ()) -> DictConfig:
    """The file merged onto its ``base:`` chain."""
    if path.resolve() in chain or len(chain) >= _MAX_BASES:
        raise InvalidValueError(
            f"Config {path}: the `{BASE_KEY}:` recipes form a loop or a chain over {_MAX_BASES} long."
        )
    loaded = _read(path)
    if BASE_KEY not in loaded:
        return loaded
    base = loaded.pop(BASE_KEY)
    if not isinstance(base, str) or not base:
        raise InvalidValueError(f"Config {path}: `{BASE_KEY}` must name a recipe (a built-in name or a YAML path), "
                                f"got {base!r}.")
    return OmegaConf.merge(_load_file(_resolve(base, path.parent), (*chain, path.resolve())), loaded)  # type: ignore[return-value]


def names_base(config: str | Path) -> bool:
    """Whether ``config`` is a built-in recipe or a file refining one (``base:``), not a complete file.

    Example:
        >>> names_base("small")
        True
    """
    path = Path(config)
    if not path.suffix:
        return True
    try:
        return BASE_KEY in _read(path)
    except (OSError, ValueError):
        return False


def load_config(
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    defaults: dict[str, Any] | None = None,
) -> DictConfig:
    """Merge ``defaults`` ← a YAML file (path or built-in name, with its ``base:``) ← ``key=value`` overrides.

    Args:
        config: A YAML path, a built-in config name, or ``None``. A file whose top-level
            ``base:`` names a recipe is merged onto it; otherwise it is used as it is.
        overrides: Dotted ``key=value`` strings, e.g. ``["train.lr=1e-4", "data.crop=128"]``.
        defaults: Base values the file and overrides refine.

    Returns:
        The merged, read-only config.

    Raises:
        FileNotFoundError: the file or built-in name does not exist.
        ValueError: the file is a folder, not YAML, empty or a list; an override is not
            ``key=value`` (each message names the file or the override).

    Example:
        >>> cfg = load_config(None, ["train.lr=0.001"], defaults={"train": {"lr": 0.1, "steps": 10}})
        >>> cfg.train.lr, cfg.train.steps
        (0.001, 10)
    """
    merged = OmegaConf.create(defaults or {})
    if config is not None:
        merged = cast(DictConfig, OmegaConf.merge(merged, _load_file(_resolve(config))))  # dicts merge to a dict
    bad = [o for o in overrides if "=" not in o or o.startswith("=")]
    if bad:
        raise InvalidValueError(f"Overrides must look like key=value (e.g. train.lr=1e-4), got {bad}.")
    if overrides:
        try:
            merged = cast(DictConfig, OmegaConf.merge(merged, OmegaConf.from_dotlist(list(overrides))))
        except (yaml.YAMLError, OmegaConfBaseException) as err:
            raise InvalidValueError(
                f"Cannot apply the overrides {list(overrides)}: {' '.join(str(err).split())}"
            ) from None
    OmegaConf.set_readonly(merged, True)
    return merged
