"""The authors' Perceive-IR restorer as a spandrel architecture: chaiNNer, ComfyUI and any spandrel host.

Call :func:`install` once (a host's custom node or plugin does it at import) and spandrel's
``ModelLoader`` recognises the self-contained files of ``perceive-ir export --format spandrel``
(see :mod:`perceive_ir.integrations.spandrel_format`): ``load_from_file(path)`` (chaiNNer) and
``load_from_state_dict(safetensors.torch.load_file(path))`` (ComfyUI) both return an
``ImageModelDescriptor`` whose call restores like :func:`perceive_ir.restore`: the guidance once on
the whole image, tiles of 512 pixels inside when the image is larger (``tiling=INTERNAL``: hosts
that honour it, like chaiNNer, pass the whole image).

Needs spandrel: ``pip install "perceive-ir[backbones]"`` in the host's Python environment.
"""

from __future__ import annotations

try:
    from spandrel import (
        MAIN_REGISTRY,
        Architecture,
        ArchRegistry,
        ArchSupport,
        ImageModelDescriptor,
        ModelTiling,
        SizeRequirements,
        StateDict,
    )
except ImportError as err:
    raise ImportError(
        'perceive_ir.integrations.spandrel needs spandrel: pip install "perceive-ir[backbones]" '
        "(in the Python environment of your host: chaiNNer, ComfyUI, ...)."
    ) from err

from torch import Tensor

from ..models.architectures import AUTHORS_RESTORER_SUPPORTS_BFLOAT16, AUTHORS_RESTORER_SUPPORTS_HALF
from ..models.descriptor import describe_module
from .spandrel_format import (
    SpandrelPerceiveIR,
    is_authors_restorer_state,
    is_spandrel_state_dict,
    spandrel_model_from_state_dict,
)

__all__ = [
    "ARCH_ID",
    "BEFORE",
    "SUPPORTS_BFLOAT16",
    "SUPPORTS_HALF",
    "PerceiveIRArch",
    "install",
]

#: The architecture's id in spandrel's registries.
ARCH_ID = "PerceiveIR"
#: Architectures ours is detected before: spandrel-extra-arches' Restormer, our network's body.
BEFORE: tuple[str, ...] = ("Restormer",)
#: bfloat16 output within 0.02 (max abs) of float32 on the tiny reference restorer, CPU (tests/integrations);
#: the value of :data:`~perceive_ir.models.architectures.AUTHORS_RESTORER_SUPPORTS_BFLOAT16`.
SUPPORTS_BFLOAT16 = AUTHORS_RESTORER_SUPPORTS_BFLOAT16
#: float16 output within 0.005 (max abs) of float32 on the tiny reference restorer, CPU (tests/integrations);
#: the value of :data:`~perceive_ir.models.architectures.AUTHORS_RESTORER_SUPPORTS_HALF`.
SUPPORTS_HALF = AUTHORS_RESTORER_SUPPORTS_HALF


def _detect(state_dict: StateDict) -> bool:
    # our file, or the authors' raw restorer (claimed only to say how to make a file of it)
    return is_spandrel_state_dict(state_dict) or is_authors_restorer_state(state_dict)


def _call(model: SpandrelPerceiveIR, image: Tensor) -> Tensor:
    return model(image)


class PerceiveIRArch(Architecture[SpandrelPerceiveIR]):
    """Detects and loads Perceive-IR spandrel files (the restorer, its DINOv2 and a config tensor).

    Example:
        >>> arch = PerceiveIRArch()
        >>> arch.id, arch.detect({"conv.weight": None})
        ('PerceiveIR', False)
    """

    def __init__(self) -> None:
        super().__init__(id=ARCH_ID, name="Perceive-IR", detect=_detect)

    def load(self, state_dict: StateDict) -> ImageModelDescriptor[SpandrelPerceiveIR]:
        """Rebuild the network from the tensors alone and describe it to spandrel.

        Raises:
            SpandrelFormatError: the authors' raw ``.pth`` (the message says how to export it), a
                damaged config tensor, or tensors that do not fit.
        """
        model = spandrel_model_from_state_dict(state_dict)
        net = model.restorer
        described = describe_module(net)  # the restorer's own facts, as load_model states them
        tags = [f"{net.dim}nf", f"dinov2-{net.semantic.dim}"]
        return ImageModelDescriptor(
            model,
            state_dict,
            architecture=self,
            purpose="Restoration",
            tags=tags,
            supports_half=SUPPORTS_HALF,
            supports_bfloat16=SUPPORTS_BFLOAT16,
            scale=described.scale or 1,
            input_channels=described.input_channels,
            output_channels=described.output_channels,
            size_requirements=SizeRequirements(minimum=described.minimum_size, multiple_of=described.multiple),
            tiling=ModelTiling.INTERNAL,
            call_fn=_call,
        )


def install(*, registry: ArchRegistry | None = None) -> list[ArchSupport]:
    """Register the Perceive-IR architecture in spandrel (idempotent: a second call adds nothing).

    Args:
        registry: Where to register; ``None``: ``spandrel.MAIN_REGISTRY``, the one every
            ``ModelLoader()`` uses.

    Returns:
        What was added — one ``ArchSupport``, or nothing when already installed.

    Example:
        >>> import spandrel
        >>> registry = spandrel.ArchRegistry()
        >>> [s.architecture.id for s in install(registry=registry)], install(registry=registry)
        (['PerceiveIR'], [])
    """
    target = MAIN_REGISTRY if registry is None else registry
    support = ArchSupport.from_architecture(PerceiveIRArch(), before=BEFORE)
    return target.add(support, ignore_duplicates=True)

