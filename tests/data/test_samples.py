"""sample_images: real colour photographs from scikit-image."""

from __future__ import annotations

import sys

import pytest

from perceive_ir.data import SAMPLE_IMAGE_NAMES, sample_images


def test_all_samples_are_colour_float_images() -> None:
    imgs = sample_images()
    assert list(imgs) == list(SAMPLE_IMAGE_NAMES)
    assert {"astronaut", "chelsea", "coffee", "rocket", "motorcycle"} <= set(imgs)
    for name, img in imgs.items():
        assert img.ndim == 3 and img.shape[0] == 3 and min(img.shape[1:]) >= 256, name
        assert img.is_floating_point() and 0 <= float(img.min()) and float(img.max()) <= 1
        assert float(img.std()) > 0.05, name
    # motorcycle is the left image of the stereo pair, not the disparity map
    assert imgs["motorcycle"].shape == (3, 500, 741)


def test_selection_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    assert list(sample_images(["coffee", "chelsea"])) == ["coffee", "chelsea"]
    assert list(sample_images("rocket")) == ["rocket"]
    with pytest.raises(KeyError, match="astronaut"):
        sample_images(["lena"])
    monkeypatch.setitem(sys.modules, "skimage.data", None)  # simulate scikit-image missing
    with pytest.raises(ImportError, match=r'pip install "perceive-ir\[data\]"'):
        sample_images()
