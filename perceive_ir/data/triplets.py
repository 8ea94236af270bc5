"""Deprecated: the stage-1 triplet build moved to :mod:`perceive_ir.training.triplets`.

The build trains and runs restorers, which sit above ``data``; ``data`` keeps the triplet
format (:mod:`perceive_ir.data.triplet_manifest`) and :class:`~perceive_ir.data.TripletDataset`.
The old names keep working for one release, each with a ``DeprecationWarning`` naming its new
place; nothing above ``data`` is imported until one is used.
"""

from __future__ import annotations

from .._moved import moved_names

__all__: list[str] = []

__getattr__ = moved_names(__name__, {
    "build_triplets": "perceive_ir.training.triplets",
    "TripletStrategy": "perceive_ir.training.triplets",
    "TileBlend": "perceive_ir.training.triplets",
    "load_crossfit_restorers": "perceive_ir.training.crossfit_restorers",
    "crossfit_proxies": "perceive_ir.training.crossfit_restorers",
    "MANIFEST_NAME": "perceive_ir.data.triplet_manifest",
    "load_manifest": "perceive_ir.data.triplet_manifest",
    "scene_fold": "perceive_ir.data.stage1_scenes",
})
