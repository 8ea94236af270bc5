"""``restore`` and ``tiled_apply``: dtypes kept, bad arguments named (``image``, ``tile``), uint8 refused."""

from __future__ import annotations

import pytest
import torch

from perceive_ir import restore, tiled_apply
from perceive_ir.models.presets import perceive_ir_nafnet


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return perceive_ir_nafnet("small", semantic_encoder=None, probe_size=32, backbone_kwargs={"width": 8},
                              hidden_dim=16, cond_dim=16).eval()


@pytest.mark.parametrize("dtype", (torch.float64, torch.float16, torch.bfloat16), ids=str)
def test_restore_returns_the_inputs_dtype(model, dtype):
    image = torch.rand(3, 24, 20).to(dtype)
    out = restore(model, image)
    assert out.dtype == dtype and out.shape == image.shape
    torch.testing.assert_close(out, restore(model, image.float()).to(dtype))


def test_restore_names_image_for_a_too_small_image(model):
    with pytest.raises(ValueError, match="`image` must be at least 2×2"):
        restore(model, torch.rand(3, 1, 1))


@pytest.mark.parametrize("tile", [True, 0, -16, 16.0, "16"])
def test_tiled_apply_refuses_non_int_tiles(tile):
    with pytest.raises(ValueError, match="`tile` must be a positive int"):
        tiled_apply(lambda t: t, torch.rand(1, 3, 8, 8), tile=tile, overlap=0)


def test_tiled_apply_refuses_integer_images_clearly():
    image = torch.randint(0, 255, (1, 3, 40, 40), dtype=torch.uint8)
    for tile in (16, 64):  # tiled, and whole
        with pytest.raises(TypeError, match=r"`image` must be a floating-point tensor, got dtype torch.uint8"):
            tiled_apply(lambda t: t, image, tile=tile, overlap=4)


@pytest.mark.parametrize("dtype", (torch.float64, torch.float16, torch.bfloat16), ids=str)
def test_tiled_apply_keeps_other_float_dtypes(dtype):
    image = torch.rand(1, 3, 40, 40).to(dtype)
    out = tiled_apply(lambda t: t * 0.5, image, tile=16, overlap=4)
    assert out.dtype == dtype
    # equal up to float rounding of the blend, not exactly (see the docstring)
    torch.testing.assert_close(out, image * 0.5)
