"""Retrofit any restoration network with Perceive-IR guidance, through forward hooks.

``wrap_backbone(net)`` returns a :class:`WrappedBackbone` whose ``forward(degraded)`` returns
what ``net`` returns. Inside, a degradation condition ``z`` (the CFE by default) and the frozen
DINOv2 features give one FiLM modulation per guided module of ``net``, applied to that module's
output by a forward hook that exists only during the wrapper's own forward. ``net`` keeps its
modules, parameters and ``state_dict`` keys; the trainable additions live in ``model.adapter``
and are all that ``save_pretrained`` writes.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import torch
from torch import Tensor, nn

from .._padding import pad_to_multiple
from .._validation import (
    check_embedding,
    check_image,
    check_int,
    module_device,
    renamed_keywords,
    to_input_dtype,
    to_module_dtype,
)
from ..errors import InvalidTypeError, InvalidValueError
from ..hub import HubMixin
from ..perceive.cfe import CompactFeatureExtractor
from ..perceive.semantic import SemanticGuidance
from .condition_spec import build_condition, check_condition_source, describe_condition
from .guided_layers import guided_layers_for
from .input_adapters import NoiseLevelMap
from .layer_probe import InputAdapter, probe_backbone, resolve_layers, select_guidance_layers
from .settings import GuidanceOptions, GuidanceSettings

if TYPE_CHECKING:  # typing.Unpack is Python 3.11+
    from typing_extensions import Unpack

__all__ = ["WrappedBackbone", "wrap_backbone", "Guidance"]

_DEFAULT_PROBE = 64
#: Deprecated keyword spellings of :func:`wrap_backbone` → the current ones (accepted, with a
#: ``DeprecationWarning``, for one release).
_RENAMED: dict[str, str] = {"pad_to": "multiple", "encoder_revision": "semantic_encoder_revision"}
#: Key of level 0's hook in a guided module's hook table under torch.compile (level l: this − l).
_COMPILED_HOOK_KEY = -1


def _current_spellings(options: Mapping[str, Any], owner: str, *, stacklevel: int = 4) -> dict[str, Any]:
    """``options`` with the deprecated spellings (``pad_to``, ``encoder_revision``) under their current names.

    Each deprecated spelling given warns (``DeprecationWarning``, naming ``owner`` and the
    current name; by default at the caller of the function that calls this one); other keys
    pass unchanged.

    Raises:
        ValueError: a deprecated spelling and its current name are both given.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     _current_spellings({"pad_to": 8, "cond_dim": 16}, "wrap_backbone")
        {'cond_dim': 16, 'multiple': 8}
        >>> str(caught[0].message)
        'wrap_backbone: `pad_to` is deprecated; use `multiple`.'
    """
    old = {key: value for key, value in options.items() if key in _RENAMED}
    for key in old:
        if _RENAMED[key] in options:
            raise InvalidValueError(
                f"{owner}: give `{_RENAMED[key]}` only (`{key}` is its deprecated spelling), not both."
            )
    current = {key: value for key, value in options.items() if key not in _RENAMED}
    return {**current, **renamed_keywords(old, _RENAMED, owner, stacklevel=stacklevel)}


@dataclass
class Guidance:
    """Whole-image guidance, computed once by :meth:`WrappedBackbone.compute_guidance`.

    Attributes:
        z: ``(B, cond_dim)`` degradation condition (all condition sources, concatenated).
        features: Per-level ``(B, feature_dim)`` semantic features (empty without an encoder).

    Example:
        >>> import torch
        >>> Guidance(torch.zeros(1, 8)).expand(4).z.shape
        torch.Size([4, 8])
    """

    z: Tensor
    features: list[Tensor] = field(default_factory=list)

    @property
    def batch_size(self) -> int:
        """Number of samples the guidance is for."""
        return self.z.shape[0]

    def expand(self, batch: int) -> Guidance:
        """Broadcast a batch-1 guidance to ``batch`` samples (e.g. all tiles of one image)."""
        if self.batch_size == batch:
            return self
        if self.batch_size != 1:
            raise InvalidValueError(
                f"`guidance` holds {self.batch_size} samples but the input has {batch}; they must match "
                "(or the guidance must hold 1 sample, shared by the whole batch)."
            )
        return Guidance(self.z.expand(batch, -1), [f.expand(batch, -1) for f in self.features])


class _CallContext:
    """State of one forward call, seen only by the hooks registered for that call."""

    def __init__(self, params: list[tuple[Tensor, Tensor]]) -> None:
        self.params = params
        # under torch.compile the hooks exist only while the graph is captured (the FiLM ops are in the graph),
        # so no other thread can see them; the thread id is not traceable there
        self.thread = None if torch.compiler.is_compiling() else threading.get_ident()
        self.fired = [0] * len(params)

    def foreign_thread(self) -> bool:
        """The hook runs on a thread other than the one whose forward registered it."""
        return self.thread is not None and threading.get_ident() != self.thread


class _Adapter(nn.Module):
    """Everything trainable the wrapper adds: condition sources, FiLM heads, cross-attention."""

    def __init__(self, condition: list[nn.Module], semantic: SemanticGuidance) -> None:
        super().__init__()
        self.condition = nn.ModuleList(condition)
        self.semantic = semantic


def _pad(x: Tensor, multiple: int) -> Tensor:
    return pad_to_multiple(x, multiple)[0]


def _crop(out: Any, padded: tuple[int, int], size: tuple[int, int]) -> Any:
    """Crop every 4-D tensor of size ``k·padded`` back to ``k·size`` (k = 1, or an SR scale)."""
    if isinstance(out, Tensor):
        if out.ndim == 4:
            (ph, pw), (h, w), (oh, ow) = padded, size, out.shape[-2:]
            if oh % ph == 0 and ow % pw == 0 and oh // ph == ow // pw:
                k = oh // ph
                return out[..., : k * h, : k * w]
        return out
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return cast(Any, type(out))._make(_crop(o, padded, size) for o in out)  # a namedtuple
    if isinstance(out, (list, tuple)):
        return type(out)(_crop(o, padded, size) for o in out)
    if isinstance(out, dict):
        return type(out)((k, _crop(v, padded, size)) for k, v in out.items())
    return out


def _shares_memory(a: Tensor, b: Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def _describe_input_adapter(adapter: InputAdapter | None) -> dict[str, Any] | None:
    if adapter is None:
        return None
    if isinstance(adapter, NoiseLevelMap):
        return {"class": "NoiseLevelMap", "level": adapter.level, "channels": adapter.channels}
    return {"class": type(adapter).__name__}


def _build_input_adapter(spec: dict[str, Any] | None, given: InputAdapter | None) -> InputAdapter | None:
    if given is not None or spec is None:
        return given
    if spec.get("class") == "NoiseLevelMap":
        return NoiseLevelMap(spec["level"], spec["channels"])
    raise InvalidTypeError(
        f"The model was saved with the input adapter {spec['class']}, which is not rebuilt from files: pass it "
        "again as `input_adapter=`."
    )


class WrappedBackbone(nn.Module, HubMixin):
    """A restoration network with semantic guidance and degradation conditioning hooked in.

    ``forward(degraded)``: validate; ``z`` = the condition sources' outputs, concatenated;
    ``F_l`` = the frozen encoder's CLS tokens; ``(γ_l, β_l)`` per guided module; reflect-pad to
    a ``multiple``; run ``backbone`` with forward hooks that replace each guided module's output
    ``X_l`` by ``X_l ⊙ (1 + γ_l) + β_l`` (then the level's cross-attention, if enabled); crop.
    The FiLM heads and the cross-attention output start at zero, so at initialisation the
    wrapped network returns exactly what the bare one does. The hooks are registered for the
    call and removed in a ``finally``; they act only on the thread that registered them, so
    calling ``backbone`` directly (or from another thread) gives the bare network. Under
    ``torch.compile`` they exist only while Dynamo captures the call: the compiled graph holds
    their FiLM operations, and the whole call is one graph (no graph break) in inference.

    :func:`wrap_backbone` takes the same arguments and builds the same object.

    Args:
        backbone: The network, ``(B, 3, H, W) → output``; it is not modified.
        layers: Names (from ``backbone.named_modules()``) of the modules whose 4-D outputs are
            guided, or ``None``: a backbone whose class is in
            :data:`~perceive_ir.retrofit.guided_layers.GUIDED_LAYERS` (Restormer, NAFNet) gets its
            registered modules, any other up to four chosen automatically by a dry run (the rule is in
            :func:`perceive_ir.retrofit.layer_probe.select_guidance_layers`: for a U-Net the latent
            plus the decoder levels nearest to it, for a residual-body network — most
            super-resolution networks — evenly spaced blocks of its body). See ``model.hooked_layers``.
        settings: The guidance: frozen semantic encoder, its layers, ``cond_dim``, the FiLM
            heads' width, the encoder's image size, cross-attention
            (:class:`~perceive_ir.retrofit.settings.GuidanceSettings`; ``None``: its defaults).
        condition: ``None`` (the built-in CFE), a ConditionSource module (``cond_dim`` +
            ``forward(degraded) → (B, cond_dim)``, e.g. AMIRNet's degradation tree) used in
            place of the CFE, or a list of them whose outputs are concatenated (use ``'cfe'``
            in the list to keep the built-in CFE beside them).
        multiple: Reflect-pad inputs to a multiple of this (e.g. 8 for Restormer) and crop the
            output back; ``None`` leaves sizes alone.
        probe_size: Side of the dry-run probe (default 64, rounded up to ``multiple``).
        input_size: The one input side the network accepts (e.g. 512 for GFPGAN or
            CodeFormer): the dry run uses it and skips its second, larger probe.
        input_adapter: A module or callable that turns the (padded) RGB image into what the
            backbone takes, in the dry run and in every forward — e.g.
            :class:`~perceive_ir.retrofit.input_adapters.NoiseLevelMap` for DRUNet's noise-level
            channel. The condition sources and the semantic encoder still see the RGB image.
        **options: :class:`~perceive_ir.retrofit.settings.GuidanceSettings` fields as keywords
            (``semantic_encoder``, ``semantic_encoder_revision``, ``semantic_layers``, ``cond_dim``,
            ``hidden_dim``, ``image_size``, ``cross_attention``); they override ``settings``'.
            Deprecated spellings, accepted with a ``DeprecationWarning`` for one release:
            ``pad_to`` (``multiple``), ``encoder_revision`` (``semantic_encoder_revision``).

    Checks: ``forward`` and its parts check shapes and dtypes only (no device→host read, so
    ``torch.compile`` captures the whole call in one graph); :func:`perceive_ir.restore` and the
    command line check the values (NaN/Inf, the ``[0, 1]`` range) of what they are given.

    A backbone that writes into its input in place (RCAN shifts the mean of its input) would
    corrupt the image the condition sources keep for backward; the dry run notices it, and the
    wrapper then hands the backbone a copy (only then).

    Raises:
        ValueError: unknown or unusable ``layers`` (the message lists valid names and shapes),
            bad sizes, a deprecated spelling given with its current name.
        TypeError: ``backbone`` (``net`` in messages) or ``condition`` is not a module of the
            right kind.

    Attributes:
        backbone: The user's network, unchanged.
        adapter: ``condition`` (ModuleList of condition sources) and ``semantic``
            (:class:`~perceive_ir.perceive.semantic.SemanticGuidance`).
        hooked_layers: Names of the guided modules of ``backbone``, in execution order.
        multiple: The size multiple inputs are padded to (``None``: none); ``pad_to`` is its
            deprecated name.
        settings: The :class:`~perceive_ir.retrofit.settings.GuidanceSettings` it was built with.
        mutates_input: The backbone writes into its input (it gets a copy).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.GELU(), nn.Conv2d(8, 8, 3, padding=1),
        ...                     nn.Conv2d(8, 3, 3, padding=1))
        >>> model = WrappedBackbone(net, semantic_encoder=None, cond_dim=16, probe_size=16)
        >>> model.hooked_layers
        ('0', '2')
        >>> x = torch.rand(1, 3, 24, 24)
        >>> torch.equal(model(x), net(x))  # identity at initialisation
        True
        >>> same = WrappedBackbone(net, settings=GuidanceSettings(semantic_encoder=None, cond_dim=16), probe_size=16)
        >>> same.settings == model.settings
        True
    """

    def __init__(
        self,
        backbone: nn.Module,
        layers: Sequence[str] | None = None,
        *,
        settings: GuidanceSettings | None = None,
        condition: nn.Module | Sequence[nn.Module | str] | None = None,
        multiple: int | None = None,
        probe_size: int | None = None,
        input_size: int | None = None,
        input_adapter: InputAdapter | None = None,
        **options: Unpack[GuidanceOptions],
    ) -> None:
        super().__init__()
        if not isinstance(backbone, nn.Module):
            raise InvalidTypeError(f"`net` must be a torch.nn.Module, got {type(backbone).__name__}.")
        if isinstance(backbone, WrappedBackbone):
            raise InvalidTypeError("`net` is already a WrappedBackbone; wrap the bare network instead.")
        if settings is not None and not isinstance(settings, GuidanceSettings):
            raise InvalidTypeError(f"`settings` must be a GuidanceSettings or None, got {type(settings).__name__}.")
        if "pad_to" in options and multiple is not None:
            raise InvalidValueError(
                "WrappedBackbone: give `multiple` only (`pad_to` is its deprecated spelling), not both."
            )
        given = _current_spellings(options, "WrappedBackbone")
        multiple = given.pop("multiple", multiple)  # given as `pad_to`, the deprecated spelling
        settings = (settings or GuidanceSettings()).replace(**given)
        check_int(multiple, "multiple", optional=True)
        probe_size = self._probe_size(multiple, probe_size, input_size)

        sources = self._build_sources(condition, settings.cond_dim)
        probe = probe_backbone(backbone, probe_size, input_adapter=input_adapter, fixed_size=input_size is not None)
        if layers is None:  # a known architecture's guided modules, before the automatic rule
            layers = guided_layers_for(backbone)
        hooked = select_guidance_layers(probe) if layers is None else resolve_layers(probe, layers)
        channels = tuple(probe.records[name].channels for name in hooked)

        self.backbone = backbone
        self.settings = settings
        self.multiple = multiple
        self.cond_dim = settings.cond_dim
        self.probe_size = probe_size
        self.input_size = input_size
        self.input_adapter = input_adapter
        self.mutates_input = probe.mutates_input
        self.hooked_layers: tuple[str, ...] = hooked
        self.total_cond_dim = sum(check_condition_source(s, f"condition[{i}]") for i, s in enumerate(sources))
        semantic = SemanticGuidance(
            settings.semantic_encoder,
            layers=None if settings.semantic_encoder is None else settings.semantic_layers,
            cond_dim=self.total_cond_dim,
            channels=channels,
            cross_attention=settings.cross_attention,
            hidden_dim=settings.hidden_dim,
            image_size=settings.image_size,
            semantic_encoder_revision=settings.semantic_encoder_revision,
        )
        self.adapter = _Adapter(sources, semantic).to(module_device(backbone) or torch.device("cpu"))

    @staticmethod
    def _probe_size(multiple: int | None, probe_size: int | None, input_size: int | None) -> int:
        """The dry run's side: ``input_size`` when fixed, else ``probe_size`` or 64, a multiple of ``multiple``."""
        check_int(input_size, "input_size", optional=True, minimum=2)
        if input_size is not None:
            if probe_size is not None and probe_size != input_size:
                raise InvalidValueError(
                    f"`probe_size` ({probe_size}) must equal `input_size` ({input_size}) or be None."
                )
            return input_size
        if probe_size is None:
            step = multiple or 1
            return -(-_DEFAULT_PROBE // step) * step
        if multiple is not None and probe_size % multiple:
            raise InvalidValueError(f"`probe_size` ({probe_size}) must be a multiple of `multiple` ({multiple}).")
        return probe_size

    @staticmethod
    def _build_sources(condition: object, cond_dim: int) -> list[nn.Module]:
        if condition is None:
            items: list[Any] = ["cfe"]
        elif isinstance(condition, (nn.Module, str)):
            items = [condition]
        elif isinstance(condition, Sequence) and condition:
            items = list(condition)
        else:
            raise InvalidTypeError(
                "`condition` must be None (the built-in CFE), a ConditionSource module, or a non-empty list of "
                f"them (the string 'cfe' names the built-in CFE), got {condition!r}."
            )
        sources = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                if item != "cfe":
                    raise InvalidValueError(f"`condition[{i}]` is the string {item!r}; the only named source is 'cfe'.")
                item = CompactFeatureExtractor(dim=cond_dim)
            check_condition_source(item, f"condition[{i}]")
            sources.append(item)
        return sources

    # -- modes ---------------------------------------------------------------------------
    @property
    def pad_to(self) -> int | None:
        """Deprecated name of :attr:`multiple` (warns; removed in the next release)."""
        warnings.warn(
            "WrappedBackbone.pad_to is deprecated; use WrappedBackbone.multiple.", DeprecationWarning, stacklevel=2
        )
        return self.multiple

    @property
    def level_channels(self) -> tuple[int, ...]:
        """Channels of each guided module's output."""
        return self.adapter.semantic.channels

    @property
    def semantic(self) -> SemanticGuidance:
        """The semantic guidance module (frozen encoder + FiLM heads + cross-attention)."""
        return self.adapter.semantic

    # -- guidance ------------------------------------------------------------------------
    def condition_vector(self, degraded: Tensor) -> Tensor:
        """``z``: the condition sources' outputs on ``degraded``, concatenated, ``(B, total_cond_dim)``."""
        parts = []
        for i, source in enumerate(self.adapter.condition):
            z = source(degraded)
            dim = cast(int, source.cond_dim)  # checked to be an int when the wrapper was built
            parts.append(check_embedding(z, f"condition[{i}] output", dim=dim, batch=degraded.shape[0]))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def compute_guidance(self, degraded: Tensor) -> Guidance:
        """Condition ``z`` and semantic features of whole images, for :meth:`forward_with_guidance`.

        Compute this once on a full image, then reuse it for every tile of that image.

        Args:
            degraded: ``(B, 3, H, W)`` float images in ``[0, 1]``.

        Example:
            >>> import torch
            >>> from torch import nn
            >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
            >>> model = wrap_backbone(net, semantic_encoder=None, cond_dim=16, probe_size=16)
            >>> image = torch.rand(1, 3, 64, 64)
            >>> guidance = model.compute_guidance(image)
            >>> tiles = torch.stack([image[0, :, :32, :32], image[0, :, 32:, 32:]])
            >>> model.forward_with_guidance(tiles, guidance).shape
            torch.Size([2, 3, 32, 32])
        """
        check_image(degraded, "degraded", min_size=2, check_values=False)  # values: at the edges (restore, CLI)
        degraded = to_module_dtype(degraded, self)
        return Guidance(z=self.condition_vector(degraded), features=self.adapter.semantic.encode(degraded))

    def forward_with_guidance(self, degraded: Tensor, guidance: Guidance) -> Any:
        """Run the guided network on ``degraded`` (e.g. one tile) with precomputed guidance.

        Args:
            degraded: ``(B, 3, h, w)`` float images (tiles) in ``[0, 1]``.
            guidance: From :meth:`compute_guidance`, with ``B`` samples or 1 (shared by all).

        Returns:
            What ``backbone`` returns, cropped back to ``h × w`` (``k·h × k·w`` for a ×k
            super-resolution output) when it was padded to ``multiple``; a tensor comes back in
            ``degraded``'s dtype (computed in the model's).
        """
        check_image(degraded, "degraded", min_size=1, check_values=False)  # values: at the edges (restore, CLI)
        in_dtype, degraded = degraded.dtype, to_module_dtype(degraded, self)
        if not isinstance(guidance, Guidance):
            raise InvalidTypeError(
                f"`guidance` must be a Guidance from `compute_guidance`, got {type(guidance).__name__}."
            )
        guidance = guidance.expand(degraded.shape[0])
        params = self.adapter.semantic.modulation(guidance.features, guidance.z)
        size = (degraded.shape[-2], degraded.shape[-1])
        x = degraded if self.multiple is None else _pad(degraded, self.multiple)
        if self.input_adapter is not None:
            x = self.input_adapter(x)
        compiling = torch.compiler.is_compiling()
        # the condition sources keep `degraded` for backward; storage pointers and version counters are not
        # traceable, so under torch.compile an adapter's output counts as shared and the check after the call goes
        shared = (x is degraded or self.input_adapter is not None) if compiling else _shares_memory(x, degraded)
        if shared and self.mutates_input:
            x = x.clone()
            shared = False
        # inference tensors keep no version counter
        version = None if compiling or x.is_inference() else x._version
        ctx = _CallContext(params)
        with self._hooks_in_place(ctx, compiling):
            out = self.backbone(x)
        if shared and version is not None and x._version != version:
            self.mutates_input = True  # the dry run did not show it (e.g. only in training mode)
            warnings.warn(
                "The backbone wrote into its input in place; the wrapper copies the input from the next call on. "
                "Gradients of this call may fail ('modified by an inplace operation').",
                RuntimeWarning,
                stacklevel=2,
            )
        silent = [n for n, fired in zip(self.hooked_layers, ctx.fired, strict=True) if not fired]
        if silent:
            raise RuntimeError(f"The guided module(s) {silent} did not run in this forward of the backbone.")
        if (x.shape[-2], x.shape[-1]) != size:
            out = _crop(out, (x.shape[-2], x.shape[-1]), size)
        return to_input_dtype(out, in_dtype) if isinstance(out, Tensor) else out

    @contextlib.contextmanager
    def _hooks_in_place(self, ctx: _CallContext, compiling: bool) -> Iterator[None]:
        """The FiLM hooks on the guided modules for one call, removed on the way out.

        Under ``torch.compile`` they go straight into each module's hook table under a key of
        their own: ``register_forward_hook``'s handle counts its ids in a class attribute, which
        Dynamo cannot trace (a graph break). Dynamo captures the hooks' operations in the graph.
        """
        modules = [self.backbone.get_submodule(name) for name in self.hooked_layers]
        hooks = [self._make_hook(ctx, level, name) for level, name in enumerate(self.hooked_layers)]
        handles: list[Any] = []
        try:
            for level, (module, hook) in enumerate(zip(modules, hooks, strict=True)):
                if compiling:
                    handles.append((module, module._forward_hooks))
                    # a negative key: the handles' ids are >= 0, so it never meets one
                    module._forward_hooks = {**module._forward_hooks, _COMPILED_HOOK_KEY - level: hook}
                else:
                    handles.append(module.register_forward_hook(hook))
            yield
        finally:
            for handle in handles:
                if isinstance(handle, tuple):
                    module, table = handle
                    module._forward_hooks = table
                else:
                    handle.remove()

    def _make_hook(self, ctx: _CallContext, level: int, name: str) -> Callable[[nn.Module, tuple[Any, ...], Any], Any]:
        semantic = self.adapter.semantic

        def hook(module: nn.Module, args: tuple, output: Any) -> Tensor | None:
            if ctx.foreign_thread():
                return None  # another thread runs the bare backbone
            gamma, beta = ctx.params[level]
            if not isinstance(output, Tensor) or output.ndim != 4 or output.shape[:2] != gamma.shape:
                got = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
                raise RuntimeError(
                    f"Guided module {name!r} returned {got}; expected a (B={gamma.shape[0]}, "
                    f"C={gamma.shape[1]}, H, W) feature map as in the dry run."
                )
            ctx.fired[level] += 1
            return semantic.apply_level(level, output, gamma, beta)

        return hook

    def forward(self, degraded: Tensor) -> Any:
        """Restore ``degraded`` ``(B, 3, H, W)`` in ``[0, 1]``; returns what the backbone returns."""
        return self.forward_with_guidance(degraded, self.compute_guidance(degraded))

    # -- hub -----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """JSON-safe description of the adapter (layers, encoder, condition sources); the backbone is not in it."""
        semantic = self.adapter.semantic
        return {
            "layers": list(self.hooked_layers),
            "channels": list(self.level_channels),
            "semantic_encoder": semantic.encoder_spec(),
            # the file keeps this key's earlier spelling, so files of every version load
            "encoder_revision": semantic.encoder_revision,
            "semantic_layers": list(semantic.layers) if semantic.encoder is not None else None,
            "cond_dim": self.cond_dim,
            "cross_attention": list(semantic.cross_attention_levels),
            # the file keeps this key's earlier spelling too (`multiple` in the signature)
            "pad_to": self.multiple,
            "hidden_dim": semantic.hidden_dim,
            "image_size": semantic.image_size,
            "probe_size": self.probe_size,
            "input_size": self.input_size,
            "input_adapter": _describe_input_adapter(self.input_adapter),
            "condition": [describe_condition(s) for s in self.adapter.condition],
        }

    def _external_state_prefixes(self) -> tuple[str, ...]:
        prefixes: tuple[str, ...] = ("backbone.",)
        if self.adapter.semantic.encoder_id is not None:
            prefixes += ("adapter.semantic.encoder.",)
        return prefixes

    @classmethod
    def _from_config(cls, config: dict[str, Any], **kwargs: Any) -> WrappedBackbone:
        config = dict(config)
        backbone = kwargs.pop("backbone", None)
        if backbone is None:
            raise InvalidTypeError(
                "WrappedBackbone.from_pretrained(...) needs the network the adapter was trained on: pass "
                "`backbone=net` (the files hold only the adapter, never the backbone's weights)."
            )
        channels = tuple(config.pop("channels"))
        sources = build_condition(config.pop("condition"), kwargs.pop("condition", None))
        config["input_adapter"] = _build_input_adapter(config.pop("input_adapter", None),
                                                       kwargs.pop("input_adapter", None))
        # the file's keys (see get_config), not the deprecated keywords: no warning
        for key in ("encoder_revision", "pad_to"):
            if key in config:
                config[_RENAMED[key]] = config.pop(key)
        kwargs = _current_spellings(kwargs, "WrappedBackbone.from_pretrained", stacklevel=5)
        model = cls(backbone, **{**config, **kwargs}, condition=sources)
        if model.level_channels != channels:
            raise InvalidValueError(
                f"The backbone's guided modules {model.hooked_layers} have {model.level_channels} channels, but "
                f"the adapter was saved for {channels}: this is not the network it was trained on."
            )
        return model


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _with_signature_of(target: Callable[_P, _R]) -> Callable[[Callable[..., _R]], Callable[_P, _R]]:
    """Give a function that forwards ``*args, **kwargs`` to ``target`` the parameters of ``target``.

    Type checkers take them from ``target`` (for a class: its ``__init__``) through the
    ``ParamSpec``; ``inspect.signature``, ``help()`` and IDEs read the copied ``__signature__``.
    The forwarder keeps its own name, docstring and return annotation.

    Example:
        >>> class Point:
        ...     def __init__(self, x: int, y: int = 0) -> None: ...
        >>> @_with_signature_of(Point)
        ... def point(*args, **kwargs) -> Point:
        ...     return Point(*args, **kwargs)
        >>> list(inspect.signature(point).parameters), point.__name__
        (['x', 'y'], 'point')
    """

    def decorate(forwarder: Callable[..., _R]) -> Callable[_P, _R]:
        returns = inspect.signature(forwarder).return_annotation
        forwarder.__signature__ = inspect.signature(target).replace(  # type: ignore[attr-defined]
            return_annotation=returns
        )
        return forwarder

    return decorate


@_with_signature_of(WrappedBackbone)
def wrap_backbone(*args: Any, **kwargs: Any) -> WrappedBackbone:
    """Add Perceive-IR semantic guidance and degradation conditioning to any restoration network.

    ``wrap_backbone(net, **options)`` is ``WrappedBackbone(net, **options)``: the same
    parameters (``inspect.signature`` and type checkers see them), documented once, on
    :class:`WrappedBackbone`. ``net`` is not modified; its ``state_dict`` stays its own.

    Returns:
        A :class:`WrappedBackbone` whose ``forward(degraded)`` returns what ``net`` returns.

    Raises:
        ValueError: unknown or unusable ``layers``, bad sizes (see :class:`WrappedBackbone`).
        TypeError: ``net`` or ``condition`` is not a module of the right kind.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from transformers import Dinov2Config
        >>> net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 16, 3, stride=2, padding=1),
        ...                     nn.Conv2d(16, 16, 3, padding=1), nn.Upsample(scale_factor=2.0),
        ...                     nn.Conv2d(16, 16, 3, padding=1), nn.Conv2d(16, 3, 3, padding=1))
        >>> tiny = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64)
        >>> model = wrap_backbone(net, semantic_encoder=tiny, cond_dim=16, image_size=28, multiple=2, probe_size=16)
        >>> model.hooked_layers
        ('2', '4')
        >>> x = torch.rand(1, 3, 25, 25)
        >>> model(x).shape
        torch.Size([1, 3, 25, 25])
    """
    return WrappedBackbone(*args, **_current_spellings(kwargs, "wrap_backbone"))
