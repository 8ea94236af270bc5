"""One description per loaded model (issue 24 §2): ModelDescriptor, explicit sources, the architecture registry."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from spandrel import ModelLoader
from spandrel.architectures.ESRGAN import ESRGAN
from spandrel.architectures.NAFNet import NAFNet
from torch import nn

from perceive_ir.models import (
    ARCHITECTURES,
    ModelDescriptor,
    create_model,
    describe_module,
    load_model,
    parse_source,
    save_restoration_model,
)
from perceive_ir.models.architectures import detect_architecture, read_checkpoint_state
from perceive_ir.models.sources import ModelSource

TINY = {"semantic_encoder": None, "probe_size": 32, "backbone_kwargs": {"width": 8}}


def test_the_descriptor_keeps_the_former_loaded_models_fields_and_checks_its_own():
    d = ModelDescriptor(nn.Identity(), 8, "identity", False)  # LoadedModel(module, multiple, description, trained)
    assert (d.multiple, d.description, d.trained, d.scale, d.source_kind) == (8, "identity", False, None, "module")
    assert d.size_requirements == {"minimum": 0, "multiple_of": 8}
    assert d.replace(scale=2).scale == 2 and d.scale is None  # frozen: replace gives a copy
    with pytest.raises(TypeError, match="`module` must be a torch.nn.Module"):
        ModelDescriptor("net", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`multiple` must be a positive int, got 0"):
        ModelDescriptor(nn.Identity(), 0)
    with pytest.raises(ValueError, match="`scale` must be None or a positive int"):
        ModelDescriptor(nn.Identity(), scale=0)
    with pytest.raises(ValueError, match="`tiling` must be one of"):
        ModelDescriptor(nn.Identity(), tiling="sometimes")  # type: ignore[arg-type]


def test_loaded_model_is_a_deprecated_alias_of_the_descriptor():
    import perceive_ir
    import perceive_ir.models as models
    import perceive_ir.models.factory as factory

    for where in (perceive_ir, models, factory):
        with pytest.deprecated_call(match=r"LoadedModel is deprecated .* use perceive_ir(\.models)?\.ModelDescriptor"):
            alias = where.LoadedModel
        assert alias is ModelDescriptor
    assert "LoadedModel" not in perceive_ir.__all__ and "ModelDescriptor" in perceive_ir.__all__


def test_a_spandrel_file_is_described_with_spandrels_facts(tmp_path):
    path = tmp_path / "sr.pth"
    torch.save(ESRGAN(num_filters=8, num_blocks=1, scale=2).state_dict(), path)
    theirs = ModelLoader().load_from_file(path)
    ours = load_model(path)
    assert (ours.architecture, ours.purpose, ours.scale) == ("ESRGAN", theirs.purpose, 2)
    assert (ours.input_channels, ours.output_channels) == (theirs.input_channels, theirs.output_channels)
    assert ours.multiple == theirs.size_requirements.multiple_of
    assert ours.minimum_size == theirs.size_requirements.minimum
    assert ours.tiling == theirs.tiling.name.lower()
    assert (ours.supports_half, ours.supports_bfloat16) == (theirs.supports_half, theirs.supports_bfloat16)
    assert (ours.source_kind, ours.source, ours.trained, ours.guided) == ("file", str(path), True, False)


def test_presets_and_folders_are_described_from_the_network(tmp_path):
    preset = load_model("preset:nafnet-small", **TINY)
    assert (preset.architecture, preset.multiple, preset.guided, preset.trained) == ("NAFNet", 16, True, False)
    assert (preset.source_kind, preset.source) == ("preset", "nafnet-small")
    folder = save_restoration_model(create_model("nafnet-small", **TINY), tmp_path / "model")
    saved = load_model(folder)
    assert (saved.architecture, saved.multiple, saved.guided, saved.source_kind) == ("NAFNet", 16, True, "folder")
    plain = describe_module(nn.Conv2d(3, 3, 3, padding=1))
    assert (plain.architecture, plain.multiple, plain.scale, plain.guided) == ("Conv2d", 1, None, False)


def test_sources_are_explicit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_source("nafnet-small") == ModelSource("preset", "nafnet-small")
    assert parse_source("preset:nafnet-small") == ModelSource("preset", "nafnet-small")
    assert parse_source("hf-hub:someone/model") == ModelSource("hf-hub", "someone/model")
    assert parse_source("someone/model") == ModelSource("hf-hub", "someone/model")  # not a path, not a preset
    (tmp_path / "weights.pth").write_bytes(b"x")
    (tmp_path / "run").mkdir()
    assert parse_source("weights.pth") == ModelSource("file", "weights.pth")
    assert parse_source("run") == parse_source("local-dir:run") == ModelSource("folder", "run")
    assert parse_source(Path("run")).kind == "folder"
    (tmp_path / "restormer").mkdir()
    with pytest.raises(ValueError, match=r"'restormer' is both a local folder and a preset name: write ./restormer "
                                         r"\(or local-dir:restormer\) for the folder, preset:restormer for the preset"):
        parse_source("restormer")
    assert parse_source("./restormer").kind == "folder" and parse_source("preset:restormer").kind == "preset"
    with pytest.raises(ValueError, match="Unknown preset 'nope'"):
        parse_source("preset:nope")
    with pytest.raises(FileNotFoundError, match="not an existing folder"):
        parse_source("local-dir:missing")
    with pytest.raises(ValueError, match="needs a value after the prefix"):
        parse_source("hf-hub:")
    with pytest.raises(ValueError, match="non-empty"):
        parse_source(" ")


def test_the_architecture_registry_is_ordered_and_tells_the_authors_formats_apart(official_ref, tmp_path):
    assert list(ARCHITECTURES) == ["authors-restorer", "authors-medium", "authors-prompts", "spandrel"]
    restorer = read_checkpoint_state(official_ref / "restorer" / "perceiveIR_500000.pth")
    assert detect_architecture(restorer).id == "authors-restorer"
    prompts = read_checkpoint_state(official_ref / "perceiver" / "quality_prompts_100000.pth")
    assert detect_architecture(prompts).id == "authors-prompts"
    path = tmp_path / "naf.pth"
    torch.save(NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1]).state_dict(), path)
    assert detect_architecture(read_checkpoint_state(path)).id == "spandrel"
    assert detect_architecture(None).id == "spandrel"  # not a weights-only torch dict: spandrel says what it is


def test_the_authors_restorer_is_described_as_guided_at_scale_one(official_ref):
    d = load_model(official_ref / "restorer" / "perceiveIR_500000.pth",
                   semantic_encoder=str(official_ref / "restorer" / "dinov2_tiny"))
    assert (d.architecture, d.multiple, d.scale, d.guided, d.source_kind) == ("PerceiveIRNet", 8, 1, True, "file")
    assert d.supports_half and d.supports_bfloat16


def test_a_missing_backbone_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="Checkpoint file not found"):
        load_model(None, backbone=tmp_path / "none.pth")


def test_no_warning_from_the_documented_loaders(tmp_path):
    path = tmp_path / "naf.pth"
    torch.save(NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1]).state_dict(), path)
    folder = save_restoration_model(create_model("nafnet-small", **TINY), tmp_path / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        load_model(path)
        load_model(folder)
        load_model("nafnet-small", **TINY)


def test_a_user_architecture_is_asked_before_the_spandrel_fallback(tmp_path):
    from perceive_ir.models import Architecture

    path = tmp_path / "mine.pth"
    torch.save({"mine.weight": torch.zeros(1)}, path)

    def load(state, *, source, **opts):
        return ModelDescriptor(nn.Identity(), 4, f"mine from {source}", architecture="Mine", source_kind="file")

    ARCHITECTURES.register("mine", Architecture("mine", lambda state: state is not None and "mine.weight" in state,
                                                load), overwrite=True)
    try:
        loaded = load_model(path)
        assert (loaded.architecture, loaded.multiple) == ("Mine", 4)
    finally:
        ARCHITECTURES._entries.pop("mine")
