import json

import pytest
import torch

from perceive_ir import CompactFeatureExtractor, PretrainedNotFoundError, list_published
from perceive_ir import _atomic as atomic_module
from perceive_ir import hub as hub_module


def test_save_writes_config_weights_and_card_atomically(tmp_path):
    CompactFeatureExtractor(dim=16).save_pretrained(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["README.md", "config.json", "model.safetensors"]  # no temporary files left
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["_class"] == "CompactFeatureExtractor" and config["dim"] == 16
    import os

    umask = os.umask(0)
    os.umask(umask)
    for name in names:  # readable like any other file, not mkstemp's 0600
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    cfe = CompactFeatureExtractor(dim=16)
    cfe.save_pretrained(tmp_path)
    before = (tmp_path / "model.safetensors").read_bytes()

    def broken(fd):  # the bytes are in the temporary file; the disk fills before they are synced
        raise OSError("disk full")

    monkeypatch.setattr(atomic_module.os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        cfe.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "config.json", "model.safetensors"]


def test_unknown_names_fail_fast_with_advice(tmp_path):
    with pytest.raises(PretrainedNotFoundError) as info:
        CompactFeatureExtractor.from_pretrained("someone/not-published-cfe")
    message = str(info.value)
    assert "save_pretrained" in message and "push_to_hub" in message and "none yet" in message
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(PretrainedNotFoundError, match="lacks model.safetensors"):
        CompactFeatureExtractor.from_pretrained(tmp_path)
    with pytest.raises(PretrainedNotFoundError, match="pass the folder"):
        CompactFeatureExtractor.from_pretrained(tmp_path / "config.json")


def test_registry_is_empty_until_weights_are_published():
    assert list_published() == []


def test_hub_downloads_pass_the_revision_through(tmp_path, monkeypatch):
    CompactFeatureExtractor(dim=8).save_pretrained(tmp_path)
    seen = []

    def fake_download(repo_id, filename, revision=None, **kwargs):
        seen.append((repo_id, filename, revision))
        return str(tmp_path / filename)

    monkeypatch.setattr(hub_module, "hf_hub_download", fake_download)
    loaded = CompactFeatureExtractor.from_pretrained("me/cfe", revision="0123abc")
    assert seen == [("me/cfe", "config.json", "0123abc"), ("me/cfe", "model.safetensors", "0123abc")]
    assert loaded.dim == 8


def test_push_to_hub_uploads_the_saved_folder(monkeypatch):
    uploaded = {}

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, private=None, exist_ok=False):
            return type("R", (), {"repo_id": repo_id})()

        def upload_folder(self, repo_id, folder_path, commit_message, revision=None, create_pr=False):
            import os

            uploaded.update(repo=repo_id, files=sorted(os.listdir(folder_path)), revision=revision)
            return type("C", (), {"commit_url": f"https://hub/{repo_id}/commit/1"})()

    monkeypatch.setattr(hub_module, "HfApi", FakeApi)
    url = CompactFeatureExtractor().push_to_hub("me/cfe", branch="v1")
    assert url.endswith("/commit/1")
    assert uploaded == {"repo": "me/cfe", "files": ["README.md", "config.json", "model.safetensors"], "revision": "v1"}


def test_map_location_and_shape_mismatch(tmp_path):
    CompactFeatureExtractor(dim=8).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["dim"] = 16
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="size mismatch"):
        CompactFeatureExtractor.from_pretrained(tmp_path)
    assert torch.device("cpu") == next(CompactFeatureExtractor().parameters()).device


def test_tensors_of_the_wrong_kind_are_refused_not_cast(tmp_path):
    """Integer weights for float parameters (or float ids for integer buffers) would load silently cast."""
    from safetensors.torch import load_file, save_file

    from perceive_ir import QualityPerceiver
    from perceive_ir.errors import InvalidValueError
    from perceive_ir.testing import tiny_clip_config

    folder = tmp_path / "perceiver"
    QualityPerceiver(tiny_clip_config(), None, n_ctx=4).save_pretrained(folder)
    state = load_file(str(folder / "model.safetensors"))
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = (state[key] * 100).to(torch.int32)
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(InvalidValueError, match=rf"{key} \(torch.int32 for a torch.float32 tensor\)"):
        QualityPerceiver.from_pretrained(folder)
