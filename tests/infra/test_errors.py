"""One error hierarchy: the library's errors share a base and keep their standard bases; anything else is a bug."""

from __future__ import annotations

import pytest
import torch

from perceive_ir import PerceiveIRError
from perceive_ir._atomic import WriteError
from perceive_ir._destinations import DestinationError
from perceive_ir._hub_access import HubUnavailableError
from perceive_ir._official_format import OfficialCheckpointError
from perceive_ir._validation import check_image
from perceive_ir.cli import score
from perceive_ir.cli.main import main
from perceive_ir.data import get_degradation
from perceive_ir.data.io import ImageReadError
from perceive_ir.errors import InvalidTypeError, InvalidValueError, MissingFileError, UnknownNameError
from perceive_ir.hub import PretrainedNotFoundError
from perceive_ir.perceive.clip_loading import ClipLoadError
from perceive_ir.perceive.losses import VGG16WeightsNotFoundError
from perceive_ir.training.loop import RunFolderInUseError


@pytest.mark.parametrize(
    ("error", "standard"),
    [
        (InvalidValueError, ValueError), (InvalidTypeError, TypeError), (UnknownNameError, KeyError),
        (MissingFileError, FileNotFoundError), (PretrainedNotFoundError, FileNotFoundError),
        (VGG16WeightsNotFoundError, FileNotFoundError), (ImageReadError, OSError), (WriteError, OSError),
        (DestinationError, ValueError), (OfficialCheckpointError, ValueError), (ClipLoadError, RuntimeError),
        (HubUnavailableError, ConnectionError), (RunFolderInUseError, FileExistsError),
    ],
)
def test_every_library_error_is_a_perceive_ir_error_and_keeps_its_standard_base(error, standard):
    assert issubclass(error, PerceiveIRError) and issubclass(error, standard)


def test_checks_raise_the_library_errors():
    with pytest.raises(InvalidValueError, match="`image`"):
        check_image(torch.full((1, 3, 8, 8), 2.0), "image")
    with pytest.raises(InvalidTypeError):
        check_image([1, 2], "image")  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError) as info:
        get_degradation("no-such-preset")
    assert str(info.value).startswith("Unknown")  # a sentence, not a quoted KeyError repr


def test_the_command_line_reports_a_bug_as_a_bug(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("division by zero inside the library")

    monkeypatch.setattr(score, "run", broken)
    assert main(["score", "x.png", "--perceiver", "p"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "this is a bug in perceive-ir" in err


def test_the_command_line_reports_a_user_error_as_one_line(tmp_path, capsys):
    assert main(["restore", str(tmp_path / "missing.png"), str(tmp_path / "o"), "--model", "nafnet-small"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
