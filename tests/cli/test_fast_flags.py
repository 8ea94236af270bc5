"""``--compile``, ``--channels-last`` and ``--dtype`` reach restore() from restore, evaluate, app and train."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import torch
import yaml
from torch import nn

import perceive_ir.apps.evaluation as evaluation
from perceive_ir.cli.main import build_parser, main
from perceive_ir.data import save_png
from perceive_ir.errors import InvalidValueError
from perceive_ir.inference.compiled import FastOptions

from ..training._helpers import write_pairs
from .test_train import _nafnet_file

restore_module = importlib.import_module("perceive_ir.inference.restore")  # the package exports the function
TINY = ["--model", "nafnet-small", "--semantic-encoder", "none"]


class _Stop(InvalidValueError):
    """Ends a command once its options were seen (a user error: status 2)."""


def test_restore_passes_the_flags_and_refuses_bad_ones(monkeypatch, tmp_path, capsys):
    seen: dict[str, Any] = {}
    real = restore_module.restore

    def spy(model: nn.Module, image: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        seen.update(kwargs)
        return real(model, image, **{k: v for k, v in kwargs.items() if k not in ("compile",)})

    monkeypatch.setattr(restore_module, "restore", spy)
    save_png(torch.rand(3, 16, 16), tmp_path / "a.png")
    assert main(["restore", str(tmp_path / "a.png"), str(tmp_path / "b.png"), *TINY, "--compile", "--channels-last",
                 "--dtype", "bf16", "--quiet"]) == 0
    assert (seen["compile"], seen["channels_last"], seen["dtype"]) == (True, True, "bf16")
    assert (tmp_path / "b.png").is_file()
    with pytest.raises(SystemExit):
        main(["restore", str(tmp_path / "a.png"), str(tmp_path / "c.png"), *TINY, "--dtype", "fp16"])
    assert "invalid choice: 'fp16'" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "a.png"), str(tmp_path / "c.png"), *TINY, "--half", "--dtype",
                 "bf16"]) == 2
    assert "--half (float16) and --dtype bf16 exclude each other" in capsys.readouterr().err


def test_evaluate_passes_the_flags_and_the_protocol_refuses_bf16(monkeypatch, tmp_path, capsys):
    seen: dict[str, Any] = {}

    def spy(*args: Any, fast: FastOptions | None = None, **kwargs: Any) -> None:
        seen["fast"] = fast
        raise _Stop("seen")

    monkeypatch.setattr(evaluation, "evaluate_filelists", spy)
    assert main(["evaluate", *TINY, "--filelist", str(tmp_path / "list.json"), "--out", str(tmp_path / "o"),
                 "--compile", "--channels-last"]) == 2
    assert seen["fast"] == FastOptions(compile=True, channels_last=True, dtype="fp32")
    assert main(["evaluate", *TINY, "--protocol", "adair3", "--data-root", str(tmp_path), "--out",
                 str(tmp_path / "o"), "--dtype", "bf16"]) == 2
    assert "drop --dtype bf16" in capsys.readouterr().err


def test_app_and_train_accept_compile():
    parser = build_parser()
    app = parser.parse_args(["app", "--compile", "--channels-last", "--dtype", "bf16"])
    assert (app.compile, app.channels_last, app.dtype) == (True, True, "bf16")
    assert parser.parse_args(["train", "--config", "small", "--compile"]).compile


def test_train_compile_compiles_the_step_in_place(monkeypatch, tmp_path):
    compiled: list[str] = []
    monkeypatch.setattr(nn.Module, "compile", lambda self, *a, **k: compiled.append(type(self).__name__))
    write_pairs(tmp_path / "data", n=2)
    recipe = {
        "model": {"backbone_checkpoint": str(_nafnet_file(tmp_path / "nafnet.pth")), "wrap": True,
                  "semantic_encoder": None, "cond_dim": 16, "pad_to": 16},
        "loss": {"kind": "l1"},
        "data": {"crop": 32, "seed": 0, "tasks": [
            {"degraded_dir": str(tmp_path / "data" / "denoise" / "lq"),
             "clean_dir": str(tmp_path / "data" / "denoise" / "gt"), "task": "denoise"}]},
        "train": {"output_dir": str(tmp_path / "run"), "batch_size": 2, "max_steps": 1, "progress": False},
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["train", "--config", str(tmp_path / "recipe.yaml"), "--compile"]) == 0
    assert compiled == ["_RestorationStep"]



def _compile_help(command: str) -> str:
    commands = next(a for a in build_parser()._actions if a.choices and command in a.choices).choices
    return next(a.help for a in commands[command]._actions if "--compile" in a.option_strings)


@pytest.mark.parametrize("command", ["restore", "evaluate", "app"])
def test_compile_help_points_to_channels_last_where_it_is_offered(command):
    assert "--channels-last" in _compile_help(command)
    assert "--channels-last" not in _compile_help("train")  # train has no --channels-last to point to
