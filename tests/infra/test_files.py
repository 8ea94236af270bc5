"""``_files``: load errors name the file, NaN/Inf refused, refused pickles never advise weights_only=False."""

from __future__ import annotations

import os

import pytest
import torch
from safetensors.torch import save_file

from perceive_ir._files import (
    check_finite_weights,
    read_json_config,
    read_safetensors,
    safe_torch_load,
    without_unsafe_advice,
)


@pytest.mark.parametrize(
    "content, fragment",
    [(b"{", "is not valid JSON"), (b"\xff\xfe\x00", "is not valid JSON"), (b'"text"', "holds a JSON str")],
)
def test_read_json_config_names_the_file(tmp_path, content, fragment):
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        read_json_config(path, "the settings")
    assert str(path) in str(info.value) and fragment in str(info.value) and "the settings" in str(info.value)


def test_read_json_config_on_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        read_json_config(tmp_path)


def test_read_safetensors_missing_truncated_and_nan(tmp_path):
    with pytest.raises(FileNotFoundError, match="w.safetensors"):
        read_safetensors(tmp_path / "w.safetensors")
    path = tmp_path / "w.safetensors"
    save_file({"a": torch.ones(4), "b": torch.tensor([1.0, float("inf")]), "c": torch.zeros(2, dtype=torch.long)},
              str(path))
    with pytest.raises(ValueError, match=r"holds NaN or Inf weights in b;"):
        read_safetensors(path)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="is not a readable safetensors file"):
        read_safetensors(path)


def test_check_finite_weights_on_a_module():
    net = torch.nn.Linear(2, 2)
    check_finite_weights(net, "net")
    with torch.no_grad():
        net.bias[0] = float("nan")
    with pytest.raises(ValueError, match="net holds NaN or Inf weights in bias"):
        check_finite_weights(net, "net")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_safe_torch_load_refuses_code_without_the_unsafe_advice(tmp_path, capfd):
    path = tmp_path / "state.pt"
    torch.save({"x": _Evil()}, path)
    with pytest.raises(ValueError) as info:
        safe_torch_load(path, "a training state")
    message = str(info.value)
    assert str(path) in message and "posix.system" in message
    assert "weights_only" not in message
    assert "pwned" not in capfd.readouterr().out


def test_safe_torch_load_garbage_and_missing(tmp_path):
    (tmp_path / "state.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="state.pt"):
        safe_torch_load(tmp_path / "state.pt", "a training state")
    with pytest.raises(FileNotFoundError, match="none.pt"):
        safe_torch_load(tmp_path / "none.pt", "a training state")


def test_without_unsafe_advice_keeps_other_messages():
    assert without_unsafe_advice("header too small") == "header too small"
    assert "False" not in without_unsafe_advice("Re-running `torch.load` with `weights_only` set to `False`")
