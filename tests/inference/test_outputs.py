"""select_image: the image in a network's tuple, list, namedtuple or dict output."""

from __future__ import annotations

from collections import namedtuple

import pytest
import torch

from perceive_ir.inference import select_image

X = torch.rand(2, 3, 8, 10)


def test_a_tensor_is_returned_as_it_is() -> None:
    out = torch.rand(2, 5)
    assert select_image(out, X) is out  # a plain tensor output is never second-guessed


def test_the_first_image_shaped_tensor_by_default() -> None:
    image, other = X + 1, X + 2
    assert select_image((torch.rand(2, 1), image, other), X) is image  # FBCNN: (image, qf) order reversed
    assert select_image([image, other], X) is image  # MPRNet: final stage first
    assert select_image({"loss": torch.tensor(1.0), "out": [image]}, X) is image
    sr = torch.rand(2, 3, 32, 40)
    assert select_image((torch.rand(2, 3, 8, 9), sr), X) is sr  # not an integer multiple: skipped; x4 taken
    assert select_image((torch.rand(2, 1, 8, 10), torch.rand(1, 3, 8, 10), image), X) is image  # channels, batch


def test_a_selected_index_key_or_field() -> None:
    a, b = X + 1, X + 2
    assert select_image((a, b), X, output=1) is b
    assert select_image([a, b], X, output=-1) is b
    assert select_image({"a": a, "b": b}, X, output="b") is b
    Out = namedtuple("Out", "aux image")
    assert select_image(Out(a, b), X, output="image") is b


def test_errors_say_what_the_network_returned_and_what_to_pass() -> None:
    with pytest.raises(TypeError, match=r"no image-shaped tensor .*output\[0\]: tensor \(2, 1\).*Pass `output=`"):
        select_image((torch.rand(2, 1), "text"), X)
    with pytest.raises(ValueError, match="out of range: the network returned 2 items"):
        select_image((X, X), X, output=2)
    with pytest.raises(ValueError, match=r"not a key .*keys: \['a'\]"):
        select_image({"a": X}, X, output="b")
    with pytest.raises(TypeError, match="indexes a tuple or list"):
        select_image({"a": X}, X, output=0)
    with pytest.raises(TypeError, match="names a key"):
        select_image((X,), X, output="a")
    with pytest.raises(TypeError, match="not a \\(B, C, H, W\\) image"):
        select_image((X, torch.rand(2)), X, output=1)
    with pytest.raises(TypeError, match="None, an int index or a str key"):
        select_image((X,), X, output=True)  # type: ignore[arg-type]
