import math
import re

import numpy as np
import pytest
import torch

from perceive_ir._validation import OUTPUT_RANGE_SLACK, check_embedding, check_image, check_int, check_same_shape


def test_valid_image_is_returned_unchanged():
    x = torch.rand(2, 3, 16, 16)
    assert check_image(x, "images") is x


@pytest.mark.parametrize(
    "value, error, fragment",
    [
        (np.zeros((1, 3, 8, 8), dtype=np.float32), TypeError, "torch.Tensor"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), TypeError, "floating-point"),
        (torch.zeros(3, 8, 8), ValueError, "(B, C, H, W)"),
        (torch.zeros(1, 1, 8, 8), ValueError, "3 channels"),
        (torch.zeros(0, 3, 8, 8), ValueError, "empty batch"),
        (torch.full((1, 3, 8, 8), math.nan), ValueError, "NaN or Inf"),
        (torch.full((1, 3, 8, 8), math.inf), ValueError, "NaN or Inf"),
        (torch.full((1, 3, 8, 8), 255.0), ValueError, "divide by 255"),
        (torch.full((1, 3, 8, 8), -0.2), ValueError, "[0, 1]"),
    ],
)
def test_bad_images_raise_naming_the_argument(value, error, fragment):
    with pytest.raises(error) as info:
        check_image(value, "degraded")
    assert "`degraded`" in str(info.value)
    assert fragment in str(info.value)


def test_min_size_and_slack():
    with pytest.raises(ValueError, match="at least 8×8"):
        check_image(torch.rand(1, 3, 4, 16), "x", min_size=8)
    overshoot = torch.rand(1, 3, 8, 8) * 2.6 - 0.8  # an early-training output in [-0.8, 1.8]
    check_image(overshoot, "restored", slack=OUTPUT_RANGE_SLACK)
    with pytest.raises(ValueError, match=r"\[-1, 2\]"):
        check_image(overshoot * 10, "restored", slack=OUTPUT_RANGE_SLACK)


def test_shape_and_embedding_checks():
    with pytest.raises(ValueError, match="`restored` and `target`"):
        check_same_shape(torch.zeros(1, 3, 8, 8), "restored", torch.zeros(1, 3, 9, 8), "target")
    with pytest.raises(ValueError, match="128 features"):
        check_embedding(torch.zeros(2, 64), "z", dim=128)
    with pytest.raises(TypeError, match="floating-point"):
        check_embedding(torch.zeros(2, 4, dtype=torch.long), "z")


@pytest.mark.parametrize("value, minimum", [(1, 1), (7, 1), (0, 0), (5, 5), (-2, -3)])
def test_check_int_returns_ints_in_range(value, minimum):
    assert check_int(value, "n", minimum=minimum) is value


@pytest.mark.parametrize(
    "value, kwargs, message",
    [
        (0, {}, "`tile` must be a positive int, got 0."),
        (True, {}, "`tile` must be a positive int, got True."),  # a bool is not a count
        (False, {"minimum": 0}, "`tile` must be a non-negative int, got False."),
        (-1, {"minimum": 0}, "`tile` must be a non-negative int, got -1."),
        (3.0, {}, "`tile` must be a positive int, got 3.0."),
        ("3", {}, "`tile` must be a positive int, got '3'."),
        (None, {}, "`tile` must be a positive int, got None."),
        (1, {"minimum": 2}, "`tile` must be an int >= 2, got 1."),
        (0, {"optional": True}, "`tile` must be None or a positive int, got 0."),
    ],
)
def test_check_int_refuses_with_the_argument_name(value, kwargs, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        check_int(value, "tile", **kwargs)


def test_check_int_optional_accepts_none():
    assert check_int(None, "limit", optional=True) is None
    assert check_int(2, "limit", optional=True) == 2


# -- float settings and the dtype rule (issue 14) ---------------------------------------------------


@pytest.mark.parametrize("value", ["abc", True, None, float("nan"), float("inf"), 0, -1.0, [1e-3]])
def test_check_float_refuses_non_numbers_and_out_of_range(value):
    from perceive_ir._validation import check_float

    with pytest.raises(ValueError, match=r"`lr` must be a number > 0, got"):
        check_float(value, "lr", minimum=0, exclusive=True)


def test_check_float_accepts_ints_and_optional_none():
    from perceive_ir._validation import check_float

    assert check_float(2, "x") == 2.0 and isinstance(check_float(2, "x"), float)
    assert check_float(None, "grad_clip", optional=True) is None
    assert check_float(0, "weight_decay", minimum=0) == 0.0


def test_module_dtype_and_to_module_dtype():
    from perceive_ir._validation import module_dtype, to_module_dtype

    conv = torch.nn.Conv2d(3, 3, 1)
    x = torch.rand(1, 3, 4, 4, dtype=torch.float16)
    assert module_dtype(conv) == torch.float32 and to_module_dtype(x, conv).dtype == torch.float32
    same = torch.rand(1, 3, 4, 4)
    assert to_module_dtype(same, conv) is same
    assert module_dtype(torch.nn.ReLU()) is None and to_module_dtype(x, torch.nn.ReLU()) is x


def test_the_dtype_rule_leaves_autocast_alone():
    from perceive_ir._validation import to_input_dtype, to_module_dtype

    conv = torch.nn.Conv2d(3, 3, 1)
    x = torch.rand(1, 3, 4, 4, dtype=torch.bfloat16)
    assert to_input_dtype(torch.zeros(2), torch.float64).dtype == torch.float64
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert to_module_dtype(x, conv) is x  # autocast picks each op's dtype
        out = torch.zeros(2)
        assert to_input_dtype(out, torch.bfloat16) is out
