"""Shared fixtures: tiny random foundation models built from configs, never downloaded."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))

#: An open_clip CLIP config small enough for CPU tests (about 1.9M parameters, mostly the
#: token embedding of the real 49408-word BPE vocabulary that ships with open_clip).
TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


def tiny_dinov2_config(num_hidden_layers: int = 12):
    """A DINOv2 config with the real depth (so layers (1, 4, 8, 12) exist) and a tiny width."""
    from transformers import Dinov2Config

    return Dinov2Config(
        hidden_size=32,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=224,
        patch_size=14,
    )


@pytest.fixture
def tiny_clip_config() -> dict:
    import copy

    return copy.deepcopy(TINY_CLIP_CONFIG)


@pytest.fixture
def tiny_dinov2():
    return tiny_dinov2_config()


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
