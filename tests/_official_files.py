"""Helpers for the official-checkpoint tests: the reference set's files and deliberately bad files."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

__all__ = [
    "CodeRunningPayload",
    "clip_args",
    "malicious_checkpoint",
    "one_line_error",
    "reference_tensors",
    "truncated_copy",
]


def clip_args(ref: Path) -> dict[str, Any]:
    """``clip_model`` / ``clip_pretrained`` for the reference set's tiny OpenAI-format CLIP."""
    perceiver = ref / "perceiver"
    config = json.loads((perceiver / "ref-clip-tiny.json").read_text())
    return {"clip_model": config, "clip_pretrained": str(perceiver / "clip_openai_tiny.safetensors")}


def reference_tensors(ref: Path, part: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(inputs, expected)`` of ``part`` (``"perceiver"`` or ``"restorer"``)."""
    return load_file(str(ref / part / "inputs.safetensors")), load_file(str(ref / part / "expected.safetensors"))


class CodeRunningPayload:
    """Unpickling this would create ``marker`` (through ``Path.touch``): a stand-in for malicious code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def malicious_checkpoint(path: Path, marker: Path) -> Path:
    """A ``torch.save`` file that runs code when fully unpickled."""
    torch.save({"model": {"embed.weight": torch.zeros(1)}, "payload": CodeRunningPayload(marker)}, path,
               pickle_protocol=pickle.HIGHEST_PROTOCOL)
    return path


def truncated_copy(source: Path, destination: Path) -> Path:
    """The first half of ``source``'s bytes."""
    data = source.read_bytes()
    destination.write_bytes(data[: len(data) // 2])
    return destination


def one_line_error(err: pytest.ExceptionInfo, file: Path) -> str:
    """The message of a refused file: one line, naming the file, never advising ``weights_only=False``."""
    message = str(err.value)
    assert "\n" not in message and str(file) in message and "weights_only=False" not in message
    return message
