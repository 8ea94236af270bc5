"""Which modules of a known architecture are guided: one table, consulted before the automatic rule.

:func:`~perceive_ir.retrofit.wrap.wrap_backbone` without ``layers=`` first asks
:func:`guided_layers_for`: a backbone whose class is registered in :data:`GUIDED_LAYERS` (and has
every module the entry names) is guided at those modules; any other backbone by the automatic
rule of :func:`~perceive_ir.retrofit.layer_probe.select_guidance_layers`. So the same network is
guided at the same places whether it comes from a preset (``create_model("restormer")``) or from
a checkpoint file read by spandrel (``wrap_backbone(load_model("restormer.pth").module)``).

Entries are factories returning the module names, keyed by the backbone's class name. Register
your own architecture's with :func:`register_guided_layers`.

Example:
    >>> GUIDED_LAYERS["Restormer"]()
    ('latent', 'decoder_level3', 'decoder_level2', 'decoder_level1')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from .._registry import Registry
from ..errors import InvalidValueError

__all__ = ["GUIDED_LAYERS", "guided_layers_for", "register_guided_layers"]

#: Class name of a backbone → a factory of the names of its guided modules, in execution order.
GUIDED_LAYERS: Registry[Callable[[], tuple[str, ...]]] = Registry(
    "guided-layer architecture",
    {
        # the latent (1/8 resolution) and the decoder levels at 1/4, 1/2, 1 (Zamir et al., CVPR 2022)
        "Restormer": lambda: ("latent", "decoder_level3", "decoder_level2", "decoder_level1"),
        # the middle blocks (1/16) and the decoders at 1/8, 1/4, 1/2 (Chen et al., ECCV 2022)
        "NAFNet": lambda: ("middle_blks", "decoders.0", "decoders.1", "decoders.2"),
    },
    how_to_add="add one with perceive_ir.retrofit.guided_layers.register_guided_layers",
    error=InvalidValueError,
)


def register_guided_layers(architecture: str, layers: Sequence[str], *, overwrite: bool = False) -> None:
    """Guide backbones of class ``architecture`` at ``layers`` when ``wrap_backbone`` is given none.

    Args:
        architecture: The backbone's class name (``type(backbone).__name__``).
        layers: Names from ``backbone.named_modules()``, in execution order.
        overwrite: Replace an existing entry.

    Raises:
        ValueError: an empty or taken name, or no layers.

    Example:
        >>> register_guided_layers("MyUNet", ["bottleneck", "up1"], overwrite=True)
        >>> GUIDED_LAYERS["MyUNet"]()
        ('bottleneck', 'up1')
    """
    names = tuple(str(layer) for layer in layers)
    if not names:
        raise InvalidValueError(f"`layers` for {architecture!r} must name at least one module.")
    GUIDED_LAYERS.register(architecture, lambda: names, overwrite=overwrite)


def guided_layers_for(backbone: nn.Module) -> tuple[str, ...] | None:
    """The registered guided modules of ``backbone``'s architecture, or ``None`` (the automatic rule applies).

    ``None`` too when the backbone lacks one of the named modules (another class of the same name).

    Example:
        >>> from torch import nn
        >>> guided_layers_for(nn.Conv2d(3, 3, 3)) is None
        True
    """
    name = type(backbone).__name__
    if name not in GUIDED_LAYERS:
        return None
    layers = GUIDED_LAYERS[name]()
    modules = dict(backbone.named_modules())
    return layers if all(layer in modules for layer in layers) else None
