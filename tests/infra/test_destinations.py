"""Writes that cannot destroy: convert-official --overwrite and export never replace a user's files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from perceive_ir._destinations import DestinationError, check_not_a_source, check_replaceable_folder
from perceive_ir.cli.main import main


def test_check_not_a_source(tmp_path: Path):
    (tmp_path / "in").mkdir()
    source = tmp_path / "in" / "model.pth"
    source.write_bytes(b"x")
    check_not_a_source(tmp_path / "out", [source, None])
    with pytest.raises(DestinationError, match="is the input"):
        check_not_a_source(tmp_path / "in" / ".." / "in" / "model.pth", [source])
    with pytest.raises(DestinationError, match="contains the input"):
        check_not_a_source(tmp_path / "in", [source])
    with pytest.raises(DestinationError, match="lies inside the input folder"):
        check_not_a_source(tmp_path / "in" / "sub", [tmp_path / "in"])


def test_check_replaceable_folder(tmp_path: Path):
    check_replaceable_folder(tmp_path / "missing", {"a"})
    (tmp_path / "a").write_text("")
    check_replaceable_folder(tmp_path, {"a"})
    (tmp_path / "b").write_text("")
    with pytest.raises(DestinationError, match=r"holds files convert-official did not write \(b\)"):
        check_replaceable_folder(tmp_path, {"a"}, what="convert-official")
    with pytest.raises(DestinationError, match="is a file"):
        check_replaceable_folder(tmp_path / "a", {"a"})


@pytest.fixture
def weights_folder(official_ref: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copy(official_ref / "restorer" / "perceiveIR_500000.pth", folder)
    (folder / "notes.txt").write_text("mine")
    return folder


def test_convert_official_overwrite_never_removes_the_source_or_user_files(
    official_ref: Path, weights_folder: Path, tmp_path: Path, capsys
):
    source = weights_folder / "perceiveIR_500000.pth"
    encoder = ["--semantic-encoder", str(official_ref / "restorer" / "dinov2_tiny")]
    before = source.read_bytes()
    # DST is the folder holding the source (and a file of the user's): refused even with --overwrite
    assert main(["convert-official", str(source), str(weights_folder), "--overwrite", *encoder]) == 2
    assert "contains the input" in capsys.readouterr().err
    assert source.read_bytes() == before and (weights_folder / "notes.txt").read_text() == "mine"
    # a folder of the user's elsewhere: --overwrite refuses it too
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    assert main(["convert-official", str(source), str(mine), "--overwrite", *encoder]) == 2
    assert "did not write (thesis.tex)" in capsys.readouterr().err
    assert (mine / "thesis.tex").read_text() == "years of work"
    # a folder convert-official wrote before: --overwrite replaces it
    out = tmp_path / "converted"
    assert main(["convert-official", str(source), str(out), *encoder]) == 0
    assert main(["convert-official", str(source), str(out), "--overwrite", *encoder]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]


def test_export_never_overwrites_its_model(tmp_path: Path, capsys):
    pytest.importorskip("onnx")
    net = torch.nn.Conv2d(3, 3, 3, padding=1)
    checkpoint = tmp_path / "M.pth"
    torch.save(net.state_dict(), checkpoint)
    before = checkpoint.read_bytes()
    assert main(["export", str(checkpoint), str(checkpoint)]) == 2
    assert "OUT must be a .onnx file" in capsys.readouterr().err
    assert checkpoint.read_bytes() == before
    onnx_named = tmp_path / "M.onnx"
    onnx_named.write_bytes(b"a model file of the user's, misnamed")
    assert main(["export", str(onnx_named), str(onnx_named)]) == 2
    assert "is the input" in capsys.readouterr().err
    assert onnx_named.read_bytes() == b"a model file of the user's, misnamed"


def test_reruns_remove_what_a_killed_conversion_or_export_left(official_ref: Path, tmp_path: Path):
    """A kill -9 leaves a hidden temporary beside the destination: the next run of the same destination removes it."""
    pytest.importorskip("onnx")
    source = official_ref / "restorer" / "perceiveIR_500000.pth"
    encoder = ["--semantic-encoder", str(official_ref / "restorer" / "dinov2_tiny")]
    (tmp_path / ".converted.abc123.tmp").mkdir()  # a killed convert-official's folder
    (tmp_path / ".converted.abc123.tmp" / "model.safetensors").write_bytes(b"half")
    (tmp_path / ".model.onnx.xyz.tmp").write_bytes(b"half an onnx file")  # a killed export's file
    (tmp_path / ".other.abc.tmp").write_bytes(b"another destination's: left alone")
    assert main(["convert-official", str(source), str(tmp_path / "converted"), *encoder]) == 0
    from spandrel.architectures.NAFNet import NAFNet

    torch.save(NAFNet(width=8, enc_blk_nums=[1], dec_blk_nums=[1]).state_dict(), tmp_path / "net.pth")
    assert main(["export", str(tmp_path / "net.pth"), str(tmp_path / "model.onnx")]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".other.abc.tmp", "converted", "model.onnx", "net.pth"]
