"""The loaders load_model replaced still work for one release, and say what to use instead."""

from __future__ import annotations

import pytest
import torch
from spandrel.architectures.NAFNet import NAFNet

from perceive_ir.models import create_model, load_model, save_restoration_model

TINY = {"semantic_encoder": None, "probe_size": 32, "backbone_kwargs": {"width": 8}}


@pytest.fixture
def nafnet_file(tmp_path):
    path = tmp_path / "naf.pth"
    torch.save(NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1]).state_dict(), path)
    return path


def test_load_user_network_warns_and_loads_what_load_model_loads(nafnet_file):
    from perceive_ir.models import load_user_network

    with pytest.deprecated_call(match=r"load_user_network is deprecated .* use perceive_ir.models.load_model\(path\)"):
        net = load_user_network(nafnet_file)
    expected = load_model(nafnet_file).module
    ours, theirs = net.state_dict(), expected.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_the_spandrel_helpers_warn(nafnet_file):
    from perceive_ir.models.user_network import load_user_descriptor, network_from_state_dict, rgb_network

    with pytest.deprecated_call(match="load_user_descriptor is deprecated"):
        descriptor = load_user_descriptor(nafnet_file)
    with pytest.deprecated_call(match="network_from_state_dict is deprecated"):
        assert network_from_state_dict(descriptor.model.state_dict()).architecture.id == "NAFNet"
    with pytest.deprecated_call(match="rgb_network is deprecated"):
        assert rgb_network(descriptor) is descriptor.model


def test_load_restoration_model_warns(tmp_path):
    from perceive_ir.models import load_restoration_model

    folder = save_restoration_model(create_model("nafnet-small", **TINY), tmp_path / "model")
    with pytest.deprecated_call(match=r"load_restoration_model is deprecated.*load_model\(folder\).module"):
        net = load_restoration_model(folder)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(x), load_model(folder).module(x))


def test_pad_to_is_the_old_spelling_of_multiple_everywhere_a_preset_takes_it(monkeypatch):
    from perceive_ir.models import register_model
    from perceive_ir.models.preset_registry import _MODELS
    from perceive_ir.models.presets import nafnet_backbone, perceive_ir_nafnet

    monkeypatch.setattr(_MODELS, "_entries", dict(_MODELS._entries))  # the demo preset goes with the test

    with pytest.deprecated_call(match="create_model: `pad_to` is deprecated; use `multiple`") as caught:
        assert create_model("nafnet-small", pad_to=32, **TINY).multiple == 32  # the user's value beats the preset's
    assert caught[0].filename == __file__
    with pytest.deprecated_call(match="perceive_ir_nafnet: `pad_to` is deprecated; use `multiple`"):
        assert perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32, pad_to=32).multiple == 32
    with pytest.raises(ValueError, match=r"create_model: give `multiple` only .* not both"):
        create_model("nafnet-small", pad_to=32, multiple=32, **TINY)
    with pytest.deprecated_call(match="register_model: `pad_to` is deprecated; use `multiple`") as caught:
        register_model("nafnet-pad-to-demo", lambda **kw: nafnet_backbone("small", width=8, **kw),
                       wrap={"pad_to": 16}, overwrite=True)
    assert caught[0].filename == __file__
    assert create_model("nafnet-pad-to-demo", semantic_encoder=None, probe_size=32).multiple == 16


def test_the_authors_networks_name_their_multiple_multiple():
    from perceive_ir.models import MediumRestorer

    net = MediumRestorer(dim=8, blocks=(1, 1, 1, 1), heads=(1, 1, 1, 1), refinement_blocks=1)
    assert net.multiple == 8
    with pytest.deprecated_call(match="MediumRestorer.pad_to is deprecated; use MediumRestorer.multiple"):
        assert net.pad_to == 8
