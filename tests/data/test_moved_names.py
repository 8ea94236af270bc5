"""Names that left ``data/`` warn and still work; ``data/`` imports no layer above it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import perceive_ir.data

#: (old module, name, new module) of every public name that moved out of ``perceive_ir.data``.
MOVED = [
    ("perceive_ir.data", "build_triplets", "perceive_ir.training.triplets"),
    ("perceive_ir.data", "crossfit_proxies", "perceive_ir.training.crossfit_restorers"),
    ("perceive_ir.data", "load_crossfit_restorers", "perceive_ir.training.crossfit_restorers"),
    ("perceive_ir.data", "MEDIUM_RESTORERS", "perceive_ir.models.medium_restorers"),
    ("perceive_ir.data", "PaddedRestorer", "perceive_ir.models.padded_restorer"),
    ("perceive_ir.data", "TinyRestorer", "perceive_ir.models.tiny_restorer"),
    ("perceive_ir.data.triplets", "build_triplets", "perceive_ir.training.triplets"),
    ("perceive_ir.data.triplets", "TripletStrategy", "perceive_ir.training.triplets"),
    ("perceive_ir.data.triplets", "TileBlend", "perceive_ir.training.triplets"),
    ("perceive_ir.data.triplets", "load_crossfit_restorers", "perceive_ir.training.crossfit_restorers"),
    ("perceive_ir.data.triplets", "crossfit_proxies", "perceive_ir.training.crossfit_restorers"),
    ("perceive_ir.data.triplets", "MANIFEST_NAME", "perceive_ir.data.triplet_manifest"),
    ("perceive_ir.data.triplets", "load_manifest", "perceive_ir.data.triplet_manifest"),
    ("perceive_ir.data.triplets", "scene_fold", "perceive_ir.data.stage1_scenes"),
    ("perceive_ir.data.restorer", "DEFAULT_MEDIUM_RESTORER", "perceive_ir.models.medium_restorers"),
    ("perceive_ir.data.restorer", "MEDIUM_RESTORERS", "perceive_ir.models.medium_restorers"),
    ("perceive_ir.data.restorer", "medium_restorer", "perceive_ir.models.medium_restorers"),
    ("perceive_ir.data.restorer", "TinyRestorer", "perceive_ir.models.tiny_restorer"),
    ("perceive_ir.data.restorer", "PaddedRestorer", "perceive_ir.models.padded_restorer"),
    *[("perceive_ir.data.medium_training", name, "perceive_ir.training.medium_training")
      for name in ("AUTHORS_TASK_RESAMPLING", "Precision", "autocast_context", "check_task_resampling",
                   "epoch_order", "medium_optimizer", "random_crop_pair", "train_medium_restorer", "uses_bf16")],
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED, ids=[f"{o}.{n}" for o, n, _ in MOVED])
def test_old_names_warn_with_the_new_place_and_give_the_same_object(old: str, name: str, new: str) -> None:
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to {new}\.{name};") as caught:
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)
    assert caught[0].filename == __file__  # the warning points at the caller


def test_from_import_of_an_old_name_warns_and_unknown_names_still_fail() -> None:
    with pytest.warns(DeprecationWarning, match="perceive_ir.training.triplets.build_triplets"):
        from perceive_ir.data import build_triplets
    from perceive_ir.training import build_triplets as new

    assert build_triplets is new
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        perceive_ir.data.nosuch  # noqa: B018
    assert "build_triplets" not in perceive_ir.data.__all__


_ABOVE_DATA = ("models", "inference", "training", "retrofit", "apps", "cli", "integrations", "perceive", "amirnet")


def _imported_layers(path: Path, package: tuple[str, ...]) -> set[str]:
    """The top-level subpackages of ``perceive_ir`` that a module's import statements name."""
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1]) + (node.module or "").split(".")
            else:
                base = (node.module or "").split(".")
            if base[0] == "perceive_ir" and len(base) > 1:
                layers.add(base[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "perceive_ir" and len(parts) > 1:
                    layers.add(parts[1])
    return layers


def test_data_imports_only_infrastructure_and_itself() -> None:
    root = Path(perceive_ir.data.__file__).parent
    for path in sorted(root.rglob("*.py")):
        package = ("perceive_ir", *path.relative_to(root.parent).parent.parts)
        above = _imported_layers(path, package) & set(_ABOVE_DATA)
        assert not above, f"{path.relative_to(root.parent)} imports {sorted(above)}"
