"""Frozen feature spaces φ for the difficulty-adaptive perceptual loss.

A feature space maps ``[0, 1]`` images to a list of feature tensors (one per layer) and
carries one weight per layer. Three are provided:

* :class:`ClipFeatureSpace` — the perceiver's own CLIP vision tower (no extra download; an option, not the paper's);
  four transformer blocks evenly spaced in depth. Shares its forward pass with the quality
  term of :class:`~perceive_ir.perceive.losses.QualityAwareLoss`.
* :class:`VGG16FeatureSpace` — torchvision's ImageNet VGG-16 at relu1_2, relu2_2, relu3_1,
  relu3_3: the paper's choice and the default of the loss. The weights are read locally
  (:func:`load_vgg16_state`); offline and missing, a clear error says where to put them.
* :class:`CallableFeatureSpace` — any callable returning a list of feature maps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ..._files import read_safetensors, safe_torch_load
from ..._registry import Registry
from ...errors import InvalidTypeError, InvalidValueError, MissingFileError
from ..perceiver import QualityPerceiver

__all__ = [
    "FEATURE_SPACES",
    "FeatureSpaceFactory",
    "PAPER_LAYER_WEIGHTS",
    "FeatureSpace",
    "ClipFeatureSpace",
    "VGG16FeatureSpace",
    "CallableFeatureSpace",
    "VGG16WeightsNotFoundError",
    "VGG16_ENV",
    "VGG16_FILE",
    "load_vgg16_state",
    "resolve_feature_space",
    "resolve_layer_weights",
    "vgg16_cache_path",
]

#: Layer weights of the paper's perceptual loss, shallow to deep.
PAPER_LAYER_WEIGHTS: tuple[float, ...] = (1 / 12, 1 / 6, 1 / 3, 1.0)

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def resolve_layer_weights(layer_weights: Sequence[float] | None, num_layers: int) -> tuple[float, ...]:
    """Paper weights for four layers, uniform otherwise, or the given ones (checked)."""
    if layer_weights is None:
        return PAPER_LAYER_WEIGHTS if num_layers == 4 else tuple([1.0 / num_layers] * num_layers)
    weights = tuple(float(w) for w in layer_weights)
    if len(weights) != num_layers or any(w < 0 for w in weights):
        raise InvalidValueError(f"`layer_weights` must be {num_layers} non-negative numbers, got {layer_weights!r}.")
    return weights


class FeatureSpace(nn.Module):
    """Base class: ``forward(images) -> list[Tensor]`` plus ``layer_weights``."""

    layer_weights: tuple[float, ...]

    def forward(self, images: Tensor) -> list[Tensor]:  # pragma: no cover - abstract
        """Features of ``(B, 3, H, W)`` images in ``[0, 1]``, one tensor per layer, shallow to deep."""
        raise NotImplementedError


class ClipFeatureSpace(FeatureSpace):
    """Blocks of the perceiver's frozen CLIP vision tower.

    Args:
        perceiver: The quality perceiver whose CLIP tower is used (not copied).
        blocks: Block indices; default four evenly spaced blocks ending with the last.
        layer_weights: One weight per block; default the paper's (1/12, 1/6, 1/3, 1).

    Example:
        >>> import torch
        >>> from perceive_ir import QualityPerceiver
        >>> tiny = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 4, "width": 32,
        ...     "patch_size": 16, "head_width": 16}, "text_cfg": {"context_length": 77,
        ...     "vocab_size": 49408, "width": 16, "heads": 1, "layers": 1}}
        >>> space = ClipFeatureSpace(QualityPerceiver(tiny, None, n_ctx=4))
        >>> space.blocks, len(space(torch.rand(1, 3, 32, 32)))
        ((0, 1, 2, 3), 4)
    """

    perceiver: QualityPerceiver

    def __init__(
        self,
        perceiver: QualityPerceiver,
        blocks: Sequence[int] | None = None,
        layer_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        object.__setattr__(self, "perceiver", perceiver)  # a reference, not a submodule
        depth = perceiver.vision_depth
        if blocks is None:
            blocks = sorted({max(0, round(depth * k / 4) - 1) for k in range(1, 5)})
        blocks = tuple(int(b) for b in blocks)
        if not blocks or any(not 0 <= b < depth for b in blocks):
            raise InvalidValueError(
                f"`blocks` must be indices in [0, {depth}) of the CLIP vision tower, got {blocks!r}."
            )
        self.blocks = blocks
        self.layer_weights = resolve_layer_weights(layer_weights, len(blocks))

    def forward_with_embedding(self, images: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Normalised CLIP embedding and block features from one pass."""
        return self.perceiver.encode_images_with_intermediates(images, self.blocks)

    def forward(self, images: Tensor) -> list[Tensor]:
        """The chosen CLIP blocks' features (see :meth:`forward_with_embedding` for the embedding too)."""
        return self.forward_with_embedding(images)[1]


class VGG16WeightsNotFoundError(MissingFileError):
    """The ImageNet VGG-16 weights of the paper's feature space are not on this machine (and not downloadable)."""


#: torchvision's ImageNet VGG-16 file (``VGG16_Weights.IMAGENET1K_V1``), the paper's and the authors' ``vgg16``.
VGG16_FILE = "vgg16-397923af.pth"
VGG16_URL = f"https://download.pytorch.org/models/{VGG16_FILE}"
#: Environment variable naming a local copy of :data:`VGG16_FILE`.
VGG16_ENV = "PERCEIVE_IR_VGG16_WEIGHTS"
_OFFLINE_ENVS = ("PERCEIVE_IR_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def _offline() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in _OFFLINE_ENVS)


def vgg16_cache_path() -> Path:
    """Where torchvision keeps :data:`VGG16_FILE`: ``<torch.hub.get_dir()>/checkpoints/`` (``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE


def _missing_weights(reason: str) -> VGG16WeightsNotFoundError:
    return VGG16WeightsNotFoundError(
        f"The paper's perceptual feature space needs torchvision's ImageNet VGG-16 weights ({VGG16_FILE}, "
        f"VGG16_Weights.IMAGENET1K_V1, {VGG16_URL}): {reason}. Provide them locally in one of these ways: "
        f"put the file at {vgg16_cache_path()} (torch's hub cache; set $TORCH_HOME to move it), set "
        f"{VGG16_ENV}=/path/to/{VGG16_FILE}, or pass VGG16FeatureSpace(weights='/path/to/{VGG16_FILE}') as "
        "`feature_space=`. feature_space='clip' needs no download but is not the paper's choice."
    )


def _read_state(path: Path) -> dict[str, Tensor]:
    """The state dict in a local VGG-16 weights file, read by the library's safe loaders."""
    if not path.is_file():
        raise _missing_weights(f"{path} does not exist")
    what = f"a VGG-16 state dict ({VGG16_FILE})"
    if path.suffix == ".safetensors":
        return read_safetensors(path, what)
    state = safe_torch_load(path, what)
    if not isinstance(state, dict):
        raise InvalidValueError(f"{path} does not hold a state dict (got {type(state).__name__}).")
    return state


def load_vgg16_state(weights: str | os.PathLike[str] = "IMAGENET1K_V1") -> dict[str, Tensor]:
    """The VGG-16 state dict for ``weights``: a file, or torchvision's ImageNet weights found locally.

    ``"IMAGENET1K_V1"`` is looked up in this order: the file named by ``$PERCEIVE_IR_VGG16_WEIGHTS``,
    torch's hub cache (:func:`vgg16_cache_path`), then a download by torchvision, which is never
    tried when ``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE`` or ``PERCEIVE_IR_OFFLINE`` is set.

    Raises:
        VGG16WeightsNotFoundError: nothing found and no download possible; the message says
            which file is needed and where to put it.

    Example:
        >>> import os
        >>> os.environ["PERCEIVE_IR_VGG16_WEIGHTS"] = "/nonexistent/vgg16.pth"
        >>> try:
        ...     load_vgg16_state()
        ... except VGG16WeightsNotFoundError as err:
        ...     "vgg16-397923af.pth" in str(err)
        True
        >>> del os.environ["PERCEIVE_IR_VGG16_WEIGHTS"]
    """
    if isinstance(weights, os.PathLike) or (isinstance(weights, str) and weights != "IMAGENET1K_V1"):
        return _read_state(Path(weights))
    if os.environ.get(VGG16_ENV):
        return _read_state(Path(os.environ[VGG16_ENV]))
    cached = vgg16_cache_path()
    if cached.is_file():
        return _read_state(cached)
    if _offline():
        raise _missing_weights(f"not in torch's hub cache and offline mode is set ({', '.join(_OFFLINE_ENVS)})")
    from torchvision.models import VGG16_Weights

    try:
        return VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
    except Exception as err:  # no network, a proxy, a truncated download
        raise _missing_weights(f"the download failed ({type(err).__name__}: {err})") from err


class VGG16FeatureSpace(FeatureSpace):
    """torchvision VGG-16 features at relu1_2, relu2_2, relu3_1, relu3_3: the paper's feature space.

    Images are clamped to ``[0, 1]`` (as the authors' code does) and ImageNet-normalised. The
    four maps are those the authors' ``VGGFeatures`` effectively returns: it keeps the outputs
    of ``vgg16().features`` at indices 3, 7, 11 and 15, but index 7 (conv2_2) is overwritten by
    torchvision's in-place ReLU at index 8, so their second map is relu2_2. Here the ReLUs are
    not in place and relu2_2 is read where it is computed (index 8).
    [paper: authors losses.py VGGFeatures indices 3/7/11/15, layer_weights 1/12, 1/6, 1/3, 1]

    Args:
        weights: ``"IMAGENET1K_V1"`` (torchvision's ImageNet weights, the paper's; found as
            :func:`load_vgg16_state` says), a path to a VGG-16 state dict (``.pth`` or
            ``.safetensors``, full model or ``features`` only), or ``None`` for random
            weights (tests only).
        layer_weights: One weight per layer; default the paper's (1/12, 1/6, 1/3, 1).

    Raises:
        VGG16WeightsNotFoundError: the ImageNet weights are not available (see :func:`load_vgg16_state`).

    Example:
        >>> import torch
        >>> space = VGG16FeatureSpace(weights=None)
        >>> [f.shape[1] for f in space(torch.rand(1, 3, 32, 32))], space.LAYER_NAMES
        ([64, 128, 256, 256], ('relu1_2', 'relu2_2', 'relu3_1', 'relu3_3'))
    """

    #: Indices in ``torchvision.models.vgg16().features`` of the four layers whose outputs are returned.
    LAYER_INDICES = (3, 8, 11, 15)
    #: Their names.
    LAYER_NAMES = ("relu1_2", "relu2_2", "relu3_1", "relu3_3")

    mean: Tensor
    std: Tensor

    def __init__(
        self, weights: str | os.PathLike[str] | None = "IMAGENET1K_V1", layer_weights: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        # build the convolutional part only: the classifier (120M parameters) is never used
        features = make_layers(cfgs["D"])[: self.LAYER_INDICES[-1] + 1]
        if weights is not None:
            state = load_vgg16_state(weights)
            prefix = "features." if any(k.startswith("features.") for k in state) else ""
            kept = {
                k[len(prefix) :]: v
                for k, v in state.items()
                if k.startswith(prefix) and k[len(prefix) :].split(".")[0].isdigit()
                and int(k[len(prefix) :].split(".")[0]) < len(features)
            }
            features.load_state_dict(kept)  # strict: a file that is not VGG-16 fails here
        self.weights = None if weights is None else str(weights)
        for layer in features:
            if isinstance(layer, nn.ReLU):
                layer.inplace = False  # no layer's output is overwritten by the next one
        self.features = features.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.layer_weights = resolve_layer_weights(layer_weights, len(self.LAYER_INDICES))

    def train(self, mode: bool = True) -> VGG16FeatureSpace:
        """Set the training mode as ``nn.Module.train`` does, but keep the frozen VGG layers in eval mode."""
        super().train(mode)
        self.features.eval()
        return self

    def forward(self, images: Tensor) -> list[Tensor]:
        """Clamp to ``[0, 1]``, ImageNet-normalise and return the four layers' outputs (:attr:`LAYER_INDICES`)."""
        x = (images.clamp(0, 1) - self.mean) / self.std
        taken: list[Tensor] = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.LAYER_INDICES:
                taken.append(x)
        return taken


class CallableFeatureSpace(FeatureSpace):
    """Wrap any callable ``images -> list of feature tensors``.

    Args:
        fn: The feature extractor. Keep it frozen; it is called with gradients for the
            restored image and under ``no_grad`` for the others.
        layer_weights: One weight per returned tensor; default the paper's for four tensors,
            uniform otherwise (resolved on the first call).

    Example:
        >>> import torch
        >>> space = CallableFeatureSpace(lambda x: [x, x.mean(1, keepdim=True)])
        >>> len(space(torch.rand(1, 3, 8, 8))), space.layer_weights
        (2, (0.5, 0.5))
    """

    def __init__(self, fn: Callable[[Tensor], Sequence[Tensor]], layer_weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if not callable(fn):
            raise InvalidTypeError(
                f"`feature_space` must be a registered name ({', '.join(FEATURE_SPACES.names())}), a FeatureSpace or "
                f"a callable, got {type(fn).__name__}."
            )
        self.fn = fn
        self._requested_weights = layer_weights
        self.layer_weights = tuple(layer_weights) if layer_weights is not None else ()

    def forward(self, images: Tensor) -> list[Tensor]:
        """Call the wrapped extractor; resolve ``layer_weights`` for its number of tensors when that changes.

        Raises:
            TypeError: the callable did not return a list (or sequence) of tensors.
        """
        features = self.fn(images)
        if isinstance(features, Tensor) or not all(isinstance(f, Tensor) for f in features):
            raise InvalidTypeError("A feature-space callable must return a list of tensors (one per layer).")
        features = list(features)
        if not self.layer_weights or len(self.layer_weights) != len(features):
            self.layer_weights = resolve_layer_weights(self._requested_weights, len(features))
        return features


#: What a :data:`FEATURE_SPACES` entry is: a factory ``(perceiver, layer_weights) -> FeatureSpace``, called
#: when a loss is built (``perceiver`` is the loss's, possibly ``None``; ``layer_weights`` its argument).
FeatureSpaceFactory = Callable[[QualityPerceiver | None, Sequence[float] | None], FeatureSpace]


def _clip_space(perceiver: QualityPerceiver | None, layer_weights: Sequence[float] | None) -> FeatureSpace:
    if perceiver is None:
        raise InvalidValueError("feature_space='clip' needs a QualityPerceiver; pass `perceiver=`.")
    return ClipFeatureSpace(perceiver, layer_weights=layer_weights)


def _vgg16_space(perceiver: QualityPerceiver | None, layer_weights: Sequence[float] | None) -> FeatureSpace:
    return VGG16FeatureSpace(layer_weights=layer_weights)


FEATURE_SPACES: Registry[FeatureSpaceFactory] = Registry(
    "feature space (`feature_space=`)",
    {"vgg16": _vgg16_space, "clip": _clip_space},
    how_to_add="add one with perceive_ir.perceive.losses.FEATURE_SPACES.register(name, factory)",
    error=InvalidValueError,
)
"""The feature spaces of ``L_dpl`` that ``feature_space=`` (and a recipe's ``loss.feature_space``) selects by name.

``"vgg16"`` is the paper's (:class:`VGG16FeatureSpace`), ``"clip"`` the perceiver's CLIP tower
(:class:`ClipFeatureSpace`). Each entry is a factory ``(perceiver, layer_weights) -> FeatureSpace``;
register your own and select it by name:

Example:
    >>> FEATURE_SPACES.register(
    ...     "pixels", lambda perceiver, layer_weights: CallableFeatureSpace(lambda x: [x], layer_weights),
    ...     overwrite=True)
    >>> type(resolve_feature_space("pixels", None)).__name__
    'CallableFeatureSpace'
"""


def resolve_feature_space(
    feature_space: str | FeatureSpace | Callable[[Tensor], Sequence[Tensor]],
    perceiver: QualityPerceiver | None,
    layer_weights: Sequence[float] | None = None,
) -> FeatureSpace:
    """The feature space for ``feature_space``: a :data:`FEATURE_SPACES` name, a :class:`FeatureSpace`, or a callable.

    Args:
        feature_space: A registered name, a :class:`FeatureSpace` (used as it is), or a callable
            returning a list of feature maps (wrapped in :class:`CallableFeatureSpace`).
        perceiver: The loss's quality perceiver, passed to a registered factory.
        layer_weights: Per-layer weights, passed to a registered factory or the callable's wrapper.

    Raises:
        ValueError: an unknown name (the message lists the registered ones).
        TypeError: neither a name, a feature space nor a callable; or a factory returned no FeatureSpace.

    Example:
        >>> type(resolve_feature_space(lambda x: [x], None)).__name__
        'CallableFeatureSpace'
    """
    if isinstance(feature_space, str):
        space = FEATURE_SPACES[feature_space](perceiver, layer_weights)
        if not isinstance(space, FeatureSpace):
            raise InvalidTypeError(
                f"The feature space factory {feature_space!r} returned {type(space).__name__}, expected a FeatureSpace."
            )
        return space
    if isinstance(feature_space, FeatureSpace):
        return feature_space
    return CallableFeatureSpace(feature_space, layer_weights)
