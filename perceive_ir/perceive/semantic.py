"""SGM — semantic guidance from a frozen DINOv2 encoder.

The semantic guidance module turns global semantic features of the degraded image (the CLS
token of a few hidden layers of a frozen DINOv2) and a degradation condition ``z`` into one
FiLM modulation ``(γ_l, β_l)`` per guided level of a restoration network:
``[F_l ‖ z] → Linear → GELU → Linear → (γ_l, β_l)``, ``Y_l = X_l ⊙ (1 + γ_l) + β_l``, optionally
followed by a channel cross-attention (queries from ``Y_l``, keys/values from ``X_l``).

The frozen encoder is split from the trainable heads (:meth:`SemanticGuidance.encode` and
:meth:`SemanticGuidance.modulation`) so that it can run once per image and be reused, e.g.
for every tile of a large image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._defaults import DEFAULT_SEMANTIC_ENCODER
from .._hub_access import hub_access, unavailable_error
from .._validation import check_embedding, check_image, check_int, renamed_keywords, to_module_dtype
from ..errors import InvalidTypeError, InvalidValueError
from ..hub import HubMixin, PretrainedNotFoundError
from .cross_attention import ChannelCrossAttention
from .film import FiLMHead, film

if TYPE_CHECKING:  # transformers is imported lazily: it is slow to import
    from transformers import PretrainedConfig

__all__ = [
    "SemanticGuidance",
    "EncoderSpec",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "build_semantic_encoder",
    "default_semantic_layers",
    "encoder_hidden_states",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: The paper's layers (1, 4, 8, 12) of a 12-layer ViT as fractions of the depth, deepest first.
_PAPER_DEPTH_FRACTIONS = (12 / 12, 8 / 12, 4 / 12, 1 / 12)

#: The deprecated keyword spellings of :class:`SemanticGuidance` → the current ones.
_RENAMED = {"encoder": "semantic_encoder", "encoder_revision": "semantic_encoder_revision"}

#: What ``semantic_encoder`` may be: a Hub id, a transformers config, a config dict, a model, or None.
EncoderSpec = Union[str, Mapping[str, Any], "PretrainedConfig", nn.Module, None]


def default_semantic_layers(depth: int, levels: int) -> tuple[int, ...]:
    """Encoder layers for ``levels`` guided levels, deepest first, at the paper's relative depths.

    The paper reads layers (1, 4, 8, 12) of the 12-layer DINOv2-B, i.e. 1/12, 1/3, 2/3 and all
    of the depth. Level 0 (the coarsest level, e.g. a U-Net's latent) gets the deepest,
    most semantic layer; later, finer levels get shallower ones. More than four levels cycle
    through the same four depths.

    Example:
        >>> default_semantic_layers(12, 4), default_semantic_layers(24, 2)
        ((12, 8, 4, 1), (24, 16))
    """
    if depth < 1 or levels < 1:
        raise InvalidValueError(f"`depth` and `levels` must be positive, got {depth} and {levels}.")
    fracs = _PAPER_DEPTH_FRACTIONS
    return tuple(max(1, round(fracs[i % len(fracs)] * depth)) for i in range(levels))


def encoder_hidden_states(encoder: nn.Module, pixels: Tensor) -> Sequence[Tensor]:
    """The embeddings and every layer's output of a ViT encoder (``hidden_states``, index 0 = embeddings).

    A DINOv2-like model (``embeddings`` and ``encoder.layer``) is run layer by layer rather than
    through ``output_hidden_states=True``, whose capture hooks (transformers 5) ``torch.compile``
    cannot trace; the values are the same (the last state is read before the final layer norm,
    as ``hidden_states`` has it). Another kind of encoder is asked for its hidden states.

    Example:
        >>> from perceive_ir.testing import tiny_dinov2_config
        >>> from transformers import Dinov2Model
        >>> encoder = Dinov2Model(tiny_dinov2_config(num_hidden_layers=2)).eval()
        >>> pixels = torch.rand(1, 3, 28, 28)
        >>> ours = encoder_hidden_states(encoder, pixels)
        >>> theirs = encoder(pixel_values=pixels, output_hidden_states=True).hidden_states
        >>> len(ours), all(torch.allclose(a, b) for a, b in zip(ours, theirs))
        (3, True)
    """
    embeddings = getattr(encoder, "embeddings", None)
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if embeddings is None or layers is None:
        return encoder(pixel_values=pixels, output_hidden_states=True).hidden_states
    states = [embeddings(pixels)]
    for layer in layers:
        out = layer(states[-1])
        states.append(out[0] if isinstance(out, tuple) else out)  # transformers 4 returns a tuple
    return states


def _load_hub_encoder(name: str, revision: str | None) -> nn.Module:
    """Load a transformers model from the Hub or its cache; a clear error when the weights are out of reach."""
    from transformers import AutoModel

    with hub_access() as unavailable:
        try:
            return AutoModel.from_pretrained(name, revision=revision)
        except (OSError, ValueError) as err:
            remedy = (
                "pass a local DINOv2 folder (written by transformers' save_pretrained) instead: "
                "`--semantic-encoder DIR` on the command line, `semantic_encoder=DIR` in Python"
            )
            if unavailable is not None:
                raise PretrainedNotFoundError(str(unavailable_error(
                    f"The semantic encoder {name!r} (revision {revision!r})", unavailable, remedy,
                ))) from err
            raise PretrainedNotFoundError(
                f"Could not load the semantic encoder {name!r} (revision {revision!r}) from the Hugging Face Hub "
                f"({type(err).__name__}: {err}); {remedy}."
            ) from err


def _model_from_config(config: Any) -> nn.Module:
    from transformers import AutoConfig, AutoModel, PretrainedConfig

    if isinstance(config, Mapping):
        config = dict(config)
        model_type = config.pop("model_type", None)
        if not isinstance(model_type, str):
            raise InvalidValueError(
                "A `semantic_encoder` config dict must name its `model_type` (e.g. 'dinov2'), as written by "
                f"`config.to_dict()`; got keys {sorted(config)[:12]}."
            )
        config = AutoConfig.for_model(model_type, **config)
    if not isinstance(config, PretrainedConfig):  # pragma: no cover - guarded by the caller
        raise InvalidTypeError(f"expected a transformers config, got {type(config).__name__}")
    return AutoModel.from_config(config)


def _build_encoder(spec: EncoderSpec, revision: str | None) -> tuple[nn.Module | None, str | None]:
    """Return the encoder and its hub id (``None`` when it is defined in memory)."""
    from transformers import PretrainedConfig

    if spec is None:
        if revision is not None:
            raise InvalidValueError("`semantic_encoder_revision` was given but `semantic_encoder` is None.")
        return None, None
    if isinstance(spec, str):
        if not spec:
            raise InvalidValueError(
                f"`semantic_encoder` must be a non-empty Hub id such as {DEFAULT_SEMANTIC_ENCODER!r}."
            )
        return _load_hub_encoder(spec, revision), spec
    if revision is not None:
        raise InvalidValueError("`semantic_encoder_revision` only applies when `semantic_encoder` is a Hub id string.")
    if isinstance(spec, (PretrainedConfig, Mapping)):
        return _model_from_config(spec), None
    if isinstance(spec, nn.Module):
        config = getattr(spec, "config", None)
        if not isinstance(config, PretrainedConfig):
            raise InvalidTypeError(
                "An in-memory `semantic_encoder` must be a transformers model with a `.config` (e.g. a "
                f"Dinov2Model), got {type(spec).__name__} without one."
            )
        return spec, None
    raise InvalidTypeError(
        "`semantic_encoder` must be a Hub id string, a transformers config, a config dict, a transformers model "
        f"or None, got {type(spec).__name__}."
    )


def build_semantic_encoder(spec: EncoderSpec, revision: str | None = None) -> tuple[nn.Module | None, str | None]:
    """Build a frozen-encoder candidate from what ``semantic_encoder=`` accepts (see :class:`SemanticGuidance`).

    Args:
        spec: A Hub id or local folder (loaded with ``AutoModel.from_pretrained``), a
            transformers config or config dict (random weights), a transformers model, or None.
        revision: Hub revision, only with a Hub id.

    Returns:
        The model (not yet frozen) and its Hub id or folder (``None`` when it is defined in memory).

    Example:
        >>> build_semantic_encoder(None)
        (None, None)
    """
    return _build_encoder(spec, revision)


class SemanticGuidance(nn.Module, HubMixin):
    """Per-level FiLM parameters from frozen DINOv2 CLS tokens and a degradation condition.

    For guided level ``i`` with ``channels[i]`` channels, ``F_i`` is the CLS token of
    ``hidden_states[layers[i]]`` of the frozen encoder (``hidden_states[0]`` is the embedding
    output, so valid layers are ``1..depth``), and ``[F_i ‖ z] → Linear → GELU → Linear``
    gives ``(γ_i, β_i)``. The last Linear starts at zero: ``γ = β = 0`` at initialisation.
    Images are resized to ``image_size × image_size`` (bicubic as the authors do, antialiased; the whole image
    is squashed, not cropped) and ImageNet-normalised inside the module.

    The encoder is frozen (``requires_grad=False``) and stays in eval mode when the module is
    put in train mode, so it holds no trainable parameter and DDP never waits for its gradients.

    Args:
        semantic_encoder: A Hub id (loaded with ``transformers.AutoModel.from_pretrained``, referenced in
            saved files, never copied into them), a transformers config or a config dict with
            ``model_type`` (a randomly initialised encoder: tests, offline use), an in-memory
            transformers model, or ``None`` for condition-only guidance (the heads see ``z``
            alone and ``layers`` is not used). Configs and in-memory models are saved with
            their weights, so a file always reloads to the same outputs.
        layers: The encoder layer read by each level (``len(layers) == len(channels)``), or
            ``None`` for :func:`default_semantic_layers` (deepest layer to level 0).
        cond_dim: Size of the condition ``z`` (0: semantic features only).
        channels: Channels of each guided level.
        cross_attention: Add a :class:`ChannelCrossAttention` after the FiLM of every level
            (``True``), of no level (``False``), or per level (a sequence of bools).
        hidden_dim: Width of each FiLM head's hidden layer.
        image_size: Side of the square the encoder sees.
        semantic_encoder_revision: Hub revision of ``semantic_encoder`` when it is a Hub id.
        **renamed: ``encoder`` and ``encoder_revision``, the deprecated spellings of the two
            above (a ``DeprecationWarning``).

    Example:
        >>> import torch
        >>> from transformers import Dinov2Config
        >>> tiny = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
        ...                     intermediate_size=64, patch_size=14)
        >>> sgm = SemanticGuidance(tiny, layers=(1, 4), cond_dim=8, channels=(16, 32), image_size=56)
        >>> (gamma, beta), _ = sgm(torch.rand(2, 3, 40, 40), torch.randn(2, 8))
        >>> gamma.shape, bool(gamma.abs().sum() == 0)
        (torch.Size([2, 16]), True)
    """

    encoder: Any  # a transformers model (its config's fields are untyped) or None
    mean: Tensor
    std: Tensor

    def __init__(
        self,
        semantic_encoder: EncoderSpec = DEFAULT_SEMANTIC_ENCODER,
        layers: Sequence[int] | None = (1, 4, 8, 12),
        cond_dim: int = 128,
        *,
        channels: Sequence[int],
        cross_attention: bool | Sequence[bool] = False,
        hidden_dim: int = 256,
        image_size: int = 224,
        semantic_encoder_revision: str | None = None,
        **renamed: Any,
    ) -> None:
        super().__init__()
        given = renamed_keywords(renamed, _RENAMED, "SemanticGuidance")
        if "semantic_encoder" in given and semantic_encoder is not DEFAULT_SEMANTIC_ENCODER:
            raise InvalidValueError("Give `semantic_encoder` only (`encoder` is its deprecated spelling), not both.")
        encoder: EncoderSpec = given.get("semantic_encoder", semantic_encoder)
        encoder_revision = given.get("semantic_encoder_revision", semantic_encoder_revision)
        channels = self._check_channels(channels)
        levels = len(channels)
        check_int(cond_dim, "cond_dim", minimum=0)
        if encoder is None and cond_dim == 0:
            raise InvalidValueError("With `semantic_encoder=None` the heads only see `z`, so `cond_dim` must be > 0.")
        check_int(hidden_dim, "hidden_dim")
        check_int(image_size, "image_size", minimum=14)  # one DINOv2 patch
        if isinstance(cross_attention, bool):
            flags = (cross_attention,) * levels
        else:
            flags = tuple(cross_attention)
            if len(flags) != levels or not all(isinstance(f, bool) for f in flags):
                raise InvalidValueError(
                    f"`cross_attention` must be a bool or {levels} bools (one per level), got {cross_attention!r}."
                )

        self.encoder, self.encoder_id = _build_encoder(encoder, encoder_revision)
        self.encoder_revision = encoder_revision
        if self.encoder is not None:
            self.encoder.requires_grad_(False)
            self.encoder.eval()
            depth = int(self.encoder.config.num_hidden_layers)
            feature_dim = int(self.encoder.config.hidden_size)
            self.layers = self._check_layers(layers, depth, levels)
        else:
            feature_dim = 0
            self.layers = ()
        self.cond_dim = cond_dim
        self.channels = channels
        self.hidden_dim = hidden_dim
        self.image_size = image_size
        self.cross_attention_levels = flags
        self.feature_dim = feature_dim
        self.heads = nn.ModuleList(FiLMHead(feature_dim + cond_dim, c, hidden_dim) for c in channels)
        self._level_keys = tuple(str(i) for i in range(levels))
        self.cross_attn = nn.ModuleDict(
            {str(i): ChannelCrossAttention(c) for i, (c, f) in enumerate(zip(channels, flags, strict=True)) if f}
        )
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    # -- validation ----------------------------------------------------------------------
    @staticmethod
    def _check_channels(channels: object) -> tuple[int, ...]:
        if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or not channels:
            raise InvalidValueError(f"`channels` must be a non-empty sequence of positive ints, got {channels!r}.")
        if not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in channels):
            raise InvalidValueError(f"`channels` must hold positive ints, got {channels!r}.")
        return tuple(channels)

    @staticmethod
    def _check_layers(layers: Sequence[int] | None, depth: int, levels: int) -> tuple[int, ...]:
        if layers is None:
            return default_semantic_layers(depth, levels)
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
            raise InvalidValueError(f"`layers` must be a sequence of ints, got {layers!r}.")
        layers = tuple(layers)
        if len(layers) != levels:
            raise InvalidValueError(
                f"`layers` must name one encoder layer per guided level: got {len(layers)} layers "
                f"{layers} for {levels} channel entries."
            )
        for layer in layers:
            if not isinstance(layer, int) or isinstance(layer, bool) or not 1 <= layer <= depth:
                raise InvalidValueError(
                    f"`layers` must be ints in 1..{depth} (the encoder has {depth} layers; hidden state 0 "
                    f"is the embedding output, whose CLS token does not depend on the image), got {layers}."
                )
        return layers

    # -- modes ---------------------------------------------------------------------------
    def train(self, mode: bool = True) -> SemanticGuidance:
        """Set train mode for the heads; the frozen encoder always stays in eval mode."""
        super().train(mode)
        if self.encoder is not None:
            self.encoder.eval()
        return self

    @property
    def num_levels(self) -> int:
        """Number of guided levels."""
        return len(self.channels)

    # -- forward pieces ------------------------------------------------------------------
    def preprocess(self, images: Tensor) -> Tensor:
        """Resize to ``image_size²`` (bicubic as the authors do, antialiased) and ImageNet-normalise; differentiable."""
        size = (self.image_size, self.image_size)
        x = F.interpolate(images, size=size, mode="bicubic", antialias=True, align_corners=False)
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def encode(self, images: Tensor) -> list[Tensor]:
        """CLS tokens ``F_l`` of the chosen layers, computed without gradients.

        Args:
            images: ``(B, 3, H, W)`` float images in ``[0, 1]``.

        Returns:
            One ``(B, feature_dim)`` tensor per level (an empty list when ``encoder`` is None).
        """
        check_image(images, "images", check_values=False)  # hot path: the callers' edges check values
        if self.encoder is None:
            return []
        with torch.no_grad():
            # in the encoder's dtype before resizing: CPU interpolation has no float16 kernel
            pixels = self.preprocess(to_module_dtype(images, self.encoder))
            hidden = encoder_hidden_states(self.encoder, pixels)
            return [hidden[layer][:, 0] for layer in self.layers]

    def modulation(self, features: Sequence[Tensor], z: Tensor | None) -> list[tuple[Tensor, Tensor]]:
        """FiLM parameters ``(γ_l, β_l)``, each ``(B, channels[l])``, from features and ``z``.

        Args:
            features: Output of :meth:`encode` (``[]`` when ``encoder`` is None).
            z: ``(B, cond_dim)`` condition, or ``None`` when ``cond_dim == 0``.
        """
        features = list(features)
        expected = self.num_levels if self.encoder is not None else 0
        if len(features) != expected:
            raise InvalidValueError(f"`features` must hold {expected} tensors (from `encode`), got {len(features)}.")
        for i, f in enumerate(features):
            check_embedding(f, f"features[{i}]", dim=self.feature_dim)
        if self.cond_dim:
            batch = features[0].shape[0] if features else None
            check_embedding(z, "z", dim=self.cond_dim, batch=batch)
        elif z is not None:
            raise InvalidValueError("`z` must be None when `cond_dim == 0`.")
        out = []
        for i, head in enumerate(self.heads):
            parts = ([features[i]] if features else []) + ([z] if z is not None and self.cond_dim else [])
            dtype = next(head.parameters()).dtype
            out.append(head(torch.cat([p.to(dtype) for p in parts], dim=-1)))
        return out

    def apply_level(self, level: int, x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        """``Y = x ⊙ (1 + γ) + β``, then the level's cross-attention if it has one.

        Raises:
            ValueError: ``level`` is not an int in ``[0, len(channels))``.
        """
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level < len(self.heads):
            raise InvalidValueError(
                f"`level` must be an int in [0, {len(self.heads)}) (one per guided layer), got {level!r}."
            )
        y = film(x, gamma, beta)
        key = self._level_keys[level]  # precomputed: str(int) is not traceable by torch.compile
        return self.cross_attn[key](y, x) if key in self.cross_attn else y

    def forward(self, images: Tensor, z: Tensor | None) -> list[tuple[Tensor, Tensor]]:
        """``modulation(encode(images), z)``."""
        return self.modulation(self.encode(images), z)

    # -- hub -----------------------------------------------------------------------------
    def encoder_spec(self) -> str | dict[str, Any] | None:
        """How the config names the encoder: its Hub id, its config dict, or None."""
        if self.encoder is None:
            return None
        if self.encoder_id is not None:
            return self.encoder_id
        return self.encoder.config.to_dict()

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments; the encoder as its Hub id, or its config when built from one."""
        return {  # the file keeps the keys' earlier spellings, so files of every version load
            "encoder": self.encoder_spec(),
            "encoder_revision": self.encoder_revision,
            "layers": list(self.layers) if self.encoder is not None else None,
            "cond_dim": self.cond_dim,
            "channels": list(self.channels),
            "cross_attention": list(self.cross_attention_levels),
            "hidden_dim": self.hidden_dim,
            "image_size": self.image_size,
        }

    @classmethod
    def _from_config(cls, config: dict[str, Any], **kwargs: Any) -> SemanticGuidance:
        config = {_RENAMED.get(key, key): value for key, value in config.items()}  # the file's keys: no warning
        return cls(**{**config, **kwargs})

    def _external_state_prefixes(self) -> tuple[str, ...]:
        return ("encoder.",) if self.encoder_id is not None else ()
