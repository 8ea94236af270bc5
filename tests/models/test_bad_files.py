"""Loading models from files: every error names the file and what was expected; NaN/Inf refused; no unsafe advice."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import load_file, save_file

from perceive_ir import CompactFeatureExtractor, load_model
from perceive_ir.models.checkpoint import load_restoration_model, save_restoration_model
from perceive_ir.models.presets import perceive_ir_nafnet
from perceive_ir.models.user_network import load_user_network, network_from_state_dict

# the deprecated loaders (load_restoration_model, load_user_network, ...) keep their behaviour for one release;
# tests/models/test_deprecations.py checks that they warn
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated and will be removed:DeprecationWarning")


@pytest.fixture
def folder(tmp_path):
    torch.manual_seed(0)
    model = perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32, backbone_kwargs={"width": 8},
                               hidden_dim=16, cond_dim=16)
    return save_restoration_model(model, tmp_path / "model")


def _poison(path, value):
    state = load_file(str(path))
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = state[name].clone().view(-1).index_fill(0, torch.tensor([0]), value).view(state[name].shape)
    save_file(state, str(path))
    return name


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
@pytest.mark.parametrize("file", ["model.safetensors", "backbone.safetensors"])
def test_nan_or_inf_weights_are_refused_at_load(folder, file, value):
    name = _poison(folder / file, value)
    with pytest.raises(ValueError) as info:
        load_restoration_model(folder)
    assert str(folder / file) in str(info.value) and name in str(info.value) and "NaN or Inf" in str(info.value)


@pytest.mark.parametrize(
    "content, fragment",
    [(None, "truncated"), (b"", "header too small"), (b"garbage" * 10, "not a readable safetensors file")],
    ids=["truncated", "empty", "garbage"],
)
def test_unreadable_weights_name_the_file(folder, content, fragment):
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100] if content is None else content)
    with pytest.raises(ValueError) as info:
        load_restoration_model(folder)
    assert str(path) in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize(
    "text, fragment",
    [("{bad", "is not valid JSON"), ("[1, 2]", "holds a JSON list; expected a JSON object"), ("", "not valid JSON")],
)
def test_a_broken_config_names_the_file(folder, text, fragment):
    (folder / "config.json").write_text(text)
    with pytest.raises(ValueError) as info:
        load_restoration_model(folder)
    assert str(folder / "config.json") in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize("fields", [("hidden_dim",), ("hidden_dim", "image_size"), ("channels",)])
def test_a_missing_config_field_is_named_not_defaulted(folder, fields):
    config = json.loads((folder / "config.json").read_text())
    for field in fields:
        del config[field]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError) as info:
        load_restoration_model(folder)
    assert f"{folder / 'config.json'} lacks the setting" in str(info.value)
    assert all(field in str(info.value) for field in fields)


def test_a_hub_module_folder_with_nan_weights_is_refused(tmp_path):
    folder = CompactFeatureExtractor(dim=8).save_pretrained(tmp_path / "cfe")
    _poison(folder / "model.safetensors", float("nan"))
    with pytest.raises(ValueError, match="NaN or Inf"):
        CompactFeatureExtractor.from_pretrained(folder)


def _nafnet_state():
    from spandrel.architectures.NAFNet import NAFNet

    return NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1]).state_dict()


def test_an_unknown_state_dict_gives_a_reason(tmp_path):
    path = tmp_path / "x.pth"
    torch.save({"foo.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(ValueError) as info:
        load_user_network(path)
    message = str(info.value)
    assert str(path) in message and "no supported architecture matches" in message
    assert not message.rstrip().endswith(":")
    with pytest.raises(ValueError, match="no supported architecture matches"):
        network_from_state_dict({"foo.weight": torch.zeros(3, 3)}, source="x")


def test_a_spandrel_checkpoint_with_nan_is_refused(tmp_path):
    state = _nafnet_state()
    state["intro.weight"][0] = float("nan")
    torch.save(state, tmp_path / "naf.pth")
    with pytest.raises(ValueError, match=r"naf.pth holds NaN or Inf weights in intro.weight"):
        load_user_network(tmp_path / "naf.pth")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_malicious_pickle_is_refused_without_unsafe_advice(tmp_path, capfd):
    path = tmp_path / "evil.pth"
    torch.save({"params": _Evil()}, path)
    for load in (load_user_network, load_model):
        with pytest.raises(ValueError) as info:
            load(str(path))
        assert str(path) in str(info.value)
        assert "weights_only=False" not in str(info.value) and "`False`" not in str(info.value)
    assert "pwned" not in capfd.readouterr().out


def test_a_safetensors_file_named_pth_loads_and_a_torch_loader_says_what_it_is(tmp_path):
    from spandrel.architectures.NAFNet import NAFNet

    from perceive_ir._files import safe_torch_load

    net = NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1])
    path = tmp_path / "nafnet.pth"
    save_file(net.state_dict(), str(path))
    loaded = load_user_network(path)
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(loaded(x), net.eval()(x))
    with pytest.raises(ValueError, match=r"is a safetensors file, not a torch.save file.*rename it to nafnet\."):
        safe_torch_load(path, "a training state")


def test_a_saved_perceiver_given_as_a_model_says_what_it_is(tmp_path):
    from perceive_ir import QualityPerceiver
    from perceive_ir.testing import tiny_clip_config

    QualityPerceiver(tiny_clip_config(), None, n_ctx=4).save_pretrained(tmp_path / "perceiver")
    with pytest.raises(ValueError, match=r"holds a saved QualityPerceiver \(a quality perceiver: pass it as"):
        load_model(tmp_path / "perceiver")


def test_a_symlink_loop_is_named_as_one(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(FileNotFoundError, match="symbolic link that leads nowhere"):
        load_model(loop)
