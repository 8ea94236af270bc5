"""The triplet strategies by name: :data:`TRIPLET_STRATEGIES`, the ``strategy`` of ``build_triplets``.

Each entry is a factory ``factory(build) -> TripletRenderer``
(:class:`~perceive_ir.training.triplet_build.TripletRenderer`; a subclass is one):

==============  =====================================================================
``crossfit``    the paper's: each half rendered by a restorer trained on the other
                (:class:`~perceive_ir.training.crossfit.CrossfitRenderer`)
``model``       a restorer you supply, applied in tiles
                (:class:`~perceive_ir.training.triplet_renderers.ModelRenderer`)
``mild``        a blend towards the clean image [ours: quick, not the paper's]
                (:class:`~perceive_ir.training.triplet_renderers.MildRenderer`)
==============  =====================================================================

Register your own from user code and name it as ``strategy``::

    class Halfway(TripletRenderer):
        def medium(self, scene, low, high):
            return (low + high) / 2

    TRIPLET_STRATEGIES.register("halfway", Halfway)
    build_triplets(dataset, "triplets", strategy="halfway")
"""

from __future__ import annotations

from collections.abc import Callable

from .._registry import Registry
from ..errors import InvalidValueError
from .crossfit import CrossfitRenderer
from .triplet_build import TripletBuild, TripletRenderer
from .triplet_renderers import MildRenderer, ModelRenderer

__all__ = ["TRIPLET_STRATEGIES", "TripletStrategyFactory"]

#: Builds a strategy's renderer for one build.
TripletStrategyFactory = Callable[[TripletBuild], TripletRenderer]

#: Name → factory of the strategy's :class:`~perceive_ir.training.triplet_build.TripletRenderer`.
TRIPLET_STRATEGIES: Registry[TripletStrategyFactory] = Registry(
    "triplet strategy",
    {"crossfit": CrossfitRenderer, "model": ModelRenderer, "mild": MildRenderer},
    how_to_add="pass `strategy` as one of these, or register a renderer with TRIPLET_STRATEGIES.register",
    error=InvalidValueError,
)
