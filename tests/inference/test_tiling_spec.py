"""One TilingSpec, checked once; restore() takes it, or the loose keywords, and reads a descriptor's facts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from perceive_ir.inference import TilingSpec, restore
from perceive_ir.models import ModelDescriptor, describe_module


def _sr() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"tile": 0}, ValueError, "`tile` must be None or a positive int"),
        ({"tile": 32, "overlap": 32}, ValueError, r"`overlap` must be an int in \[0, tile=32\)"),
        ({"overlap": -1}, ValueError, "`overlap` must be a non-negative int"),
        ({"multiple": True}, ValueError, "`multiple` must be None or a positive int"),
        ({"scale": 0}, ValueError, "`scale` must be None or a positive int"),
        ({"device": "nonsense"}, ValueError, "`device` must name a torch device"),
        ({"half": 1}, TypeError, "`half` must be a bool"),
        ({"output": []}, TypeError, "`output` must be None, an index or a key"),
    ],
)
def test_the_spec_checks_each_value_when_made(kwargs, error, message):
    with pytest.raises(error, match=message):
        TilingSpec(**kwargs)


def test_the_spec_is_frozen_and_replace_checks_again():
    spec = TilingSpec(tile=32, overlap=8)
    with pytest.raises(AttributeError):
        spec.tile = 64  # type: ignore[misc]
    assert spec.replace(tile=64).tile == 64 and spec.tile == 32
    with pytest.raises(ValueError, match="overlap"):
        spec.replace(tile=8)
    with pytest.raises(TypeError, match="no field 'tiles'"):
        spec.replace(tiles=8)
    with pytest.raises(ValueError, match="`half=True` needs a CUDA device"):
        TilingSpec(half=True).target_device(torch.device("cpu"))


def test_restore_takes_the_spec_or_the_loose_keywords_alike():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 3, 3, padding=1))
    image = torch.rand(3, 40, 56)
    loose = restore(net, image, tile=32, overlap=8)
    assert torch.equal(restore(net, image, tiling=TilingSpec(tile=32, overlap=8)), loose)
    with pytest.raises(ValueError, match=r"Give `tiling` or the loose keywords, not both: `tiling` with \['tile'\]"):
        restore(net, image, tiling=TilingSpec(tile=64), tile=16)
    with pytest.raises(TypeError, match="`tiling` must be a TilingSpec"):
        restore(net, image, tiling={"tile": 32})  # type: ignore[arg-type]


def test_restore_reads_the_scale_and_multiple_from_a_descriptor():
    sr, image = _sr(), torch.rand(3, 20, 30)
    assert describe_module(sr).scale is None  # a bare module: inferred from the first tile, as before
    assert restore(sr, image, tile=16, overlap=4).shape == (3, 40, 60)
    described = ModelDescriptor(sr, 1, "x2", scale=2)
    assert torch.equal(restore(described, image, tile=16, overlap=4), restore(sr, image, tile=16, overlap=4))
    wrong = described.replace(scale=3)  # the descriptor is read, not re-derived: a wrong one is caught
    with pytest.raises(ValueError, match="expected `scale`=3"):
        restore(wrong, image, tile=16, overlap=4)
    with pytest.raises(ValueError, match=r"positive multiple of 8 \(the model's multiple\)"):
        restore(ModelDescriptor(sr, 8, scale=2), image, tile=12, overlap=4)
