"""Find where to guide a restoration network: a dry run that records every submodule's output.

:func:`probe_backbone` runs the network twice under ``torch.no_grad()`` in eval mode, on a
small ``2×3×s×s`` probe (``1×3×s×s`` when batch 2 fails) and on a ``1×3×2s×2s`` probe (not
for a network of fixed input size), and records for every submodule how often it ran, in what
order it finished and the shape of what it returned; and whether the network wrote into its
input in place. An input adapter (e.g. :class:`~perceive_ir.retrofit.input_adapters.NoiseLevelMap`)
turns the RGB probe into what the network takes.
:func:`select_guidance_layers` turns that record into the levels to guide; the rule is in its
docstring and in ``docs/wrap_backbone.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .._validation import check_int, module_device, module_dtype
from ..errors import InvalidTypeError, InvalidValueError

__all__ = ["ModuleRecord", "ProbeResult", "probe_backbone", "select_guidance_layers", "resolve_layers"]

_PROBE_BATCH = 2


@dataclass
class ModuleRecord:
    """What one submodule did during the probe at size ``s`` (and, for ``scales``, at ``2s``).

    Attributes:
        name: Qualified name in ``net.named_modules()``.
        calls: How many times it ran in one forward.
        first_event: Position of its first completion among all module completions.
        output_shape: Shape of its output when that was a single tensor, else ``None``.
        output_kind: Type name of the output (for error messages).
        input_shape: Shape of its first 4-D tensor input, if any.
        has_params: It (or a submodule) owns trainable parameters.
        n_params: How many trainable parameters it (with its submodules) owns.
        kind: Its class name.
        scales: Its output is a ``(B, C, H, W)`` map whose height and width double when the
            probe's do, with the probe's batch size: a spatial feature map, not a pooled vector
            or a window/attention tensor. For a network of fixed input size (no second probe):
            a 4-D output of the probe's batch size, larger than ``1×1``.

    Example:
        >>> from torch import nn
        >>> rec = probe_backbone(nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 3, 1)), 8).records["0"]
        >>> rec.output_shape, rec.calls, rec.hookable
        ((2, 4, 8, 8), 1, True)
    """

    name: str
    calls: int = 0
    first_event: int = -1
    output_shape: tuple[int, ...] | None = None
    output_kind: str = ""
    input_shape: tuple[int, ...] | None = None
    has_params: bool = False
    scales: bool = False
    n_params: int = 0
    kind: str = ""

    @property
    def hw(self) -> tuple[int, int]:
        """Spatial size of the output at the small probe."""
        assert self.output_shape is not None
        return self.output_shape[-2], self.output_shape[-1]

    @property
    def channels(self) -> int:
        """Channels of the output."""
        assert self.output_shape is not None
        return self.output_shape[1]

    @property
    def hookable(self) -> bool:
        """Runs once per forward and returns a spatial ``(B, C, H, W)`` map."""
        return self.calls == 1 and self.scales

    def describe(self) -> str:
        """``name -> shape`` for a tensor output, else ``name -> type`` (for error messages)."""
        if self.output_shape is not None:
            return f"{self.name} -> {tuple(self.output_shape)}"
        return f"{self.name} -> {self.output_kind}"


@dataclass
class ProbeResult:
    """Records of every submodule (root excluded), the completion order and the network output.

    Attributes:
        size: Side of the (small) probe.
        records: One :class:`ModuleRecord` per submodule that ran.
        events: Module names in completion order.
        output_shapes: Shapes of the 4-D tensors the network returned.
        module_names: Every submodule name, run or not.
        batch: Batch size of the small probe (2, or 1 for a network that refused 2).
        input_shape: Shape of what the network itself received (after the input adapter).
        mutates_input: The network wrote into its input tensor in place (e.g. RCAN's mean
            shift): a wrapper must give it a copy.
        n_params: Trainable parameters of the whole network.

    Example:
        >>> from torch import nn
        >>> result = probe_backbone(nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 3, 1)), 8)
        >>> result.events, result.output_shapes
        (['0', '1', '2'], [(2, 3, 8, 8)])
    """

    size: int
    records: dict[str, ModuleRecord]
    events: list[str]
    output_shapes: list[tuple[int, ...]] = field(default_factory=list)
    module_names: frozenset[str] = frozenset()
    batch: int = _PROBE_BATCH
    input_shape: tuple[int, ...] = ()
    mutates_input: bool = False
    n_params: int = 0

    def hookable(self) -> list[ModuleRecord]:
        """Every module a guidance hook can sit on, in execution order."""
        return sorted((r for r in self.records.values() if r.hookable), key=lambda r: r.first_event)

    def listing(self, limit: int = 40) -> str:
        """The outermost guidable blocks as ``name -> shape`` lines, for error messages."""
        cands = _candidates(self)
        names = [r.name for r in cands]
        blocks = [r for r in cands if not any(_is_ancestor(p, r.name) for p in names)]
        rows = [f"  {r.describe()}" for r in blocks[:limit]]
        if len(blocks) > limit:
            rows.append(f"  ... and {len(blocks) - limit} more blocks")
        inner = sum(1 for r in self.records.values() if r.hookable) - len(blocks)
        if inner > 0:
            rows.append(f"  (plus {inner} other hookable submodules, e.g. inside these blocks)")
        return "\n".join(rows) if rows else "  (none)"


def _first_4d(args: tuple, kwargs: dict) -> Tensor | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, Tensor) and value.ndim == 4:
            return value
    return None


def _tensor_shapes(out: object) -> list[tuple[int, ...]]:
    if isinstance(out, Tensor):
        return [tuple(out.shape)] if out.ndim == 4 else []
    if isinstance(out, (list, tuple)):
        return [s for item in out for s in _tensor_shapes(item)]
    if isinstance(out, dict):
        return [s for item in out.values() for s in _tensor_shapes(item)]
    return []


InputAdapter = Callable[[Tensor], Tensor]


def _run(net: nn.Module, size: int, batch: int, input_adapter: InputAdapter | None) -> ProbeResult:
    records: dict[str, ModuleRecord] = {}
    events: list[str] = []
    handles = []

    def make_hook(name: str) -> Callable[[nn.Module, tuple, dict, object], None]:
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
            rec = records.setdefault(name, ModuleRecord(name))
            rec.calls += 1
            if rec.calls == 1:
                rec.first_event = len(events)
                rec.output_kind = type(output).__name__
                if isinstance(output, Tensor):
                    rec.output_shape = tuple(output.shape)
                    rec.output_kind = f"Tensor of shape {tuple(output.shape)}"
                inp = _first_4d(args, kwargs)
                rec.input_shape = None if inp is None else tuple(inp.shape)
            events.append(name)

        return hook

    generator = torch.Generator().manual_seed(0)
    probe = torch.rand(batch, 3, size, size, generator=generator).to(
        device=module_device(net) or torch.device("cpu"), dtype=module_dtype(net) or torch.float32)
    modes = {m: m.training for m in net.modules()}
    try:
        for name, module in net.named_modules():
            if name:
                handles.append(module.register_forward_hook(make_hook(name), with_kwargs=True))
        net.eval()
        with torch.no_grad():
            x = probe if input_adapter is None else input_adapter(probe)
            version = None if x.is_inference() else x._version
            out = net(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes.items():
            module.training = mode
    names = frozenset(n for n, _ in net.named_modules() if n)
    for name, module in net.named_modules():
        if name in records:
            records[name].kind = type(module).__name__
            records[name].n_params = sum(p.numel() for p in module.parameters() if p.requires_grad)
            records[name].has_params = records[name].n_params > 0
    return ProbeResult(size, records, events, _tensor_shapes(out), names, batch=batch, input_shape=tuple(x.shape),
                       mutates_input=version is not None and x._version != version,
                       n_params=sum(p.numel() for p in net.parameters() if p.requires_grad))


def _failure(err: Exception, shape: tuple[int, ...], input_adapter: InputAdapter | None) -> RuntimeError:
    """The dry-run error, with the advice that fits what failed."""
    text = f"{type(err).__name__}: {err}"
    advice = [
        "`probe_size=` (a size the network accepts) or `multiple=` (its size multiple, e.g. 8 or 64)",
        "`input_size=` for a network that takes one fixed size only (e.g. 512 for GFPGAN)",
    ]
    if input_adapter is None and "channels" in text:
        advice.append(
            "`input_adapter=` when the network takes more than the RGB image (e.g. "
            "perceive_ir.retrofit.NoiseLevelMap(15 / 255) for DRUNet's noise-level channel)"
        )
    return RuntimeError(
        f"The dry run of the network on a {shape} RGB probe failed ({text}). Depending on the cause, pass "
        + "; or ".join(advice)
        + "."
    )


def probe_backbone(
    net: nn.Module,
    size: int = 64,
    *,
    input_adapter: InputAdapter | None = None,
    fixed_size: bool = False,
) -> ProbeResult:
    """Dry-run ``net`` on ``2×3×size×size`` and ``1×3×2size×2size`` random probes.

    The network runs in eval mode under ``torch.no_grad()`` (its train/eval flags are
    restored afterwards, so BatchNorm statistics and the global RNG are untouched). A network
    that fails at batch 2 is probed at batch 1.

    Args:
        net: The restoration network; takes ``(B, 3, H, W)`` (or what ``input_adapter`` makes).
        size: Side of the small probe.
        input_adapter: Applied to the RGB probe before the network (e.g. to add a noise map).
        fixed_size: The network takes ``size × size`` inputs only: no second probe; spatial
            maps are then the 4-D outputs of the probe's batch size larger than ``1×1``.

    Returns:
        A :class:`ProbeResult` for the small probe, with ``scales`` set from the large one.

    Raises:
        RuntimeError: the network fails on the probes (the message says what to pass).

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.AvgPool2d(2), nn.Conv2d(8, 3, 1))
        >>> [r.describe() for r in probe_backbone(net, 16).hookable()]
        ['0 -> (2, 8, 16, 16)', '1 -> (2, 8, 8, 8)', '2 -> (2, 3, 8, 8)']
    """
    if not isinstance(net, nn.Module):
        raise InvalidTypeError(f"`net` must be a torch.nn.Module, got {type(net).__name__}.")
    check_int(size, "probe_size", minimum=2)
    if input_adapter is not None and not callable(input_adapter):
        raise InvalidTypeError(f"`input_adapter` must be a module or callable, got {type(input_adapter).__name__}.")
    try:
        small = _run(net, size, _PROBE_BATCH, input_adapter)
    except Exception as err:
        try:
            small = _run(net, size, 1, input_adapter)  # some networks only take one image at a time
        except Exception:
            raise _failure(err, (_PROBE_BATCH, 3, size, size), input_adapter) from err
    if fixed_size:
        for rec in small.records.values():
            shape = rec.output_shape
            rec.scales = shape is not None and len(shape) == 4 and shape[0] == small.batch and shape[2] * shape[3] > 1
        return small
    try:
        large = _run(net, 2 * size, 1, input_adapter)
    except Exception as err:
        raise _failure(err, (1, 3, 2 * size, 2 * size), input_adapter) from err
    for name, rec in small.records.items():
        other = large.records.get(name)
        shape, big = rec.output_shape, other.output_shape if other else None
        rec.scales = (
            shape is not None
            and big is not None
            and len(shape) == 4
            and len(big) == 4
            and shape[0] == small.batch
            and big[0] == 1
            and big[1] == shape[1]
            and big[2] == 2 * shape[2]
            and big[3] == 2 * shape[3]
            and other is not None
            and other.calls == rec.calls
        )
    small.mutates_input = small.mutates_input or large.mutates_input
    return small


def _is_ancestor(parent: str, child: str) -> bool:
    return child.startswith(parent + ".")


def _side_branch(rec: ModuleRecord) -> bool:
    """A module that returns no feature map: a tuple, list or vector (e.g. MMRealSR's degradation estimator)."""
    shape = rec.output_shape
    return rec.calls == 1 and (shape is None or len(shape) <= 2)


def _candidates(result: ProbeResult, outermost: bool = True) -> list[ModuleRecord]:
    """Hookable modules minus the head, the insides of resamplers, and (``outermost``) children a parent repeats."""
    records = result.records
    heads = {s for s in result.output_shapes if s[1] == 3}  # images, not feature maps a network also returns
    network_input = result.input_shape
    total = result.n_params
    resamplers = [
        r.name
        for r in records.values()
        if r.input_shape is not None
        and r.output_shape is not None
        and len(r.output_shape) == 4
        and r.input_shape[-2:] != r.hw
        # a whole network in a shell (an SR model, one behind a pixel-unshuffle) stays open
        and r.input_shape != network_input
        and r.n_params < total
    ]
    side = [r.name for r in records.values() if _side_branch(r)]
    kept = [
        r
        for r in result.hookable()
        if r.output_shape not in heads
        and r.has_params
        and not any(_is_ancestor(p, r.name) for p in resamplers)
        and not any(_is_ancestor(p, r.name) for p in side)
    ]
    if not outermost:
        return kept
    kept_names = {r.name for r in kept}
    out = []
    for r in kept:
        nxt = r.first_event + 1
        if nxt < len(result.events):
            parent = result.events[nxt]
            if parent in kept_names and _is_ancestor(parent, r.name) and records[parent].output_shape == r.output_shape:
                continue  # the parent returns the same map right after: prefer the outermost module
        out.append(r)
    return out


def _evenly_spaced(items: Sequence[ModuleRecord], k: int) -> list[ModuleRecord]:
    n = len(items)
    return [items[math.floor((j + 1) * n / k + 0.5) - 1] for j in range(k)]


_NUMBERED = re.compile(r"^(\D*?)(\d+)$")


def _body_chain(result: ProbeResult) -> list[ModuleRecord]:
    """The longest chain of numbered sibling blocks that map a feature map to one of the same shape.

    Members are candidates (before the outermost-module rule) whose input and output have the
    same shape, no larger than the network input (an upsampler's stages are not the body),
    grouped by their name with one numbered component made a wildcard (``body.0`` →
    ``body.*``, ``layers.2.conv`` → ``layers.*.conv``, ``block_3`` → ``block_*``), by shape
    and by class. Groups of two or more compete: the most parameters (the body holds the
    network's weights), then indexed containers (``body.*``) before named blocks
    (``block_*``), the outermost (fewest dots), the longest, the earliest.
    """
    groups: dict[tuple[str, tuple[int, ...] | None, str], list[ModuleRecord]] = {}
    input_area = result.input_shape[-2] * result.input_shape[-1]
    for r in _candidates(result, outermost=False):
        if r.input_shape != r.output_shape or r.hw[0] * r.hw[1] > input_area:
            continue  # a body block keeps the shape (not the first conv, 3 -> C) and is not in the upsampler
        parts = r.name.split(".")
        for i, part in enumerate(parts):
            match = _NUMBERED.match(part)
            if match:
                key = ".".join([*parts[:i], match.group(1) + "*", *parts[i + 1 :]])
                groups.setdefault((key, r.output_shape, r.kind), []).append(r)
    chains = [(key, members) for (key, _, _), members in groups.items() if len(members) >= 2]
    if not chains:
        return []
    # the body holds the weights; then indexed containers (body.0) before named ones (block_1);
    # outermost; longest; earliest
    return min(
        chains,
        key=lambda c: (
            -sum(m.n_params for m in c[1]), "*." not in c[0] + ".", c[0].count("."), -len(c[1]), c[1][0].first_event
        ),
    )[1]


def _inside_any(name: str, blocks: Sequence[ModuleRecord]) -> bool:
    return any(name == b.name or _is_ancestor(b.name, name) for b in blocks)


def select_guidance_layers(result: ProbeResult, max_levels: int = 4) -> tuple[str, ...]:
    """Choose up to ``max_levels`` modules to guide, from a :func:`probe_backbone` record.

    1. **Candidates** are submodules (never the root) that run exactly once per forward and
       return a ``(B, C, H, W)`` tensor whose height and width double when the probe's do
       (pooled ``B×C×1×1`` vectors and window/attention tensors drop out) and that own
       trainable parameters (directly or in a submodule: reshapes, activations and
       pooling are not blocks), except: modules inside a *side branch* (a module returning a
       tuple, list or vector, e.g. MMRealSR's degradation estimator);
       whose output has the shape of an RGB image the network returns (the final head);
       modules inside a *resampler* — a module whose first 4-D input and its output differ in
       size, such as NAFNet's ``ups.i`` or Restormer's ``Upsample`` — unless that input is the
       network input itself or the resampler holds every parameter (a whole network behind a
       pixel-unshuffle); and a module whose parent finishes right after it with the same
       output shape (the outermost module wins, e.g. ``decoders.0`` over ``decoders.0.0``).
    2. **Latent**: the last candidate to run at the lowest resolution.
    3. **U-Net**: the network comes back up through resolutions it went down through — a
       candidate runs at the resolution just above the lowest both before and after the
       latent. Its **decoder levels**: for each resolution seen before the latent, the last
       candidate to run there after the latent; the resolutions closest to the latent first,
       until ``max_levels`` levels.
    4. **Residual body** (no U-Net, or a latent inside one block of a chain — a multi-scale
       block such as MIRNet-v2's): the outermost chain of numbered sibling blocks of
       one output shape (``body.0 … body.n``, ``layers.*.conv``; see :func:`_body_chain`) —
       ``max_levels`` of its blocks at evenly spaced depths, ending with the last. This is the
       body of super-resolution networks (SwinIR, HAT, RCAN, ESRGAN, ...): the upsampler
       after it is never chosen, since it runs at resolutions the network never went down
       through.
    5. **Neither**: ``max_levels`` candidates at the lowest resolution, evenly spaced in
       execution order, ending with the last one.

    The result is in execution order.

    Raises:
        ValueError: no candidate exists; the message says why and what to pass.

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
        ...                     nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
        >>> select_guidance_layers(probe_backbone(net, 16))  # the body: the two 8 -> 8 convolutions
        ('2', '3')
    """
    cands = _candidates(result)
    if not cands:
        raise InvalidValueError(_no_candidate_message(result))
    area = {r.name: r.hw[0] * r.hw[1] for r in cands}
    lowest = min(area.values())
    at_lowest = [r for r in cands if area[r.name] == lowest]
    latent = at_lowest[-1]
    before = {area[r.name] for r in cands if r.first_event < latent.first_event and area[r.name] > lowest}
    later: dict[int, ModuleRecord] = {}
    for r in cands:
        if r.first_event > latent.first_event and area[r.name] in before:
            later[area[r.name]] = r  # execution order: the last one per resolution wins
    chain = _body_chain(result)
    unet = bool(before) and min(before) in later
    decoder = [later[a] for a in sorted(later)][: max_levels - 1]
    if unet and not (chain and _inside_any(latent.name, chain)):
        chosen = [latent, *decoder]
    elif chain:
        chosen = _evenly_spaced(chain, min(max_levels, len(chain)))
    else:
        chosen = _evenly_spaced(at_lowest, min(max_levels, len(at_lowest)))
    return tuple(r.name for r in sorted(chosen, key=lambda r: r.first_event))


def _is_head(rec: ModuleRecord, result: ProbeResult) -> bool:
    return rec.output_shape is not None and rec.output_shape[1] == 3 and rec.output_shape in result.output_shapes


def _no_candidate_message(result: ProbeResult) -> str:
    """Why no module can be guided, and what to pass instead."""
    four_d = [r for r in result.records.values() if r.output_shape is not None and len(r.output_shape) == 4]
    if not any(r.scales for r in four_d):
        why = (
            "no submodule returns a (B, C, H, W) map that follows the image size: its blocks work on token "
            "sequences, windows or pooled vectors, or the network resizes its input internally"
        )
    elif all(not r.hookable or _is_head(r, result) for r in four_d):
        why = "the only spatial maps are the final output or come from modules that run more than once per forward"
    else:
        why = "every spatial map comes from a parameter-free module (activation, reshape) or from inside a resampler"
    return (
        f"Could not choose guidance layers automatically: {why}. Pass `layers=` with the names of modules that "
        "run once and return a (B, C, H, W) feature map (any conv inside the body will do); if the network pads "
        "its input internally to a multiple (e.g. SCUNet: 64), pass `probe_size=`/`multiple=` of at least that "
        "multiple; if it takes a fixed size, `input_size=`; if it takes more than an RGB image, "
        "`input_adapter=`. Hookable modules:\n" + result.listing()
    )


def resolve_layers(result: ProbeResult, layers: Sequence[str]) -> tuple[str, ...]:
    """Check user-given module names against the probe; a clear ``ValueError`` for bad ones.

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
        >>> resolve_layers(probe_backbone(net, 16), ["0"])
        ('0',)
    """
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise InvalidValueError(f"`layers` must be a non-empty list of module names, got {layers!r}.")
    if len(set(layers)) != len(layers):
        raise InvalidValueError(f"`layers` names a module twice: {list(layers)}.")
    for name in layers:
        if not isinstance(name, str):
            raise InvalidValueError(f"`layers` must hold module names (str), got {name!r}.")
        rec = result.records.get(name)
        if rec is None:
            what = "never runs in forward" if name in result.module_names else "is not a submodule of the network"
            raise InvalidValueError(
                f"`layers` names {name!r}, which {what}. "
                f"Valid names (output shape at a {result.size}x{result.size} probe, batch {result.batch}):\n"
                + result.listing()
            )
        if rec.calls != 1:
            raise InvalidValueError(
                f"`layers` names {name!r}, which runs {rec.calls} times per forward; a guided module must run "
                "exactly once. Hookable modules:\n" + result.listing()
            )
        if not rec.scales:
            raise InvalidValueError(
                f"`layers` names {name!r}, whose output is {rec.output_kind}, not a (B, C, H, W) feature map "
                "that follows the image size; forward hooks can only modulate 4-D feature maps. Hookable "
                "modules:\n" + result.listing()
            )
    order = {n: result.records[n].first_event for n in layers}
    return tuple(sorted(layers, key=order.__getitem__))
