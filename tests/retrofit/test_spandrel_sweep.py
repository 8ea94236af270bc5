"""Every spandrel architecture built small: wrap, identity at init, odd size, backward, round trip, tiled restore.

One test per architecture of ``spandrel_zoo.ZOO`` runs the six checks on one wrapped model (one
dry run each), and checks that ``docs/wrap_backbone.md``'s generated table still says what the
automatic rule picks. The architectures that cannot be wrapped must fail with an error that says
what to pass.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from perceive_ir.inference import restore, select_image
from perceive_ir.retrofit.wrap import WrappedBackbone, wrap_backbone

from .spandrel_zoo import ZOO, Entry

DOC = Path(__file__).resolve().parents[2] / "docs" / "wrap_backbone.md"


def _doc_rows() -> dict[str, str]:
    rows = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"^\| (\S+) \| .* \| `([^`]*)` \|$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def wrap_options(entry: Entry) -> dict:
    options = dict(entry.wrap)
    if "input_size" not in options:
        options.setdefault("probe_size", max(16, options.get("multiple", 1)))
    return {"semantic_encoder": None, "cond_dim": 8, "hidden_dim": 16, **options}


def _bare(entry: Entry, net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    adapter = entry.wrap.get("input_adapter")
    return select_image(net(x.clone() if adapter is None else adapter(x)), x)  # a copy: RCAN writes into it


def _perturb(model: WrappedBackbone) -> None:
    """Move every adapter parameter off its (zero) init, as training would."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.adapter.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn(p.shape, generator=generator))


def _params(entry: Entry):
    marks = [pytest.mark.slow] if entry.slow else []
    return pytest.param(entry, id=entry.name, marks=marks)


WRAPPABLE = [_params(e) for e in ZOO if e.refused is None]
REFUSED = [_params(e) for e in ZOO if e.refused is not None]


@pytest.mark.parametrize("entry", WRAPPABLE)
def test_architecture(entry: Entry, tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = entry.build()
    model = wrap_backbone(net, **wrap_options(entry)).eval()
    s, k = entry.size, entry.scale
    fixed = "input_size" in entry.wrap

    # 1. wrap: the documented layers
    assert model.hooked_layers, entry.name
    assert _doc_rows().get(entry.name) == ", ".join(model.hooked_layers), (
        f"docs/wrap_backbone.md is stale for {entry.name}: regenerate it with python -m tests.retrofit.spandrel_table"
    )

    # 2. identity at initialisation (a size the network takes as it is); the input is left untouched
    x = torch.rand(1, 3, s, s, generator=torch.Generator().manual_seed(2))
    kept = x.clone()
    with torch.no_grad():
        wrapped = select_image(model(x), x)
        assert torch.equal(x, kept), entry.name
        bare = _bare(entry, net, x)
    assert torch.equal(wrapped, bare), entry.name
    assert wrapped.shape == (1, 3, k * s, k * s)

    # 3. an odd size: padded to the multiple, output cropped to scale x input
    if not fixed:
        odd = torch.rand(1, 3, s + 1, s + 3)
        with torch.no_grad():
            assert select_image(model(odd), odd).shape == (1, 3, k * (s + 1), k * (s + 3))

    # 4. backward into the adapter only (the backbone frozen; in-place writers like RCAN included)
    _perturb(model)
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    model.train()  # training code paths (PLKSR writes in place only at inference); batch 2 for batch norms
    batch = torch.rand(2, 3, s, s, generator=torch.Generator().manual_seed(4))
    select_image(model(batch), batch).square().mean().backward()
    model.eval()
    trainable = [(n, p) for n, p in model.adapter.named_parameters() if p.requires_grad]
    assert trainable and all(p.grad is not None for _, p in trainable), entry.name
    assert any(p.grad.abs().sum() > 0 for _, p in trainable)
    assert all(p.grad is None for p in model.backbone.parameters())

    # 5. adapter round trip
    model.save_pretrained(tmp_path / "adapter")
    again = WrappedBackbone.from_pretrained(tmp_path / "adapter", backbone=net, input_adapter=entry.wrap.get(
        "input_adapter"
    )).eval()
    with torch.no_grad():
        torch.testing.assert_close(select_image(again(x), x), select_image(model(x), x), rtol=0, atol=0)

    # 6. tiled restore: scale x input, close to the whole image
    image = torch.rand(3, s + 20, s + 14, generator=torch.Generator().manual_seed(3))
    tile = s
    tiled = restore(model, image, tile=tile, overlap=min(12, tile // 2))
    assert tiled.shape == (3, k * (s + 20), k * (s + 14)), entry.name
    assert torch.isfinite(tiled).all()
    if not fixed:
        whole = restore(model, image)
        assert whole.shape == tiled.shape
        if entry.local:  # random networks see far (global attention, pooling): close, not equal
            spread = (whole - whole.mean()).abs().mean()
            assert (tiled - whole).abs().mean() <= 0.25 * spread + 1e-6, entry.name


@pytest.mark.parametrize("entry", REFUSED)
def test_unwrappable_architectures_say_what_to_pass(entry: Entry) -> None:
    net = entry.build()
    with pytest.raises(ValueError, match="Could not choose guidance layers automatically") as info:
        wrap_backbone(net, **wrap_options(entry))
    message = str(info.value)
    assert re.search(entry.refused, message) and "Hookable modules" in message and "input_adapter=" in message


def test_a_network_taking_a_noise_map_fails_the_dry_run_with_the_input_adapter_advice() -> None:
    drunet = next(e for e in ZOO if e.name == "DRUNet")
    options = wrap_options(drunet)
    del options["input_adapter"]
    with pytest.raises(RuntimeError, match=r"input_adapter=.*NoiseLevelMap"):
        wrap_backbone(drunet.build(), **options)


def test_odd_sizes_reach_the_network_padded() -> None:
    """The wrapper's pad/crop: a bare network given the reflect-padded input gives the same pixels."""
    entry = next(e for e in ZOO if e.name == "SwinIR-x2")
    net = entry.build()
    model = wrap_backbone(net, **wrap_options(entry), multiple=8)
    x = torch.rand(1, 3, 21, 19)
    with torch.no_grad():
        padded = F.pad(x, (0, 5, 0, 3), mode="reflect")
        torch.testing.assert_close(model(x), net(padded)[..., :42, :38], rtol=0, atol=0)


def test_seemore_is_probed_at_batch_one_and_rcan_gets_a_copy() -> None:
    """The two dry-run adaptations the issue named, on the real networks."""
    from perceive_ir.retrofit.layer_probe import probe_backbone

    seemore = next(e for e in ZOO if e.name == "SeemoRe-x2")
    assert probe_backbone(seemore.build(), 16).batch == 1  # its dry run fails at batch 2
    rcan = next(e for e in ZOO if e.name == "RCAN-x2")
    assert wrap_backbone(rcan.build(), **wrap_options(rcan)).mutates_input
