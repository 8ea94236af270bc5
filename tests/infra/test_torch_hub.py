"""``hubconf.py``: each entry point through ``torch.hub.load(<checkout>, ..., source="local")``, offline."""

from __future__ import annotations

import doctest
import importlib.util
import re
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import torch
from torch import nn

from perceive_ir import PretrainedNotFoundError, QualityPerceiver
from perceive_ir.errors import InvalidValueError
from perceive_ir.models import create_model, save_restoration_model
from perceive_ir.models.official import OfficialCheckpointError, PerceiveIRNet
from perceive_ir.published_weights import PUBLISHED_WEIGHTS, PublishedWeights
from perceive_ir.retrofit import WrappedBackbone
from perceive_ir.testing import tiny_clip_config

from .._official_files import clip_args, reference_tensors

ROOT = Path(__file__).resolve().parents[2]  # the checkout that holds hubconf.py
ENTRY_POINTS = ["official_restorer", "quality_perceiver", "restorer", "wrap_backbone"]
TINY_PRESET = {"semantic_encoder": None, "probe_size": 32}


def hub_load(entry: str, *args, **kwargs):
    return torch.hub.load(str(ROOT), entry, *args, source="local", **kwargs)


@pytest.fixture
def hub_from_checkout(monkeypatch: pytest.MonkeyPatch) -> str:
    """``torch.hub.list`` / ``help`` take a GitHub repo only: point its download step at the checkout."""
    monkeypatch.setattr(torch.hub, "_get_cache_or_reload", lambda *args, **kwargs: str(ROOT))
    return "owner/perceive-ir"  # never fetched


def _hubconf():
    spec = importlib.util.spec_from_file_location("hubconf_under_test", ROOT / "hubconf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))


def test_list_gives_exactly_the_documented_entry_points(hub_from_checkout):
    assert torch.hub.list(hub_from_checkout, trust_repo=True, verbose=False) == ENTRY_POINTS
    documented = re.findall(r"^\* :func:`(\w+)`", _hubconf().__doc__, re.M)
    assert sorted(documented) == ENTRY_POINTS
    section = (ROOT / "docs" / "torch_hub.md").read_text(encoding="utf-8").split("## Through torch.hub", 1)[1]
    assert sorted(set(re.findall(r"^\| `(\w+)`", section, re.M))) == ENTRY_POINTS


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_help_shows_each_docstring(hub_from_checkout, entry):
    text = torch.hub.help(hub_from_checkout, entry, trust_repo=True)
    assert text == getattr(_hubconf(), entry).__doc__
    assert "Args:" in text and "Returns:" in text


def test_docstring_examples_run():
    results = doctest.testmod(_hubconf(), optionflags=doctest.ELLIPSIS)
    assert results.attempted >= 3 and results.failed == 0


def test_dependencies_are_the_packages_import_names():
    listed = _hubconf().dependencies
    for name in listed:
        assert importlib.util.find_spec(name) is not None, name
    project = _pyproject()["project"]
    required = {re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower().replace("_", "-")
                for spec in project["dependencies"]}
    distributions = packages_distributions()
    provided = {dist.lower().replace("_", "-") for name in listed for dist in distributions.get(name, [])}
    assert required <= provided, f"pyproject dependencies without an import name in hubconf: {required - provided}"


def test_the_wheel_leaves_hubconf_out_and_the_sdist_ships_it():
    build = _pyproject()["tool"]["hatch"]["build"]["targets"]
    assert build["wheel"]["packages"] == ["perceive_ir"]  # no top-level `hubconf` module in site-packages
    assert "hubconf.py" in build["sdist"]["include"]  # the sdist ships the tests, and they load it


def test_restorer_preset_is_create_model():
    torch.manual_seed(0)
    expected = create_model("nafnet-small", **TINY_PRESET)
    torch.manual_seed(0)
    model = hub_load("restorer", "nafnet-small", **TINY_PRESET)
    assert type(model) is type(expected) and model.multiple == 16
    assert model.state_dict().keys() == expected.state_dict().keys()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in expected.state_dict().items())
    bare = hub_load("restorer", "nafnet-small", wrap=False)
    assert type(bare).__name__ == "NAFNet"


def test_restorer_pretrained_without_published_weights_says_how_to_make_them():
    with pytest.raises(PretrainedNotFoundError, match=r"preset 'nafnet-small'.*none yet.*push_to_hub"):
        hub_load("restorer", "nafnet-small", pretrained=True)


def test_restorer_pretrained_loads_the_checkpoint_published_under_the_preset_name(tmp_path, monkeypatch):
    model = create_model("nafnet-small", **TINY_PRESET).eval()
    folder = save_restoration_model(model, tmp_path / "published")
    entry = PublishedWeights(str(folder), "0" * 40, "WrappedBackbone", "test entry")
    monkeypatch.setitem(PUBLISHED_WEIGHTS._entries, "nafnet-small", entry)
    loaded = hub_load("restorer", "nafnet-small", pretrained=True)
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(image), model(image))


def test_bad_arguments_give_the_library_errors():
    with pytest.raises(InvalidValueError, match=r"Unknown model 'restormr'; known: .*restormer"):
        hub_load("restorer", "restormr")
    with pytest.raises(InvalidValueError, match=r"Unknown model 'restormr'"):
        hub_load("restorer", "restormr", pretrained=True)
    with pytest.raises(InvalidValueError, match="`weights`.*or `pretrained=True`, not both"):
        hub_load("quality_perceiver", weights="somewhere", pretrained=True)
    with pytest.raises(PretrainedNotFoundError, match="no-such-folder"):
        hub_load("quality_perceiver", weights="no-such-folder", local_files_only=True)
    with pytest.raises(TypeError, match="weights"):
        hub_load("official_restorer")
    with pytest.raises(RuntimeError, match="Cannot find callable resnet50 in hubconf"):
        hub_load("resnet50")


def test_wrap_backbone_untrained_and_from_trained_weights(tmp_path):
    backbone = _net()
    options = {"semantic_encoder": None, "cond_dim": 8, "probe_size": 16}
    wrapped = hub_load("wrap_backbone", backbone, **options)
    assert isinstance(wrapped, WrappedBackbone) and wrapped.backbone is backbone
    with torch.no_grad():
        for parameter in wrapped.adapter.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)  # "trained" adapter weights
    folder = save_restoration_model(wrapped.eval(), tmp_path / "adapter")
    fresh = _net()
    fresh.load_state_dict(backbone.state_dict())
    loaded = hub_load("wrap_backbone", fresh, weights=folder)
    image = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(loaded(image), wrapped(image), atol=1e-6)


def test_quality_perceiver_untrained_and_from_a_folder(tmp_path):
    tiny = {"clip_model": tiny_clip_config(), "clip_pretrained": None}
    perceiver = hub_load("quality_perceiver", **tiny)
    assert isinstance(perceiver, QualityPerceiver)
    perceiver.save_pretrained(tmp_path / "perceiver")
    loaded = hub_load("quality_perceiver", weights=tmp_path / "perceiver")
    image = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded.probabilities(image), perceiver.eval().probabilities(image), atol=1e-6)
    with pytest.raises(PretrainedNotFoundError, match="none yet.*push_to_hub"):
        hub_load("quality_perceiver", pretrained=True)


def test_quality_perceiver_from_the_authors_prompt_file(official_ref: Path):
    prompts = official_ref / "perceiver" / "quality_prompts_100000.pth"
    perceiver = hub_load("quality_perceiver", weights=prompts, **clip_args(official_ref))
    inputs, expected = reference_tensors(official_ref, "perceiver")
    with torch.no_grad():
        probabilities = perceiver.probabilities(inputs["image_0"])
    assert (probabilities - expected["probabilities_0"]).abs().max().item() <= 1e-5
    with pytest.raises(OfficialCheckpointError, match="perceiveIR_500000.pth"):  # a restorer is not a perceiver
        hub_load("quality_perceiver", weights=official_ref / "restorer" / "perceiveIR_500000.pth",
                 **clip_args(official_ref))


def test_official_restorer_from_the_authors_file(official_ref: Path):
    restorer = official_ref / "restorer"
    dinov2 = str(restorer / "dinov2_tiny")
    model = hub_load("official_restorer", weights=restorer / "perceiveIR_500000.pth", semantic_encoder=dinov2)
    assert isinstance(model, PerceiveIRNet) and not model.training
    inputs, expected = reference_tensors(official_ref, "restorer")
    with torch.no_grad():
        restored = model(inputs["image_0"])
    assert (restored - expected["restored_0"]).abs().max().item() <= 1e-5  # the authors' own output
    with pytest.raises(OfficialCheckpointError, match="quality_prompts_100000.pth"):
        hub_load("official_restorer", weights=official_ref / "perceiver" / "quality_prompts_100000.pth",
                 semantic_encoder=dinov2)
