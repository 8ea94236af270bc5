"""The page's models: labels, lazy loading with a small cache, local paths, and clear refusals."""

import pytest

from perceive_ir.apps.model_catalog import ModelCatalog


def test_a_demo_report_comes_first_then_the_given_sources(tiny_report):
    folder, saved = tiny_report
    catalog = ModelCatalog.from_sources(["nafnet-small", str(saved.models["demo: bare (L1)"])], demo_report=folder)
    assert catalog.labels == ["demo: bare (L1)", "demo: wrapped (quality-aware)", "nafnet-small (untrained preset)",
                              "models/bare_l1.safetensors"]
    assert catalog.source("demo: wrapped (quality-aware)") == str(folder / "models" / "wrapped_quality_aware")


def test_models_load_once_and_the_least_recently_used_is_dropped(tiny_report):
    folder, _ = tiny_report
    catalog = ModelCatalog.from_sources(demo_report=folder, keep=1)
    bare = catalog.load("demo: bare (L1)")
    assert catalog.load("demo: bare (L1)") is bare  # kept
    wrapped = catalog.load("demo: wrapped (quality-aware)")
    assert wrapped.multiple == 16 and wrapped.trained
    assert catalog.load("demo: bare (L1)") is not bare  # dropped for the wrapped one, then loaded again


def test_a_local_path_loads_only_when_paths_are_allowed(tiny_report):
    folder, _ = tiny_report
    path = str(folder / "models" / "wrapped_quality_aware")
    assert ModelCatalog({}).load(path).multiple == 16
    with pytest.raises(ValueError, match=r"is not a model label; the labels are 'a \(untrained preset\)'"):
        ModelCatalog({"a": "nafnet-small"}, allow_paths=False).load(path)


def test_unknown_choices_and_empty_labels_are_refused_by_name(tmp_path):
    catalog = ModelCatalog({"mine": "nafnet-small"})
    with pytest.raises(ValueError, match=r"'nope' is not a model label or an existing local folder or file; the "
                                         r"labels are 'mine \(untrained preset\)'"):
        catalog.load("nope")
    with pytest.raises(ValueError, match="non-empty label and source"):
        ModelCatalog({"": "nafnet-small"})
    with pytest.raises(ValueError, match="`keep` must be"):
        ModelCatalog({}, keep=0)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Exception, match="holds no config.json"):  # a folder that holds no model
        catalog.load(str(empty))
