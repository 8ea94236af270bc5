"""Deprecated: the medium restorers moved to :mod:`perceive_ir.models`.

:data:`~perceive_ir.models.medium_restorers.MEDIUM_RESTORERS` (now a registry),
``medium_restorer`` and ``DEFAULT_MEDIUM_RESTORER`` live in
:mod:`perceive_ir.models.medium_restorers`, :class:`~perceive_ir.models.tiny_restorer.TinyRestorer`
and :class:`~perceive_ir.models.padded_restorer.PaddedRestorer` in modules of their own. The old
names keep working for one release, each with a ``DeprecationWarning`` naming its new place.
"""

from __future__ import annotations

from .._moved import moved_names

__all__: list[str] = []

__getattr__ = moved_names(__name__, {
    "DEFAULT_MEDIUM_RESTORER": "perceive_ir.models.medium_restorers",
    "MEDIUM_RESTORERS": "perceive_ir.models.medium_restorers",
    "medium_restorer": "perceive_ir.models.medium_restorers",
    "TinyRestorer": "perceive_ir.models.tiny_restorer",
    "PaddedRestorer": "perceive_ir.models.padded_restorer",
})
