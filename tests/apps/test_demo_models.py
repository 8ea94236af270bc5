"""The demo keeps its trained networks and perceiver; ``load_model`` reads them back unchanged."""

import torch

from perceive_ir.apps.demo_models import DEMO_MODEL_PATHS, read_demo_models
from perceive_ir.models import load_model
from perceive_ir.perceive.perceiver import QualityPerceiver

from .._app_files import tiny_demo_networks


def test_saved_networks_and_perceiver_reload_to_the_same_outputs(tiny_report):
    folder, saved = tiny_report
    bare, wrapped, perceiver = tiny_demo_networks()
    assert list(saved.models) == list(DEMO_MODEL_PATHS) and saved.perceiver == folder / "perceiver"
    x = torch.rand(1, 3, 48, 64)
    bare_path, wrapped_path = saved.models.values()
    with torch.no_grad():
        assert torch.allclose(load_model(bare_path).module(x), bare(x), atol=1e-6)
        assert torch.equal(load_model(wrapped_path).module(x), wrapped(x))
        reloaded = QualityPerceiver.from_pretrained(saved.perceiver)
        assert torch.allclose(reloaded.probabilities(x), perceiver.probabilities(x), atol=1e-6)
    assert not list(folder.rglob("*.tmp*"))  # every file was renamed into place


def test_a_partial_or_absent_report_lists_what_is_there(tmp_path, tiny_report):
    folder, _ = tiny_report
    assert read_demo_models(tmp_path / "absent").models == {}
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "bare_l1.safetensors").write_bytes((folder / "models" / "bare_l1.safetensors").read_bytes())
    partial = read_demo_models(tmp_path)
    assert list(partial.models) == ["demo: bare (L1)"] and partial.perceiver is None
