"""Every user error of the command line: one ``error:`` line naming what was wrong, status 2, no traceback.

The cases are those of issue 14 (a careless or hostile user). ``--debug`` brings the traceback back.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import yaml

from perceive_ir import QualityPerceiver
from perceive_ir.cli.main import main
from perceive_ir.data.io import save_png
from perceive_ir.testing import tiny_clip_config

from ..training._helpers import write_pairs


def _nafnet_file(path, width=8):
    from spandrel.architectures.NAFNet import NAFNet

    torch.manual_seed(0)
    torch.save(NAFNet(width=width, enc_blk_nums=[1], dec_blk_nums=[1]).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Data, a complete recipe, a finished 2-step run with checkpoints, images and odd files."""
    d = tmp_path_factory.mktemp("cli-errors")
    write_pairs(d / "data", n=2)
    recipe = {
        "model": {"backbone_checkpoint": str(_nafnet_file(d / "naf.pth")), "semantic_encoder": None,
                  "cond_dim": 8, "multiple": 16},
        "loss": {"kind": "l1"},
        "data": {"crop": 32, "seed": 0, "tasks": [
            {"degraded_dir": str(d / "data" / "denoise" / "lq"), "clean_dir": str(d / "data" / "denoise" / "gt"),
             "task": "denoise"}]},
        "train": {"output_dir": str(d / "run"), "batch_size": 2, "max_steps": 2, "progress": False,
                  "checkpoint_every": 1, "cpu": True},
    }
    (d / "r.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["train", "--config", str(d / "r.yaml")]) == 0
    (d / "bad.yaml").write_text("model: [1, 2\n  x: :")
    (d / "empty.yaml").write_text("")
    (d / "partial.yaml").write_text("train:\n  max_steps: 3\n")
    (d / "folder.yaml").mkdir()
    _nafnet_file(d / "wide.pth", width=16)
    save_png(torch.rand(3, 16, 16), d / "img.png")
    save_png(torch.rand(3, 16, 16), d / "imgs" / "a.png")
    (d / "fake.png").write_bytes(b"not an image")
    (d / "demo" / "models").mkdir(parents=True)
    (d / "demo" / "models" / "bare_l1.safetensors").write_bytes(b"a demo network that does not load")
    QualityPerceiver(tiny_clip_config(), None, n_ctx=4).save_pretrained(d / "perceiver")
    return d


def _cases():
    r = ["train", "--config", "{d}/r.yaml"]
    restore = ["--backbone", "{d}/naf.pth", "--device", "cpu", "--quiet"]
    return {
        "unknown config": (["train", "--config", "nosuch"], "No built-in config 'nosuch'"),
        "missing config file": (["train", "--config", "{d}/none.yaml"], "Config file not found"),
        "folder as config": (["train", "--config", "{d}/folder.yaml"], "is a folder"),
        "malformed yaml": (["train", "--config", "{d}/bad.yaml"], "is not valid YAML"),
        "empty yaml": (["train", "--config", "{d}/empty.yaml"], "is empty"),
        "partial yaml": (["train", "--config", "{d}/partial.yaml"], "start it with `base: small`"),
        "nokeyvalue": ([*r, "nokeyvalue"], "Overrides must look like key=value"),
        "max_steps=ten": ([*r, "train.max_steps=ten"], "`train.max_steps` must be None or a positive int"),
        "batch_size=0": ([*r, "train.batch_size=0"], "`train.batch_size` must be a positive int, got 0"),
        "lr=abc": ([*r, "train.lr=abc"], "`train.lr` must be a number > 0, got 'abc'"),
        "unknown section": ([*r, "bogus.a=1"], "Unknown setting `bogus`"),
        "unknown model key": ([*r, "model.bogus=1"], "Unknown setting `model.bogus`"),
        "unknown model name": ([*r, "model.backbone_checkpoint=null", "model.name=nosuch"], "Unknown model 'nosuch'"),
        "unknown task": ([*r, "data.tasks=[{degraded_dir: '{d}/data/denoise/lq', clean_dir: '{d}/data/denoise/gt', "
                          "task: nosuch}]"], "Unknown task 'nosuch'"),
        "missing data folders": ([*r, "data.tasks=[{degraded_dir: /nope, clean_dir: /nope2, task: denoise}]"],
                                 "/nope"),
        # a fresh run into the finished run's folder: refused, never silently replacing its model and checkpoints
        "a fresh run into a used folder": ([*r], "already holds a run (checkpoints, model.safetensors"),
        "overwrite with resume": ([*r, "--overwrite", "--resume"], "--overwrite starts the run over"),
        "resume a missing run": ([*r, "--resume", "{d}/nope"], "no checkpoint there"),
        "resume an empty run": ([*r, "train.output_dir={d}/fresh", "--resume"], "has no checkpoint yet"),
        "resume with another lr": ([*r, "train.lr=0.1", "--resume"], "train.lr: 0.0002 -> 0.1"),
        "resume with another batch": ([*r, "train.batch_size=1", "--resume"], "train.batch_size: 2 -> 1"),
        "resume into another architecture": ([*r, "model.backbone_checkpoint={d}/wide.pth", "--resume"],
                                             "model.backbone_checkpoint"),
        "allowed resume into another architecture": (
            [*r, "model.backbone_checkpoint={d}/wide.pth", "--allow-changes", "--resume"],
            "saved from another model than the one built now"),
        "allow-changes without resume": ([*r, "--allow-changes"], "--allow-changes only applies with --resume"),
        "perceiver unknown config": (["train-perceiver", "--config", "nosuch"], "No built-in config"),
        "perceiver empty yaml": (["train-perceiver", "--config", "{d}/empty.yaml"], "is empty"),
        "perceiver without manifest": (["train-perceiver", "--config", "perceiver", "data.manifest=null"],
                                       "`data.manifest` is required"),
        "demo negative steps": (["demo", "--steps", "-1", "--out", "{d}/demo"], "--steps must be a positive int"),
        "demo zero batch": (["demo", "--batch-size", "0", "--out", "{d}/demo"], "--batch-size must be a positive int"),
        "restore onto its input": (["restore", "{d}/img.png", "{d}/img.png", *restore], "would overwrite the input"),
        "restore a folder into itself": (["restore", "{d}/imgs", "{d}/imgs", *restore], "would overwrite the input"),
        "restore a missing input": (["restore", "{d}/none", "{d}/o", *restore], "INPUT not found"),
        "evaluate a binary filelist": (["evaluate", "--backbone", "{d}/naf.pth", "--filelist", "{d}/img.png",
                                        "--out", "{d}/ev", "--quiet"], "is not a text file"),
        "evaluate a folder filelist": (["evaluate", "--backbone", "{d}/naf.pth", "--filelist", "{d}/imgs",
                                        "--out", "{d}/ev", "--quiet"], "is a folder"),
        "evaluate a missing model": (["evaluate", "--model", "{d}/nope.pth", "--filelist", "{d}/img.png",
                                      "--out", "{d}/ev"], "nope.pth"),
        "score a missing image": (["score", "{d}/none.png", "--perceiver", "{d}/nope"], "none.png"),
        "score with a missing perceiver": (["score", "{d}/img.png", "--perceiver", "{d}/nope"], "nope"),
        "score a file that is no image": (["score", "{d}/fake.png", "--perceiver", "{d}/perceiver", "--device", "cpu"],
                                          "fake.png"),
        "app with nothing to offer": (["app", "--demo-report", "{d}/imgs"],
                                      "No model to offer: run `perceive-ir demo`"),
        "app with a missing demo report": (["app", "--demo-report", "{d}/nope"],
                                           "--demo-report {d}/nope is not a folder"),
        "app with a missing model": (["app", "--model", "{d}/nope.pth"], "nope.pth"),
        # the model the user named is checked even when a demo report offers others first
        "app with a missing model beside a demo report": (["app", "--model", "{d}/nope.pth", "--demo-report",
                                                           "{d}/demo"], "nope.pth"),
        "app with a negative tile": (["app", "--model", "{d}/naf.pth", "--tile", "-1"], "--tile must be 0"),
        "app with overlap beyond tile": (["app", "--model", "{d}/naf.pth", "--tile", "64", "--overlap", "64"],
                                         "--overlap must be in [0, --tile=64)"),
        "app with a bad port": (["app", "--model", "{d}/naf.pth", "--port", "70000"], "--port must be in 1..65535"),
        "app with a missing perceiver": (["app", "--model", "{d}/naf.pth", "--perceiver", "{d}/nope"], "nope"),
    }


CASES = _cases()


@pytest.mark.parametrize("case", list(CASES))
def test_a_user_error_is_one_clear_line_with_status_2(work, case, capsys, monkeypatch):
    monkeypatch.chdir(work)  # never what the working tree holds (a `reports/demo` there, say)
    argv, fragment = CASES[case]
    rc = main([a.replace("{d}", str(work)) for a in argv])
    captured = capsys.readouterr()
    assert rc == 2, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert "error: " in captured.err
    assert fragment.replace("{d}", str(work)) in captured.err


def test_refused_resume_leaves_the_run_and_inputs_untouched(work, capsys):
    before = (work / "run" / "config.yaml").read_text()
    image = (work / "img.png").read_bytes()
    assert main(["train", "--config", str(work / "r.yaml"), "train.lr=0.1", "--resume"]) == 2
    assert main(["restore", str(work / "img.png"), str(work / "img.png"), "--backbone", str(work / "naf.pth"),
                 "--device", "cpu"]) == 2
    assert (work / "run" / "config.yaml").read_text() == before  # the refused lr was not recorded
    assert not (work / "run" / "resume-changes.log").exists()
    assert (work / "img.png").read_bytes() == image


def test_restore_overwrite_and_stale_temporaries(work, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.png.x1y2.tmp").write_bytes(b"left by a killed run")
    restore = ["--backbone", str(work / "naf.pth"), "--device", "cpu", "--quiet"]
    assert main(["restore", str(work / "imgs"), str(out), *restore]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]
    copy = tmp_path / "copy.png"
    copy.write_bytes((work / "img.png").read_bytes())
    assert main(["restore", str(copy), str(copy), *restore, "--overwrite"]) == 0
    assert copy.read_bytes() != (work / "img.png").read_bytes()


def test_the_console_script_prints_no_traceback_unless_debug(tmp_path):
    command = [sys.executable, "-m", "perceive_ir.cli.main"]
    plain = subprocess.run([*command, "train", "--config", "nosuch"], capture_output=True, text=True, cwd=tmp_path)
    assert plain.returncode == 2
    assert "Traceback" not in plain.stderr and "error: No built-in config 'nosuch'" in plain.stderr
    debug = subprocess.run([*command, "train", "--config", "nosuch", "--debug"], capture_output=True, text=True,
                           cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "MissingFileError" in debug.stderr
