"""Recipe configuration: YAML files merged with ``key=value`` command-line overrides (OmegaConf)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from omegaconf import DictConfig, OmegaConf

__all__ = ["load_config", "list_builtin_configs", "builtin_config_path"]


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
        raise FileNotFoundError(f"No built-in config {name!r}; available: {available}.")
    return path


def load_config(
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    defaults: dict[str, Any] | None = None,
) -> DictConfig:
    """Merge ``defaults`` ← a YAML file (path or built-in name) ← ``key=value`` overrides.

    Args:
        config: A YAML path, a built-in config name, or ``None``.
        overrides: Dotted ``key=value`` strings, e.g. ``["train.lr=1e-4", "data.crop=128"]``.
        defaults: Base values the file and overrides refine.

    Returns:
        The merged, read-only config.

    Raises:
        FileNotFoundError: the file or built-in name does not exist.
        ValueError: an override is not ``key=value``.

    Example:
        >>> cfg = load_config(None, ["train.lr=0.001"], defaults={"train": {"lr": 0.1, "steps": 10}})
        >>> cfg.train.lr, cfg.train.steps
        (0.001, 10)
    """
    merged = OmegaConf.create(defaults or {})
    if config is not None:
        path = Path(config)
        if not path.suffix:
            path = builtin_config_path(str(config))
        if not path.is_file():
            raise FileNotFoundError(f"Config file not found: {path}")
        merged = OmegaConf.merge(merged, OmegaConf.load(path))
    bad = [o for o in overrides if "=" not in o or o.startswith("=")]
    if bad:
        raise ValueError(f"Overrides must look like key=value, got {bad}.")
    if overrides:
        merged = OmegaConf.merge(merged, OmegaConf.from_dotlist(list(overrides)))
    OmegaConf.set_readonly(merged, True)
    return merged  # type: ignore[return-value]
