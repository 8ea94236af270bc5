"""Shared fixtures: tiny random foundation models built from configs, never downloaded."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

from perceive_ir.testing import tiny_clip_config as _tiny_clip_config  # noqa: E402
from perceive_ir.testing import tiny_dinov2_config  # noqa: E402,F401  (re-exported for tests)

# tiny models: one intra-op thread is faster than two, and far faster on a busy machine
torch.set_num_threads(1)

#: Kept for tests that import the constant directly.
TINY_CLIP_CONFIG = _tiny_clip_config()


@pytest.fixture
def tiny_clip_config() -> dict:
    return _tiny_clip_config()


@pytest.fixture
def tiny_dinov2():
    return tiny_dinov2_config()


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
